/**
 * At-least-once delivery, at scale and all at once: every HR "employee hired" event reaches the
 * onboarding three times, through EventBridge on the local stack (moto matching the rules
 * serverless.yml declares, the real definition and handlers, IAM/KMS/SES in moto). Each hire
 * must end with exactly one user, one login profile and one credentials email, holding the
 * password IAM has; the duplicates end IN_PROGRESS_ELSEWHERE (the execution that created the
 * user is still onboarding it) or ALREADY_PROVISIONED (it had finished). Then the scheduled
 * sweep runs and must find nothing to do, except for a hire whose CreateLoginProfile answer was
 * lost in transit to an execution that did not create the user: no execution knows that
 * password, so the sweep resets it and sends the one email. Hires with a start date ahead wait
 * for it (the stack makes every Wait state last WAIT_MS) while their duplicates arrive.
 */
import { EventBridgeClient, PutEventsCommand, type PutEventsRequestEntry } from '@aws-sdk/client-eventbridge';
import type { IAMClient } from '@aws-sdk/client-iam';
import type { SFNClient } from '@aws-sdk/client-sfn';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resetConfigCache } from '../../functions/lib/config.ts';
import { TAG } from '../../functions/lib/managed-user.ts';
import { sweep } from '../../functions/lib/sweep.ts';
import { sweepSettingsFromEnv } from '../../functions/lib/sweep-settings.ts';
import type { CredentialsRecipient } from '../../functions/lib/trust-policy.ts';
import type { LocalStack } from '../../local/stack.ts';
import { captureOutput } from '../support/capture.ts';
import { recordFigure } from './figures.ts';
import {
  accountState,
  credentialsDelivered,
  describeTally,
  listUserNames,
  messagesTo,
  placesToScan,
  stackClients,
  startMarkedStack,
  stopMarkedStack,
  tally,
} from './local-aws.ts';
import { scanForPasswords } from './password-scan.ts';

const HIRES = Number(process.env.DUPLICATE_HIRES ?? 100);
const FAULTY_HIRES = 25;
const MANAGER_HIRES = 25;
const DELIVERIES = 3;
const WAITING_HIRES = 25;
const PUT_EVENTS_MAX_ENTRIES = 10;
/** How long the stack's Wait states last: long enough for every duplicate to arrive during the wait. */
const WAIT_MS = 3000;

interface TestHire {
  employeeId: string;
  firstName: string;
  lastName: string;
  email: string;
  userName?: string;
  department?: string;
  groups?: string[];
  managerEmail?: string;
  startDate?: string;
}

/**
 * Distinct hires, in the shapes HR sends: derived or explicit user names, department or explicit
 * groups, and a manager's address for every fourth hire (`some`) or every hire (`all`: what the
 * manager and split settings require), each manager their own, so each address's mail counts.
 */
function hires(count: number, batch: string, managers: 'some' | 'all' = 'some'): Array<TestHire & { expectedUserName: string }> {
  return Array.from({ length: count }, (_, i) => {
    const n = String(i).padStart(3, '0');
    const hire: TestHire = { employeeId: `E-${batch}-${n}`, firstName: `First${n}`, lastName: `Last${n}`, email: `hire.${batch.toLowerCase()}.${n}@example.com` };
    if (i % 3 === 0) hire.userName = `${batch.toLowerCase()}-user-${n}`;
    if (i % 2 === 0) hire.department = 'engineering';
    else if (i % 5 === 0) hire.groups = ['developers'];
    if (managers === 'all' || i % 4 === 1) hire.managerEmail = `manager.${batch.toLowerCase()}.${n}@example.com`;
    return { ...hire, expectedUserName: hire.userName ?? `hire.${batch.toLowerCase()}.${n}` };
  });
}

let stack: LocalStack;
let mark: string;
let iam: IAMClient;
let clients: { iam: IAMClient; sfn: SFNClient };
let events: EventBridgeClient;

beforeAll(async () => {
  ({ stack, mark } = await startMarkedStack({ quiet: true, retryIntervalMs: 10, waitMs: WAIT_MS }));
  clients = stackClients(stack);
  iam = clients.iam;
  events = new EventBridgeClient({ endpoint: stack.endpoint, region: stack.region, credentials: { accessKeyId: 'test', secretAccessKey: 'test' } });
});

