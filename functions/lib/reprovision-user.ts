import { DeleteLoginProfileCommand, NoSuchEntityException, TagUserCommand, type IAMClient, type User } from '@aws-sdk/client-iam';
import type { KMSClient } from '@aws-sdk/client-kms';
import * as z from 'zod/mini';
import { InvalidReprovisionRequest, UserNameConflict } from './errors.ts';
import type { Hire } from './hire.ts';
import { resetLoginProfile } from './login-profile.ts';
import { findUser, isManagedFor, passwordResetsOf, tagStatus, tagValue, TAG, type Ownership } from './managed-user.ts';
import type { TrustPolicy } from './trust-policy.ts';
import { assertRecipientsOnUser, hireFromUser, hireIdentitySchema } from './user-hire.ts';
import { describeIssues, validate } from './validation.ts';

/**
 * The two things the reprovision state machine does to one managed user: give it a new
 * temporary password (to be emailed by the next state), or take its console access away.
 * Both re-check the user right before writing, because the sweep that asked may have looked
 * at it minutes ago: a user who has signed in since is left alone.
 */

export const REPROVISION_ACTIONS = ['RESET_PASSWORD', 'REMOVE_CONSOLE_ACCESS'] as const;
export type ReprovisionAction = (typeof REPROVISION_ACTIONS)[number];

/** Why the sweep acts: the current password never reached the user, or was never used. */
export const REPROVISION_REASONS = ['credentials-not-sent', 'password-unused', 'requested'] as const;
export type ReprovisionReason = (typeof REPROVISION_REASONS)[number];

const requestSchema = z.strictObject({
  action: z.enum(REPROVISION_ACTIONS),
  hire: hireIdentitySchema,
  reason: z._default(z.enum(REPROVISION_REASONS), 'requested'),
});

export type ReprovisionRequest = z.output<typeof requestSchema>;
export type ReprovisionInput = z.input<typeof requestSchema>;

/** Validates the state machine's input; throws {@link InvalidReprovisionRequest} naming each bad field. */
export function parseReprovisionRequest(input: unknown): ReprovisionRequest {
  const result = validate(requestSchema, input, '(request)');
  if (result.success) return result.data;
  throw new InvalidReprovisionRequest(`Invalid reprovision request: ${describeIssues(result.issues)}`);
}

export type SkipReason = 'no-such-user' | 'signed-in' | 'console-access-removed';

/** Reads the user and decides whether it may still be changed; throws on a user that is not ours. */
async function eligibleUser(
  iam: IAMClient,
  request: ReprovisionRequest,
  ownership: Ownership,
  options: { skipRemoved: boolean },
): Promise<{ user: User } | { skip: SkipReason }> {
  const user = await findUser(iam, request.hire.userName);
  if (!user) return { skip: 'no-such-user' };
  if (!isManagedFor(user, ownership, request.hire.employeeId)) {
    throw new UserNameConflict(
      `User "${request.hire.userName}" is not managed by this workflow for employee ${request.hire.employeeId}; it was left unchanged`,
    );
  }
  if (user.PasswordLastUsed) return { skip: 'signed-in' };
  if (options.skipRemoved && tagValue(user.Tags, TAG.status) === 'console-access-removed') {
    return { skip: 'console-access-removed' };
  }
  return { user };
}

export type ResetResult =
  | {
      status: 'RESET';
      reason: ReprovisionReason;
      hire: Hire;
      user: { arn: string; path: string };
      /** KMS ciphertext, bound to the user and this execution. */
      sealedPassword: string;
      passwordIssuedAt: string;
      passwordResets: number;
    }
  | { status: 'SKIPPED'; reason: SkipReason };

/**
 * Gives the user a new reset-required temporary password, sealed for the email step, and
 * counts the reset on the user. The hire (name, email) is rebuilt from the user's tags.
 */
export async function resetPassword(
  clients: { iam: IAMClient; kms: KMSClient },
  request: ReprovisionRequest,
  settings: Ownership & { kmsKeyId: string; passwordLength: number; executionId: string; trust: TrustPolicy },
  now: Date = new Date(),
): Promise<ResetResult> {
  const eligible = await eligibleUser(clients.iam, request, settings, { skipRemoved: true });
  if ('skip' in eligible) return { status: 'SKIPPED', reason: eligible.skip };
  const { user } = eligible;
  const hire = await hireFromUser(clients.iam, user);
  // The addresses come from tags: they must pass the same checks as an HR event's, before the reset.
  assertRecipientsOnUser(user, hire, settings.trust);

  const { sealedPassword } = await resetLoginProfile(
    clients,
    { userName: hire.userName, executionId: settings.executionId },
    settings,
  );
  // Tagged only once the password is in place: a retry of this step resets again and still
  // counts one reset.
  const passwordIssuedAt = now.toISOString();
  const passwordResets = passwordResetsOf(user) + 1;
  await clients.iam.send(
    new TagUserCommand({
      UserName: hire.userName,
      Tags: [
        { Key: TAG.passwordIssuedAt, Value: passwordIssuedAt },
        { Key: TAG.passwordResets, Value: String(passwordResets) },
      ],
    }),
  );
  return {
    status: 'RESET',
    reason: request.reason,
    hire,
    user: { arn: user.Arn ?? '', path: user.Path ?? settings.managedPath },
    sealedPassword,
    passwordIssuedAt,
    passwordResets,
  };
}

export type RemovalResult =
  | {
      status: 'REMOVED';
      reason: ReprovisionReason;
      hire: { userName: string; employeeId: string; email?: string };
      passwordResets: number;
      /** For the ops email. */
      message: string;
    }
  | { status: 'SKIPPED'; reason: SkipReason };

/**
 * Takes console access away from a user whose temporary password was reset too often without
 * being used, and marks it so that no later sweep brings it back: only ops do (by running the
 * onboarding again, which starts the reset count afresh).
 */
export async function removeConsoleAccess(
  iam: IAMClient,
  request: ReprovisionRequest,
  ownership: Ownership,
  now: Date = new Date(),
): Promise<RemovalResult> {
  // A repeated attempt finds the user already marked, and finishes the removal.
  const eligible = await eligibleUser(iam, request, ownership, { skipRemoved: false });
  if ('skip' in eligible) return { status: 'SKIPPED', reason: eligible.skip };
  const { user } = eligible;
  const { userName, employeeId } = request.hire;
  const passwordResets = passwordResetsOf(user);

  // Marked before the login profile goes: were the deletion to succeed and the tag fail, the
  // next sweep would see a user without a password and onboard it again.
  await tagStatus(iam, userName, 'console-access-removed', now);
  try {
    await iam.send(new DeleteLoginProfileCommand({ UserName: userName }));
  } catch (error) {
    // Already gone (an earlier attempt of this step got that far): the outcome is the same.
    if (!(error instanceof NoSuchEntityException)) throw error;
  }
  // Last, so that a repeated attempt still reads the count: an onboarding run again by ops
  // starts with a full set of resets.
  await iam.send(new TagUserCommand({ UserName: userName, Tags: [{ Key: TAG.passwordResets, Value: '0' }] }));

  const why =
    request.reason === 'credentials-not-sent'
      ? 'its credentials could not be delivered'
      : 'its temporary password was never used';
  const email = tagValue(user.Tags, TAG.email);
  return {
    status: 'REMOVED',
    reason: request.reason,
    hire: { userName, employeeId, ...(email && { email }) },
    passwordResets,
    message:
      `Console access of user ${userName} was removed: ${why} after ${passwordResets} password reset(s) by the ` +
      'reprovisioning sweep. Run the onboarding again to restore it.',
  };
}
