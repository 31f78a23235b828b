/**
 * `onboarding status --employee-id|--user|--email` with IAM and Step Functions mocked: what it
 * says for a hire that succeeded, one that failed and one that never reached IAM, which calls
 * it makes to find out (bounded), and the runbook's advice printed with a failure.
 */
import { IAMClient, ListUserTagsCommand, ListUsersCommand, type Tag } from '@aws-sdk/client-iam';
import {
  DescribeExecutionCommand,
  ExecutionDoesNotExist,
  ListExecutionsCommand,
  SFNClient,
  type DescribeExecutionCommandOutput,
  type ExecutionListItem,
} from '@aws-sdk/client-sfn';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { executionName } from '../../functions/lib/sweep-decisions.ts';
import { TEST_ENV } from '../../testing/lambda-env.ts';
import { adviceFor } from '../../cli/runbook.ts';
import { fakeDirectory, onboardedUser, type DirectoryUser } from '../support/iam-directory.ts';
import { cli as runCli } from './support.ts';

const ONBOARDING = 'arn:aws:states:us-east-1:123456789012:stateMachine:iam-onboarding-test-onboarding';
const REPROVISION = 'arn:aws:states:us-east-1:123456789012:stateMachine:iam-onboarding-test-reprovision';
const arnOf = (machine: string, name: string) => `${machine.replace(':stateMachine:', ':execution:')}:${name}`;
const now = new Date();
const minutesAgo = (m: number) => new Date(now.getTime() - m * 60_000);

const iam = mockClient(IAMClient);
const sfn = mockClient(SFNClient);

interface FakeExecution {
  machine: string;
  name: string;
  status: DescribeExecutionCommandOutput['status'];
  input: unknown;
  startedMinutesAgo: number;
  error?: string;
  cause?: string;
}
let executions: FakeExecution[];
let users: Map<string, DirectoryUser>;

function serve(directory: DirectoryUser[], runs: FakeExecution[]): void {
  users = fakeDirectory(iam, directory);
  // ListUsers leaves tags out; ListUserTags answers them, as AWS does.
  iam.on(ListUserTagsCommand).callsFake(async (input: { UserName: string }) => ({
    Tags: Object.entries(users.get(input.UserName)?.tags ?? {}).map(([Key, Value]): Tag => ({ Key, Value })),
    IsTruncated: false,
  }));
  executions = runs;
  const describe = (e: FakeExecution): DescribeExecutionCommandOutput => ({
    $metadata: {},
    executionArn: arnOf(e.machine, e.name),
    stateMachineArn: e.machine,
    name: e.name,
    status: e.status,
    startDate: minutesAgo(e.startedMinutesAgo),
    ...(e.status !== 'RUNNING' && { stopDate: minutesAgo(e.startedMinutesAgo - 1) }),
    input: JSON.stringify(e.input),
    ...(e.error && { error: e.error }),
    ...(e.cause && { cause: e.cause }),
  });
  sfn.on(ListExecutionsCommand).callsFake(async (input: { stateMachineArn: string; maxResults?: number; nextToken?: string }) => {
    const all = executions.filter((e) => e.machine === input.stateMachineArn).sort((a, b) => a.startedMinutesAgo - b.startedMinutesAgo);
    const from = Number(input.nextToken ?? 0);
    const size = input.maxResults ?? 100;
    const page = all.slice(from, from + size).map((e): ExecutionListItem => {
      const { executionArn, stateMachineArn, name, status, startDate, stopDate } = describe(e);
      return { executionArn: executionArn!, stateMachineArn: stateMachineArn!, name: name!, status: status!, startDate: startDate!, ...(stopDate && { stopDate }) };
    });
    return { executions: page, ...(from + size < all.length && { nextToken: String(from + size) }) };
  });
  sfn.on(DescribeExecutionCommand).callsFake(async (input: { executionArn: string }) => {
    const found = executions.find((e) => arnOf(e.machine, e.name) === input.executionArn);
    if (!found) throw new ExecutionDoesNotExist({ message: `Execution Does Not Exist: '${input.executionArn}'`, $metadata: { httpStatusCode: 400 } });
    return describe(found);
  });
}

beforeEach(() => {
  iam.reset();
  sfn.reset();
});

const ENV = { ONBOARDING_STATE_MACHINE_ARN: ONBOARDING, REPROVISION_STATE_MACHINE_ARN: REPROVISION };
const cli = (argv: string[]) => runCli([...argv, '--managed-by', TEST_ENV.MANAGED_BY], { env: ENV });

