import type { IAMClient } from '@aws-sdk/client-iam';
import type { CaughtError } from './caught-error.ts';
import type { Hire } from './hire.ts';
import { toTagValue } from './iam-names.ts';
import { findUser, isManagedFor, tagStatus, tagValue, TAG, type Ownership } from './managed-user.ts';

export type FailureRecord = { recorded: true } | { recorded: false; reason: 'no-such-user' | 'not-managed' | 'completed-by-this-execution' };

/**
 * Tags a failed onboarding on the user, but only on a user this workflow manages for this
 * employee: a conflict with someone else's user must leave that user untouched.
 *
 * A user this same execution already tagged complete stays complete: the failure came after
 * (MarkComplete's Lambda died once its tag was written), the credentials went out, and a
 * "failed" tag would tell ops the opposite. Ops still hear about the failed execution.
 */
export async function recordFailure(
  iam: IAMClient,
  input: { hire: Pick<Hire, 'userName' | 'employeeId'>; error: CaughtError; executionId?: string },
  ownership: Ownership,
  now: Date = new Date(),
): Promise<FailureRecord> {
  const user = await findUser(iam, input.hire.userName);
  if (!user) return { recorded: false, reason: 'no-such-user' };
  if (!isManagedFor(user, ownership, input.hire.employeeId)) return { recorded: false, reason: 'not-managed' };
  if (input.executionId && tagValue(user.Tags, TAG.status) === 'complete' && tagValue(user.Tags, TAG.completedBy) === toTagValue(input.executionId)) {
    return { recorded: false, reason: 'completed-by-this-execution' };
  }
  await tagStatus(iam, input.hire.userName, 'failed', now, { [TAG.failure]: toTagValue(input.error.Error) });
  return { recorded: true };
}
