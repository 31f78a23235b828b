import { lambdaHandler, logger } from '../lib/lambda.ts';
import { config } from '../lib/config.ts';
import { parseTermination, type Termination } from '../lib/termination.ts';

/**
 * Validates an "employee terminated" event's detail (or a manual offboarding's input) before
 * anything reads or writes IAM, and settles when access goes: `waitUntil`, the end of the last
 * day in the stage's time zone, for the state machine's Wait.
 */
export const handler = lambdaHandler(async (event: unknown): Promise<{ termination: Termination }> => {
  const termination = parseTermination(event, { timeZone: config().TIME_ZONE });
  logger.info('termination validated', { employeeId: termination.employeeId, waitUntil: termination.waitUntil, dryRun: termination.dryRun });
  return { termination };
});