const ada = { employeeId: 'E-1815', firstName: 'Ada', lastName: 'Lovelace', email: 'ada.lovelace@example.com' };
const grace = { employeeId: 'E-1906', firstName: 'Grace', lastName: 'Hopper', email: 'grace.hopper@example.com' };
const eve = { employeeId: 'E-1002', firstName: 'Eve', lastName: 'Moneypenny', email: 'eve@example.com', groups: ['Admins'] };

const HR_ADA = '6a43aa1b-1f0c-4a51-9a8e-0c7c2b1d9e01';
const HR_GRACE = 'b7e2c9d0-33aa-4c1e-8f10-2d4f6a8b0c12';
const HR_EVE = 'c0ffee00-1234-4e5f-8a9b-abcdefabcdef';
const MESSAGE_REJECTED = JSON.stringify({ errorType: 'MessageRejected', errorMessage: 'Email address is not verified. The following identities failed the check in region US-EAST-1: it-onboarding@example.com' });
const GROUP_NOT_ALLOWED = JSON.stringify({ errorType: 'GroupNotAllowed', errorMessage: 'groups: "Admins" may not be assigned by this workflow (allowed: developers, readers)' });

/** Ada onboarded by an HR event 20 minutes ago; Grace's credentials mail refused; Eve asked for a group the stage does not allow; other hires around them. */
function account(): void {
  const adaUser = onboardedUser('ada.lovelace', {
    now,
    issuedDaysAgo: 0,
    employeeId: ada.employeeId,
    tags: {
      'onboarding:first-name': 'Ada',
      'onboarding:last-name': 'Lovelace',
      'onboarding:email': ada.email,
      'onboarding:created-by': arnOf(ONBOARDING, HR_ADA),
      'onboarding:completed-by': arnOf(ONBOARDING, HR_ADA),
    },
  });
  const graceUser = onboardedUser('grace.hopper', {
    now,
    issuedDaysAgo: 0,
    employeeId: grace.employeeId,
    tags: {
      'onboarding:first-name': 'Grace',
      'onboarding:last-name': 'Hopper',
      'onboarding:email': grace.email,
      'onboarding:status': 'failed',
      'onboarding:failure': 'MessageRejected',
      'onboarding:updated-at': minutesAgo(9).toISOString(),
      'onboarding:password-issued-at': minutesAgo(9).toISOString(),
      'onboarding:credentials-sent-at': undefined,
      'onboarding:created-by': arnOf(ONBOARDING, HR_GRACE),
    },
  });
  const others = Array.from({ length: 6 }, (_, i) => onboardedUser(`other${i}`, { now, employeeId: `E-9${i}` }));
  serve(
    [adaUser, graceUser, ...others],
    [
      { machine: ONBOARDING, name: HR_ADA, status: 'SUCCEEDED', input: ada, startedMinutesAgo: 20 },
      { machine: ONBOARDING, name: HR_GRACE, status: 'FAILED', input: grace, startedMinutesAgo: 10, error: 'MessageRejected', cause: MESSAGE_REJECTED },
      { machine: ONBOARDING, name: HR_EVE, status: 'FAILED', input: eve, startedMinutesAgo: 5, error: 'GroupNotAllowed', cause: GROUP_NOT_ALLOWED },
      ...Array.from({ length: 4 }, (_, i): FakeExecution => ({
        machine: ONBOARDING,
        name: `hr-other-${i}`,
        status: 'SUCCEEDED',
        input: { employeeId: `E-9${i}`, firstName: 'O', lastName: 'T', email: `other${i}@example.com` },
        startedMinutesAgo: 30 + i,
      })),
    ],
  );
}

/** DescribeExecution calls but those of the executions the users' tags name: the inputs read. */
const describedInputs = () =>
  sfn.commandCalls(DescribeExecutionCommand).filter((c) => ![HR_ADA, HR_GRACE].some((name) => c.args[0].input.executionArn?.endsWith(`:${name}`))).length;

