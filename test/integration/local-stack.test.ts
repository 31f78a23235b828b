/**
 * The local AWS stack end to end: HR events through EventBridge (moto matching the rules
 * serverless.yml declares), the real onboarding definition and handlers behind a real Step
 * Functions API, IAM/SES/KMS in moto, and AWS's faults injected on the wire.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { EventBridgeClient, PutEventsCommand, type PutEventsRequestEntry } from '@aws-sdk/client-eventbridge';
import {
  CreateLoginProfileCommand,
  GetLoginProfileCommand,
  GetUserCommand,
  IAMClient,
  ListAttachedUserPoliciesCommand,
  ListGroupsForUserCommand,
} from '@aws-sdk/client-iam';
import { EncryptCommand, KMSClient } from '@aws-sdk/client-kms';
import { SendEmailCommand, SESClient } from '@aws-sdk/client-ses';
import {
  DescribeExecutionCommand,
  DescribeStateMachineCommand,
  GetExecutionHistoryCommand,
  ListExecutionsCommand,
  ListStateMachinesCommand,
  SFNClient,
  StartExecutionCommand,
  StopExecutionCommand,
  type HistoryEvent,
} from '@aws-sdk/client-sfn';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { escapeHtml } from '../../functions/lib/email.ts';
import { tagValue } from '../../functions/lib/managed-user.ts';
import { iamEventualConsistency, startLocalStack, type LocalStack } from '../../local/stack.ts';
import { loadDefinition, PROJECT_ROOT, type Retrier } from '../../local/workflow.ts';
import { captureOutput } from '../support/capture.ts';
import { expectNoSecrets } from '../support/secrets.ts';
import { describeProcesses, isAlive, MARK_VARIABLE, motoPids, newMark, processesMarked } from './processes.ts';

const example = (file: string) => JSON.parse(readFileSync(path.join(PROJECT_ROOT, file), 'utf8')) as Record<string, unknown>;
const hiredEvent = example('examples/events/employee-hired.json') as {
  source: string;
  'detail-type': string;
  detail: { employeeId: string; firstName: string; email: string };
};
const hire = hiredEvent.detail;
const manualHire = example('examples/inputs/hire.json') as { userName: string; email: string };
const userName = 'ada.lovelace';

const mark = newMark();
let stack: LocalStack;
let output: ReturnType<typeof captureOutput>;
let aws: { iam: IAMClient; sfn: SFNClient; events: EventBridgeClient; ses: SESClient; kms: KMSClient };
let onboarding: string;

beforeAll(async () => {
  process.env[MARK_VARIABLE] = mark;
  stack = await startLocalStack({ quiet: true });
  const client = { endpoint: stack.endpoint, region: stack.region, credentials: { accessKeyId: 'test', secretAccessKey: 'test' } };
  aws = {
    iam: new IAMClient({ ...client, maxAttempts: 1 }),
    sfn: new SFNClient(client),
    events: new EventBridgeClient(client),
    ses: new SESClient({ ...client, maxAttempts: 1 }),
    kms: new KMSClient({ ...client, maxAttempts: 1 }),
  };
  onboarding = stack.stateMachines.find((m) => m.key === 'onboarding')?.arn ?? '';
});

afterAll(async () => {
  const motoPid = stack?.moto.pid;
  await stack?.stop();
  delete process.env[MARK_VARIABLE];
  expect(isAlive(motoPid)).toBe(false);
  expect(motoPids()).not.toContain(motoPid);
  const left = processesMarked(mark);
  expect(describeProcesses(left)).toEqual([]);
});

beforeEach(() => {
  output = captureOutput();
});

afterEach(() => {
  output.restore();
});

function hrEntry(overrides: Partial<PutEventsRequestEntry> = {}): PutEventsRequestEntry {
  return {
    EventBusName: stack.stateMachines.find((m) => m.key === 'onboarding')?.routes[0]?.eventBusName,
    Source: hiredEvent.source,
    DetailType: hiredEvent['detail-type'],
    Detail: JSON.stringify(hire),
    ...overrides,
  };
}

/** Puts HR events and waits for the executions they started. */
async function putEvents(...entries: PutEventsRequestEntry[]) {
  const before = new Set(stack.executions().map((e) => e.executionArn));
  const put = await aws.events.send(new PutEventsCommand({ Entries: entries }));
  const started = stack.executions().filter((e) => !before.has(e.executionArn));
  const finished = await Promise.all(started.map((e) => stack.waitForExecution(e.executionArn)));
  return { put, executions: finished };
}

