/**
 * What happened to one hire, gathered for `onboarding status --employee-id|--user|--email`:
 * the IAM user and whether it is the workflow's, what the workflow recorded on it (tags), its
 * login profile and sign-in, the executions that touched it, its last failure with the
 * runbook's advice, and what the next sweep would do (the sweep's own decisions, run dry).
 *
 * Every search is bounded: at most `maxUsers` users read when a user is looked for by employee
 * id or email (ListUsers over the managed path, ListUserTags each), at most `maxExecutions` of
 * each state machine's most recent executions listed, and their inputs read (DescribeExecution)
 * only when what the user records does not explain it. The document says what was read.
 */
import {
  ListUserTagsCommand,
  paginateListUsers,
  type IAMClient,
  type LoginProfile,
  type Tag,
  type User,
} from '@aws-sdk/client-iam';
import { DescribeExecutionCommand, paginateListExecutions, type ExecutionListItem, type SFNClient } from '@aws-sdk/client-sfn';
import { causeMessage } from '../functions/lib/caught-error.ts';
import { HireNotRebuildable } from '../functions/lib/errors.ts';
import { deriveUserName } from '../functions/lib/hire.ts';
import { findUser, isManaged, loginProfileOf, passwordResetsOf, tagValue, TAG, type Ownership } from '../functions/lib/managed-user.ts';
import { decideWithoutProfile, decideWithProfile, executionName, type Decision, type SweepAction } from '../functions/lib/sweep-decisions.ts';
import type { SweepSettings } from '../functions/lib/sweep-settings.ts';
import { hireFromUser, identityFromUser } from '../functions/lib/user-hire.ts';
import { defaultExecutionName } from './commands/start.ts';
import { executionArnFor } from './execution-rules.ts';
import { adviceFor, ABORTED, type RunbookEntry } from './runbook.ts';

export interface PersonQuery {
  employeeId?: string;
  userName?: string;
  email?: string;
}

export interface PersonSettings {
  ownership: Ownership;
  sweep: Pick<SweepSettings, 'unusedPasswordDays' | 'maxPasswordResets' | 'inProgressGraceMinutes'>;
  /** At most this many users read when looking for one by employee id or email. */
  maxUsers: number;
  /** At most this many of each state machine's most recent executions listed. */
  maxExecutions: number;
  now: Date;
}

/**
 * The state machines, by ARN; the reprovision one may be unknown (then its executions are not
 * looked at), and the offboarding one names the execution a user's offboarded-by tag points at.
 */
export interface Machines {
  onboarding: string;
  reprovision?: string;
  offboarding?: string;
}

export type MachineKey = keyof Machines;

/** How an execution was found to have touched the hire. */
export type Trace = 'created-by' | 'completed-by' | 'offboarded-by' | 'name' | 'input';

export interface ExecutionSeen {
  name: string;
  executionArn: string;
  stateMachine: MachineKey | 'other';
  /** Absent when Step Functions no longer has it (kept 90 days after it closed). */
  status?: string;
  startDate?: Date;
  stopDate?: Date;
  error?: string;
  cause?: string;
  found: Trace[];
}

export interface UserFacts {
  userName: string;
  arn?: string;
  path: string;
  createDate?: Date;
  ours: boolean;
  /** Why it is not ours (path or managed-by tag). */
  notOursBecause?: string;
  employeeId?: string;
  email?: string;
  status?: string;
  statusAt?: string;
  failure?: string;
  loginProfile?: { createDate?: Date; passwordResetRequired?: boolean };
  passwordIssuedAt?: string;
  credentialsSentAt?: string;
  /** The email of the password the user has now went out (sent at or after it was issued). */
  credentialsDelivered: boolean;
  passwordResets: number;
  passwordLastUsed?: Date;
  createdBy?: string;
  completedBy?: string;
  offboardedBy?: string;
  /** A hire waiting for its start date: the date, and when its credentials go out. */
  startDate?: string;
  credentialsAt?: string;
}

export interface LastFailure {
  error: string;
  cause?: string;
  at?: Date | string;
  /** The execution that hit it; absent when only the user's failure tag says so. */
  execution?: Pick<ExecutionSeen, 'name' | 'executionArn' | 'stateMachine' | 'status'>;
  /** The runbook's entry. */
  advice: RunbookEntry & { known: boolean };
}