describe('onboarding status for a hire that succeeded', () => {
  it('finds the user by employee id among the managed users, and says it is onboarded, with the execution it records', async () => {
    account();

    const { code, stdout, stderr } = await cli(['status', '--employee-id', 'E-1815']);

    expect(code).toBe(0);
    expect(stderr).toBe(`Looking for employee E-1815 among 8 users under /onboarding/: reading their tags…\n`);
    const lines = stdout.split('\n');
    expect(lines[0]).toBe('ada.lovelace: onboarded; credentials sent; not signed in yet');
    expect(stdout).toContain(`  ours          yes (/onboarding/, onboarding:managed-by=${TEST_ENV.MANAGED_BY})\n`);
    expect(stdout).toContain('  employee      E-1815  ada.lovelace@example.com\n');
    expect(stdout).toMatch(/\n {2}onboarding {4}complete since \d{4}-\d\d-\d\d \d\d:\d\d:\d\dZ\n/);
    expect(stdout).toMatch(/\n {2}credentials {3}sent \S+ \S+; password issued /);
    expect(stdout).toContain('  signed in     not yet (the password must be changed at first sign-in)\n');
    expect(stdout).toContain('  last failure  none\n');
    expect(stdout).toMatch(/\n {2}next sweep {4}nothing \(healthy\); resets the password if it is still unused after /);
    expect(stdout).toMatch(new RegExp(`\\n {2}${HR_ADA} +onboarding +SUCCEEDED +\\S+ \\S+ +created-by, completed-by\\n`));
    // Reading stops at the workflow's user: at most one per worker after it.
    expect(lines.at(-2)).toMatch(/^Searched: the tags of [1-5] of the 8 users under \/onboarding\/; all 7 onboarding executions; no reprovision executions$/);
    // The user explains it all: no execution's input was read.
    expect(describedInputs()).toBe(0);
  });

  it('--user and --email find the same user with one GetUser, no scan', async () => {
    account();
    const byUser = await cli(['status', '--user', 'ada.lovelace']);
    const byEmail = await cli(['status', '--email', 'Ada.Lovelace@example.com']);

    expect(byUser.stdout.split('\n')[0]).toBe('ada.lovelace: onboarded; credentials sent; not signed in yet');
    expect(byEmail.stdout.split('\n')[0]).toBe('ada.lovelace: onboarded; credentials sent; not signed in yet');
    expect(byEmail.stdout).toContain('Searched: GetUser ada.lovelace (the user name of Ada.Lovelace@example.com);');
    expect(iam).toHaveReceivedCommandTimes(ListUsersCommand, 0);
    expect(byUser.stderr + byEmail.stderr).toBe('');
  });

  it('--json: one document with the user, the executions and the sweep\'s decision', async () => {
    account();
    const { stdout } = await cli(['status', '--employee-id', 'E-1815', '--json']);
    const doc = JSON.parse(stdout);
    expect(doc).toMatchObject({
      query: { employeeId: 'E-1815' },
      user: { userName: 'ada.lovelace', ours: true, status: 'complete', credentialsDelivered: true, employeeId: 'E-1815' },
      executions: [{ name: HR_ADA, stateMachine: 'onboarding', status: 'SUCCEEDED', found: ['created-by', 'completed-by'] }],
      nextSweep: { action: 'none', reason: 'healthy', outcome: 'nothing', laterAction: 'reset-password' },
      searched: { users: { read: expect.any(Number), listed: 8, complete: true } },
    });
    expect(doc.lastFailure).toBeUndefined();
  });

  it('says when the hire has signed in, and that the sweep leaves it alone for good', async () => {
    account();
    users.get('ada.lovelace')!.passwordLastUsed = minutesAgo(3);
    const { stdout } = await cli(['status', '--user', 'ada.lovelace']);
    expect(stdout.split('\n')[0]).toBe('ada.lovelace: onboarded; credentials sent; signed in');
    expect(stdout).toMatch(/\n {2}signed in {5}\d{4}-\d\d-\d\d \d\d:\d\d:\d\dZ\n/);
    expect(stdout).toContain('  next sweep    nothing, ever: the hire has signed in\n');
  });
});

describe('onboarding status for a hire being onboarded', () => {
  it('shows the running execution the user records, and that the sweep waits for it', async () => {
    const running = 'f00dfeed-0000-4000-8000-000000000001';
    serve(
      [
        {
          ...onboardedUser('ada.lovelace', { now, employeeId: ada.employeeId, tags: { 'onboarding:credentials-sent-at': undefined, 'onboarding:password-issued-at': undefined } }),
          loginProfile: undefined,
          tags: {
            'onboarding:managed-by': TEST_ENV.MANAGED_BY,
            'onboarding:employee-id': ada.employeeId,
            'onboarding:status': 'in-progress',
            'onboarding:updated-at': minutesAgo(1).toISOString(),
            'onboarding:created-by': arnOf(ONBOARDING, running),
          },
        },
      ],
      [{ machine: ONBOARDING, name: running, status: 'RUNNING', input: ada, startedMinutesAgo: 1 }],
    );

    const { stdout } = await cli(['status', '--user', 'ada.lovelace']);

    expect(stdout.split('\n')[0]).toBe('ada.lovelace: onboarding in progress; credentials not sent; not signed in yet');
    expect(stdout).toContain('  credentials   no console password\n');
    expect(stdout).toMatch(new RegExp(`\\n {2}${running} +onboarding +RUNNING +\\S+ \\S+ +created-by\\n`));
    expect(stdout).toContain('  next sweep    nothing yet: the onboarding was touched less than the grace period ago and may still be running\n');
    // The running execution explains the status: no input was searched.
    expect(stdout).not.toContain('inputs read');
  });
});

