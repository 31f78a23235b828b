import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { CloudFormationClient } from '@aws-sdk/client-cloudformation';
import {
  DescribeExecutionCommand,
  ExecutionAlreadyExists,
  ExecutionDoesNotExist,
  GetExecutionHistoryCommand,
  SFNClient,
  StartExecutionCommand,
  StateMachineDoesNotExist,
} from '@aws-sdk/client-sfn';
import { mockClient } from 'aws-sdk-client-mock';
import fc from 'fast-check';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { defaultExecutionName } from '../../cli/commands/start.ts';
import {
  cli,
  description,
  executionArn,
  FAILURE,
  historyEvents,
  HIRE,
  SEALED,
  STATE_MACHINE_ARN,
  SUCCESS_WITH_RETRIES,
  SUMMARY,
} from './support.ts';

const sfn = mockClient(SFNClient);
const cfn = mockClient(CloudFormationClient);
const notFound = () => new ExecutionDoesNotExist({ message: 'Execution Does Not Exist', $metadata: { httpStatusCode: 400 } });
const NAME = 'onboard-E-1001';

let dir: string;
let hireFile: string;

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'onboarding-cli-'));
  hireFile = path.join(dir, 'hire.json');
  await writeFile(hireFile, JSON.stringify(HIRE));
});
afterAll(() => rm(dir, { recursive: true, force: true }));

beforeEach(() => {
  sfn.reset();
  cfn.reset();
  sfn.on(DescribeExecutionCommand).rejects(notFound());
  sfn.on(StartExecutionCommand).callsFake(async (input: { name: string }) => ({ executionArn: executionArn(input.name), startDate: new Date() }));
});

const flags = ['--employee-id', 'E-1001', '--first-name', 'Bob', '--last-name', 'Builder', '--email', 'bob.builder@example.com'];