export type NextSweepOutcome = 'nothing' | 'would-start' | 'already-done-today' | 'not-rebuildable' | 'not-swept';

export interface NextSweep {
  action: SweepAction;
  reason: string;
  outcome: NextSweepOutcome;
  executionName?: string;
  stateMachine?: MachineKey;
  /** For a healthy user: when the sweep would act on an unused password, and how. */
  laterAt?: string;
  laterAction?: 'reset-password' | 'remove-console-access';
  detail?: string;
}

export interface SearchReport {
  /** Users: how the user was looked for. */
  users: { how: string; read: number; listed: number; complete: boolean };
  /** Executions listed per state machine, and how many inputs were read. */
  executions: Array<{ stateMachine: MachineKey; listed: number; complete: boolean; inputsRead: number }>;
}

export interface PersonStatus {
  query: PersonQuery;
  ownership: Ownership;
  user?: UserFacts;
  /** A user in the way of this hire's (its email's user name, not this hire's). */
  nameTakenBy?: { userName: string; ours: boolean; employeeId?: string };
  executions: ExecutionSeen[];
  lastFailure?: LastFailure;
  nextSweep: NextSweep;
  searched: SearchReport;
}

interface Clients {
  iam: IAMClient;
  sfn: SFNClient;
}

const FAILED = new Set(['FAILED', 'TIMED_OUT', 'ABORTED']);
const CONCURRENCY = 5;
const PROGRESS_EVERY = 25;

/** Runs `work` over `items`, `limit` at a time, until `stop()` says so. */
async function eachWithConcurrency<T>(items: readonly T[], limit: number, work: (item: T) => Promise<void>, stop: () => boolean = () => false): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length && !stop()) await work(items[next++] as T);
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}

function sameAddress(a: string | undefined, b: string | undefined): boolean {
  return a !== undefined && b !== undefined && a.toLowerCase() === b.toLowerCase();
}

// --- the user ---------------------------------------------------------------------------

interface Lookup {
  user?: User;
  nameTakenBy?: User;
  how: string;
  read: number;
  listed: number;
  complete: boolean;
}

/** The users under the managed path whose tags `matches`, ours first; at most `maxUsers` read. */
async function scanManagedUsers(
  iam: IAMClient,
  settings: PersonSettings,
  what: string,
  matches: (tags: Tag[]) => boolean,
  progress: (line: string) => void,
): Promise<Omit<Lookup, 'how'>> {
  const { managedPath } = settings.ownership;
  const names: string[] = [];
  let complete = true;
  for await (const page of paginateListUsers({ client: iam, pageSize: 1000 }, { PathPrefix: managedPath })) {
    names.push(...(page.Users ?? []).map((u) => u.UserName ?? '').filter((n) => n !== ''));
    if (names.length >= settings.maxUsers) {
      complete = names.length === settings.maxUsers && !page.IsTruncated;
      break;
    }
  }
  names.splice(settings.maxUsers);
  progress(`Looking for ${what} among ${names.length}${complete ? '' : ` (the first ${settings.maxUsers})`} users under ${managedPath}: reading their tags…\n`);

  let read = 0;
  let ours: string | undefined;
  let other: string | undefined;
  await eachWithConcurrency(
    names,
    CONCURRENCY,
    async (userName) => {
      const { Tags = [] } = await iam.send(new ListUserTagsCommand({ UserName: userName }));
      read += 1;
      if (!matches(Tags)) return;
      if (tagValue(Tags, TAG.managedBy) === settings.ownership.managedBy) ours ??= userName;
      else other ??= userName;
    },
    () => ours !== undefined,
  );
  const found = ours ?? other;
  return { ...(found && { user: await findUser(iam, found) }), read, listed: names.length, complete };
}

