import type { Tag, User } from '@aws-sdk/client-iam';
import { toTagValue } from './iam-names.ts';
import { tagValue, TAG } from './managed-user.ts';

/**
 * Which execution may give a user its password: the claim. Only one execution at a time gives a
 * user a password, so duplicates of an HR event (EventBridge delivers at least once, HR resends)
 * never send two. The claim is the `onboarding:created-by` tag, written with the user:
 *
 * - the execution that created the user holds it while it runs: in progress for
 *   {@link CREATOR_CLAIM_MS} after the user last changed, or, while the hire waits for its start
 *   date (status `waiting`), until {@link CREATOR_CLAIM_MS} past the `onboarding:credentials-at`
 *   time, however many weeks away that is;
 * - an event with another start date (`onboarding:start-date`) for a hire still waiting moves
 *   the date: its execution takes the claim over and waits for the new date; the one waiting for
 *   the old date finds on waking that the claim is no longer its own and stands back (it is not
 *   stopped: a stopped onboarding is an alarm for ops);
 * - a later event for a user nobody holds, with a start date still ahead, claims it to wait;
 * - a hire for an offboarded user (a rehire) claims it, waiting or not: the user is in progress
 *   again, so neither the sweep nor the leaver flow takes it for a leaver.
 */

/**
 * How long the execution that created a user keeps the sole right to give it a password. An
 * onboarding takes seconds, or minutes while IAM settles (the login-profile retries give up
 * after about 7); past this, a stuck or lost execution no longer blocks a repeated event.
 */
export const CREATOR_CLAIM_MS = 15 * 60_000;

export interface Claim {
  /** This execution gives the user its password. */
  mine: boolean;
  /** Another execution holds the claim: this one must not touch the login profile. */
  busyElsewhere: boolean;
  /** When this execution sets the password (a start date ahead); undefined: now. */
  waitUntil?: string;
  /** Tags that record this execution's claim, when it takes one over. */
  tags?: Tag[];
  /** The execution whose claim this one took over (it stands back when it wakes). */
  supersedes?: string;
}

export interface ClaimRequest {
  /** The user was created by this very attempt. */
  created: boolean;
  /** When the hire's credentials go out, if later than now. */
  credentialsAt: string | undefined;
  /** The hire's start date as HR gave it: what tells a moved date from a duplicate. */
  startDate: string | undefined;
  executionId: string | undefined;
  now: Date;
}

function timeOf(text: string | undefined): number | undefined {
  const ms = Date.parse(text ?? '');
  return Number.isNaN(ms) ? undefined : ms;
}

/** The tags of a claim: this execution, waiting or not, and for which start date. */
export function claimTags(request: ClaimRequest & { executionId: string }): Tag[] {
  const { credentialsAt, startDate, executionId, now } = request;
  return [
    { Key: TAG.status, Value: credentialsAt === undefined ? 'in-progress' : 'waiting' },
    { Key: TAG.createdBy, Value: toTagValue(executionId) },
    { Key: TAG.updatedAt, Value: now.toISOString() },
    { Key: TAG.credentialsAt, Value: credentialsAt ?? now.toISOString() },
    { Key: TAG.startDate, Value: startDate ?? '' },
  ];
}

/** The execution holding the claim on the user, and whether that claim still holds. */
function heldClaim(user: User, now: number): { holder: string; stillWaiting?: boolean } | undefined {
  const holder = tagValue(user.Tags, TAG.createdBy);
  if (holder === undefined) return undefined;
  const status = tagValue(user.Tags, TAG.status);
  if (status === 'waiting') {
    const until = timeOf(tagValue(user.Tags, TAG.credentialsAt));
    return until !== undefined && now < until + CREATOR_CLAIM_MS ? { holder, stillWaiting: now < until } : undefined;
  }
  const updatedAt = timeOf(tagValue(user.Tags, TAG.updatedAt)) ?? 0;
  return status === 'in-progress' && now - updatedAt < CREATOR_CLAIM_MS ? { holder } : undefined;
}

/** Statuses whose user already had its password: a repeated event does not wait or claim. */
const SETTLED = new Set(['complete', 'console-access-removed']);

/** Who gives the user (created or adopted, ours for this employee) its password, and when. */
export function claimFor(user: User, request: ClaimRequest): Claim {
  const { created, credentialsAt, startDate, executionId, now } = request;
  const wait = credentialsAt === undefined ? {} : { waitUntil: credentialsAt };
  const self = executionId === undefined ? undefined : toTagValue(executionId);
  if (created || (self !== undefined && tagValue(user.Tags, TAG.createdBy) === self)) return { mine: true, busyElsewhere: false, ...wait };
  // A rehire: the leaver flow left the user without access; this onboarding restores it.
  if (tagValue(user.Tags, TAG.status) === 'offboarded' && executionId !== undefined) {
    return { mine: true, busyElsewhere: false, ...wait, tags: claimTags({ ...request, executionId }) };
  }
  const held = heldClaim(user, now.getTime());
  if (held) {
    // A hire waiting for a start date that HR has changed since: the new date wins. (Once the
    // wait is over, the waiting execution is setting the password: too late to move.)
    const moved = held.stillWaiting === true && (startDate ?? '') !== (tagValue(user.Tags, TAG.startDate) ?? '');
    if (moved && executionId !== undefined) {
      return { mine: true, busyElsewhere: false, ...wait, tags: claimTags({ ...request, executionId }), supersedes: held.holder };
    }
    return { mine: false, busyElsewhere: true };
  }
  if (credentialsAt !== undefined && executionId !== undefined && !SETTLED.has(tagValue(user.Tags, TAG.status) ?? '')) {
    return { mine: true, busyElsewhere: false, ...wait, tags: claimTags({ ...request, executionId }) };
  }
  return { mine: false, busyElsewhere: false };
}
