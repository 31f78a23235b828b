import { iamClient, sfnClient } from '../lib/clients.ts';
import { config, ownershipOf, trustPolicyOf } from '../lib/config.ts';
import type { Hire } from '../lib/hire.ts';
import { lambdaHandler, logger } from '../lib/lambda.ts';
import { provisionUser } from '../lib/provision-user.ts';
import { stopSupersededExecution } from '../lib/superseded-execution.ts';

/** Creates (or adopts) the hire's IAM user with its groups and the right to change its password. */
export const handler = lambdaHandler(async (event: { hire: Hire; executionId?: string }) => {
  const settings = config();
  const { PERMISSIONS_BOUNDARY_ARN } = settings;
  const user = await provisionUser(iamClient(), event.hire, {
    ...ownershipOf(settings),
    trust: trustPolicyOf(settings),
    ...(PERMISSIONS_BOUNDARY_ARN && { permissionsBoundaryArn: PERMISSIONS_BOUNDARY_ARN }),
    ...(event.executionId && { executionId: event.executionId }),
  });
  logger.info(user.created ? 'user created' : 'user already provisioned by this workflow', {
    userName: user.userName,
    groups: user.groups,
    waitUntil: user.waitUntil,
    ...(user.requestedUserName && { requestedUserName: user.requestedUserName }),
  });
  if (user.supersedes && event.executionId) {
    const result = await stopSupersededExecution(sfnClient(), user.supersedes, event.executionId);
    logger.info('start date moved: the execution waiting for the old one', { execution: user.supersedes, ...result });
  }
  return user;
});
