import { iamClient } from '../lib/clients.ts';
import { config, ownershipOf, trustPolicyOf } from '../lib/config.ts';
import type { Hire } from '../lib/hire.ts';
import { lambdaHandler, logger } from '../lib/lambda.ts';
import { provisionUser } from '../lib/provision-user.ts';

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
  // The execution waiting for the old date finds on waking that the claim is gone, and stands back.
  if (user.supersedes) logger.info('start date moved: this execution onboards the hire instead', { supersedes: user.supersedes });
  return user;
});