async function lookUp(iam: IAMClient, query: PersonQuery, settings: PersonSettings, progress: (line: string) => void): Promise<Lookup> {
  if (query.userName !== undefined) {
    const user = await findUser(iam, query.userName);
    return { ...(user && { user }), how: `GetUser ${query.userName}`, read: user ? 1 : 0, listed: 0, complete: true };
  }
  if (query.email !== undefined) {
    const email = query.email;
    // The user name a hire gets from its email, unless the hire names another: one call.
    const derived = deriveUserName(email);
    const named = derived === '' ? undefined : await findUser(iam, derived);
    if (named && sameAddress(tagValue(named.Tags, TAG.email), email)) {
      return { user: named, how: `GetUser ${derived} (the user name of ${email})`, read: 1, listed: 0, complete: true };
    }
    const scanned = await scanManagedUsers(iam, settings, `the user tagged ${TAG.email}=${email}`, (tags) => sameAddress(tagValue(tags, TAG.email), email), progress);
    return { ...scanned, ...(!scanned.user && named && { nameTakenBy: named }), how: `ListUsers ${settings.ownership.managedPath} + ListUserTags` };
  }
  const employeeId = query.employeeId ?? '';
  const scanned = await scanManagedUsers(iam, settings, `employee ${employeeId}`, (tags) => tagValue(tags, TAG.employeeId) === employeeId, progress);
  return { ...scanned, how: `ListUsers ${settings.ownership.managedPath} + ListUserTags` };
}

function userFacts(user: User, profile: LoginProfile | undefined, ownership: Ownership): UserFacts {
  const tag = (key: string) => tagValue(user.Tags, key);
  const ours = isManaged(user, ownership);
  const path = user.Path ?? '/';
  const managedBy = tag(TAG.managedBy);
  const notOursBecause = ours
    ? undefined
    : !path.startsWith(ownership.managedPath)
      ? `its path ${path} is not under ${ownership.managedPath}`
      : managedBy === undefined
        ? `it has no ${TAG.managedBy} tag`
        : `its ${TAG.managedBy} is ${managedBy}, not ${ownership.managedBy}`;
  const issued = tag(TAG.passwordIssuedAt);
  const sent = tag(TAG.credentialsSentAt);
  // As the sweep reads it: an email sent before the current password was issued carried an older one.
  const issuedMs = Date.parse(issued ?? '') || profile?.CreateDate?.getTime();
  const sentMs = Date.parse(sent ?? '');
  const credentialsDelivered = Boolean(profile) && !Number.isNaN(sentMs) && (issuedMs === undefined || sentMs >= issuedMs);
  const facts: UserFacts = {
    userName: user.UserName ?? '',
    path,
    ours,
    credentialsDelivered,
    passwordResets: passwordResetsOf(user),
  };
  const optional: Partial<UserFacts> = {
    arn: user.Arn,
    createDate: user.CreateDate,
    notOursBecause,
    employeeId: tag(TAG.employeeId),
    email: tag(TAG.email),
    status: tag(TAG.status),
    statusAt: tag(TAG.updatedAt),
    failure: tag(TAG.failure),
    loginProfile: profile && { createDate: profile.CreateDate, passwordResetRequired: profile.PasswordResetRequired },
    passwordIssuedAt: issued,
    credentialsSentAt: sent,
    passwordLastUsed: user.PasswordLastUsed,
    createdBy: tag(TAG.createdBy),
    completedBy: tag(TAG.completedBy),
    offboardedBy: tag(TAG.offboardedBy),
    ...(tag(TAG.status) === 'waiting' && { startDate: tag(TAG.startDate), credentialsAt: tag(TAG.credentialsAt) }),
  };
  for (const [key, value] of Object.entries(optional)) if (value !== undefined) (facts as unknown as Record<string, unknown>)[key] = value;
  return facts;
}

// --- executions -------------------------------------------------------------------------

const EXECUTION_ARN = /^arn:aws[a-z-]*:states:[a-z0-9-]+:\d{12}:execution:([^:\s]+):([^:\s]+)$/;

function machineOf(executionArn: string, machines: Machines): MachineKey | 'other' {
  const stateMachineArn = executionArn.replace(/:execution:([^:]+):[^:]+$/, ':stateMachine:$1');
  if (stateMachineArn === machines.onboarding) return 'onboarding';
  if (stateMachineArn === machines.reprovision) return 'reprovision';
  if (stateMachineArn === machines.offboarding) return 'offboarding';
  return 'other';
}

type Described = Partial<ExecutionSeen> & { input?: string };

/** DescribeExecution, or undefined when Step Functions no longer has it (90 days after it closed). */
async function describe(sfn: SFNClient, executionArn: string): Promise<Described | undefined> {
  try {
    const e = await sfn.send(new DescribeExecutionCommand({ executionArn }));
    return {
      status: e.status,
      startDate: e.startDate,
      ...(e.stopDate && { stopDate: e.stopDate }),
      ...(e.error !== undefined && { error: e.error }),
      ...(e.cause !== undefined && { cause: causeMessage(e.cause) }),
      ...(e.input !== undefined && { input: e.input }),
    };
  } catch (error) {
    if ((error as Error).name === 'ExecutionDoesNotExist') return undefined;
    throw error;
  }
}

