import { paginateListUsers, type IAMClient, type User } from '@aws-sdk/client-iam';
import { ExecutionAlreadyExists, paginateListExecutions, StartExecutionCommand, type SFNClient } from '@aws-sdk/client-sfn';
import type { SSMClient } from '@aws-sdk/client-ssm';
import { HireNotRebuildable } from './errors.ts';
import { findUser, loginProfileOf, tagValue, TAG } from './managed-user.ts';
import { censusOf, dailyAllowance, managedUsersWithTags, readConfirmation, type Census } from './offboarding-guard.ts';
import type { ReprovisionReason } from './reprovision-user.ts';
import {
  decideForLeaver,
  decideFromTags,
  decideWithoutProfile,
  deletionInput,
  decideWithProfile,
  executionName,
  onboardingInput,
  reprovisionInput,
  type SweepAction,
  type UntouchedReason,
} from './sweep-decisions.ts';
import { parseSweepSettings, type SweepSettings } from './sweep-settings.ts';
import { hireFromUser, identityFromUser } from './user-hire.ts';

/**
 * The scheduled sweep over the users this workflow manages. For each one it decides, from
 * IAM alone, whether its onboarding needs healing (sweep-decisions.ts), and starts a Step
 * Functions execution that does it: the onboarding again, with the hire rebuilt from the
 * user's tags and groups, or the reprovision state machine to reset the password or remove
 * console access.
 *
 * Users that are not ours are only read, and users who have signed in not even that (ListUsers
 * says so). The sweep itself never writes to IAM; its executions do. Execution names carry the
 * user and the day, so a second sweep on the same day finds each action already started (Step
 * Functions keeps names for 90 days) and does nothing twice. A dry run reads and reports, and
 * starts nothing.
 *
 * At scale (IAM's 5,000 users, under its throttle) a sweep is bounded by IAM's rate: it reads
 * at most one user at a time per `concurrency`, begins no user past its `deadline` (those are
 * reported `deferred`, for the next invocation), and begins each invocation at another place in
 * the list (`startAt`). The next invocation of the day reads no user an earlier one started an
 * execution for (`skipActedOnToday`): it lists today's executions first (Step Functions, not IAM).
 *
 * Leavers: the census of the mass-change guard (every managed user with its tags, in one
 * paginated read: offboarding-guard.ts) says who is offboarded. Those are never healed; once
 * their retention period has passed they are deleted (the reprovision state machine's
 * DELETE_USER), as many as the guard allows: the users offboarded within the last day plus the
 * deletions may not pass the day's allowance unless an admin has confirmed. The rest are
 * reported `held`, for a later sweep.
 */

export interface SweepOptions {
  /** Report what would be done; start nothing and write nothing. */
  dryRun?: boolean;
  /** The sweep's clock: decisions and execution names use it. */
  now?: Date;
  /** When (ms since the epoch) to begin no further user: the rest are reported `deferred`. */
  deadline?: number;
  /** Where in the list of users to begin, as a fraction of it (0 to 1): the list is walked round from there. */
  startAt?: number;
  /**
   * Read no user an execution was started for earlier today (the scheduled sweep's invocations,
   * which hand on what they could not finish); they are reported `already-done-today`. Off, the
   * sweep reports every user as it finds it now (what a person running it wants).
   */
  skipActedOnToday?: boolean;
}

export type SweepOutcome =
  /** Nothing to do, or not ours to do. */
  | 'untouched'
  /** An execution was started. */
  | 'started'
  /** An execution with today's name exists: an earlier sweep today already acted. */
  | 'already-done-today'
  /** Dry run: this execution would be started. */
  | 'planned'
  /** The user's tags do not say enough of its hire for the action: nothing done, ops should look. */
  | 'not-rebuildable'
  /** Inspecting or starting failed; the next sweep tries again. */
  | 'error'
  /** Not begun: the invocation ran out of time first; the next one takes it up. */
  | 'deferred'
  /** A deletion the mass-change guard did not allow today: a later sweep (or a confirmation) lets it through. */
  | 'held';

export interface UserReport {
  userName: string;
  action: SweepAction;
  /** `started-today`: an execution for the user was started earlier today, by an earlier invocation. */
  reason: UntouchedReason | ReprovisionReason | 'no-login-profile' | 'started-today' | 'retention-ended';
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
  /** The mass-change guard on the sweep's deletions. */
  guard: GuardReport;
  users: UserReport[];
}

