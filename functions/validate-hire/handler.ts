import { config, startDateSettingsOf, trustPolicyOf } from '../lib/config.ts';
import { parseHire, type Hire } from '../lib/hire.ts';
import { lambdaHandler, logger } from '../lib/lambda.ts';
import { credentialsTime } from '../lib/start-date.ts';
import { assertHireAllowed } from '../lib/trust-policy.ts';

/**
 * Validates the HR event's detail (or a manual input) before anything touches IAM: its shape,
 * then what it asks for against the stage's settings (groups, where credentials go). The event
 * is the execution input exactly as given: any JSON value. A future start date settles when the
 * credentials go out (`credentialsAt`: the state machine waits for it after creating the user).
 */
export const handler = lambdaHandler(async (event: unknown): Promise<{ hire: Hire }> => {
  const settings = config();
  const hire = parseHire(event, settings.DEPARTMENT_GROUPS);
  assertHireAllowed(hire, trustPolicyOf(settings));
  const credentialsAt = credentialsTime(hire.startDate, startDateSettingsOf(settings), new Date());
  logger.info('hire validated', { employeeId: hire.employeeId, userName: hire.userName, groups: hire.groups, credentialsAt });
  return { hire: { ...hire, ...(credentialsAt !== undefined && { credentialsAt }) } };
});
