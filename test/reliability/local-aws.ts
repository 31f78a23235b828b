/**
 * What the reliability suites read back from the local stack to judge an outcome: IAM as moto
 * holds it (users, tags, the console password each user has now), every message SES accepted
 * (unmasked, so a credentials email can be matched to the password IAM holds), and how each
 * execution ended. Read-only: nothing here changes the stack.
 */
import { IAMClient, ListUserTagsCommand, paginateListUsers } from '@aws-sdk/client-iam';
import { SFNClient } from '@aws-sdk/client-sfn';
import { escapeHtml } from '../../functions/lib/email.ts';
import { TAG } from '../../functions/lib/managed-user.ts';
import { startLocalStack, type ExecutionDescription, type LocalStack } from '../../local/stack.ts';
import { describeProcesses, isAlive, MARK_VARIABLE, motoPids, newMark, processesMarked } from '../integration/processes.ts';

/** Clients that talk to the stack as a caller outside it would (the sweep, an admin). */
export function stackClients(stack: LocalStack): { iam: IAMClient; sfn: SFNClient } {
  const config = { endpoint: stack.endpoint, region: stack.region, credentials: { accessKeyId: 'test', secretAccessKey: 'test' } };
  return { iam: new IAMClient(config), sfn: new SFNClient(config) };
}

export interface IamUserState {
  userName: string;
  path: string;
  tags: Record<string, string>;
  groups: string[];
  /** The console password IAM holds now; undefined when the user has no login profile. */
  password?: string;
}

export interface SentMessage {
  to: string[];
  subject: string;
  /** The body as SES received it (the HTML part when there is one). */
  body: string;
}

export interface AccountState {
  users: Map<string, IamUserState>;
  /** Every message SES accepted, in the order it accepted them. */
  messages: SentMessage[];
}

interface MotoDump {
  iam?: {
    User?: Array<{
      name: string;
      path: string;
      password?: string | null;
      tags?: Array<{ Key: string; Value: string }> | Record<string, { Key: string; Value: string }>;
      group_list?: string[];
    }>;
  };
  ses?: { Message?: Array<{ body?: string; subject?: string; destinations?: { ToAddresses?: string[] } }> };
}

/**
 * IAM and SES as the emulator holds them (its own dump, `GET /moto-api/data.json`). The dump
 * carries console passwords: it is the test's oracle for "the email holds the password IAM
 * has", and never a place a password may be reported from.
 */
export async function accountState(stack: LocalStack): Promise<AccountState> {
  const response = await fetch(new URL('/moto-api/data.json', stack.moto.endpoint));
  const dump = (await response.json()) as MotoDump;
  const users = new Map<string, IamUserState>();
  for (const user of dump.iam?.User ?? []) {
    const tagList = Array.isArray(user.tags) ? user.tags : Object.values(user.tags ?? {});
    users.set(user.name, {
      userName: user.name,
      path: user.path,
      tags: Object.fromEntries(tagList.map((t) => [t.Key, t.Value])),
      groups: user.group_list ?? [],
      ...(typeof user.password === 'string' && user.password !== '' && { password: user.password }),
    });
  }
  const messages = (dump.ses?.Message ?? []).map((m) => ({
    to: m.destinations?.ToAddresses ?? [],
    subject: m.subject ?? '',
    body: m.body ?? '',
  }));
  return { users, messages };
}

/** Names of the users under a path, through the IAM API (what an admin would list). */
export async function listUserNames(iam: IAMClient, pathPrefix: string): Promise<string[]> {
  const names: string[] = [];
  for await (const page of paginateListUsers({ client: iam }, { PathPrefix: pathPrefix })) {
    names.push(...(page.Users ?? []).map((u) => u.UserName ?? ''));
  }
  return names.sort();
}

export function messagesTo(messages: SentMessage[], address: string): SentMessage[] {
  return messages.filter((m) => m.to.includes(address));
}

export function mentionsPassword(body: string, password: string): boolean {
  return body.includes(password) || body.includes(escapeHtml(password));
}

/** IAM holds a console password for the user, and the last email the hire received carries it. */
export function passwordDelivered(user: IamUserState | undefined, messages: SentMessage[], email: string): boolean {
  const last = messagesTo(messages, email).at(-1);
  return Boolean(user?.password && last && mentionsPassword(last.body, user.password));
}