describe('onboarding status for a hire waiting for the start date, and for a leaver', () => {
  const OFFBOARDING = 'arn:aws:states:us-east-1:123456789012:stateMachine:iam-onboarding-test-offboarding';
  const statusOf = (argv: string[]) => runCli([...argv, '--managed-by', TEST_ENV.MANAGED_BY], { env: { ...ENV, OFFBOARDING_STATE_MACHINE_ARN: OFFBOARDING } });
  const bare = (tags: Record<string, string>) => ({
    ...onboardedUser('ada.lovelace', { now, employeeId: ada.employeeId }),
    loginProfile: undefined,
    tags: { 'onboarding:managed-by': TEST_ENV.MANAGED_BY, 'onboarding:employee-id': ada.employeeId, ...tags },
  });

  it('shows when a waiting hire gets its password, and that the sweep leaves it alone', async () => {
    const waiting = 'f00dfeed-0000-4000-8000-000000000002';
    const credentialsAt = new Date(now.getTime() + 14 * 86_400_000);
    serve(
      [bare({ 'onboarding:status': 'waiting', 'onboarding:updated-at': minutesAgo(60).toISOString(), 'onboarding:created-by': arnOf(ONBOARDING, waiting), 'onboarding:credentials-at': credentialsAt.toISOString(), 'onboarding:start-date': credentialsAt.toISOString().slice(0, 10) })],
      [{ machine: ONBOARDING, name: waiting, status: 'RUNNING', input: ada, startedMinutesAgo: 60 }],
    );

    const { stdout } = await statusOf(['status', '--user', 'ada.lovelace']);

    expect(stdout.split('\n')[0]).toBe('ada.lovelace: waiting for the start date; credentials not sent; not signed in yet');
    expect(stdout).toContain(`  start date    ${credentialsAt.toISOString().slice(0, 10)}: password and email at `);
    expect(stdout).toContain('  next sweep    nothing: the onboarding waits for the start date and sets the password then\n');
    expect(stdout).toMatch(new RegExp(`\\n {2}${waiting} +onboarding +RUNNING +\\S+ \\S+ +created-by\\n`));
  });

  it('shows a leaver as offboarded, with the offboarding execution its tag names, and when the sweep deletes it', async () => {
    const onboarded = 'f00dfeed-0000-4000-8000-000000000003';
    const offboarded = 'offboard-E-1815';
    serve(
      [bare({ 'onboarding:status': 'offboarded', 'onboarding:updated-at': minutesAgo(5).toISOString(), 'onboarding:created-by': arnOf(ONBOARDING, onboarded), 'onboarding:offboarded-by': arnOf(OFFBOARDING, offboarded), 'onboarding:offboarded-at': minutesAgo(5).toISOString() })],
      [
        { machine: ONBOARDING, name: onboarded, status: 'SUCCEEDED', input: ada, startedMinutesAgo: 600 },
        { machine: OFFBOARDING, name: offboarded, status: 'SUCCEEDED', input: { employeeId: ada.employeeId }, startedMinutesAgo: 6 },
      ],
    );

    const { stdout } = await statusOf(['status', '--employee-id', ada.employeeId]);

    expect(stdout.split('\n')[0]).toBe('ada.lovelace: offboarded (access removed, the user kept until the sweep deletes it)');
    expect(stdout).toMatch(new RegExp(`\\n {2}${offboarded} +offboarding +SUCCEEDED +\\S+ \\S+ +offboarded-by\\n`));
    expect(stdout).toContain('  next sweep    nothing until its retention period ends');
  });
});