afterAll(async () => {
  iam?.destroy();
  clients?.sfn.destroy();
  events?.destroy();
  await stack?.stop();
});

/** What the stack saw of these users' onboardings: every call naming them, and every failed Lambda. */
function explain(people: Array<TestHire & { expectedUserName: string }>): string {
  return people
    .slice(0, 3)
    .map(({ expectedUserName: userName, employeeId }) => {
      const calls = stack.requests().filter((r) => r.params.UserName === userName).map((r) => `${r.operation} ${r.status}${r.error ? ` ${r.error}` : ''}`);
      const failures = stack
        .executions()
        .filter((e) => (JSON.parse(e.input) as { employeeId: string }).employeeId === employeeId)
        .flatMap((e) => stack.history(e.executionArn).filter((h) => h.type === 'LambdaFunctionFailed').map((h) => `${e.name}: ${JSON.stringify(h.lambdaFunctionFailedEventDetails).slice(0, 300)}`));
      return `${userName}: calls [${calls.join(', ')}]; failed invocations [${failures.join('; ')}]`;
    })
    .join('\n');
}

/**
 * Where a hire's mail goes under the stage's credentialsRecipient: the one address the password
 * goes to, and the addresses that get a message without it (a manager's notice, the hire's
 * user-name email when split).
 */
function expectedMail(person: TestHire, mode: CredentialsRecipient): { passwordTo: string; plainTo: string[] } {
  if (mode === 'hire') return { passwordTo: person.email, plainTo: person.managerEmail ? [person.managerEmail] : [] };
  const manager = person.managerEmail ?? '(no manager)';
  return { passwordTo: manager, plainTo: mode === 'split' ? [person.email] : [] };
}

/**
 * Sets the stage's credentialsRecipient for the functions, which run in this process (from
 * source), as a deployment with that param would; the returned function puts it back.
 */
function useCredentialsRecipient(mode: CredentialsRecipient): () => void {
  expect(stack.functions.mode, 'the functions read this process\'s environment').toBe('source');
  const previous = { stack: stack.functionEnv.CREDENTIALS_RECIPIENT, process: process.env.CREDENTIALS_RECIPIENT };
  const set = (value: string | undefined) => {
    if (value === undefined) delete process.env.CREDENTIALS_RECIPIENT;
    else process.env.CREDENTIALS_RECIPIENT = value;
    resetConfigCache();
  };
  stack.functionEnv.CREDENTIALS_RECIPIENT = mode;
  set(mode);
  return () => {
    if (previous.stack === undefined) delete stack.functionEnv.CREDENTIALS_RECIPIENT;
    else stack.functionEnv.CREDENTIALS_RECIPIENT = previous.stack;
    set(previous.process);
  };
}

/**
 * Puts every hire's event DELIVERIES times, all at once, waits until the stack is idle, and
 * checks that each hire was onboarded exactly once, its password mailed once to whoever the
 * stage's credentialsRecipient (`mode`) names and every other message without it. Records the
 * figures on `task`.
 */
