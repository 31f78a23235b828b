import { config } from '../lib/config.ts';
import { parseHire, type Hire } from '../lib/hire.ts';
import { lambdaHandler, logger } from '../lib/lambda.ts';

/** Validates the HR event's detail (or a manual input) before anything touches IAM. */
export const handler = lambdaHandler(async (event: { input: unknown; executionId?: string }): Promise<{ hire: Hire }> => {
  const hire = parseHire(event.input, config().DEPARTMENT_GROUPS);
  logger.info('hire validated', { employeeId: hire.employeeId, userName: hire.userName, groups: hire.groups });
  return { hire };
});