async function historyOf(executionArn: string): Promise<HistoryEvent[]> {
  const events: HistoryEvent[] = [];
  let nextToken: string | undefined;
  do {
    const page = await aws.sfn.send(new GetExecutionHistoryCommand({ executionArn, maxResults: 7, nextToken }));
    events.push(...(page.events ?? []));
    nextToken = page.nextToken;
  } while (nextToken);
  return events;
}

const mailTo = async (to: string) => (await stack.mail()).filter((m) => m.to.includes(to));
const rawMail = async () =>
  ((await (await fetch(`${stack.endpoint}/moto-api/data.json`)).json()) as { ses: { Message: Array<{ destinations: { ToAddresses: string[] }; body: string }> } })
    .ses.Message;

/** The password is in the IAM request and the email, and nowhere else the stack can see. */
async function expectPasswordOnlyInTheEmail(executionArns: string[]): Promise<void> {
  const passwords = stack.passwordsSent();
  expect(passwords.length).toBeGreaterThan(0);
  const places: Record<string, unknown> = {
    logs: output.text(),
    requests: stack.requests(),
    maskedMail: await stack.mail(),
    adminRequests: await (await fetch(`${stack.endpoint}/_local/requests`)).text(),
    adminMail: await (await fetch(`${stack.endpoint}/_local/mail`)).text(),
    list: await aws.sfn.send(new ListExecutionsCommand({ stateMachineArn: onboarding })),
  };
  for (const arn of executionArns) {
    places[`history ${arn}`] = await historyOf(arn);
    places[`describe ${arn}`] = await aws.sfn.send(new DescribeExecutionCommand({ executionArn: arn }));
  }
  expectNoSecrets(passwords, places);
}

const lambdaFailures = (events: HistoryEvent[]) =>
  events.filter((e) => e.type === 'LambdaFunctionFailed').map((e) => e.lambdaFunctionFailedEventDetails?.error);

/** moto emptied and provisioned again, no executions, no faults: about a second, so only where a test writes. */
const freshAccount = () => stack.reset();

