import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { CloudFormationClient, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import {
  DescribeExecutionCommand,
  ExecutionDoesNotExist,
  GetExecutionHistoryCommand,
  ListExecutionsCommand,
  SFNClient,
  type ExecutionListItem,
} from '@aws-sdk/client-sfn';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { ONBOARDING } from '../../cli/target.ts';
import { readServerlessYaml, SERVICE } from '../../local/serverless-yaml.ts';
import { cli, description, executionArn, FAILURE, HIRE, SEALED, START, STATE_MACHINE_ARN, SUCCESS_WITH_RETRIES, SUMMARY } from './support.ts';

const STACK_OUTPUT = ONBOARDING.stackOutput;

const sfn = mockClient(SFNClient);
const cfn = mockClient(CloudFormationClient);
const NAME = 'onboard-E-1001';

beforeEach(() => {
  sfn.reset();
  cfn.reset();
});

/** The client a recorded call went through (aws-sdk-client-mock stubs the prototype's send). */
const clientOf = (index: number) => sfn.call(index).thisValue as SFNClient;

describe('onboarding status', () => {
  it('shows a succeeded execution, aligned, with its summary', async () => {
    sfn.on(DescribeExecutionCommand).resolves(description(NAME, 'SUCCEEDED'));

    const { code, stdout } = await cli(['status', NAME]);

    expect(code).toBe(0);
    expect(sfn).toHaveReceivedCommandWith(DescribeExecutionCommand, { executionArn: executionArn(NAME) });
    expect(stdout).toBe(
      [
        `Execution  ${NAME}`,
        `ARN        ${executionArn(NAME)}`,
        'Status     SUCCEEDED',
        'Started    2025-03-03 09:00:00Z',
        'Stopped    2025-03-03 09:00:09Z (9.5s)',
        `Input      ${JSON.stringify(HIRE)}`,
        'Output',
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

  it('shows a failed execution\'s error and the cause\'s message', async () => {
    sfn.on(DescribeExecutionCommand).resolves(description(NAME, 'FAILED'));

    const { code, stdout } = await cli(['status', executionArn(NAME)]);

    expect(code).toBe(0);
    expect(stdout).toContain('Status     FAILED\n');
    expect(stdout).toContain('Error      EntityTemporarilyUnmodifiableException\n');
    expect(stdout).toContain('Cause      Login Profile for User bob.builder cannot be modified while login profile is being created.\n');
  });

  it('--json: the execution with input and output parsed', async () => {
    sfn.on(DescribeExecutionCommand).resolves(description(NAME, 'SUCCEEDED'));

    const { stdout } = await cli(['status', NAME, '--json']);

    expect(JSON.parse(stdout)).toEqual({
      name: NAME,
      executionArn: executionArn(NAME),
      stateMachineArn: STATE_MACHINE_ARN,
      status: 'SUCCEEDED',
      startDate: START.toISOString(),
      stopDate: '2025-03-03T09:00:09.500Z',
      input: HIRE,
      output: SUMMARY,
    });
  });

  it('an ARN needs no state machine and sets the region; a name resolves against the state machine', async () => {
    sfn.on(DescribeExecutionCommand).resolves(description(NAME, 'RUNNING'));
    const arn = 'arn:aws:states:eu-west-1:123456789012:execution:other-machine:run-7';

    const byArn = await cli(['status', arn], { env: {} });

    expect(byArn.code).toBe(0);
    expect(sfn).toHaveReceivedCommandWith(DescribeExecutionCommand, { executionArn: arn });
    expect(await clientOf(0).config.region()).toBe('eu-west-1');
  });

  it('masks a sealed password if an execution ever carried one', async () => {
    sfn.on(DescribeExecutionCommand).resolves(
      description(NAME, 'SUCCEEDED', { output: JSON.stringify({ loginProfile: { status: 'CREATED', sealedPassword: SEALED } }) }),
    );

    for (const argv of [['status', NAME], ['status', NAME, '--json']]) {
      const { stdout } = await cli(argv);
      expect(stdout).not.toContain(SEALED);
      expect(stdout).toContain('********');
    }
  });

  it('an execution that does not exist: one line, exit 1, no stack trace', async () => {
    sfn.on(DescribeExecutionCommand).rejects(
      new ExecutionDoesNotExist({ message: `Execution Does Not Exist: '${executionArn('nobody')}'`, $metadata: { httpStatusCode: 400 } }),
    );

    const { code, stdout, stderr } = await cli(['status', 'nobody']);

    expect(code).toBe(1);
    expect(stdout).toBe('');
    expect(stderr).toBe(
      `onboarding: no such execution: Execution Does Not Exist: '${executionArn('nobody')}'. \`onboarding list\` shows the executions there are.\n`,
    );
  });

  it('bad references are exit 2 with no AWS call', async () => {
    for (const ref of ['has space', 'arn:aws:states:us-east-1:123456789012:stateMachine:x', 'a'.repeat(81)]) {
      const { code, stderr } = await cli(['status', ref]);
      expect(code).toBe(2);
      expect(stderr).toMatch(/is not an execution (name or )?ARN/);
    }
    const missing = await cli(['status']);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toBe('onboarding: whose status? Give an execution (name or ARN), or one of --employee-id, --user, --email\n');
    expect(sfn.calls()).toHaveLength(0);
  });
});

describe('onboarding list', () => {
  const item = (name: string, status: ExecutionListItem['status'], minutes: number): ExecutionListItem => ({
    name,
    status,
    executionArn: executionArn(name),
    stateMachineArn: STATE_MACHINE_ARN,
    startDate: new Date(START.getTime() + minutes * 60_000),
    ...(status !== 'RUNNING' && { stopDate: new Date(START.getTime() + minutes * 60_000 + 9_000) }),
  });
  const executions = [item('onboard-E-1003', 'RUNNING', 20), item('onboard-E-1002', 'FAILED', 10), item(NAME, 'SUCCEEDED', 0)];

  it('shows a table, newest first', async () => {
    sfn.on(ListExecutionsCommand).resolves({ executions });

    const { code, stdout } = await cli(['list']);

    expect(code).toBe(0);
    expect(stdout).toBe(
      [
        'NAME            STATUS     STARTED               STOPPED',
        'onboard-E-1003  RUNNING    2025-03-03 09:20:00Z  -',
        'onboard-E-1002  FAILED     2025-03-03 09:10:00Z  2025-03-03 09:10:09Z',
        'onboard-E-1001  SUCCEEDED  2025-03-03 09:00:00Z  2025-03-03 09:00:09Z',
        '',
      ].join('\n'),
    );
  });

  it('--status filters (any case), --json prints the list, pages are followed up to --limit', async () => {
    sfn
      .on(ListExecutionsCommand)
      .resolvesOnce({ executions: executions.slice(0, 2), nextToken: 'page-2' })
      .resolves({ executions: executions.slice(2) });

    const { code, stdout } = await cli(['list', '--status', 'failed', '--json', '--limit', '3']);

    expect(code).toBe(0);
    expect(sfn).toHaveReceivedCommandWith(ListExecutionsCommand, { stateMachineArn: STATE_MACHINE_ARN, statusFilter: 'FAILED' });
    expect(sfn).toHaveReceivedCommandWith(ListExecutionsCommand, { nextToken: 'page-2' });
    const doc = JSON.parse(stdout);
    expect(doc.stateMachineArn).toBe(STATE_MACHINE_ARN);
    expect(doc.executions.map((e: { name: string }) => e.name)).toEqual(['onboard-E-1003', 'onboard-E-1002', NAME]);
    expect(doc.executions[1]).toEqual({
      name: 'onboard-E-1002',
      executionArn: executionArn('onboard-E-1002'),
      status: 'FAILED',
      startDate: '2025-03-03T09:10:00.000Z',
      stopDate: '2025-03-03T09:10:09.000Z',
    });
  });

  it('stops at --limit without reading further pages', async () => {
    sfn.on(ListExecutionsCommand).resolves({ executions: executions.slice(0, 2), nextToken: 'more' });

    const { stdout } = await cli(['list', '--limit', '1']);

    expect(sfn).toHaveReceivedCommandTimes(ListExecutionsCommand, 1);
    expect(stdout.trimEnd().split('\n')).toHaveLength(2);
  });

  it('says so when there are none', async () => {
    sfn.on(ListExecutionsCommand).resolves({ executions: [] });
    const { stdout } = await cli(['list', '--status', 'RUNNING']);
    expect(stdout).toBe(`No RUNNING executions of ${STATE_MACHINE_ARN}\n`);
  });

  it('rejects an unknown status or limit with exit 2', async () => {
    for (const argv of [['list', '--status', 'DONE'], ['list', '--limit', '0']]) {
      const { code, stderr } = await cli(argv);
      expect(code).toBe(2);
      expect(stderr).toMatch(/must be (one of RUNNING|a whole number)/);
    }
    expect(sfn.calls()).toHaveLength(0);
  });

  it('access denied: one line that says what to do', async () => {
    sfn.on(ListExecutionsCommand).rejects(
      Object.assign(new Error('User: arn:aws:iam::123456789012:user/alice is not authorized to perform: states:ListExecutions'), {
        name: 'AccessDeniedException',
      }),
    );

    const { code, stderr } = await cli(['list']);

    expect(code).toBe(1);
    expect(stderr).toBe(
      'onboarding: access denied: User: arn:aws:iam::123456789012:user/alice is not authorized to perform: states:ListExecutions Ask for the missing permission, or use a role that has it.\n',
    );
  });

  it('no credentials: one line; --debug adds the stack', async () => {
    const noCredentials = () =>
      Object.assign(new Error('Could not load credentials from any providers'), { name: 'CredentialsProviderError' });
    sfn.on(ListExecutionsCommand).callsFake(async () => {
      throw noCredentials();
    });

    const plain = await cli(['list']);
    expect(plain.code).toBe(1);
    expect(plain.stderr).toMatch(/^onboarding: no AWS credentials found: set AWS_PROFILE .*\n$/);
    expect(plain.stderr).not.toMatch(/\bat /);

    const debug = await cli(['list', '--debug']);
    expect(debug.code).toBe(1);
    expect(debug.stderr.split('\n')[0]).toBe(plain.stderr.trimEnd());
    expect(debug.stderr).toContain('CredentialsProviderError: Could not load credentials from any providers\n    at ');
  });
});

describe('onboarding history', () => {
  it('shows the steps, with retries, and the outcome', async () => {
    sfn.on(GetExecutionHistoryCommand).resolves({ events: SUCCESS_WITH_RETRIES });
    sfn.on(DescribeExecutionCommand).resolves(description(NAME, 'SUCCEEDED'));

    const { code, stdout } = await cli(['history', NAME]);

    expect(code).toBe(0);
    expect(sfn).toHaveReceivedCommandWith(GetExecutionHistoryCommand, { executionArn: executionArn(NAME), includeExecutionData: false });
    const lines = stdout.split('\n');
    expect(lines.slice(0, 9)).toEqual([
      executionArn(NAME),
      '  ValidateInput        done    1.0s',
      '  CreateUser           done    1.0s',
      '  CreateLoginProfile   retry   EntityTemporarilyUnmodifiableException (attempt 2)',
      '  CreateLoginProfile   retry   EntityTemporarilyUnmodifiableException (attempt 3)',
      '  CreateLoginProfile   done    2.5s',
      '  IsNewLoginProfile    done    250ms',
      '  SendCredentials      done    1.0s',
      '  MarkComplete         done    1.0s',
    ]);
    expect(lines[9]).toBe('Succeeded in 9.5s');
  });

  it('--events: every event in a table, with its state and error', async () => {
    sfn.on(GetExecutionHistoryCommand).resolves({ events: FAILURE });

    const { code, stdout } = await cli(['history', NAME, '--events']);

    expect(code).toBe(0);
    const lines = stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^ID\s+TIME\s+TYPE\s+STATE\s+ERROR$/);
    expect(lines).toHaveLength(FAILURE.length + 1);
    expect(lines).toContainEqual(expect.stringMatching(/^15\s+\+3\.5s\s+LambdaFunctionFailed\s+CreateLoginProfile\s+EntityTemporarilyUnmodifiableException$/));
    expect(lines.at(-1)).toMatch(/ExecutionFailed\s+-\s+EntityTemporarilyUnmodifiableException$/);
  });

  it('--json: every event with state data, the sealed password masked', async () => {
    sfn.on(GetExecutionHistoryCommand).resolves({ events: SUCCESS_WITH_RETRIES });

    const { code, stdout } = await cli(['history', NAME, '--json']);

    expect(code).toBe(0);
    expect(sfn).toHaveReceivedCommandWith(GetExecutionHistoryCommand, { includeExecutionData: true });
    expect(stdout).not.toContain(SEALED);
    const doc = JSON.parse(stdout);
    expect(doc.events).toHaveLength(SUCCESS_WITH_RETRIES.length);
    const entered = doc.events.find(
      (e: { type: string; stateEnteredEventDetails?: { name: string } }) =>
        e.type === 'TaskStateEntered' && e.stateEnteredEventDetails?.name === 'SendCredentials',
    );
    expect(JSON.parse(entered.stateEnteredEventDetails.input).loginProfile).toEqual({
      status: 'CREATED',
      sealedPassword: '********',
      passwordIssuedAt: '2025-03-03T09:00:04.000Z',
    });
    expect(doc.steps).toHaveLength(8);
  });

  it('--json masks a sealed password wherever state data carries it (a lambda:invoke task\'s parameters too)', async () => {
    const scheduled = {
      id: SUCCESS_WITH_RETRIES.length + 1,
      previousEventId: SUCCESS_WITH_RETRIES.length,
      timestamp: START,
      type: 'TaskScheduled' as const,
      taskScheduledEventDetails: {
        resourceType: 'lambda',
        resource: 'invoke',
        region: 'us-east-1',
        parameters: JSON.stringify({ FunctionName: 'send-credentials', Payload: { sealedPassword: SEALED } }),
      },
    };
    sfn.on(GetExecutionHistoryCommand).resolves({ events: [...SUCCESS_WITH_RETRIES, scheduled] });

    const { stdout } = await cli(['history', NAME, '--json']);

    expect(stdout).not.toContain(SEALED);
    const parameters = JSON.parse(JSON.parse(stdout).events.at(-1).taskScheduledEventDetails.parameters);
    expect(parameters).toEqual({ FunctionName: 'send-credentials', Payload: { sealedPassword: '********' } });
  });

  it('reads every page of a long history', async () => {
    sfn
      .on(GetExecutionHistoryCommand)
      .resolvesOnce({ events: SUCCESS_WITH_RETRIES.slice(0, 10), nextToken: 'next' })
      .resolves({ events: SUCCESS_WITH_RETRIES.slice(10) });
    sfn.on(DescribeExecutionCommand).resolves(description(NAME, 'SUCCEEDED'));

    const { stdout } = await cli(['history', NAME]);

    expect(sfn).toHaveReceivedCommandWith(GetExecutionHistoryCommand, { nextToken: 'next' });
    expect(stdout).toContain('  MarkComplete         done    1.0s\n');
  });
});

describe('finding the state machine', () => {
  const stackArn = 'arn:aws:states:eu-central-1:123456789012:stateMachine:iam-onboarding-dev-onboarding';

  it('--stage reads the stack output and talks to the region of the ARN it names', async () => {
    cfn.on(DescribeStacksCommand, { StackName: 'iam-onboarding-dev' }).resolves({
      Stacks: [
        {
          StackName: 'iam-onboarding-dev',
          CreationTime: START,
          StackStatus: 'UPDATE_COMPLETE',
          Outputs: [{ OutputKey: STACK_OUTPUT, OutputValue: stackArn }],
        },
      ],
    });
    sfn.on(ListExecutionsCommand).resolves({ executions: [] });

    const { code } = await cli(['list', '--stage', 'dev'], { env: {} });

    expect(code).toBe(0);
    expect(sfn).toHaveReceivedCommandWith(ListExecutionsCommand, { stateMachineArn: stackArn });
    expect(await clientOf(0).config.region()).toBe('eu-central-1');
  });

  it('--stage with --region looks the stack up in that region', async () => {
    cfn.on(DescribeStacksCommand).resolves({
      Stacks: [{ StackName: 's', CreationTime: START, StackStatus: 'CREATE_COMPLETE', Outputs: [{ OutputKey: STACK_OUTPUT, OutputValue: stackArn }] }],
    });
    sfn.on(ListExecutionsCommand).resolves({ executions: [] });

    await cli(['list', '--stage', 'prod', '--region', 'ap-southeast-2'], { env: {} });

    expect(cfn).toHaveReceivedCommandWith(DescribeStacksCommand, { StackName: 'iam-onboarding-prod' });
    expect(await (cfn.call(0).thisValue as CloudFormationClient).config.region()).toBe('ap-southeast-2');
    expect(await clientOf(0).config.region()).toBe('ap-southeast-2');
  });

  it('a stage that is not deployed: one line naming the stack and what to do', async () => {
    cfn.on(DescribeStacksCommand).rejects(
      Object.assign(new Error('Stack with id iam-onboarding-qa does not exist'), { name: 'ValidationError' }),
    );

    const { code, stderr } = await cli(['list', '--stage', 'qa'], { env: {} });

    expect(code).toBe(1);
    expect(stderr).toBe(
      'onboarding: Stack with id iam-onboarding-qa does not exist. Deploy the stage (serverless deploy --stage <stage>) or check --stage and --region.\n',
    );
    expect(sfn.calls()).toHaveLength(0);
  });

  it('a stack without the output is reported, exit 1', async () => {
    cfn.on(DescribeStacksCommand).resolves({ Stacks: [{ StackName: 's', CreationTime: START, StackStatus: 'CREATE_COMPLETE', Outputs: [] }] });

    const { code, stderr } = await cli(['list', '--stage', 'dev'], { env: {} });

    expect(code).toBe(1);
    expect(stderr).toContain(`stack iam-onboarding-dev has no output ${STACK_OUTPUT}`);
  });

  it('--state-machine-arn wins over the environment', async () => {
    sfn.on(ListExecutionsCommand).resolves({ executions: [] });
    const other = 'arn:aws:states:us-west-2:123456789012:stateMachine:other';

    await cli(['list', '--state-machine-arn', other]);

    expect(sfn).toHaveReceivedCommandWith(ListExecutionsCommand, { stateMachineArn: other });
  });

  it('the stack name and output are the ones serverless.yml deploys', () => {
    const yml = readServerlessYaml() as unknown as { service: string; resources: { Outputs: Record<string, unknown> } };
    expect(yml.service).toBe(SERVICE);
    expect(Object.keys(yml.resources.Outputs)).toContain(STACK_OUTPUT);
  });

  describe('--local', () => {
    let root: string;
    const localArn = 'arn:aws:states:us-east-1:123456789012:stateMachine:iam-onboarding-local-onboarding';

    beforeAll(async () => {
      root = await mkdtemp(path.join(os.tmpdir(), 'onboarding-local-'));
    });
    afterAll(() => rm(root, { recursive: true, force: true }));

    it('reads the endpoint and state machine from .local-stack.json, with stand-in credentials', async () => {
      await writeFile(
        path.join(root, '.local-stack.json'),
        JSON.stringify({ endpoint: 'http://127.0.0.1:45678', stateMachines: { onboarding: localArn } }),
      );
      sfn.on(ListExecutionsCommand).resolves({ executions: [] });

      const { code } = await cli(['list', '--local'], { env: {}, projectRoot: root });

      expect(code).toBe(0);
      expect(sfn).toHaveReceivedCommandWith(ListExecutionsCommand, { stateMachineArn: localArn });
      const client = clientOf(0);
      const endpoint = await client.config.endpoint!();
      expect(`${endpoint.protocol}//${endpoint.hostname}:${endpoint.port}`).toBe('http://127.0.0.1:45678');
      expect(await client.config.credentials()).toMatchObject({ accessKeyId: 'local' });
    });

    it('--endpoint-url overrides the endpoint', async () => {
      sfn.on(DescribeExecutionCommand).resolves(description(NAME, 'RUNNING'));

      await cli(['status', NAME, '--endpoint-url', 'http://127.0.0.1:9999']);

      const endpoint = await clientOf(0).config.endpoint!();
      expect(endpoint.port).toBe(9999);
    });

    it('no local stack running: one line saying how to start it, exit 1', async () => {
      const empty = await mkdtemp(path.join(os.tmpdir(), 'onboarding-nolocal-'));
      try {
        const { code, stderr } = await cli(['list', '--local'], { env: {}, projectRoot: empty });
        expect(code).toBe(1);
        expect(stderr).toMatch(/^onboarding: no local stack is running \(.*\.local-stack\.json not found\): start one with `npm run local`\n$/);
        expect(sfn.calls()).toHaveLength(0);
      } finally {
        await rm(empty, { recursive: true, force: true });
      }
    });
  });
});
