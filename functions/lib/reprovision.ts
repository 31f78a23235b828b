import {
  GetLoginProfileCommand,
  NoSuchEntityException,
  paginateListUsers,
  type IAMClient,
  type LoginProfile,
  type User,
} from '@aws-sdk/client-iam';
import { ExecutionAlreadyExists, StartExecutionCommand, type SFNClient } from '@aws-sdk/client-sfn';
import * as z from 'zod/mini';
import { ConfigurationError, HireNotRebuildable } from './errors.ts';
import { findUser, isManaged, passwordResetsOf, tagValue, TAG, type Ownership } from './managed-user.ts';
import type { ReprovisionInput, ReprovisionReason } from './reprovision-user.ts';
import { hireFromUser } from './user-hire.ts';
import { stableExecutionName } from './execution-name.ts';

/**
 * The scheduled sweep over the users this workflow manages. For each one it decides, from
 * IAM alone, whether its onboarding needs healing, and starts a Step Functions execution that
 * does it:
 *
 * - no login profile (the onboarding failed or stopped halfway): the onboarding state machine
 *   again, with the hire rebuilt from the user's tags and groups;
 * - a password whose credentials email never went out, or one not used within
 *   `unusedPasswordDays` of being issued: the reprovision state machine resets it and emails
 *   it again, at most `maxPasswordResets` times, after which it removes console access.
 *
 * Users that are not ours, and users who have signed in, are only read. The sweep itself never
 * writes to IAM; its executions do. Execution names carry the user and the day, so a second
 * sweep on the same day finds each action already started (Step Functions keeps names for 90
 * days) and does nothing twice. A dry run reads and reports, and starts nothing.
 */

export interface SweepSettings extends Ownership {
  onboardingStateMachineArn: string;
  reprovisionStateMachineArn: string;
  /** Days a temporary password may stay unused before it is reset. */
  unusedPasswordDays: number;
  /** Resets of one user's password before its console access is removed instead. */
  maxPasswordResets: number;
  /** Users inspected (and executions started) at the same time. */
  concurrency: number;
  /** An onboarding whose user was touched this recently may still be running: leave it. */
  inProgressGraceMinutes: number;
}

export const SWEEP_DEFAULTS = {
  unusedPasswordDays: 7,
  maxPasswordResets: 3,
  concurrency: 5,
  inProgressGraceMinutes: 60,
} as const satisfies Partial<SweepSettings>;

export interface SweepOptions {
  /** Report what would be done; start nothing and write nothing. */
  dryRun?: boolean;
  /** The sweep's clock: decisions and execution names use it. */
  now?: Date;
}

export type SweepAction = 'none' | 'restart-onboarding' | 'reset-password' | 'remove-console-access';

export type UntouchedReason =
  | 'no-such-user'
  | 'not-managed'
  | 'signed-in'
  | 'console-access-removed'
  | 'in-progress'
  | 'healthy'
  /** Reading the user failed (see the report's detail). */
  | 'not-inspected';

export type SweepOutcome =
  /** Nothing to do, or not ours to do. */
  | 'untouched'
  /** An execution was started. */
  | 'started'
  /** An execution with today's name exists: an earlier sweep today already acted. */
  | 'already-done-today'
  /** Dry run: this execution would be started. */
  | 'planned'
  /** The hire cannot be rebuilt from the user's tags: nothing done, ops should look. */
  | 'not-rebuildable'
  /** Inspecting or starting failed; the next sweep tries again. */
  | 'error';

export interface UserReport {
  userName: string;
  action: SweepAction;
  reason: UntouchedReason | ReprovisionReason | 'no-login-profile';
  outcome: SweepOutcome;
  executionName?: string;
  executionArn?: string;
  /** Why it was not rebuildable, or the error. */
  detail?: string;
}

export interface SweepReport {
  dryRun: boolean;
  startedAt: string;
  finishedAt: string;
  scanned: number;
  actions: Record<SweepAction, number>;
  outcomes: Record<SweepOutcome, number>;
  users: UserReport[];
}

// --- execution names --------------------------------------------------------------------

const EXECUTION_PREFIX = {
  'restart-onboarding': 'reonboard',
  'reset-password': 'reset',
  'remove-console-access': 'remove',
} as const;

/**
 * `<prefix>-<userName>-<YYYY-MM-DD>` (prefix `reonboard`, `reset` or `remove`): one name per
 * user, action and UTC day, so a second sweep the same day cannot act twice.
 */
export function executionName(action: keyof typeof EXECUTION_PREFIX, userName: string, now: Date): string {
  return stableExecutionName(EXECUTION_PREFIX[action], userName, { suffix: now.toISOString().slice(0, 10), replacement: '_' });
}

// --- decisions --------------------------------------------------------------------------