describe('HR events on the local stack', () => {
  beforeEach(freshAccount);

  it('onboards the example hire: the rule passes the detail, the real handlers create the user, the email goes out', async () => {
    const { put, executions } = await putEvents(hrEntry());

    expect(put.FailedEntryCount).toBe(0);
    expect(executions).toHaveLength(1);
    const [execution] = executions;
    expect(execution).toMatchObject({ status: 'SUCCEEDED', stateMachineArn: onboarding });
    // inputPath $.detail: the input is the hire, as on a manual run.
    expect(JSON.parse(execution?.input ?? '')).toEqual(hire);
    expect(JSON.parse(execution?.output ?? '')).toMatchObject({ status: 'ONBOARDED', userName, groups: ['developers'] });

    const { User: user } = await aws.iam.send(new GetUserCommand({ UserName: userName }));
    expect(user?.Path).toBe('/onboarding/');
    expect(tagValue(user?.Tags, 'onboarding:managed-by')).toBe('iam-onboarding-local');
    expect(tagValue(user?.Tags, 'onboarding:employee-id')).toBe(hire.employeeId);
    expect(tagValue(user?.Tags, 'onboarding:status')).toBe('complete');
    const { Groups } = await aws.iam.send(new ListGroupsForUserCommand({ UserName: userName }));
    expect(Groups?.map((g) => g.GroupName)).toEqual(['developers']);
    const { AttachedPolicies } = await aws.iam.send(new ListAttachedUserPoliciesCommand({ UserName: userName }));
    expect(AttachedPolicies?.map((p) => p.PolicyName)).toEqual(['IAMUserChangePassword']);
    await expect(aws.iam.send(new GetLoginProfileCommand({ UserName: userName }))).resolves.toBeDefined();

    // moto drops PasswordResetRequired; what the function sent is what AWS would have stored.
    const profiles = stack.requests({ service: 'iam', operation: 'CreateLoginProfile' });
    expect(profiles).toEqual([expect.objectContaining({ status: 200, params: { UserName: userName, PasswordResetRequired: 'true' } })]);

    const [password] = stack.passwordsSent();
    const mail = await mailTo(hire.email);
    expect(mail).toHaveLength(1);
    expect(mail[0]).toMatchObject({ source: stack.functionEnv.SENDER_EMAIL, subject: 'Your AWS console access' });
    expect(mail[0]?.body).toContain('<code>********</code>');
    expect(mail[0]?.text).toContain(`with the user name ${userName}.`);
    expect(mail[0]?.text).toContain('Your temporary password: ********');
    const delivered = (await rawMail()).filter((m) => m.destinations.ToAddresses.includes(hire.email));
    expect(delivered[0]?.body).toContain(`<code>${escapeHtml(password ?? 'none')}</code>`);

    const history = await historyOf(execution?.executionArn ?? '');
    expect(history.map((e) => e.id)).toEqual(history.map((_, i) => i + 1));
    expect(history[0]).toMatchObject({ type: 'ExecutionStarted', executionStartedEventDetails: { input: JSON.stringify(hire) } });
    expect(history.slice(1, 6).map((e) => e.type)).toEqual([
      'TaskStateEntered',
      'LambdaFunctionScheduled',
      'LambdaFunctionStarted',
      'LambdaFunctionSucceeded',
      'TaskStateExited',
    ]);
    expect(history[2]?.lambdaFunctionScheduledEventDetails?.resource).toBe(
      'arn:aws:lambda:us-east-1:123456789012:function:iam-onboarding-local-validateHire',
    );
    expect(history.filter((e) => e.type?.endsWith('StateEntered')).map((e) => e.stateEnteredEventDetails?.name)).toEqual([
      'ValidateInput',
      'CreateUser',
      'WaitsForStartDate',
      'CreateLoginProfile',
      'IsNewLoginProfile',
      'SendCredentials',
      'MarkComplete',
    ]);
    expect(history.at(-1)).toMatchObject({ type: 'ExecutionSucceeded', executionSucceededEventDetails: { output: execution?.output } });
    await expectPasswordOnlyInTheEmail([execution?.executionArn ?? '']);
  });

  it.each([
    { code: 'NoSuchEntity', settle: { calls: 3 }, refusals: 3 },
    // Time-based, as IAM is: any attempt within 800 ms of CreateUser is refused.
    { code: 'EntityTemporarilyUnmodifiable', settle: { ms: 800 }, refusals: undefined },
  ] as const)('retries CreateLoginProfile while IAM settles after CreateUser ($code for $settle)', async ({ code, settle, refusals }) => {
      stack.faults.add(iamEventualConsistency(settle, code));

      const { executions } = await putEvents(hrEntry());

      expect(executions[0]?.status).toBe('SUCCEEDED');
      const attempts = stack.requests({ service: 'iam', operation: 'CreateLoginProfile' });
      const refused = attempts.filter((r) => r.error === code);
      if (refusals) expect(refused).toHaveLength(refusals);
      else expect(refused.length).toBeGreaterThanOrEqual(1);
      expect(refused.every((r) => r.status === (code === 'NoSuchEntity' ? 404 : 409))).toBe(true);
      expect(attempts.at(-1)).toMatchObject({ status: 200 });
      expect(attempts).toHaveLength(refused.length + 1);

      // Each refusal is a Lambda failure in the history, followed by a new attempt after the wait.
      const history = await historyOf(executions[0]?.executionArn ?? '');
      expect(lambdaFailures(history)).toEqual(refused.map(() => `${code}Exception`));
      const failedAt = history.filter((e) => e.type === 'LambdaFunctionFailed').map((e) => e.timestamp?.getTime() ?? 0);
      const retriedAt = history
        .filter((e, i) => e.type === 'LambdaFunctionScheduled' && history[i - 1]?.type === 'LambdaFunctionFailed')
        .map((e) => e.timestamp?.getTime() ?? 0);
      expect(retriedAt).toHaveLength(failedAt.length);
      // The definition waits IntervalSeconds 3; locally that is 150 ms.
      retriedAt.forEach((at, i) => expect(at - (failedAt[i] ?? 0)).toBeGreaterThanOrEqual(140));

      expect(stack.requests({ service: 'iam', operation: 'CreateUser' })).toHaveLength(1);
      expect(await mailTo(hire.email)).toHaveLength(1);
      await expectPasswordOnlyInTheEmail([executions[0]?.executionArn ?? '']);
    },
  );

  it('takes the failure path when SES rejects the credentials email: user tagged failed, ops emailed, execution FAILED', async () => {
    stack.faults.add({ service: 'ses', operation: 'SendEmail', error: 'MessageRejected', count: 1 });

    const { executions } = await putEvents(hrEntry());

    const [execution] = executions;
    expect(execution).toMatchObject({ status: 'FAILED', error: 'MessageRejected' });
    expect(JSON.parse(execution?.cause ?? '{}')).toMatchObject({
      errorType: 'MessageRejected',
      errorMessage: expect.stringContaining('Email address is not verified'),
    });
    expect(await mailTo(hire.email)).toHaveLength(0);
    const ops = await mailTo(stack.functionEnv.OPS_EMAIL ?? '');
    expect(ops).toHaveLength(1);
    expect(ops[0]?.subject).toBe(`Onboarding failed for ${userName}: MessageRejected`);
    expect(ops[0]?.body).toContain(execution?.executionArn);

    const { User: user } = await aws.iam.send(new GetUserCommand({ UserName: userName }));
    expect(tagValue(user?.Tags, 'onboarding:status')).toBe('failed');
    expect(tagValue(user?.Tags, 'onboarding:failure')).toBe('MessageRejected');
    const history = await historyOf(execution?.executionArn ?? '');
    expect(lambdaFailures(history)).toEqual(['MessageRejected']);
    expect(history.filter((e) => e.type?.endsWith('StateEntered')).map((e) => e.stateEnteredEventDetails?.name).slice(-3)).toEqual([
      'RecordFailure',
      'NotifyOps',
      'OnboardingFailed',
    ]);
    expect(history.at(-1)).toMatchObject({ type: 'ExecutionFailed', executionFailedEventDetails: { error: 'MessageRejected' } });
    await expectPasswordOnlyInTheEmail([execution?.executionArn ?? '']);
  });

  it('onboards once when the same HR event is delivered twice: one user, one email', async () => {
    const first = await putEvents(hrEntry());
    const second = await putEvents(hrEntry());

    expect(first.executions[0]).toMatchObject({ status: 'SUCCEEDED' });
    expect(second.executions[0]).toMatchObject({ status: 'SUCCEEDED' });
    expect(JSON.parse(first.executions[0]?.output ?? '')).toMatchObject({ status: 'ONBOARDED' });
    expect(JSON.parse(second.executions[0]?.output ?? '')).toMatchObject({ status: 'ALREADY_PROVISIONED', userName });
    expect(stack.requests({ service: 'iam', operation: 'CreateUser' }).filter((r) => r.status === 200)).toHaveLength(1);
    expect(stack.requests({ service: 'iam', operation: 'CreateLoginProfile' }).map((r) => r.error)).toEqual([undefined, 'EntityAlreadyExists']);
    expect(await mailTo(hire.email)).toHaveLength(1);
    await expectPasswordOnlyInTheEmail([first.executions[0]?.executionArn ?? '', second.executions[0]?.executionArn ?? '']);
  });

  it('onboards ten hires put at once, each execution with its own retries, user and email', async () => {
    stack.faults.add(iamEventualConsistency({ calls: 1 }));
    const hires = Array.from({ length: 10 }, (_, i) => ({ ...hire, employeeId: `E-30${i}`, firstName: `Hire${i}`, email: `hire${i}@example.com` }));

    const { put, executions } = await putEvents(...hires.map((h) => hrEntry({ Detail: JSON.stringify(h) })));

    expect(put.FailedEntryCount).toBe(0);
    expect(executions.map((e) => e.status)).toEqual(hires.map(() => 'SUCCEEDED'));
    expect(executions.map((e) => JSON.parse(e.input).employeeId).sort()).toEqual(hires.map((h) => h.employeeId));
    for (const execution of executions) {
      const { userName: name } = JSON.parse(execution.output ?? '{}') as { userName: string };
      const history = await historyOf(execution.executionArn);
      // Each history holds its own execution's invocations only.
      expect(lambdaFailures(history)).toEqual(['NoSuchEntityException']);
      const own = `"${(JSON.parse(execution.input) as { employeeId: string }).employeeId}"`;
      const others = hires.map((h) => `"${h.employeeId}"`).filter((id) => id !== own);
      const inputs = history.filter((e) => e.type === 'LambdaFunctionScheduled').map((e) => e.lambdaFunctionScheduledEventDetails?.input ?? '');
      expect(inputs.every((input) => input.includes(own) || input.includes(execution.executionArn))).toBe(true);
      expect(inputs.some((input) => others.some((id) => input.includes(id)))).toBe(false);
      expect((await aws.iam.send(new GetUserCommand({ UserName: name }))).User?.Path).toBe('/onboarding/');
      expect(await mailTo(`${name}@example.com`)).toHaveLength(1);
    }
    expect(stack.requests({ service: 'iam', operation: 'CreateLoginProfile' }).filter((r) => r.error === 'NoSuchEntity')).toHaveLength(10);
    await expectPasswordOnlyInTheEmail(executions.map((e) => e.executionArn));
  });

  it('starts nothing for events that match no rule', async () => {
    const { put, executions } = await putEvents(
      hrEntry({ DetailType: 'Employee Left' }),
      hrEntry({ Source: 'crm.system' }),
    );

    expect(put).toMatchObject({ FailedEntryCount: 0, Entries: [{ EventId: expect.any(String) }, { EventId: expect.any(String) }] });
    expect(executions).toEqual([]);
    expect((await aws.sfn.send(new ListExecutionsCommand({ stateMachineArn: onboarding }))).executions).toEqual([]);
    expect(stack.requests({ service: 'iam' })).toEqual([]);
    expect(await stack.mail()).toEqual([]);
  });
});

