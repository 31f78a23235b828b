import { iamClient } from '../../lib/clients.ts';
import { config, ownershipOf, trustPolicyOf } from '../../lib/config.ts';
import type { EmployeeChange } from '../../lib/employee-change.ts';
import { lambdaHandler, logger } from '../../lib/lambda.ts';
import { count } from '../../lib/metrics.ts';
import { moveUser } from '../../lib/move-user.ts';

/** Puts the employee's managed user in the groups of its change, and out of the ones this workflow gave it that no longer apply. */
export const handler = lambdaHandler(async (event: { change: EmployeeChange; executionId?: string }) => {
  const settings = config();
  const outcome = await moveUser(iamClient(), event.change, { ...ownershipOf(settings), trust: trustPolicyOf(settings) });
  logger.info('move handled', { ...outcome });
  if (outcome.status === 'MOVED') count('Moved');
  return outcome;
});