export type Decision =
  | { action: 'none'; reason: UntouchedReason }
  | { action: 'restart-onboarding'; reason: 'no-login-profile' }
  | { action: 'reset-password' | 'remove-console-access'; reason: Exclude<ReprovisionReason, 'requested'> };

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
  if (user.PasswordLastUsed) return { action: 'none', reason: 'signed-in' };
  const status = tagValue(user.Tags, TAG.status);
  if (status === 'console-access-removed') return { action: 'none', reason: 'console-access-removed' };
  if (status === 'in-progress') {
    const touched = Math.max(timeOf(tagValue(user.Tags, TAG.updatedAt)) ?? 0, timeOf(tagValue(user.Tags, TAG.passwordIssuedAt)) ?? 0);
    if (now.getTime() - touched < settings.inProgressGraceMinutes * 60_000) return { action: 'none', reason: 'in-progress' };
  }
  return undefined;
}

/** What a managed, never-signed-in user needs, given its login profile (undefined: none). */
export function decideWithProfile(
  user: User,
  profile: LoginProfile | undefined,
  settings: Pick<SweepSettings, 'unusedPasswordDays' | 'maxPasswordResets'>,
  now: Date,
): Decision {
  if (!profile) return { action: 'restart-onboarding', reason: 'no-login-profile' };
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

// --- the sweep --------------------------------------------------------------------------

async function loginProfileOf(iam: IAMClient, userName: string): Promise<LoginProfile | undefined> {
  try {
    return (await iam.send(new GetLoginProfileCommand({ UserName: userName }))).LoginProfile;
  } catch (error) {
    if (error instanceof NoSuchEntityException) return undefined;
    throw error;
  }
}

/** Runs `work` over `items` with at most `limit` running at once; results keep the input order. */
async function mapWithConcurrency<T, R>(items: readonly T[], limit: number, work: (item: T) => Promise<R>): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const index = next++;
      results[index] = await work(items[index] as T);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}

function describeError(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}

interface Clients {
  iam: IAMClient;
  sfn: SFNClient;
}

async function start(
  sfn: SFNClient,
  stateMachineArn: string,
  name: string,
  input: unknown,
): Promise<Pick<UserReport, 'outcome' | 'executionArn'>> {
  try {
    const { executionArn } = await sfn.send(
      new StartExecutionCommand({ stateMachineArn, name, input: JSON.stringify(input) }),
    );
    return { outcome: 'started', ...(executionArn && { executionArn }) };
  } catch (error) {
    if (error instanceof ExecutionAlreadyExists) return { outcome: 'already-done-today' };
    throw error;
  }
}

async function heal(clients: Clients, userName: string, settings: SweepSettings, options: Required<SweepOptions>): Promise<UserReport> {
  const { now, dryRun } = options;
  // Deleted since it was listed.
  const user = await findUser(clients.iam, userName);
  if (!user) return { userName, action: 'none', reason: 'no-such-user', outcome: 'untouched' };
  const early = decideWithoutProfile(user, settings, now);
  if (early) return { userName, ...early, outcome: 'untouched' };

  const decision = decideWithProfile(user, await loginProfileOf(clients.iam, userName), settings, now);
  if (decision.action === 'none') return { userName, ...decision, outcome: 'untouched' };

  const name = executionName(decision.action, userName, now);
  const report = { userName, ...decision, executionName: name };
  const employeeId = tagValue(user.Tags, TAG.employeeId) ?? '';

  let stateMachineArn: string;
  let input: unknown;
  if (decision.action === 'remove-console-access') {
    // Needs no hire: removal neither emails the user nor onboards it.
    stateMachineArn = settings.reprovisionStateMachineArn;
    input = { action: 'REMOVE_CONSOLE_ACCESS', hire: { userName, employeeId }, reason: decision.reason } satisfies ReprovisionInput;
  } else {
    let hire;
    try {
      hire = await hireFromUser(clients.iam, user);
    } catch (error) {
      const outcome = error instanceof HireNotRebuildable ? 'not-rebuildable' : 'error';
      return { ...report, outcome, detail: describeError(error) };
    }
    if (decision.action === 'restart-onboarding') {
      stateMachineArn = settings.onboardingStateMachineArn;
      // The HR event's shape: the onboarding validates it as it would an event.
      input = {
        employeeId: hire.employeeId,
        firstName: hire.firstName,
        lastName: hire.lastName,
        email: hire.email,
        userName: hire.userName,
        groups: hire.groups,
      };
    } else {
      stateMachineArn = settings.reprovisionStateMachineArn;
      input = { action: 'RESET_PASSWORD', hire: { userName, employeeId }, reason: decision.reason } satisfies ReprovisionInput;
    }
  }

  if (dryRun) return { ...report, outcome: 'planned' };
  try {
    return { ...report, ...(await start(clients.sfn, stateMachineArn, name, input)) };
  } catch (error) {
    return { ...report, outcome: 'error', detail: describeError(error) };
  }
}