describe('Step Functions API', () => {
  beforeEach(freshAccount);

  it('keeps execution names unique: the same name and input while running is the same execution, anything else ExecutionAlreadyExists', async () => {
    // CreateUser answers slowly, so the execution is still running for the second call.
    stack.faults.add({ service: 'iam', operation: 'CreateUser', delayMs: 500, count: 1 });
    const first = await start('E-2001', manualHire);
    const again = await start('E-2001', manualHire);
    expect(again.executionArn).toBe(first.executionArn);
    expect(again.startDate).toEqual(first.startDate);
    await expect(start('E-2001', { ...manualHire, firstName: 'Kate' })).rejects.toMatchObject({
      name: 'ExecutionAlreadyExists',
      $metadata: { httpStatusCode: 400 },
    });

    await stack.waitForExecution(first.executionArn ?? '');
    await expect(start('E-2001', manualHire)).rejects.toMatchObject({ name: 'ExecutionAlreadyExists' });
    await expect(start('bad name', manualHire)).rejects.toMatchObject({ name: 'InvalidName' });
    await expect(
      aws.sfn.send(new StartExecutionCommand({ stateMachineArn: onboarding, name: 'E-2002', input: '{"employeeId":' })),
    ).rejects.toMatchObject({ name: 'InvalidExecutionInput' });
    await expect(
      aws.sfn.send(new StartExecutionCommand({ stateMachineArn: `${onboarding}-missing`, input: '{}' })),
    ).rejects.toMatchObject({ name: 'StateMachineDoesNotExist' });
    expect((await aws.iam.send(new GetUserCommand({ UserName: manualHire.userName }))).User?.UserName).toBe(manualHire.userName);
  });

  it('describes, lists by status, and stops executions as AWS does', async () => {
    const ok = await start('ok', manualHire);
    const bad = await start('bad', { employeeId: 'E-1', firstName: 'No', lastName: 'Email' });
    await stack.waitForIdle();
    stack.faults.add({ service: 'iam', operation: 'CreateUser', delayMs: 1000, count: 1 });
    const slow = await start('slow', { ...manualHire, employeeId: 'E-2003', userName: 'slow', email: 'slow@example.com' });

    const stopped = await aws.sfn.send(
      new StopExecutionCommand({ executionArn: slow.executionArn, error: 'Operator.Stop', cause: 'stopped by the test' }),
    );
    expect(stopped.stopDate).toBeInstanceOf(Date);
    await stack.waitForIdle();

    const described = await aws.sfn.send(new DescribeExecutionCommand({ executionArn: bad.executionArn }));
    expect(described).toMatchObject({ status: 'FAILED', error: 'InvalidHrEvent', name: 'bad', stateMachineArn: onboarding });
    expect(described.cause).toContain('email: is required');
    const aborted = await aws.sfn.send(new DescribeExecutionCommand({ executionArn: slow.executionArn }));
    expect(aborted).toMatchObject({ status: 'ABORTED', error: 'Operator.Stop', cause: 'stopped by the test' });
    const abortedHistory = await historyOf(slow.executionArn ?? '');
    expect(abortedHistory.at(-1)).toMatchObject({
      type: 'ExecutionAborted',
      executionAbortedEventDetails: { error: 'Operator.Stop', cause: 'stopped by the test' },
    });
    // Nothing ran after the stop: the slow CreateUser was the last thing that execution did.
    expect(abortedHistory.filter((e) => e.type === 'TaskStateEntered').map((e) => e.stateEnteredEventDetails?.name)).toEqual([
      'ValidateInput',
      'CreateUser',
    ]);
    expect(stack.requests({ service: 'iam', operation: 'CreateLoginProfile' }).filter((r) => r.params.UserName === 'slow')).toEqual([]);

    const byStatus = async (statusFilter?: 'SUCCEEDED' | 'FAILED' | 'ABORTED') =>
      (await aws.sfn.send(new ListExecutionsCommand({ stateMachineArn: onboarding, statusFilter }))).executions?.map((e) => e.name);
    expect(await byStatus()).toEqual(['slow', 'bad', 'ok']);
    expect(await byStatus('SUCCEEDED')).toEqual(['ok']);
    expect(await byStatus('FAILED')).toEqual(['bad']);
    expect(await byStatus('ABORTED')).toEqual(['slow']);
    const paged = await aws.sfn.send(new ListExecutionsCommand({ stateMachineArn: onboarding, maxResults: 2 }));
    expect(paged.executions).toHaveLength(2);
    const rest = await aws.sfn.send(new ListExecutionsCommand({ stateMachineArn: onboarding, nextToken: paged.nextToken }));
    expect(rest.executions?.map((e) => e.name)).toEqual(['ok']);

    const reversed = await aws.sfn.send(new GetExecutionHistoryCommand({ executionArn: ok.executionArn, reverseOrder: true, maxResults: 1 }));
    expect(reversed.events?.[0]?.type).toBe('ExecutionSucceeded');
    const withoutData = await aws.sfn.send(new GetExecutionHistoryCommand({ executionArn: ok.executionArn, includeExecutionData: false }));
    expect(withoutData.events?.[0]?.executionStartedEventDetails).toEqual({ inputDetails: { truncated: false }, roleArn: expect.any(String) });

    await expect(
      aws.sfn.send(new DescribeExecutionCommand({ executionArn: `${ok.executionArn}-missing` })),
    ).rejects.toMatchObject({ name: 'ExecutionDoesNotExist', message: expect.stringContaining('-missing'), $metadata: { httpStatusCode: 400 } });
    await expect(aws.sfn.send(new DescribeExecutionCommand({ executionArn: 'not-an-arn' }))).rejects.toMatchObject({ name: 'InvalidArn' });
  });

  it('lists and describes the state machines as deployed', async () => {
    const { stateMachines = [] } = await aws.sfn.send(new ListStateMachinesCommand({}));
    expect(stateMachines.map((m) => m.name)).toEqual(expect.arrayContaining(['iam-onboarding-local-onboarding']));
    const machine = await aws.sfn.send(new DescribeStateMachineCommand({ stateMachineArn: onboarding }));
    expect(machine).toMatchObject({ status: 'ACTIVE', type: 'STANDARD', loggingConfiguration: { level: 'ERROR', includeExecutionData: false } });
    const definition = JSON.parse(machine.definition ?? '{}') as { StartAt: string; States: Record<string, { Resource?: string }> };
    expect(definition.StartAt).toBe('ValidateInput');
    expect(definition.States.CreateLoginProfile?.Resource).toBe(
      'arn:aws:lambda:us-east-1:123456789012:function:iam-onboarding-local-createLoginProfile',
    );
  });
});

