import type { LoginProfile, User } from '@aws-sdk/client-iam';
import { stableExecutionName } from './execution-name.ts';
import type { Hire } from './hire.ts';
import { isManaged, passwordResetsOf, tagValue, TAG } from './managed-user.ts';
import type { DeletionInput } from './offboarding-deletion.ts';
import { isOffboarded } from './offboarding.ts';
import type { ReprovisionInput, ReprovisionReason } from './reprovision-user.ts';
import type { SweepSettings } from './sweep-settings.ts';
import type { HireIdentity } from './user-hire.ts';

/**
 * What the reprovisioning sweep does about one user, decided from what IAM says of it and the
 * clock alone: no I/O here (the sweep itself, in sweep.ts, reads IAM and starts executions).
 *
 * - no login profile (the onboarding failed or stopped halfway): the onboarding again;
 * - a password whose credentials email never went out, or one not used within
 *   `unusedPasswordDays` of being issued: reset it and email it again, at most
 *   `maxPasswordResets` times, after which console access is removed instead;
 * - an offboarded user (the leaver flow's) is never onboarded again: it is left alone until its
 *   retention period has passed, then deleted (behind the mass-change guard, in sweep.ts).
 *
 * Decisions come in the order the sweep can make them with the fewest IAM calls: from ListUsers
 * alone (signed in), from the user's tags (GetUser), then from its login profile.
 */

export type SweepAction = 'none' | 'restart-onboarding' | 'reset-password' | 'remove-console-access' | 'delete-user';

export type UntouchedReason =
  | 'no-such-user'
  | 'not-managed'
  | 'signed-in'
  | 'console-access-removed'
  /** Offboarded, and kept until its retention period has passed. */
  | 'offboarded'
  | 'in-progress'
  /** The onboarding waits for the hire's start date to set the password. */
  | 'waiting-for-start-date'
  | 'healthy'
  /** Reading the user failed (see the report's detail). */
  | 'not-inspected';

export type Decision =
  | { action: 'none'; reason: UntouchedReason }
  | { action: 'restart-onboarding'; reason: 'no-login-profile' }
  | { action: 'reset-password' | 'remove-console-access'; reason: Exclude<ReprovisionReason, 'requested'> }
  | { action: 'delete-user'; reason: 'retention-ended' };

// --- execution names --------------------------------------------------------------------

const EXECUTION_PREFIX = {
  'restart-onboarding': 'reonboard',
  'reset-password': 'reset',
  'remove-console-access': 'remove',
  'delete-user': 'delete',
} as const;

/**
 * `<prefix>-<userName>-<YYYY-MM-DD>` (prefix `reonboard`, `reset`, `remove` or `delete`): one name per
 * user, action and UTC day, so a second sweep the same day cannot act twice.
 */
export function executionName(action: keyof typeof EXECUTION_PREFIX, userName: string, now: Date): string {
  return stableExecutionName(EXECUTION_PREFIX[action], userName, { suffix: now.toISOString().slice(0, 10), replacement: '_' });
}

// --- decisions --------------------------------------------------------------------------

const DAY_MS = 86_400_000;

function timeOf(text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const ms = Date.parse(text);
  return Number.isNaN(ms) ? undefined : ms;
}

/** What the user needs, before its login profile is read (undefined: read it and call {@link decideWithProfile}). */
export function decideWithoutProfile(
  user: User,
  settings: Pick<SweepSettings, 'managedPath' | 'managedBy' | 'inProgressGraceMinutes'>,
  now: Date,
): Decision | undefined {
  if (!isManaged(user, settings)) return { action: 'none', reason: 'not-managed' };
  const status = tagValue(user.Tags, TAG.status);
  if (status === 'offboarded') return { action: 'none', reason: 'offboarded' };
  if (user.PasswordLastUsed) return { action: 'none', reason: 'signed-in' };
  if (status === 'console-access-removed') return { action: 'none', reason: 'console-access-removed' };
  if (status === 'waiting') {
    // Not half-finished: the onboarding sets the password at credentials-at. One still waiting
    // well past it was stopped or lost, and is restarted like any other.
    const until = timeOf(tagValue(user.Tags, TAG.credentialsAt));
    if (until !== undefined && now.getTime() - until < settings.inProgressGraceMinutes * 60_000) {
      return { action: 'none', reason: 'waiting-for-start-date' };
    }
  }
  if (status === 'in-progress') {
    const touched = Math.max(timeOf(tagValue(user.Tags, TAG.updatedAt)) ?? 0, timeOf(tagValue(user.Tags, TAG.passwordIssuedAt)) ?? 0);
    if (now.getTime() - touched < settings.inProgressGraceMinutes * 60_000) return { action: 'none', reason: 'in-progress' };
  }
  return undefined;
}