function assertSettings(settings: SweepSettings): void {
  const problems: string[] = [];
  const whole = (key: keyof SweepSettings, min: number) => {
    const value = settings[key];
    if (typeof value !== 'number' || !Number.isInteger(value) || value < min) problems.push(`${key}: must be a whole number >= ${min}`);
  };
  whole('unusedPasswordDays', 1);
  whole('maxPasswordResets', 0);
  whole('concurrency', 1);
  whole('inProgressGraceMinutes', 0);
  if (!settings.onboardingStateMachineArn) problems.push('onboardingStateMachineArn: is required');
  if (!settings.reprovisionStateMachineArn) problems.push('reprovisionStateMachineArn: is required');
  if (problems.length > 0) throw new ConfigurationError(`Invalid sweep settings: ${problems.join('; ')}`);
}

/**
 * Sweeps the managed users once. Per-user failures are reported (outcome `error`) and do not
 * stop the others. The report never holds a password: the sweep never sees one.
 */
export async function sweep(clients: Clients, settings: SweepSettings, options: SweepOptions = {}): Promise<SweepReport> {
  assertSettings(settings);
  const resolved = { dryRun: options.dryRun ?? false, now: options.now ?? new Date() };
  const startedAt = new Date();

  const userNames: string[] = [];
  for await (const page of paginateListUsers({ client: clients.iam }, { PathPrefix: settings.managedPath })) {
    userNames.push(...(page.Users ?? []).map((u) => u.UserName ?? '').filter((n) => n !== ''));
  }

  const users = await mapWithConcurrency(userNames, settings.concurrency, async (userName): Promise<UserReport> => {
    try {
      return await heal(clients, userName, settings, resolved);
    } catch (error) {
      return { userName, action: 'none', reason: 'not-inspected', outcome: 'error', detail: describeError(error) };
    }
  });

  const actions: Record<SweepAction, number> = { none: 0, 'restart-onboarding': 0, 'reset-password': 0, 'remove-console-access': 0 };
  const outcomes: Record<SweepOutcome, number> = {
    untouched: 0,
    started: 0,
    'already-done-today': 0,
    planned: 0,
    'not-rebuildable': 0,
    error: 0,
  };
  for (const user of users) {
    actions[user.action] += 1;
    outcomes[user.outcome] += 1;
  }
  return {
    dryRun: resolved.dryRun,
    startedAt: startedAt.toISOString(),
    finishedAt: new Date().toISOString(),
    scanned: users.length,
    actions,
    outcomes,
    users,
  };
}

// --- settings from the environment -------------------------------------------------------

const count = (fallback: number, min: number, max: number) =>
  z._default(z.coerce.number().check(z.int(), z.minimum(min), z.maximum(max)), fallback);

const envSchema = z.object({
  ONBOARDING_STATE_MACHINE_ARN: z.string().check(z.regex(/^arn:[^:]+:states:/, 'must be a state machine ARN')),
  REPROVISION_STATE_MACHINE_ARN: z.string().check(z.regex(/^arn:[^:]+:states:/, 'must be a state machine ARN')),
  UNUSED_PASSWORD_DAYS: count(SWEEP_DEFAULTS.unusedPasswordDays, 1, 365),
  MAX_PASSWORD_RESETS: count(SWEEP_DEFAULTS.maxPasswordResets, 0, 100),
  REPROVISION_CONCURRENCY: count(SWEEP_DEFAULTS.concurrency, 1, 50),
  IN_PROGRESS_GRACE_MINUTES: count(SWEEP_DEFAULTS.inProgressGraceMinutes, 0, 10_080),
});

/** The sweep's own settings from the Lambda environment (serverless.yml), with the ownership given. */
export function sweepSettingsFromEnv(env: Record<string, string | undefined>, ownership: Ownership): SweepSettings {
  const result = envSchema.safeParse(env);
  if (!result.success) {
    const problems = result.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`).join('; ');
    throw new ConfigurationError(`Invalid configuration: ${problems}`);
  }
  const e = result.data;
  return {
    ...ownership,
    onboardingStateMachineArn: e.ONBOARDING_STATE_MACHINE_ARN,
    reprovisionStateMachineArn: e.REPROVISION_STATE_MACHINE_ARN,
    unusedPasswordDays: e.UNUSED_PASSWORD_DAYS,
    maxPasswordResets: e.MAX_PASSWORD_RESETS,
    concurrency: e.REPROVISION_CONCURRENCY,
    inProgressGraceMinutes: e.IN_PROGRESS_GRACE_MINUTES,
  };
}
