import { config } from '../lib/config.ts';
import { parseHire, type Hire } from '../lib/hire.ts';
import { lambdaHandler, logger } from '../lib/lambda.ts';

/**
 * Validates the HR event's detail (or a manual input) before anything touches IAM. The event
 * is the execution input exactly as given: any JSON value.
 */
export const handler = lambdaHandler(async (event: unknown): Promise<{ hire: Hire }> => {
  const hire = parseHire(event, config().DEPARTMENT_GROUPS);
  logger.info('hire validated', { employeeId: hire.employeeId, userName: hire.userName, groups: hire.groups });
  return { hire };
});