/**
 * The user can sign in with what they were sent: IAM holds a console password, the last email
 * the hire received carries exactly that password, and the user is tagged complete with the
 * credentials sent after the password was issued (what the sweep reads as healthy).
 */
export function credentialsDelivered(user: IamUserState | undefined, messages: SentMessage[], email: string): boolean {
  if (!user || !passwordDelivered(user, messages, email)) return false;
  const issued = Date.parse(user.tags[TAG.passwordIssuedAt] ?? '');
  const sent = Date.parse(user.tags[TAG.credentialsSentAt] ?? '');
  return user.tags[TAG.status] === 'complete' && !Number.isNaN(sent) && (Number.isNaN(issued) || sent >= issued);
}

export type Outcome = 'succeeded' | 'failed with ops email' | 'failed without ops email' | 'other';

/** How an execution ended; a failure counts as reported when ops got an email naming the execution. */
export function outcomeOf(execution: ExecutionDescription, opsMessages: SentMessage[]): Outcome {
  if (execution.status === 'SUCCEEDED') return 'succeeded';
  if (execution.status !== 'FAILED') return 'other';
  const named = opsMessages.some((m) => m.body.includes(execution.executionArn));
  return named ? 'failed with ops email' : 'failed without ops email';
}

/** `succeeded 3, failed with ops email 1, failed without ops email 0` (and any other ending, when there is one). */
export function describeOutcomes(outcomes: Outcome[]): string {
  const counts = tally(outcomes);
  const named: Outcome[] = ['succeeded', 'failed with ops email', 'failed without ops email'];
  const other = counts.other ? [`other ${counts.other}`] : [];
  return [...named.map((outcome) => `${outcome} ${counts[outcome] ?? 0}`), ...other].join(', ');
}

export function tally<T extends string>(values: T[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const value of values) counts[value] = (counts[value] ?? 0) + 1;
  return counts;
}

/** `a 3, b 1` for a figure line. */
export function describeTally(counts: Record<string, number>): string {
  const entries = Object.entries(counts).sort(([a], [b]) => a.localeCompare(b));
  return entries.length === 0 ? 'none' : entries.map(([key, n]) => `${key} ${n}`).join(', ');
}

/**
 * Every place a run on the stack leaves text an operator (or anyone with read access) can see,
 * item by item: execution descriptions (input, output, error, cause), history events, the
 * stack's request log, the tags of every user, the messages to ops, and the captured log lines.
 */
export async function placesToScan(
  stack: LocalStack,
  iam: IAMClient,
  extra: Record<string, unknown[]> = {},
): Promise<Record<string, unknown[]>> {
  const executions = stack.executions();
  const { messages } = await accountState(stack);
  const ops = stack.functionEnv.OPS_EMAIL ?? '';
  const tags: unknown[] = [];
  for (const userName of await listUserNames(iam, '/')) {
    const { Tags = [] } = await iam.send(new ListUserTagsCommand({ UserName: userName }));
    tags.push(...Tags.map((tag) => ({ userName, ...tag })));
  }
  return {
    executions,
    'history events': executions.flatMap((e) => stack.history(e.executionArn)),
    'request log': stack.requests(),
    'user tags': tags,
    'ops email': messagesTo(messages, ops),
    ...extra,
  };
}

/**
 * Starts the local stack with a marker in the environment every process it starts inherits,
 * so that stopping it can prove none is left (moto, the Framework's config read).
 */
export async function startMarkedStack(options: Parameters<typeof startLocalStack>[0]): Promise<{ stack: LocalStack; mark: string }> {
  const mark = newMark();
  process.env[MARK_VARIABLE] = mark;
  return { stack: await startLocalStack(options), mark };
}

/** Stops the stack; returns the processes it started that are still alive (none, when all is well). */
export async function stopMarkedStack(stack: LocalStack, mark: string): Promise<string[]> {
  const motoPid = stack.moto.pid;
  await stack.stop();
  delete process.env[MARK_VARIABLE];
  const left = describeProcesses(processesMarked(mark));
  if (isAlive(motoPid) || motoPids().includes(motoPid)) left.push(`${motoPid} moto`);
  return left;
}