/**
 * A password the tags say was delivered, and that cannot have gone unused for long yet: healthy,
 * without reading the login profile (undefined: read it and call {@link decideWithProfile}).
 * The password was issued no earlier than the user was created (the onboarding's) or than the
 * date a reset tagged, so a user younger than `unusedPasswordDays` settles it. Over a sweep of
 * thousands of users this saves a GetLoginProfile for every fresh one; a login profile deleted
 * by hand is found once the password would have been old enough to reset.
 */
export function decideFromTags(user: User, settings: Pick<SweepSettings, 'unusedPasswordDays'>, now: Date): Decision | undefined {
  if (tagValue(user.Tags, TAG.status) !== 'complete') return undefined;
  const sentAt = timeOf(tagValue(user.Tags, TAG.credentialsSentAt));
  const resetAt = timeOf(tagValue(user.Tags, TAG.passwordIssuedAt));
  if (sentAt === undefined || (resetAt !== undefined && sentAt < resetAt)) return undefined;
  const issuedNoEarlierThan = Math.max(resetAt ?? 0, user.CreateDate?.getTime() ?? 0);
  if (issuedNoEarlierThan === 0 || now.getTime() - issuedNoEarlierThan > settings.unusedPasswordDays * DAY_MS) return undefined;
  return { action: 'none', reason: 'healthy' };
}

/** What a managed, never-signed-in user needs, given its login profile (undefined: none). */
export function decideWithProfile(
  user: User,
  profile: LoginProfile | undefined,
  settings: Pick<SweepSettings, 'unusedPasswordDays' | 'maxPasswordResets' | 'inProgressGraceMinutes'>,
  now: Date,
): Exclude<Decision, { action: 'delete-user' }> {
  if (!profile) return { action: 'restart-onboarding', reason: 'no-login-profile' };
  // The onboarding's password is dated by its login profile (no tag): one created within the
  // grace period may be on its way to the hire right now.
  const created = profile.CreateDate?.getTime();
  if (tagValue(user.Tags, TAG.status) === 'in-progress' && created !== undefined && now.getTime() - created < settings.inProgressGraceMinutes * 60_000) {
    return { action: 'none', reason: 'in-progress' };
  }
  const issuedAt = timeOf(tagValue(user.Tags, TAG.passwordIssuedAt)) ?? profile.CreateDate?.getTime() ?? now.getTime();
  const sentAt = timeOf(tagValue(user.Tags, TAG.credentialsSentAt));

  let reason: 'credentials-not-sent' | 'password-unused';
  // An email sent before the current password was issued carried an older password.
  if (sentAt === undefined || sentAt < issuedAt) reason = 'credentials-not-sent';
  else if (now.getTime() - issuedAt > settings.unusedPasswordDays * DAY_MS) reason = 'password-unused';
  else return { action: 'none', reason: 'healthy' };

  const action = passwordResetsOf(user) >= settings.maxPasswordResets ? 'remove-console-access' : 'reset-password';
  return { action, reason };
}

/**
 * What an offboarded user needs (its tags as the census read them): deletion once
 * `retentionDays` have passed since the offboarding finished; until then, nothing.
 */
export function decideForLeaver(user: User, settings: Pick<SweepSettings, 'retentionDays'>, now: Date): Decision {
  const offboardedAt = timeOf(tagValue(user.Tags, TAG.offboardedAt));
  if (!isOffboarded(user) || offboardedAt === undefined || now.getTime() - offboardedAt < settings.retentionDays * DAY_MS) {
    return { action: 'none', reason: 'offboarded' };
  }
  return { action: 'delete-user', reason: 'retention-ended' };
}

// --- what to start ----------------------------------------------------------------------

/** The onboarding's input for a user to onboard again: the HR event's shape, validated as an event would be. */
export function onboardingInput(hire: Hire): Pick<Hire, 'employeeId' | 'firstName' | 'lastName' | 'email' | 'userName' | 'groups'> {
  const { employeeId, firstName, lastName, email, userName, groups } = hire;
  return { employeeId, firstName, lastName, email, userName, groups };
}

/** The reprovision state machine's input: whose user, and why (everything else it reads from the user). */
export function reprovisionInput(
  decision: Extract<Decision, { action: 'reset-password' | 'remove-console-access' }>,
  identity: HireIdentity,
): ReprovisionInput {
  return {
    action: decision.action === 'reset-password' ? 'RESET_PASSWORD' : 'REMOVE_CONSOLE_ACCESS',
    hire: { userName: identity.userName, employeeId: identity.employeeId },
    reason: decision.reason,
  };
}

/** The reprovision state machine's input to delete an offboarded user. */
export function deletionInput(userName: string, employeeId: string): DeletionInput {
  return { action: 'DELETE_USER', hire: { userName, employeeId }, reason: 'retention-ended' };
}