describe('onboarding status for a hire that failed', () => {
  it('shows the failure, its cause, the execution that hit it, what to do, and the reset the sweep will start', async () => {
    account();

    const { code, stdout } = await cli(['status', '--email', 'grace.hopper@example.com']);

    expect(code).toBe(0);
    expect(stdout.split('\n')[0]).toBe('grace.hopper: onboarding failed (MessageRejected); credentials not sent; not signed in yet');
    expect(stdout).toContain('  credentials   not sent; password issued ');
    expect(stdout).toMatch(new RegExp(`\\n {2}last failure {2}MessageRejected, \\S+ \\S+, in ${HR_GRACE} \\(onboarding, FAILED\\)\\n`));
    expect(stdout).toContain('    cause       Email address is not verified. The following identities failed the check in region US-EAST-1: it-onboarding@example.com\n');
    const advice = adviceFor('MessageRejected');
    expect(stdout).toContain(`    means       ${advice.meaning}\n`);
    expect(stdout).toContain(`    what to do  ${advice.action}\n`);
    const reset = executionName('reset-password', 'grace.hopper', now);
    expect(stdout).toContain(`  next sweep    reset-password (credentials-not-sent): starts ${reset} on the reprovision state machine\n`);
  });

  it('says the sweep already acted today when today\'s reset exists', async () => {
    account();
    executions.push({
      machine: REPROVISION,
      name: executionName('reset-password', 'grace.hopper', now),
      status: 'SUCCEEDED',
      input: { action: 'RESET_PASSWORD', hire: { userName: 'grace.hopper', employeeId: grace.employeeId } },
      startedMinutesAgo: 1,
    });

    const { stdout } = await cli(['status', '--user', 'grace.hopper']);

    // Found by the name the sweep gives the user's resets, on the reprovision state machine.
    expect(stdout).toMatch(/\n {2}reset-grace_hopper-[0-9a-f]{8}-\d{4}-\d\d-\d\d +reprovision +SUCCEEDED +\S+ \S+ +name\n/);
    expect(stdout).toMatch(/\n {2}next sweep {4}reset-password \(credentials-not-sent\): reset-grace_hopper-\S+ already ran today\n/);
  });

  it('a user that is not the workflow\'s: says why, and finds the execution that ran into it by its input', async () => {
    account();
    users.set('bob', { userName: 'bob', path: '/', tags: {}, groups: [] });
    executions.push({
      machine: ONBOARDING,
      name: 'hr-bob',
      status: 'FAILED',
      input: { employeeId: 'E-7', firstName: 'Bob', lastName: 'B', email: 'bob@example.com' },
      startedMinutesAgo: 2,
      error: 'UserNameConflict',
      cause: JSON.stringify({ errorType: 'UserNameConflict', errorMessage: 'User "bob" already exists and is not managed by this workflow for this employee; it was left unchanged' }),
    });

    const { stdout } = await cli(['status', '--user', 'bob']);

    expect(stdout.split('\n')[0]).toBe("bob: exists, and is not the workflow's user (its path / is not under /onboarding/)");
    expect(stdout).toMatch(/\n {2}last failure {2}UserNameConflict, \S+ \S+, in hr-bob \(onboarding, FAILED\)\n/);
    expect(stdout).toContain(`    what to do  ${adviceFor('UserNameConflict').action}\n`);
    expect(stdout).toContain("  next sweep    nothing: not the workflow's user\n");
  });
});

