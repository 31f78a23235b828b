import { paginateGetAccountAuthorizationDetails, type IAMClient, type User } from '@aws-sdk/client-iam';
import { GetParameterCommand, ParameterNotFound, type SSMClient } from '@aws-sdk/client-ssm';
import * as z from 'zod/mini';
import { MassOffboardingHeld } from './errors.ts';
import { isManaged, tagValue, TAG, type Ownership } from './managed-user.ts';
import type { GuardSettings } from './offboarding-settings.ts';
import { validate } from './validation.ts';

/**
 * The mass-change guard. An HR system that goes wrong (a bad export, a test feed on the
 * production bus) can terminate everybody at once; the workflow would then lock the whole
 * company out within minutes. So before a user loses its access (offboarded, or deleted by the
 * sweep), the guard counts how many managed users have lost theirs within the last day, and
 * holds when this one would take the count past `share` percent of the managed users (or past
 * `floor`, whichever is larger, so that a small account can still lose a few people a day).
 * A hold lasts until an admin confirms with `onboarding confirm-offboarding`, which writes a
 * time-limited confirmation to an SSM parameter (the stack's, readable by the Lambdas, writable
 * only by whom IAM lets).
 *
 * The count comes from IAM's own tags: one paginated GetAccountAuthorizationDetails (users only,
 * with their tags, 1,000 a page: at most 5 calls for IAM's 5,000-user quota), not a GetUser per user.
 */

/** The managed users, with their tags: every user of the account in pages of 1,000, ours kept. */
export async function managedUsersWithTags(iam: IAMClient, ownership: Ownership): Promise<User[]> {
  const users: User[] = [];
  for await (const page of paginateGetAccountAuthorizationDetails({ client: iam, pageSize: 1000 }, { Filter: ['User'] })) {
    for (const detail of page.UserDetailList ?? []) {
      const user: User = {
        UserName: detail.UserName ?? '',
        Path: detail.Path ?? '/',
        Arn: detail.Arn ?? '',
        UserId: detail.UserId ?? '',
        CreateDate: detail.CreateDate ?? new Date(0),
        Tags: detail.Tags ?? [],
      };
      if (user.UserName && isManaged(user, ownership)) users.push(user);
    }
  }
  return users;
}

const DAY_MS = 86_400_000;

function timeOf(text: string | undefined): number | undefined {
  const ms = text === undefined ? Number.NaN : Date.parse(text);
  return Number.isNaN(ms) ? undefined : ms;
}

/** When the user was offboarded: its offboarded-at tag, or (an offboarding still finishing) its last update. */
export function offboardedAtOf(user: User): number | undefined {
  if (tagValue(user.Tags, TAG.status) !== 'offboarded') return undefined;
  return timeOf(tagValue(user.Tags, TAG.offboardedAt)) ?? timeOf(tagValue(user.Tags, TAG.updatedAt)) ?? 0;
}

export interface Census {
  /** Managed users, offboarded ones included. */
  managed: number;
  /** Managed users offboarded within the last 24 hours. */
  recentlyOffboarded: number;
}

export function censusOf(users: readonly User[], now: Date): Census {
  const since = now.getTime() - DAY_MS;
  return {
    managed: users.length,
    recentlyOffboarded: users.filter((u) => (offboardedAtOf(u) ?? -Infinity) > since).length,
  };
}

/** How many users may lose their access within a day without a confirmation. */
export function dailyAllowance(census: Census, guard: GuardSettings): number {
  return Math.max(guard.floor, Math.floor((census.managed * guard.share) / 100));
}

// --- the admin's confirmation -------------------------------------------------------------

/** The longest a confirmation may lift the guard for. */
export const MAX_CONFIRMATION_MS = DAY_MS;

const confirmationSchema = z.object({
  confirmedBy: z.string().check(z.maxLength(512)),
  confirmedAt: z.iso.datetime(),
  expiresAt: z.iso.datetime(),
});

export type Confirmation = z.output<typeof confirmationSchema>;

/** The parameter value `onboarding confirm-offboarding` writes. */
export function confirmationFor(confirmedBy: string, now: Date, forMs: number): Confirmation {
  const ms = Math.min(Math.max(forMs, 60_000), MAX_CONFIRMATION_MS);
  return { confirmedBy, confirmedAt: now.toISOString(), expiresAt: new Date(now.getTime() + ms).toISOString() };
}

/**
 * Whether `text` (the parameter's value) is a confirmation in force at `now`: well formed, not
 * dated in the future, and for at most {@link MAX_CONFIRMATION_MS}. Anything else (the stack's
 * placeholder, an edit by hand) confirms nothing.
 */
export function confirmationInForce(text: string | undefined, now: Date): Confirmation | undefined {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text ?? '');
  } catch {
    return undefined;
  }
  const result = validate(confirmationSchema, parsed, '(confirmation)');
  if (!result.success) return undefined;
  const from = Date.parse(result.data.confirmedAt);
  const until = Date.parse(result.data.expiresAt);
  const valid = from <= now.getTime() + 60_000 && now.getTime() < until && until - from <= MAX_CONFIRMATION_MS;
  return valid ? result.data : undefined;
}

/** The confirmation in force, read from the SSM parameter; none when the parameter does not exist. */
export async function readConfirmation(ssm: SSMClient, parameterName: string, now: Date): Promise<Confirmation | undefined> {
  try {
    const { Parameter } = await ssm.send(new GetParameterCommand({ Name: parameterName }));
    return confirmationInForce(Parameter?.Value, now);
  } catch (error) {
    if (error instanceof ParameterNotFound) return undefined;
    throw error;
  }
}

// --- the decision -------------------------------------------------------------------------

export interface GuardVerdict {
  holds: boolean;
  census: Census;
  allowance: number;
  /** Users that would have lost their access within a day, this change included. */
  wouldBe: number;
  confirmedUntil?: string;
}

/** What the guard says of `changes` more users losing their access now. */
export function verdict(census: Census, changes: number, guard: GuardSettings, confirmation: Confirmation | undefined): GuardVerdict {
  const allowance = dailyAllowance(census, guard);
  const wouldBe = census.recentlyOffboarded + changes;
  return {
    holds: confirmation === undefined && wouldBe > allowance,
    census,
    allowance,
    wouldBe,
    ...(confirmation && { confirmedUntil: confirmation.expiresAt }),
  };
}

/** The error a hold ends with: the counts, no names. */
export function heldError(result: GuardVerdict, what: string): MassOffboardingHeld {
  return new MassOffboardingHeld(
    `${what} held: ${result.wouldBe} of ${result.census.managed} managed users would have lost their access within a day, ` +
      `more than the ${result.allowance} allowed without a confirmation; run "onboarding confirm-offboarding" if this is intended`,
  );
}

/** Reads the census and the confirmation, and decides on `changes` more users. */
export async function checkGuard(
  clients: { iam: IAMClient; ssm: SSMClient },
  settings: { ownership: Ownership; guard: GuardSettings; confirmationParameter: string },
  changes: number,
  now: Date,
): Promise<GuardVerdict> {
  const users = await managedUsersWithTags(clients.iam, settings.ownership);
  const census = censusOf(users, now);
  // The parameter is read only when it could matter.
  if (census.recentlyOffboarded + changes <= dailyAllowance(census, settings.guard)) return verdict(census, changes, settings.guard, undefined);
  return verdict(census, changes, settings.guard, await readConfirmation(clients.ssm, settings.confirmationParameter, now));
}