describe('fault injection', () => {
  const definition = loadDefinition('statemachines/onboarding.asl.yaml') as unknown as { States: Record<string, { Retry?: Retrier[] }> };
  const retried = (state: string) => new Set(definition.States[state]?.Retry?.flatMap((r) => r.ErrorEquals));

  // These calls are refused before they reach moto: nothing to reset.
  it.each([
    { service: 'iam', error: 'EntityTemporarilyUnmodifiable', status: 409, thrown: 'EntityTemporarilyUnmodifiableException', state: 'CreateLoginProfile' },
    { service: 'iam', error: 'NoSuchEntity', status: 404, thrown: 'NoSuchEntityException', state: 'CreateLoginProfile' },
    { service: 'iam', error: 'Throttling', status: 400, thrown: 'Throttling', state: 'CreateLoginProfile' },
    { service: 'iam', error: 'ServiceFailure', status: 500, thrown: 'ServiceFailureException', state: 'CreateLoginProfile' },
    { service: 'kms', error: 'ThrottlingException', status: 400, thrown: 'ThrottlingException', state: 'CreateLoginProfile' },
    { service: 'kms', error: 'KMSInternalException', status: 500, thrown: 'KMSInternalException', state: 'CreateLoginProfile' },
    { service: 'ses', error: 'Throttling', status: 400, thrown: 'Throttling', state: 'SendCredentials' },
    { service: 'ses', error: 'MessageRejected', status: 400, thrown: 'MessageRejected', state: 'SendCredentials', retry: false },
  ])('answers $service $error as AWS does: the SDK throws $thrown, which $state retries unless it is a rejection', async (c) => {
    stack.faults.clear();
    const call = {
      iam: () => aws.iam.send(new CreateLoginProfileCommand({ UserName: 'nobody', Password: 'Aa1!aaaaaaaaaaaa', PasswordResetRequired: true })),
      kms: () => aws.kms.send(new EncryptCommand({ KeyId: stack.functionEnv.KMS_KEY_ID, Plaintext: new Uint8Array([1]) })),
      ses: () =>
        aws.ses.send(
          new SendEmailCommand({
            Source: stack.functionEnv.SENDER_EMAIL,
            Destination: { ToAddresses: ['nobody@example.com'] },
            Message: { Subject: { Data: 's' }, Body: { Text: { Data: 't' } } },
          }),
        ),
    }[c.service as 'iam' | 'kms' | 'ses'];
    const operation = { iam: 'CreateLoginProfile', kms: 'Encrypt', ses: 'SendEmail' }[c.service as 'iam' | 'kms' | 'ses'];
    stack.faults.add({ service: c.service, operation, error: c.error, count: 1 });

    const error = await call().then(
      () => undefined,
      (e: Error & { $metadata: { httpStatusCode: number } }) => e,
    );

    expect(error?.name).toBe(c.thrown);
    expect(error?.$metadata.httpStatusCode).toBe(c.status);
    expect(retried(c.state).has(c.thrown)).toBe(c.retry ?? true);
    // count: 1 — the next call reaches moto.
    expect(stack.faults.list()).toEqual([]);
  });

  it('survives an IAM answer lost after the write: CreateUser failed twice but created the user, the retry adopts it', async () => {
    await freshAccount();
    // Both SDK attempts of one CreateUser see a 500 although moto created the user on the first.
    stack.faults.add({ service: 'iam', operation: 'CreateUser', error: 'ServiceFailure', when: 'after', count: 2 });

    const { executions } = await putEvents(hrEntry());

    expect(executions[0]?.status).toBe('SUCCEEDED');
    const history = await historyOf(executions[0]?.executionArn ?? '');
    expect(lambdaFailures(history)).toEqual(['ServiceFailureException']);
    // The SDK's own retry met EntityAlreadyExists in moto, answered as the second 500; the
    // state's retry is told the user exists, reads it and adopts it (created for this employee).
    expect(stack.requests({ service: 'iam', operation: 'CreateUser' }).map((r) => [r.status, r.error])).toEqual([
      [500, 'ServiceFailure'],
      [500, 'ServiceFailure'],
      [409, 'EntityAlreadyExists'],
    ]);
    expect(stack.requests({ service: 'iam', operation: 'GetUser' }).map((r) => r.status)).toEqual([200]);
    expect(await mailTo(hire.email)).toHaveLength(1);
  });

  it('lets a Lambda die after its AWS calls succeeded (Lambda.Unknown), and a re-run completes the same user', async () => {
    await freshAccount();
    stack.faults.add({ service: 'lambda', operation: 'createUser', error: 'Lambda.Unknown', when: 'after', count: 1 });

    const { executions } = await putEvents(hrEntry());

    expect(executions[0]).toMatchObject({ status: 'FAILED', error: 'Lambda.Unknown' });
    const history = await historyOf(executions[0]?.executionArn ?? '');
    expect(history.find((e) => e.type === 'LambdaFunctionFailed')).toMatchObject({
      lambdaFunctionFailedEventDetails: { error: 'Lambda.Unknown', cause: expect.stringContaining('Lambda did not return an error type') },
    });
    // The function's work stands: the user exists, and the failure was recorded on it.
    const { User: user } = await aws.iam.send(new GetUserCommand({ UserName: userName }));
    expect(tagValue(user?.Tags, 'onboarding:failure')).toBe('Lambda.Unknown');

    const rerun = await start('rerun', hire);
    expect(await stack.waitForExecution(rerun.executionArn ?? '')).toMatchObject({ status: 'SUCCEEDED' });
    expect(stack.requests({ service: 'iam', operation: 'CreateUser' }).filter((r) => r.status === 200)).toHaveLength(1);
    expect(await mailTo(hire.email)).toHaveLength(1);
  });

  it('takes rules over the admin API, and names the field of a bad one', async () => {
    await freshAccount();
    const post = (body: unknown) => fetch(`${stack.endpoint}/_local/faults`, { method: 'POST', body: JSON.stringify(body) });

    const bad = await post({ service: 'iam', operation: 'CreateUser', error: 'Throtling' });
    expect(bad.status).toBe(400);
    expect(await bad.json()).toMatchObject({ error: 'InvalidFaultRule', message: expect.stringMatching(/^Invalid fault rule: error: is not an error/) });
    const missing = await post({ operation: 'CreateUser', error: 'Throttling', probability: 2 });
    expect(((await missing.json()) as { message: string }).message).toMatch(/service: .*probability: /);

    const created = await post({ rules: [{ service: 'iam', operation: 'GetUser', error: 'Throttling', durationMs: 60_000 }] });
    expect(created.status).toBe(201);
    const [rule] = ((await created.json()) as { rules: Array<{ id: string }> }).rules;
    expect(((await (await fetch(`${stack.endpoint}/_local/faults`)).json()) as { rules: unknown[] }).rules).toHaveLength(1);
    await expect(aws.iam.send(new GetUserCommand({ UserName: 'x' }))).rejects.toMatchObject({ name: 'Throttling' });

    const removed = await fetch(`${stack.endpoint}/_local/faults/${rule?.id}`, { method: 'DELETE' });
    expect(await removed.json()).toEqual({ removed: 1 });
    await expect(aws.iam.send(new GetUserCommand({ UserName: 'x' }))).rejects.toMatchObject({ name: 'NoSuchEntityException' });

    // The stack's own APIs take faults too, in their JSON shape.
    await post({ service: 'states', operation: 'StartExecution', error: 'ThrottlingException', count: 1 });
    const sfn = new SFNClient({ endpoint: stack.endpoint, region: stack.region, credentials: { accessKeyId: 'test', secretAccessKey: 'test' }, maxAttempts: 1 });
    await expect(sfn.send(new StartExecutionCommand({ stateMachineArn: onboarding, input: '{}' }))).rejects.toMatchObject({
      name: 'ThrottlingException',
      $metadata: { httpStatusCode: 400 },
    });
    expect(stack.executions()).toEqual([]);
  });
});

function start(name: string, input: unknown) {
  return aws.sfn.send(new StartExecutionCommand({ stateMachineArn: onboarding, name, input: JSON.stringify(input) }));
}
