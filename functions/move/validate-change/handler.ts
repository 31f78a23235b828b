import { config, trustPolicyOf } from '../../lib/config.ts';
import { parseChange, type EmployeeChange } from '../../lib/employee-change.ts';
import { lambdaHandler, logger } from '../../lib/lambda.ts';
import { assertGroupsAllowed } from '../../lib/trust-policy.ts';

/**
 * Validates an "employee changed" event's detail (or a manual move) before anything touches
 * IAM: its shape, then the groups it comes to against the stage's settings. The event is the
 * execution input exactly as given: any JSON value.
 */
export const handler = lambdaHandler(async (event: unknown): Promise<{ change: EmployeeChange }> => {
  const settings = config();
  const change = parseChange(event, settings.DEPARTMENT_GROUPS);
  assertGroupsAllowed(change.groups, trustPolicyOf(settings));
  logger.info('change validated', { employeeId: change.employeeId, groups: change.groups });
  return { change };
});