async function deliverAndCheck(
  task: Parameters<typeof recordFigure>[0],
  people: Array<TestHire & { expectedUserName: string }>,
  mode: CredentialsRecipient = 'hire',
): Promise<void> {
  const output = captureOutput();
  const started = performance.now();
  const onboarding = stack.stateMachines.find((m) => m.key === 'onboarding');
  const route = onboarding?.routes[0];
  expect(route, 'serverless.yml routes HR events to the onboarding').toBeDefined();

  // Copy k of every hire goes in round k, so the copies of one hire travel in different
  // PutEvents calls, and every call is sent at once.
  const entries: PutEventsRequestEntry[] = [];
  for (let copy = 0; copy < DELIVERIES; copy++) {
    for (const { expectedUserName: _, ...hire } of people) {
      entries.push({ EventBusName: route?.eventBusName, Source: 'hr.system', DetailType: 'Employee Hired', Detail: JSON.stringify(hire) });
    }
  }
  const batches: PutEventsRequestEntry[][] = [];
  for (let i = 0; i < entries.length; i += PUT_EVENTS_MAX_ENTRIES) batches.push(entries.slice(i, i + PUT_EVENTS_MAX_ENTRIES));
  let executions;
  try {
    const puts = await Promise.all(batches.map((Entries) => events.send(new PutEventsCommand({ Entries }))));
    expect(puts.reduce((failed, put) => failed + (put.FailedEntryCount ?? 0), 0)).toBe(0);
    await stack.waitForIdle(300_000);
    executions = stack.executions(onboarding?.arn);
  } finally {
    output.restore();
  }
  const seconds = (performance.now() - started) / 1000;

  // Every delivery started an execution (EventBridge delivers at least once, so the emulated
  // bus may add a few of its own), and every execution succeeded: one per hire onboarded
  // it, the others stood back or found the login profile already there.
  const employeeOf = (e: { input: string }) => (JSON.parse(e.input) as { employeeId: string }).employeeId;
  const perHire = tally(executions.map(employeeOf));
  expect(Object.keys(perHire)).toHaveLength(people.length);
  expect(Math.min(...Object.values(perHire))).toBeGreaterThanOrEqual(DELIVERIES);
  const outputs = executions.map((e) => (e.output ? (JSON.parse(e.output) as { status: string; userName: string }) : undefined));
  const statuses = tally(executions.map((e, i) => (e.status === 'SUCCEEDED' ? (outputs[i]?.status ?? 'no output') : `${e.status} ${e.error}`)));
  expect(Object.keys(statuses).filter((status) => !['ONBOARDED', 'ALREADY_PROVISIONED', 'IN_PROGRESS_ELSEWHERE'].includes(status))).toEqual([]);
  const onboardedPerUser = tally(outputs.filter((o) => o?.status === 'ONBOARDED').map((o) => o?.userName ?? ''));
  expect(Math.max(...Object.values(onboardedPerUser)), 'no hire is onboarded twice').toBe(1);

  // A hire none of whose executions onboarded it: the answer to the CreateLoginProfile IAM
  // took was lost on the way back (the call was tried again and found the profile there), so
  // no execution can know the password. Only that excuses it: the proof is a retried call.
  const profileCalls = (userName: string) =>
    stack.requests({ service: 'iam', operation: 'CreateLoginProfile' }).filter((r) => r.params.UserName === userName && r.faultRuleId === undefined);
  const lostAnswers = people.filter((p) => !onboardedPerUser[p.expectedUserName]);
  for (const person of lostAnswers) {
    expect(profileCalls(person.expectedUserName).length, explain([person])).toBeGreaterThan(perHire[person.employeeId] ?? 0);
  }

  // The scheduled sweep, once the in-progress grace is over, finds nothing to do for a hire
  // that was onboarded, and resets and re-sends for one whose credentials never went out.
  const settings = sweepSettingsFromEnv(stack.functionEnv, {
    managedPath: stack.functionEnv.MANAGED_PATH ?? '',
    managedBy: stack.functionEnv.MANAGED_BY ?? '',
  });
  const later = new Date(Date.now() + (settings.inProgressGraceMinutes + 1) * 60_000);
  const report = await sweep(clients, settings, { now: later });
  await stack.waitForIdle(120_000);
  // The workflow's part is over: what follows reads the account, and injected faults must not
  // fail the reading (the request log keeps which calls they hit).
  stack.faults.clear();
  expect(report.users.filter((u) => u.action !== 'none').map((u) => `${u.userName} ${u.action} ${u.reason} ${u.outcome}`)).toEqual(
    lostAnswers.map((p) => `${p.expectedUserName} reset-password credentials-not-sent started`).sort(),
  );

  const managedPath = stack.functionEnv.MANAGED_PATH ?? '/onboarding/';
  const userNames = await listUserNames(iam, managedPath);
  expect(userNames).toEqual(people.map((p) => p.expectedUserName).sort());

  const created = (operation: string) =>
    tally(stack.requests({ service: 'iam', operation }).filter((r) => r.status === 200).map((r) => r.params.UserName ?? ''));
  const usersCreated = created('CreateUser');
  const profilesCreated = created('CreateLoginProfile');
  const { users, messages } = await accountState(stack);
  const credentialsEmails = people.map((p) => messagesTo(messages, expectedMail(p, mode).passwordTo).length);
  const sesRefused = stack.requests({ service: 'ses' }).filter((r) => r.faultRuleId !== undefined).length;
  // Manager notices and split user-name emails: scanned for the password with everything else.
  const withoutPassword = people.flatMap((p) => expectedMail(p, mode).plainTo.flatMap((address) => messagesTo(messages, address)));
  const opsEmails = messagesTo(messages, stack.functionEnv.OPS_EMAIL ?? '').length;

  for (const person of people) {
    const user = users.get(person.expectedUserName);
    expect(usersCreated[person.expectedUserName], person.expectedUserName).toBe(1);
    expect(profilesCreated[person.expectedUserName], person.expectedUserName).toBe(1);
    expect(user?.tags[TAG.employeeId]).toBe(person.employeeId);
    expect(user?.groups).toEqual(person.department || person.groups ? ['developers'] : []);
    const { passwordTo, plainTo } = expectedMail(person, mode);
    expect(messagesTo(messages, passwordTo), passwordTo).toHaveLength(1);
    expect(credentialsDelivered(user, messages, passwordTo), `${person.expectedUserName} can sign in with the password mailed to ${passwordTo}`).toBe(true);
    // A step retried after SES refused a later message sends its earlier ones again; those
    // never hold the password (it goes last), so only they may come twice.
    for (const address of plainTo) {
      const copies = messagesTo(messages, address).length;
      if (sesRefused === 0) expect(copies, address).toBe(1);
      else expect(copies, address).toBeGreaterThanOrEqual(1);
    }
    if (mode === 'manager') expect(messagesTo(messages, person.email), person.email).toHaveLength(0);
  }
  // Resets: the sweep's, plus those of executions that recovered their own lost answer. Either
  // way the check above proves the password emailed last is the one IAM holds.
  const resets = stack.requests({ service: 'iam', operation: 'UpdateLoginProfile' }).length;
  expect(resets).toBeGreaterThanOrEqual(lostAnswers.length);
  expect(opsEmails).toBe(0);
  // Nothing went anywhere else: every message SES accepted is one of those above.
  const addressed = new Set(people.flatMap((p) => [expectedMail(p, mode).passwordTo, ...expectedMail(p, mode).plainTo]));
  expect(messages.flatMap((m) => m.to).filter((to) => !addressed.has(to))).toEqual([]);

  // Every execution that did not stand back generated a password (a retried one, another) and
  // offered it to IAM; one per hire was taken. None may surface anywhere.
  const passwords = stack.passwordsSent();
  expect(passwords.length).toBeGreaterThanOrEqual(people.length);
  const scan = scanForPasswords(
    passwords,
    await placesToScan(stack, iam, { 'log lines': output.lines, 'sweep report': [report], 'emails that must not hold the password': withoutPassword }),
  );

  recordFigure(task, 'credentialsRecipient', mode);
  recordFigure(task, 'hires', people.length);
  recordFigure(task, 'hires with a manager', people.filter((p) => p.managerEmail).length);
  recordFigure(task, 'hires waiting for a start date', people.filter((p) => p.startDate).length);
  recordFigure(task, 'deliveries (HR events put, all at once)', entries.length);
  recordFigure(task, 'executions', `${executions.length} (${describeTally(statuses)})`);
  recordFigure(task, 'executions per hire (min/max)', `${Math.min(...Object.values(perHire))}/${Math.max(...Object.values(perHire))}`);
  recordFigure(task, 'onboarded by their own executions', people.length - lostAnswers.length);
  recordFigure(task, 'CreateLoginProfile answers lost in transit (credentials sent by the sweep)', lostAnswers.length);
  recordFigure(task, 'password resets (UpdateLoginProfile: lost answers recovered in-run, or by the sweep)', resets);
  if (lostAnswers.length > 0) recordFigure(task, 'what the stack saw of them', explain(lostAnswers).replace(/\n/g, ' | '));
  recordFigure(task, 'sweep: users scanned / executions started', `${report.scanned} / ${report.outcomes.started}`);
  recordFigure(task, 'IAM users', userNames.length);
  recordFigure(task, 'login profiles created', Object.values(profilesCreated).reduce((a, b) => a + b, 0));
  recordFigure(task, 'CreateLoginProfile answered EntityAlreadyExists', stack.requests({ operation: 'CreateLoginProfile' }).filter((r) => r.error === 'EntityAlreadyExists').length);
  recordFigure(task, 'credentials emails', credentialsEmails.reduce((a, b) => a + b, 0));
  recordFigure(task, 'credentials emails per hire (min/max)', `${Math.min(...credentialsEmails)}/${Math.max(...credentialsEmails)}`);
  recordFigure(task, 'emails without the password (manager notices, split user-name emails)', withoutPassword.length);
  recordFigure(task, 'SendEmail calls refused by an injected fault', sesRefused);
  const plainAddresses = people.reduce((n, p) => n + expectedMail(p, mode).plainTo.length, 0);
  recordFigure(task, 'of those emails, sent again by a retried credentials step (never the password)', withoutPassword.length - plainAddresses);
  recordFigure(task, 'password resets', stack.requests({ operation: 'UpdateLoginProfile' }).length);
  recordFigure(task, 'ops emails', opsEmails);
  recordFigure(task, 'passwords generated', passwords.length);
  recordFigure(task, 'places scanned for passwords', scan.places);
  recordFigure(task, 'password hits', scan.hits.length);
  recordFigure(task, 'seconds (events to idle)', seconds.toFixed(1));
  expect(scan.hits).toEqual([]);
}