/** The executions found to have touched the hire, newest first. */
class Executions {
  private readonly seen = new Map<string, ExecutionSeen>();

  constructor(
    private readonly sfn: SFNClient,
    private readonly machines: Machines,
  ) {}

  list(): ExecutionSeen[] {
    const time = (e: ExecutionSeen) => e.startDate?.getTime() ?? 0;
    return [...this.seen.values()].sort((a, b) => time(b) - time(a));
  }

  has(executionArn: string): boolean {
    return this.seen.has(executionArn);
  }

  /**
   * Records that `trace` ties the execution to the hire. What is `known` of it (a listing, a
   * description) is used; a failure's error and cause, or an execution known by ARN alone, are
   * described once.
   */
  async add(executionArn: string, trace: Trace, known: Described | ExecutionListItem = {}): Promise<void> {
    const entry = this.seen.get(executionArn);
    if (entry) {
      if (!entry.found.includes(trace)) entry.found.push(trace);
      return;
    }
    const [, , name = executionArn] = EXECUTION_ARN.exec(executionArn) ?? [];
    const added: ExecutionSeen = { name, executionArn, stateMachine: machineOf(executionArn, this.machines), found: [trace] };
    this.seen.set(executionArn, added);
    const described = known.status === undefined || (FAILED.has(known.status) && !('error' in known || 'cause' in known))
      ? await describe(this.sfn, executionArn)
      : known;
    if (!described) return;
    const { status, startDate, stopDate } = described;
    Object.assign(added, {
      ...(status !== undefined && { status }),
      ...(startDate && { startDate }),
      ...(stopDate && { stopDate }),
      ...('error' in described && described.error !== undefined && { error: described.error }),
      ...('cause' in described && described.cause !== undefined && { cause: described.cause }),
    });
  }
}

async function listRecent(sfn: SFNClient, stateMachineArn: string, max: number): Promise<{ items: ExecutionListItem[]; complete: boolean }> {
  const items: ExecutionListItem[] = [];
  let complete = true;
  if (max === 0) return { items, complete: false };
  for await (const page of paginateListExecutions({ client: sfn, pageSize: Math.min(max, 1000) }, { stateMachineArn })) {
    items.push(...(page.executions ?? []));
    if (items.length >= max) {
      complete = items.length === max && !page.nextToken;
      break;
    }
  }
  items.splice(max);
  return { items, complete };
}

/** `<prefix>-<day>` names the sweep gives a user's executions: the part before the day. */
function sweepNamePrefix(action: Exclude<SweepAction, 'none'>, userName: string): string {
  return executionName(action, userName, new Date(0)).slice(0, -'-1970-01-01'.length);
}

const DAY_SUFFIX = /^-\d{4}-\d{2}-\d{2}$/;
const RERUN_SUFFIX = /^-\d{8}T\d{6}$/;

/** Whether an execution's name is one the CLI or the sweep gives this hire's executions. */
function namedFor(name: string, machine: MachineKey, hire: { employeeId?: string; userName?: string }): boolean {
  const startsWith = (prefix: string, suffix: RegExp) => name.startsWith(prefix) && suffix.test(name.slice(prefix.length));
  if (machine === 'onboarding') {
    if (hire.employeeId !== undefined) {
      const onboard = defaultExecutionName(hire.employeeId);
      if (name === onboard || startsWith(onboard, RERUN_SUFFIX)) return true;
    }
    return hire.userName !== undefined && startsWith(sweepNamePrefix('restart-onboarding', hire.userName), DAY_SUFFIX);
  }
  return (
    hire.userName !== undefined &&
    (startsWith(sweepNamePrefix('reset-password', hire.userName), DAY_SUFFIX) ||
      startsWith(sweepNamePrefix('remove-console-access', hire.userName), DAY_SUFFIX))
  );
}