describe('onboarding start', () => {
  it('starts from a hire file: named after the employee, the file as input; prints name and ARN', async () => {
    const { code, stdout, stderr } = await cli(['start', '--input', hireFile]);

    expect(stderr).toBe('');
    expect(code).toBe(0);
    expect(sfn).toHaveReceivedCommandTimes(StartExecutionCommand, 1);
    const call = sfn.commandCalls(StartExecutionCommand)[0]!.args[0].input;
    expect(call).toMatchObject({ stateMachineArn: STATE_MACHINE_ARN, name: NAME });
    expect(JSON.parse(call.input!)).toEqual(HIRE);
    expect(stdout).toBe(`Started ${NAME}\n  ${executionArn(NAME)}\n`);
  });

  it('starts from flags, groups split on commas', async () => {
    const { code } = await cli(['start', ...flags, '--groups', 'developers, readers', '--user-name', 'bob']);

    expect(code).toBe(0);
    const input = JSON.parse(sfn.commandCalls(StartExecutionCommand)[0]!.args[0].input.input!);
    expect(input).toEqual({
      employeeId: 'E-1001',
      firstName: 'Bob',
      lastName: 'Builder',
      email: 'bob.builder@example.com',
      userName: 'bob',
      groups: ['developers', 'readers'],
    });
  });

  it('prints one JSON document with --json', async () => {
    const { code, stdout } = await cli(['start', '--input', hireFile, '--json']);

    expect(code).toBe(0);
    expect(JSON.parse(stdout)).toEqual({
      started: true,
      name: NAME,
      executionArn: executionArn(NAME),
      stateMachineArn: STATE_MACHINE_ARN,
      status: 'RUNNING',
    });
  });

  it('reports a hire already started (running) and does not start it again', async () => {
    sfn.on(DescribeExecutionCommand).resolves(description(NAME, 'RUNNING'));

    const { code, stdout } = await cli(['start', '--input', hireFile]);

    expect(code).toBe(0);
    expect(stdout).toContain(`${NAME} already started: RUNNING`);
    expect(sfn).toHaveReceivedCommandTimes(StartExecutionCommand, 0);
  });

  it('on ExecutionAlreadyExists, describes the execution and reports it: no second StartExecution', async () => {
    // Started by someone else between our look and our start.
    sfn.on(DescribeExecutionCommand).rejectsOnce(notFound()).resolves(description(NAME, 'SUCCEEDED'));
    sfn.on(StartExecutionCommand).rejects(
      new ExecutionAlreadyExists({ message: `Execution Already Exists: '${executionArn(NAME)}'`, $metadata: { httpStatusCode: 400 } }),
    );

    const { code, stdout } = await cli(['start', '--input', hireFile]);

    expect(code).toBe(0);
    expect(stdout).toContain(`${NAME} already finished: SUCCEEDED`);
    expect(stdout).toContain('  userName     bob.builder\n');
    expect(sfn).toHaveReceivedCommandTimes(StartExecutionCommand, 1);
    expect(sfn).toHaveReceivedCommandTimes(DescribeExecutionCommand, 2);
  });

  it('reports an earlier failed run with its error, exits 1, and says how to run it again', async () => {
    sfn.on(DescribeExecutionCommand).resolves(description(NAME, 'FAILED'));

    const { code, stdout } = await cli(['start', '--input', hireFile]);

    expect(code).toBe(1);
    expect(stdout).toContain(`${NAME} already finished: FAILED`);
    expect(stdout).toContain('EntityTemporarilyUnmodifiableException');
    expect(stdout).toMatch(/--name onboard-E-1001-\d{8}T\d{6}\n/);
    expect(sfn).toHaveReceivedCommandTimes(StartExecutionCommand, 0);
  });

  it('--name starts a fresh run under that name', async () => {
    sfn.on(DescribeExecutionCommand, { executionArn: executionArn(NAME) }).resolves(description(NAME, 'FAILED'));

    const { code, stdout } = await cli(['start', '--input', hireFile, '--name', 'onboard-E-1001-again']);

    expect(code).toBe(0);
    expect(sfn).toHaveReceivedCommandWith(StartExecutionCommand, { name: 'onboard-E-1001-again', stateMachineArn: STATE_MACHINE_ARN });
    expect(stdout).toContain(executionArn('onboard-E-1001-again'));
  });

  it('--wait follows the execution: one line per state, one per retry, then the summary', async () => {
    const running = description(NAME, 'RUNNING');
    sfn
      .on(DescribeExecutionCommand)
      .rejectsOnce(notFound())
      .resolvesOnce(running)
      .resolves(description(NAME, 'SUCCEEDED'));
    // Polls see the history grow; the second poll brings nothing new, so the CLI asks
    // DescribeExecution (still running) and polls again.
    sfn
      .on(GetExecutionHistoryCommand)
      .resolvesOnce({ events: SUCCESS_WITH_RETRIES.slice(0, 9) })
      .resolvesOnce({ events: SUCCESS_WITH_RETRIES.slice(0, 9) })
      .resolves({ events: SUCCESS_WITH_RETRIES });

    const { code, stdout, sleeps } = await cli(['start', '--input', hireFile, '--wait']);

    expect(code).toBe(0);
    expect(sleeps).toEqual([1000, 1000]);
    expect(stdout).toBe(
      [
        `Started ${NAME}`,
        `  ${executionArn(NAME)}`,
        '  ValidateInput        done    1.0s',
        '  CreateUser           done    1.0s',
        '  CreateLoginProfile   retry   EntityTemporarilyUnmodifiableException (attempt 2)',
        '  CreateLoginProfile   retry   EntityTemporarilyUnmodifiableException (attempt 3)',
        '  CreateLoginProfile   done    2.5s',
        '  IsNewLoginProfile    done    250ms',
        '  SendCredentials      done    1.0s',
        '  MarkComplete         done    1.0s',
        'Succeeded in 9.5s',
        '  status       ONBOARDED',
        '  employeeId   E-1001',
        '  userName     bob.builder',
        `  arn          ${SUMMARY.arn}`,
        '  path         /onboarding/',
        '  groups       developers',
        `  signInUrl    ${SUMMARY.signInUrl}`,
        '  emailsSent   1',
        `  completedAt  ${SUMMARY.completedAt}`,
        '',
      ].join('\n'),
    );
  });

  it('--wait stops following, exit 0, once the execution waits for a start date: it goes on by itself', async () => {
    sfn.on(DescribeExecutionCommand).rejectsOnce(notFound()).resolves(description(NAME, 'RUNNING'));
    // The history so far: up to the Wait state entered (the execution's end is weeks away).
    const waiting = historyEvents(
      [
        { name: 'ValidateInput' },
        { name: 'CreateUser' },
        { name: 'WaitsForStartDate', type: 'Choice' },
        { name: 'WaitForStartDate', type: 'Wait', input: { user: { waitUntil: '2025-03-17T08:00:00.000Z' } } },
      ],
      { output: {} },
    ).filter((event) => !['WaitStateExited', 'ExecutionSucceeded'].includes(event.type ?? ''));
    sfn.on(GetExecutionHistoryCommand).resolves({ events: waiting });

    const { code, stdout } = await cli(['start', '--input', hireFile, '--wait']);

    expect(code).toBe(0);
    expect(stdout).toBe(
      [
        `Started ${NAME}`,
        `  ${executionArn(NAME)}`,
        '  ValidateInput        done    1.0s',
        '  CreateUser           done    1.0s',
        '  WaitsForStartDate    done    250ms',
        '  WaitForStartDate     waiting until 2025-03-17T08:00:00.000Z',
        'The execution waits for the start date and goes on by itself (a Wait state: no cost while it waits).',
        '  onboarding status --employee-id E-1001   what the hire has now',
        `  onboarding history ${NAME}   the steps so far`,
        '',
      ].join('\n'),
    );
  });

  it('--wait: when DescribeExecution reports the end before the history shows it, the last steps still show', async () => {
    sfn.on(DescribeExecutionCommand).rejectsOnce(notFound()).resolves(description(NAME, 'SUCCEEDED'));
    sfn
      .on(GetExecutionHistoryCommand)
      .resolvesOnce({ events: SUCCESS_WITH_RETRIES.slice(0, 30) })
      .resolvesOnce({ events: SUCCESS_WITH_RETRIES.slice(0, 30) })
      .resolves({ events: SUCCESS_WITH_RETRIES });

    const { code, stdout } = await cli(['start', '--input', hireFile, '--wait']);

    expect(code).toBe(0);
    expect(stdout).toContain('  MarkComplete         done    1.0s\nSucceeded in 9.5s\n');
  });

  it('--wait on a failing execution: the caught state, the Fail state, error and cause; exit 1', async () => {
    sfn.on(DescribeExecutionCommand).rejectsOnce(notFound()).resolves(description(NAME, 'FAILED'));
    sfn.on(GetExecutionHistoryCommand).resolves({ events: FAILURE });

    const { code, stdout } = await cli(['start', '--input', hireFile, '--wait']);

    expect(code).toBe(1);
    const lines = stdout.split('\n');
    expect(lines).toContain('  CreateLoginProfile   retry   EntityTemporarilyUnmodifiableException (attempt 2)');
    expect(lines).toContain('  CreateLoginProfile   caught  EntityTemporarilyUnmodifiableException  1.8s');
    expect(lines).toContain('  OnboardingFailed     failed');
    expect(lines).toContain('Failed after 9.5s: EntityTemporarilyUnmodifiableException');
    expect(lines).toContain('  cause  Login Profile for User bob.builder cannot be modified while login profile is being created.');
    // Lambda's stack trace in the cause is not shown.
    expect(stdout).not.toContain('de_EntityTemporarilyUnmodifiableExceptionRes');
  });

  it('--wait --json: one document with the steps and the outcome, nothing sealed in it', async () => {
    sfn.on(DescribeExecutionCommand).rejectsOnce(notFound()).resolves(description(NAME, 'SUCCEEDED'));
    sfn.on(GetExecutionHistoryCommand).resolves({ events: SUCCESS_WITH_RETRIES });

    const { code, stdout } = await cli(['start', '--input', hireFile, '--wait', '--json']);

    expect(code).toBe(0);
    const doc = JSON.parse(stdout);
    expect(doc).toMatchObject({ started: true, name: NAME, status: 'SUCCEEDED', execution: { output: SUMMARY, status: 'SUCCEEDED' } });
    expect(doc.steps.filter((s: { kind: string }) => s.kind === 'retry')).toEqual([
      expect.objectContaining({ state: 'CreateLoginProfile', error: 'EntityTemporarilyUnmodifiableException', attempt: 2 }),
      expect.objectContaining({ state: 'CreateLoginProfile', error: 'EntityTemporarilyUnmodifiableException', attempt: 3 }),
    ]);
    expect(stdout).not.toContain(SEALED);
  });

  it('follows without asking for state data: the history poll sets includeExecutionData false', async () => {
    sfn.on(DescribeExecutionCommand).rejectsOnce(notFound()).resolves(description(NAME, 'SUCCEEDED'));
    sfn.on(GetExecutionHistoryCommand).resolves({ events: SUCCESS_WITH_RETRIES });

    await cli(['start', '--input', hireFile, '--wait']);

    expect(sfn).toHaveReceivedCommandWith(GetExecutionHistoryCommand, { executionArn: executionArn(NAME), includeExecutionData: false });
  });

  it('an AWS error is one line with what to do, exit 1; --debug adds the stack', async () => {
    sfn.on(DescribeExecutionCommand).rejects(
      new StateMachineDoesNotExist({ message: `State Machine Does Not Exist: '${STATE_MACHINE_ARN}'`, $metadata: { httpStatusCode: 400 } }),
    );

    const plain = await cli(['start', '--input', hireFile]);
    expect(plain.code).toBe(1);
    expect(plain.stdout).toBe('');
    expect(plain.stderr.trimEnd().split('\n')).toHaveLength(1);
    expect(plain.stderr).toMatch(/^onboarding: no such state machine: .*Check --state-machine-arn, --stage and --region\.\n$/);

    const debug = await cli(['start', '--input', hireFile, '--debug']);
    expect(debug.code).toBe(1);
    expect(debug.stderr).toMatch(/\n\s+at /);
  });
});