describe('onboarding status for a hire that never reached IAM', () => {
  it('finds no user, searches recent executions\' inputs with progress on stderr, and shows the refusal with what to do', async () => {
    account();

    const { code, stdout, stderr } = await cli(['status', '--employee-id', 'E-1002']);

    expect(code).toBe(0);
    expect(stderr).toBe(
      [
        'Looking for employee E-1002 among 8 users under /onboarding/: reading their tags…',
        'Searching the inputs of the 7 most recent onboarding executions for E-1002…',
        '  7 read, 1 found',
        '',
      ].join('\n'),
    );
    expect(stdout.split('\n')[0]).toBe('employee E-1002: never reached IAM (no user); its last execution FAILED: GroupNotAllowed');
    expect(stdout).toContain('  user          none (8 of 8 users under /onboarding/ read, all of them)\n');
    expect(stdout).toMatch(new RegExp(`\\n {2}last failure {2}GroupNotAllowed, \\S+ \\S+, in ${HR_EVE} \\(onboarding, FAILED\\)\\n`));
    expect(stdout).toContain('    cause       groups: "Admins" may not be assigned by this workflow (allowed: developers, readers)\n');
    expect(stdout).toContain(`    what to do  ${adviceFor('GroupNotAllowed').action}\n`);
    expect(stdout).toContain('  next sweep    nothing: the sweep heals only users that exist; run the hire again once the cause is fixed (README Runbook)\n');
    expect(stdout).toMatch(new RegExp(`\\n {2}${HR_EVE} +onboarding +FAILED +\\S+ \\S+ +input\\n`));
    expect(stdout).toContain('Searched: the tags of 8 of the 8 users under /onboarding/; all 7 onboarding executions (7 inputs read); no reprovision executions\n');
  });

  it('by email: the user its address would get belongs to someone else, and says so', async () => {
    account();
    users.set('eve', { userName: 'eve', path: '/', tags: {}, groups: [] });
    const { stdout } = await cli(['status', '--email', 'eve@example.com']);
    expect(stdout).toContain("  in the way    user eve (the name this email gets) exists and is not the workflow's\n");
    expect(stdout).toContain(`in ${HR_EVE} (onboarding, FAILED)`);
  });

  it('nothing at all: says so, and what was searched', async () => {
    account();
    const { code, stdout } = await cli(['status', '--employee-id', 'E-404']);
    expect(code).toBe(0);
    expect(stdout.split('\n')[0]).toBe('employee E-404: nothing found (no IAM user, no execution among those searched)');
    expect(stdout).toContain('Executions: none found\n');
  });
});

describe('bounded searches', () => {
  it('reads at most --max-users users and --max-executions executions, and says the search was partial', async () => {
    account();

    const { stdout, stderr } = await cli(['status', '--employee-id', 'E-1002', '--max-users', '3', '--max-executions', '2']);

    expect(iam).toHaveReceivedCommandTimes(ListUserTagsCommand, 3);
    expect(stderr).toContain('Looking for employee E-1002 among 3 (the first 3) users under /onboarding/');
    expect(describedInputs()).toBeLessThanOrEqual(2);
    expect(stdout).toContain('  user          none (3 of 3 users under /onboarding/ read: raise --max-users to read more)\n');
    expect(stdout).toContain('Searched: the tags of 3 of the first 3 users under /onboarding/; the 2 most recent onboarding executions (2 inputs read)');
  });

  it('stops reading tags once it has found the workflow\'s user', async () => {
    account();
    await cli(['status', '--employee-id', 'E-1815', '--max-executions', '0']);
    // ada.lovelace sorts first: the others' tags are not read (5 workers may have started).
    expect(iam.commandCalls(ListUserTagsCommand).length).toBeLessThanOrEqual(5);
    expect(sfn).toHaveReceivedCommandTimes(ListExecutionsCommand, 0);
  });
});

describe('onboarding status: what it is asked', () => {
  it('takes one of an execution, --employee-id, --user or --email, checked before any AWS call', async () => {
    for (const argv of [
      ['status', 'onboard-E-1', '--user', 'ada'],
      ['status', '--user', 'ada', '--email', 'ada@example.com'],
      ['status', '--employee-id', 'E 1'],
      ['status', '--user', 'ada lovelace'],
      ['status', '--email', 'not-an-address'],
      ['status', '--user', 'ada', '--max-users', '0'],
      ['status', '--user', 'ada', '--managed-path', 'onboarding'],
    ]) {
      const result = await cli(argv);
      expect(result.code, argv.join(' ')).toBe(2);
      expect(result.stderr.split('\n'), argv.join(' ')).toHaveLength(2);
    }
    expect(iam.calls()).toHaveLength(0);
    expect(sfn.calls()).toHaveLength(0);
  });

  it('needs to know whose users are the workflow\'s: --stage, --local or --managed-by', async () => {
    const result = await runCli(['status', '--user', 'ada'], { env: ENV });
    expect(result.code).toBe(2);
    expect(result.stderr).toContain("which deployment's users?");
  });

  it('works without the reprovision state machine, leaving its executions out', async () => {
    account();
    const result = await runCli(['status', '--user', 'ada.lovelace', '--managed-by', TEST_ENV.MANAGED_BY], { env: { ONBOARDING_STATE_MACHINE_ARN: ONBOARDING } });
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('Searched: GetUser ada.lovelace; all 7 onboarding executions\n');
  });

  it('prints the runbook\'s advice with a failed execution\'s status', async () => {
    account();
    const { stdout } = await cli(['status', HR_GRACE]);
    expect(stdout).toContain(`Runbook (MessageRejected)\n  means       ${adviceFor('MessageRejected').meaning}\n  what to do  ${adviceFor('MessageRejected').action}\n`);
  });
});
