import { iamClient } from '../../lib/clients.ts';
import { config, ownershipOf } from '../../lib/config.ts';
import { lambdaHandler, logger } from '../../lib/lambda.ts';
import { count } from '../../lib/metrics.ts';
import { parseReprovisionRequest, removeConsoleAccess } from '../../lib/reprovision-user.ts';

/** Deletes a managed user's login profile and marks the user so that no sweep restores it. */
export const handler = lambdaHandler(async (event: { request: unknown; executionId?: string }) => {
  const request = parseReprovisionRequest(event.request);
  const result = await removeConsoleAccess(iamClient(), request, ownershipOf(config()));
  logger.warn('console access', { userName: request.hire.userName, status: result.status, reason: request.reason });
  if (result.status === 'REMOVED') count('ConsoleAccessRemoved');
  return result;
});
