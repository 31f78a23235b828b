import { iamClient } from '../lib/clients.ts';
import { config, ownershipOf } from '../lib/config.ts';
import type { Hire } from '../lib/hire.ts';
import { lambdaHandler, logger } from '../lib/lambda.ts';
import type { CaughtError } from '../lib/caught-error.ts';
import { recordFailure } from '../lib/failure-record.ts';

/** Tags the failure on the user, when the user exists and is this workflow's. */
export const handler = lambdaHandler(async (event: { hire: Hire; error: CaughtError; executionId?: string }) => {
  const record = await recordFailure(iamClient(), event, ownershipOf(config()));
  logger.warn('onboarding failed', { userName: event.hire.userName, errorName: event.error.Error, ...record });
  return record;
});