describe('duplicate HR events', () => {
  it(`onboards each of ${HIRES} hires exactly once when every event arrives ${DELIVERIES} times at once`, async ({ task }) => {
    await deliverAndCheck(task, hires(HIRES, 'DUP'));
  });

  it(`still onboards each hire exactly once when AWS throttles and fails calls along the way`, async ({ task }) => {
    await stack.reset();
    // Only faults whose request never reached the service: a lost response (the work done, the
    // answer lost) makes SES send twice by design, and that is the faults suite's business.
    stack.faults.add([
      ...['iam', 'kms', 'ses'].flatMap((service) => [
        { service, operation: '*', error: service === 'kms' ? 'ThrottlingException' : 'Throttling', probability: 0.1 },
        { service, operation: '*', error: service === 'kms' ? 'KMSInternalException' : service === 'ses' ? 'ServiceUnavailable' : 'ServiceFailure', probability: 0.05 },
      ]),
      { service: 'iam', operation: 'CreateLoginProfile', error: 'NoSuchEntity', afterCreateUserMs: 50 },
      { service: 'lambda', operation: '*', error: 'Lambda.TooManyRequestsException', probability: 0.05 },
    ]);
    await deliverAndCheck(task, hires(FAULTY_HIRES, 'FLT'));
    recordFigure(task, 'AWS calls answered with an injected fault', stack.requests().filter((r) => r.faultRuleId !== undefined).length);
  });

  it(`waits once for each hire with a start date ahead: duplicates arriving during the wait stand back`, async ({ task }) => {
    await stack.reset();
    const nextWeek = new Date(Date.now() + 7 * 86_400_000).toISOString().slice(0, 10);
    const waiting = hires(WAITING_HIRES, 'WAIT').map((hire) => ({ ...hire, startDate: nextWeek }));
    await deliverAndCheck(task, waiting);
    const waits = stack.executions().filter((e) => stack.history(e.executionArn).some((h) => h.type === 'WaitStateEntered'));
    recordFigure(task, 'executions that waited for the start date', waits.length);
    // One wait per hire: the duplicates found the hire waiting and never waited themselves.
    expect(waits).toHaveLength(WAITING_HIRES);
  });

  it.for(['manager', 'split'] as const)(
    'credentialsRecipient %s: each hire onboarded once, the password mailed once, to the manager, while SES throttles',
    async (mode, { task }) => {
      await stack.reset();
      // Refused before SES sends: the credentials step is retried after a partial send.
      // The SDK tries each call twice, so a step fails on about one message in six.
      stack.faults.add([{ service: 'ses', operation: '*', error: 'Throttling', probability: 0.4 }]);
      const restore = useCredentialsRecipient(mode);
      try {
        await deliverAndCheck(task, hires(MANAGER_HIRES, mode === 'manager' ? 'MGR' : 'SPL', 'all'), mode);
      } finally {
        restore();
      }
    },
  );

  it('stops the local stack and every process it started', async ({ task }) => {
    const left = await stopMarkedStack(stack, mark);
    recordFigure(task, 'processes left running', left.length);
    expect(left).toEqual([]);
  });
});
