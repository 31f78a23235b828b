import { iamClient } from '../lib/clients.ts';
import { config } from '../lib/config.ts';
import type { Hire } from '../lib/hire.ts';
import { lambdaHandler, logger } from '../lib/lambda.ts';
import { recordFailure, type CaughtError } from '../lib/outcome.ts';

/** Tags the failure on the user, when the user exists and is this workflow's. */
export const handler = lambdaHandler(async (event: { hire: Hire; error: CaughtError; executionId?: string }) => {
  const { MANAGED_PATH, MANAGED_BY } = config();
  const record = await recordFailure(iamClient(), event, { managedPath: MANAGED_PATH, managedBy: MANAGED_BY });
  logger.warn('onboarding failed', { userName: event.hire.userName, errorName: event.error.Error, ...record });
  return record;
});