/** Whether an onboarding's input is this hire's (by employee id, email or user name). */
function inputFor(input: string | undefined, query: PersonQuery, hire: { employeeId?: string; userName?: string; email?: string }): boolean {
  let parsed: unknown;
  try {
    parsed = JSON.parse(input ?? '');
  } catch {
    return false;
  }
  if (!parsed || typeof parsed !== 'object') return false;
  const given = parsed as Record<string, unknown>;
  const text = (key: string) => (typeof given[key] === 'string' ? (given[key] as string) : undefined);
  const email = text('email');
  const userName = text('userName') ?? (email !== undefined ? deriveUserName(email) : undefined);
  const employeeId = query.employeeId ?? hire.employeeId;
  const address = query.email ?? hire.email;
  const name = query.userName ?? hire.userName;
  return (
    (employeeId !== undefined && text('employeeId') === employeeId) ||
    sameAddress(email, address) ||
    (name !== undefined && userName !== undefined && userName.toLowerCase() === name.toLowerCase())
  );
}

// --- the next sweep ---------------------------------------------------------------------

const DAY_MS = 86_400_000;

async function nextSweep(
  clients: Clients,
  machines: Machines,
  user: User | undefined,
  facts: UserFacts | undefined,
  profile: LoginProfile | undefined,
  settings: PersonSettings,
): Promise<NextSweep> {
  if (!user || !facts) return { action: 'none', reason: 'no-such-user', outcome: 'not-swept' };
  if (!facts.path.startsWith(settings.ownership.managedPath)) return { action: 'none', reason: 'not-managed', outcome: 'not-swept' };
  const sweepSettings = { ...settings.ownership, ...settings.sweep };
  const { now } = settings;
  const decision: Decision = decideWithoutProfile(user, sweepSettings, now) ?? decideWithProfile(user, profile, sweepSettings, now);
  if (decision.action === 'none') {
    const report: NextSweep = { ...decision, outcome: 'nothing' };
    if (decision.reason === 'healthy') {
      // When the unused password will be acted on, as decideWithProfile reckons it.
      const issued = Date.parse(facts.passwordIssuedAt ?? '') || profile?.CreateDate?.getTime();
      if (issued !== undefined) {
        report.laterAt = new Date(issued + settings.sweep.unusedPasswordDays * DAY_MS).toISOString();
        report.laterAction = facts.passwordResets >= settings.sweep.maxPasswordResets ? 'remove-console-access' : 'reset-password';
      }
    }
    return report;
  }

  const name = executionName(decision.action, facts.userName, now);
  const stateMachine: MachineKey = decision.action === 'restart-onboarding' ? 'onboarding' : 'reprovision';
  const report: NextSweep = { ...decision, outcome: 'would-start', executionName: name, stateMachine };
  try {
    // The sweep's own checks: a user whose tags cannot say whose it is gets no execution.
    if (decision.action === 'remove-console-access') identityFromUser(user);
    else await hireFromUser(clients.iam, user);
  } catch (error) {
    if (!(error instanceof HireNotRebuildable)) throw error;
    return { ...report, outcome: 'not-rebuildable', detail: error.message };
  }
  const machineArn = machines[stateMachine];
  if (machineArn) {
    if (await describe(clients.sfn, executionArnFor(machineArn, name))) return { ...report, outcome: 'already-done-today' };
  }
  return report;
}

// --- all of it --------------------------------------------------------------------------

