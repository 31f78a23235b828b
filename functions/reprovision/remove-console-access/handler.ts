import { iamClient } from '../../lib/clients.ts';
import { config } from '../../lib/config.ts';
import { lambdaHandler, logger } from '../../lib/lambda.ts';
import { parseReprovisionRequest, removeConsoleAccess } from '../../lib/reprovision-user.ts';

/** Deletes a managed user's login profile and marks the user so that no sweep restores it. */
export const handler = lambdaHandler(async (event: { request: unknown; executionId?: string }) => {
  const request = parseReprovisionRequest(event.request);
  const { MANAGED_PATH, MANAGED_BY } = config();
  const result = await removeConsoleAccess(iamClient(), request, { managedPath: MANAGED_PATH, managedBy: MANAGED_BY });
  logger.warn('console access', { userName: request.hire.userName, status: result.status, reason: request.reason });
  return result;
});