export interface GuardReport extends Census {
  /** Users that may lose their access within a day without a confirmation. */
  allowance: number;
  /** Deletions due (retention ended) and how many of them the guard let through. */
  deletionsDue: number;
  deletionsAllowed: number;
  /** When an admin's confirmation lifted the guard, until when. */
  confirmedUntil?: string;
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

/**
 * The names of the executions started today (UTC) on `stateMachineArns`: what an earlier
 * invocation of today's sweep already did, read from Step Functions (newest first) rather than
 * from IAM. Empty if they cannot be listed: StartExecution still refuses a name taken today.
 */
async function startedToday(sfn: SFNClient, stateMachineArns: string[], now: Date): Promise<Set<string>> {
  const dayStart = Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate());
  const names = new Set<string>();
  try {
    for (const stateMachineArn of stateMachineArns) {
      pages: for await (const page of paginateListExecutions({ client: sfn, pageSize: 1000 }, { stateMachineArn })) {
        for (const execution of page.executions ?? []) {
          if ((execution.startDate?.getTime() ?? 0) < dayStart) break pages;
          if (execution.name) names.add(execution.name);
        }
      }
    }
  } catch {
    return new Set();
  }
  return names;
}

const ACTIONS = ['restart-onboarding', 'reset-password', 'remove-console-access', 'delete-user'] as const;

/** `Name: message`: the report's one-line account of an error. */
function nameAndMessage(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}