describe('onboarding start: bad input is exit 2, names the problem, and calls no AWS API', () => {
  const cases: Array<[string, string[], RegExp, Record<string, string>?]> = [
    ['no hire at all', ['start'], /no hire given: use --input <file>, or --employee-id/],
    ['flags missing fields', ['start', '--employee-id', 'E-1', '--first-name', 'Bob'], /lastName \(--last-name\): is required; email \(--email\): is required/],
    ['a bad email flag', ['start', ...flags.slice(0, 6), '--email', 'bob'], /email \(--email\): must be an email address/],
    ['a bad employee id', ['start', ...flags.slice(2), '--employee-id', 'E 1'], /employeeId \(--employee-id\): must be 1-64 characters/],
    ['too many groups', ['start', ...flags, '--groups', 'a,b,c,d,e,f,g,h,i,j,k'], /groups \(--groups\): must name at most 10 groups/],
    ['a file that is not there', ['start', '--input', 'no-such-hire.json'], /--input no-such-hire\.json: no such file/],
    ['file and flags together', ['start', '--input', 'hire.json', '--email', 'x@example.com'], /either with --input or with flags, not both \(--email\)/],
    ['a bad --name', ['start', ...flags, '--name', 'has space'], /--name: "has space" must be 1-80 characters/],
    ['a bad --state-machine-arn', ['start', ...flags, '--state-machine-arn', 'arn:aws:s3:::bucket'], /--state-machine-arn: "arn:aws:s3:::bucket" is not a state machine ARN/],
    ['a bad --region', ['start', ...flags, '--region', 'Mars'], /--region: "Mars" is not an AWS region/],
    ['a bad --stage', ['start', ...flags, '--stage', 'dev/1'], /--stage: "dev\/1" must be letters, digits and hyphens/],
    ['--stage with --local', ['start', ...flags, '--stage', 'dev', '--local'], /'--stage <stage>' cannot be used with option '--local'/],
    ['an unknown flag', ['start', ...flags, '--frobnicate'], /unknown option '--frobnicate'/],
    ['a flag without its value', ['start', '--input'], /option '--input <file>' argument missing/],
    ['an unknown command', ['onbaord'], /unknown command 'onbaord'/],
    ['no state machine anywhere', ['start', ...flags], /which state machine\? Pass --state-machine-arn <arn>, --stage <stage> or --local/, {}],
    ['a malformed ONBOARDING_STATE_MACHINE_ARN', ['start', ...flags], /ONBOARDING_STATE_MACHINE_ARN: "nope" is not a state machine ARN/, { ONBOARDING_STATE_MACHINE_ARN: 'nope' }],
    ['an invalid hire with --stage (no stack lookup)', ['start', ...flags.slice(0, 6), '--stage', 'dev'], /email \(--email\): is required/],
  ];

  it.each(cases)('%s', async (_, argv, message, env) => {
    const { code, stdout, stderr } = await cli(argv, env ? { env } : {});

    expect(code).toBe(2);
    expect(stdout).toBe('');
    expect(stderr).toMatch(message);
    expect(stderr.trimEnd().split('\n')).toHaveLength(1);
    expect(sfn.calls()).toHaveLength(0);
    expect(cfn.calls()).toHaveLength(0);
  });

  const files: Array<[string, string, RegExp]> = [
    ['invalid JSON', '{"employeeId": "E-1",', /not valid JSON/],
    ['not an object', '["E-1"]', /\(event\): must be of type object/],
    ['a misspelt field', JSON.stringify({ ...HIRE, username: 'bob' }), /unknown field\(s\) "username"/],
    ['a field of the wrong type', JSON.stringify({ ...HIRE, groups: 'developers' }), /groups: must be of type array/],
    ['a line break in a name', JSON.stringify({ ...HIRE, lastName: 'B\r\nBcc: x@example.com' }), /lastName: must not contain control characters/],
    ['a whole EventBridge event', JSON.stringify({ source: 'hr.system', 'detail-type': 'Employee Hired', detail: HIRE }), /whole EventBridge event; give its "detail"/],
  ];

  it.each(files)('a hire file with %s', async (_, content, message) => {
    const file = path.join(dir, 'bad.json');
    await writeFile(file, content);

    const { code, stderr } = await cli(['start', '--input', file]);

    expect(code).toBe(2);
    expect(stderr).toMatch(message);
    expect(stderr).toContain(`--input ${file}: `);
    expect(sfn.calls()).toHaveLength(0);
  });

  it('a directory as the hire file', async () => {
    const { code, stderr } = await cli(['start', '--input', dir]);
    expect(code).toBe(2);
    expect(stderr).toContain('is a directory');
    expect(sfn.calls()).toHaveLength(0);
  });
});

describe('default execution name', () => {
  const NAME_RULE = /^[A-Za-z0-9_-]{1,80}$/;

  it('is onboard-<employee id> when the id is already a valid name', () => {
    expect(defaultExecutionName('E-1001')).toBe('onboard-E-1001');
  });

  it('replaces characters a name cannot hold and keeps ids that differ only there apart', () => {
    const dotted = defaultExecutionName('hr.123');
    expect(dotted).toMatch(/^onboard-hr-123-[0-9a-f]{8}$/);
    expect(defaultExecutionName('hr:123')).not.toBe(dotted);
    expect(defaultExecutionName('hr-123')).toBe('onboard-hr-123');
  });

  it('is always a valid Step Functions name, and distinct ids give distinct names', () => {
    const employeeId = fc.stringMatching(/^[A-Za-z0-9._:/=+@-]{1,64}$/);
    fc.assert(
      fc.property(employeeId, employeeId, (a, b) => {
        expect(defaultExecutionName(a)).toMatch(NAME_RULE);
        if (a !== b) expect(defaultExecutionName(a)).not.toBe(defaultExecutionName(b));
      }),
      { numRuns: 2000 },
    );
  });
});