export async function personStatus(
  clients: Clients,
  machines: Machines,
  query: PersonQuery,
  settings: PersonSettings,
  progress: (line: string) => void,
): Promise<PersonStatus> {
  const lookup = await lookUp(clients.iam, query, settings, progress);
  const { user } = lookup;
  const profile = user?.UserName ? await loginProfileOf(clients.iam, user.UserName) : undefined;
  const facts = user ? userFacts(user, profile, settings.ownership) : undefined;

  // What the workflow recorded on the user, and the names it gives the hire's executions.
  const executions = new Executions(clients.sfn, machines);
  if (facts?.ours) {
    for (const [arn, trace] of [
      [facts.createdBy, 'created-by'],
      [facts.completedBy, 'completed-by'],
      [facts.offboardedBy, 'offboarded-by'],
    ] as const) {
      if (arn !== undefined && EXECUTION_ARN.test(arn)) await executions.add(arn, trace);
    }
  }
  const hire = {
    employeeId: query.employeeId ?? (facts?.ours ? facts.employeeId : undefined),
    userName: query.userName ?? facts?.userName,
    email: query.email ?? (facts?.ours ? facts.email : undefined),
  };

  const searched: SearchReport = {
    users: { how: lookup.how, read: lookup.read, listed: lookup.listed, complete: lookup.complete },
    executions: [],
  };
  const listed: Array<{ machine: MachineKey; items: ExecutionListItem[] }> = [];
  for (const machine of ['onboarding', 'reprovision'] as const) {
    const arn = machines[machine];
    if (!arn) continue;
    const { items, complete } = await listRecent(clients.sfn, arn, settings.maxExecutions);
    searched.executions.push({ stateMachine: machine, listed: items.length, complete, inputsRead: 0 });
    listed.push({ machine, items });
    for (const item of items) {
      if (item.executionArn && item.name && namedFor(item.name, machine, hire)) await executions.add(item.executionArn, 'name', item);
    }
  }

  // The inputs of recent onboardings, when the user does not explain what happened: no user
  // (the hire never reached IAM, or it is looked for under another name), a failure or a run
  // in progress with no execution to show for it, or nothing found at all.
  const found = executions.list();
  const status = facts?.ours ? facts.status : undefined;
  const unexplained =
    !facts?.ours ||
    found.length === 0 ||
    (status === 'failed' && !found.some((e) => FAILED.has(e.status ?? ''))) ||
    ((status === 'in-progress' || status === 'waiting') && !found.some((e) => e.status === 'RUNNING'));
  const onboardings = listed.find((l) => l.machine === 'onboarding');
  const candidates = onboardings?.items.filter((item) => item.executionArn && !executions.has(item.executionArn)) ?? [];
  if (unexplained && candidates.length > 0) {
    const report = searched.executions.find((s) => s.stateMachine === 'onboarding')!;
    const who = query.employeeId ?? query.email ?? query.userName ?? '';
    progress(`Searching the inputs of the ${candidates.length} most recent onboarding executions for ${who}…\n`);
    let matched = 0;
    await eachWithConcurrency(candidates, CONCURRENCY, async (item) => {
      const described = await describe(clients.sfn, item.executionArn!);
      report.inputsRead += 1;
      if (report.inputsRead % PROGRESS_EVERY === 0 && report.inputsRead < candidates.length) {
        progress(`  ${report.inputsRead} of ${candidates.length} read, ${matched} found\n`);
      }
      if (described && inputFor(described.input, query, hire)) {
        matched += 1;
        await executions.add(item.executionArn!, 'input', described);
      }
    });
    progress(`  ${report.inputsRead} read, ${matched} found\n`);
  }

  const all = executions.list();
  const failedRun = all
    .filter((e) => FAILED.has(e.status ?? ''))
    .sort((a, b) => (b.stopDate ?? b.startDate ?? new Date(0)).getTime() - (a.stopDate ?? a.startDate ?? new Date(0)).getTime())[0];
  let lastFailure: LastFailure | undefined;
  if (failedRun) {
    lastFailure = {
      error: failedRun.error ?? (failedRun.status === 'ABORTED' ? '(aborted)' : (failedRun.status ?? '')),
      ...(failedRun.cause !== undefined && { cause: failedRun.cause }),
      ...((failedRun.stopDate ?? failedRun.startDate) && { at: failedRun.stopDate ?? failedRun.startDate }),
      execution: { name: failedRun.name, executionArn: failedRun.executionArn, stateMachine: failedRun.stateMachine, status: failedRun.status },
      advice: failedRun.status === 'ABORTED' && failedRun.error === undefined ? { ...ABORTED, known: true } : adviceFor(failedRun.error),
    };
  } else if (facts?.ours && facts.failure !== undefined) {
    // The user says it failed; the execution is older than what was searched, or gone.
    lastFailure = { error: facts.failure, ...(facts.statusAt && { at: facts.statusAt }), advice: adviceFor(facts.failure) };
  }

  return {
    query,
    ownership: settings.ownership,
    ...(facts && { user: facts }),
    ...(lookup.nameTakenBy && {
      nameTakenBy: {
        userName: lookup.nameTakenBy.UserName ?? '',
        ours: isManaged(lookup.nameTakenBy, settings.ownership),
        ...(tagValue(lookup.nameTakenBy.Tags, TAG.employeeId) && { employeeId: tagValue(lookup.nameTakenBy.Tags, TAG.employeeId) }),
      },
    }),
    executions: all,
    ...(lastFailure && { lastFailure }),
    nextSweep: await nextSweep(clients, machines, user, facts, profile, settings),
    searched,
  };
}