interface Clients {
  iam: IAMClient;
  sfn: SFNClient;
  /** Reads an admin's confirmation; without it, nothing lifts the guard. */
  ssm?: SSMClient;
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

async function heal(clients: Clients, listed: User, settings: SweepSettings, options: { now: Date; dryRun: boolean }): Promise<UserReport> {
  const { now, dryRun } = options;
  const userName = listed.UserName ?? '';
  // ListUsers says who has signed in: nothing to do for them, not even a read.
  if (listed.PasswordLastUsed) return { userName, action: 'none', reason: 'signed-in', outcome: 'untouched' };
  // Deleted since it was listed.
  const user = await findUser(clients.iam, userName);
  if (!user) return { userName, action: 'none', reason: 'no-such-user', outcome: 'untouched' };
  const early = decideWithoutProfile(user, settings, now) ?? decideFromTags(user, settings, now);
  if (early) return { userName, ...early, outcome: 'untouched' };

  const decision = decideWithProfile(user, await loginProfileOf(clients.iam, userName), settings, now);
  if (decision.action === 'none') return { userName, ...decision, outcome: 'untouched' };

  const name = executionName(decision.action, userName, now);
  const report = { userName, ...decision, executionName: name };

  // Whatever the action, a user whose tags cannot say whose it is gets no execution: it would
  // only fail its validation, every day, and mail ops each time.
  let stateMachineArn: string;
  let input: unknown;
  try {
    if (decision.action === 'restart-onboarding') {
      stateMachineArn = settings.onboardingStateMachineArn;
      input = onboardingInput(await hireFromUser(clients.iam, user));
    } else {
      stateMachineArn = settings.reprovisionStateMachineArn;
      // A reset emails the new password, so it needs the whole hire; a removal only whose user it is.
      const identity = decision.action === 'reset-password' ? await hireFromUser(clients.iam, user) : identityFromUser(user);
      input = reprovisionInput(decision, identity);
    }
  } catch (error) {
    const outcome = error instanceof HireNotRebuildable ? 'not-rebuildable' : 'error';
    return { ...report, outcome, detail: nameAndMessage(error) };
  }

  if (dryRun) return { ...report, outcome: 'planned' };
  try {
    return { ...report, ...(await start(clients.sfn, stateMachineArn, name, input)) };
  } catch (error) {
    return { ...report, outcome: 'error', detail: nameAndMessage(error) };
  }
}

/** Starts (or plans, or holds) the deletion of an offboarded user whose retention has ended. */
async function retire(clients: Clients, user: User, settings: SweepSettings, options: { now: Date; dryRun: boolean; allowed: boolean }): Promise<UserReport> {
  const userName = user.UserName ?? '';
  const decision = decideForLeaver(user, settings, options.now);
  if (decision.action !== 'delete-user') return { userName, ...decision, outcome: 'untouched' };
  const name = executionName('delete-user', userName, options.now);
  const report = { userName, ...decision, executionName: name };
  if (!options.allowed) return { ...report, outcome: 'held', detail: 'MassOffboardingHeld: the mass-change guard allows no more deletions today' };
  if (options.dryRun) return { ...report, outcome: 'planned' };
  try {
    const input = deletionInput(userName, tagValue(user.Tags, TAG.employeeId) ?? '');
    return { ...report, ...(await start(clients.sfn, settings.reprovisionStateMachineArn, name, input)) };
  } catch (error) {
    return { ...report, outcome: 'error', detail: nameAndMessage(error) };
  }
}

/**
 * The offboarded users (by name) and which of those due for deletion the guard lets through
 * today: the oldest offboardings first.
 */
async function leavers(clients: Clients, settings: SweepSettings, now: Date): Promise<{ offboarded: Map<string, User>; allowed: Set<string>; guard: GuardReport }> {
  const users = await managedUsersWithTags(clients.iam, settings);
  const offboarded = new Map(users.filter((u) => tagValue(u.Tags, TAG.status) === 'offboarded').map((u) => [u.UserName ?? '', u]));
  const due = [...offboarded.values()]
    .filter((u) => decideForLeaver(u, settings, now).action === 'delete-user')
    .sort((a, b) => (tagValue(a.Tags, TAG.offboardedAt) ?? '').localeCompare(tagValue(b.Tags, TAG.offboardedAt) ?? ''));
  const census = censusOf(users, now);
  const allowance = dailyAllowance(census, { share: settings.guardShare, floor: settings.guardFloor });
  let room = Math.max(0, allowance - census.recentlyOffboarded);
  let confirmedUntil: string | undefined;
  if (due.length > room && clients.ssm && settings.confirmationParameter) {
    const confirmation = await readConfirmation(clients.ssm, settings.confirmationParameter, now);
    if (confirmation) {
      room = due.length;
      confirmedUntil = confirmation.expiresAt;
    }
  }
  const allowed = new Set(due.slice(0, room).map((u) => u.UserName ?? ''));
  return {
    offboarded,
    allowed,
    guard: { ...census, allowance, deletionsDue: due.length, deletionsAllowed: allowed.size, ...(confirmedUntil && { confirmedUntil }) },
  };
}

/**
 * Sweeps the managed users once. Per-user failures are reported (outcome `error`) and do not
 * stop the others. The report never holds a password: the sweep never sees one.
 */
export async function sweep(clients: Clients, settings: SweepSettings, options: SweepOptions = {}): Promise<SweepReport> {
  parseSweepSettings(settings);
  const resolved = { dryRun: options.dryRun ?? false, now: options.now ?? new Date() };
  const deadline = options.deadline ?? Number.POSITIVE_INFINITY;
  const startedAt = new Date();

  const listed: User[] = [];
  // IAM's largest page: 5,000 users in 5 calls.
  for await (const page of paginateListUsers({ client: clients.iam, pageSize: 1000 }, { PathPrefix: settings.managedPath })) {
    listed.push(...(page.Users ?? []).filter((u) => u.UserName));
  }
  const leaving = await leavers(clients, settings, resolved.now);

  // A user acted on earlier today (an invocation that ran out of time, then Lambda's retry of
  // it) is not read again, when asked. A dry run calls no Step Functions API at all.
  const today =
    options.skipActedOnToday && !resolved.dryRun
      ? await startedToday(clients.sfn, [settings.onboardingStateMachineArn, settings.reprovisionStateMachineArn], resolved.now)
      : new Set<string>();
  const actedOnToday = (userName: string): UserReport | undefined => {
    const action = ACTIONS.find((a) => today.has(executionName(a, userName, resolved.now)));
    return action && { userName, action, reason: 'started-today', outcome: 'already-done-today', executionName: executionName(action, userName, resolved.now) };
  };

  const first = Math.floor(Math.min(Math.max(options.startAt ?? 0, 0), 1) * listed.length) % Math.max(listed.length, 1);
  const order = listed.map((_, i) => (first + i) % listed.length);
  const reports = await mapWithConcurrency(order, settings.concurrency, async (index): Promise<[number, UserReport]> => {
    const user = listed[index]!;
    const userName = user.UserName ?? '';
    const done = actedOnToday(userName);
    if (done) return [index, done];
    if (Date.now() >= deadline) return [index, { userName, action: 'none', reason: 'not-inspected', outcome: 'deferred' }];
    try {
      const leaver = leaving.offboarded.get(userName);
      if (leaver) return [index, await retire(clients, leaver, settings, { ...resolved, allowed: leaving.allowed.has(userName) })];
      return [index, await heal(clients, user, settings, resolved)];
    } catch (error) {
      return [index, { userName, action: 'none', reason: 'not-inspected', outcome: 'error', detail: nameAndMessage(error) }];
    }
  });
  // The report lists users as IAM does, wherever this invocation began.
  const users = new Array<UserReport>(listed.length);
  for (const [index, report] of reports) users[index] = report;

  const actions: Record<SweepAction, number> = { none: 0, 'restart-onboarding': 0, 'reset-password': 0, 'remove-console-access': 0, 'delete-user': 0 };
  const outcomes: Record<SweepOutcome, number> = {
    untouched: 0,
    started: 0,
    'already-done-today': 0,
    planned: 0,
    'not-rebuildable': 0,
    error: 0,
    deferred: 0,
    held: 0,
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
    guard: leaving.guard,
    users,
  };
}
