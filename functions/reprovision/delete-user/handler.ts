import { iamClient } from '../../lib/clients.ts';
import { config, ownershipOf } from '../../lib/config.ts';
import { lambdaHandler, logger } from '../../lib/lambda.ts';
import { count } from '../../lib/metrics.ts';
import { deleteOffboardedUser, parseDeletionRequest } from '../../lib/offboarding-deletion.ts';
import { offboardingConfig } from '../../lib/offboarding-settings.ts';

/** Deletes an offboarded user whose retention period has passed, detaching everything first. */
export const handler = lambdaHandler(async (event: { request: unknown; executionId?: string }) => {
  const request = parseDeletionRequest(event.request);
  const result = await deleteOffboardedUser(iamClient(), request, { ownership: ownershipOf(config()), retentionDays: offboardingConfig().retentionDays });
  logger.warn('offboarded user deletion', { userName: result.userName, status: result.status, ...(result.status === 'SKIPPED' && { reason: result.reason }) });
  if (result.status === 'DELETED') count('LeaversDeleted');
  return result;
});
