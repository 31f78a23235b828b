import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { CloudFormationClient, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import { GetUserCommand, ListUsersCommand, type IAMClient } from '@aws-sdk/client-iam';
import { StartExecutionCommand, type SFNClient } from '@aws-sdk/client-sfn';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { SweepReport } from '../../functions/lib/sweep.ts';
import { ONBOARDING, REPROVISION } from '../../cli/target.ts';
import { fakeAws, iamWrites, type FakeAws } from '../../testing/aws-fakes.ts';
import { TEST_ENV } from '../../testing/lambda-env.ts';
import { fakeDirectory, fakeStepFunctions, onboardedUser } from '../support/iam-directory.ts';
import { cli } from './support.ts';

const ONBOARDING_ARN = 'arn:aws:states:eu-west-1:123456789012:stateMachine:iam-onboarding-test-onboarding';
const REPROVISION_ARN = 'arn:aws:states:eu-west-1:123456789012:stateMachine:iam-onboarding-test-reprovision';
/** Both ARNs from the environment, and the test stage's managed-by tag (TEST_ENV's users carry it). */
const ENV = { [ONBOARDING.env]: ONBOARDING_ARN, [REPROVISION.env]: REPROVISION_ARN };
const OURS = ['--managed-by', TEST_ENV.MANAGED_BY];

let aws: FakeAws;
let steps: ReturnType<typeof fakeStepFunctions>;
const cfn = mockClient(CloudFormationClient);

beforeEach(() => {
  aws = fakeAws();
  steps = fakeStepFunctions();
  cfn.reset();
  const now = new Date();
  fakeDirectory(aws.iam, [
    // Issued a month ago and never used: reset and re-send.
    onboardedUser('ann', { now, issuedDaysAgo: 30 }),
    // The onboarding stopped before the login profile: onboard again.
    { ...onboardedUser('bea', { now, tags: { 'onboarding:status': 'failed', 'onboarding:updated-at': new Date(now.getTime() - 86_400_000).toISOString() } }), loginProfile: undefined },
    // Reset three times already: console access goes.
    onboardedUser('cid', { now, issuedDaysAgo: 30, tags: { 'onboarding:password-resets': '3' } }),
    onboardedUser('fine', { now }),
    // Not ours: another deployment's tag.
    onboardedUser('other', { now, issuedDaysAgo: 30, tags: { 'onboarding:managed-by': 'someone-else' } }),
  ]);
});
afterEach(() => {
  aws.reset();
  steps.reset();
});

const allCalls = () => aws.iam.calls().length + steps.sfn.calls().length + cfn.calls().length;
/** StartExecution calls, by execution name (users are handled concurrently). */
const starts = () =>
  steps.sfn
    .commandCalls(StartExecutionCommand)
    .map((c) => c.args[0].input)
    .sort((a, b) => (a.name ?? '').localeCompare(b.name ?? ''));
const today = () => new Date().toISOString().slice(0, 10);

describe('onboarding reprovision', () => {
  it('--dry-run reports what it would do and makes no write call: no IAM write, no StartExecution', async () => {
    const { code, stdout, stderr } = await cli(['reprovision', '--dry-run', ...OURS], { env: ENV });

    expect(stderr).toBe('');
    expect(code).toBe(0);
    expect(iamWrites(aws.iam)).toEqual([]);
    expect(steps.sfn.calls()).toHaveLength(0);
    expect(aws.iam).toHaveReceivedCommandWith(ListUsersCommand, { PathPrefix: '/onboarding/' });

    const lines = stdout.split('\n');
    expect(lines[0]).toBe(`Dry run: users under /onboarding/ tagged onboarding:managed-by=${TEST_ENV.MANAGED_BY} (nothing will be changed)`);
    expect(lines[1]).toMatch(/^USER +ACTION +REASON +OUTCOME +EXECUTION$/);
    const row = (user: string) => lines.find((l) => l.startsWith(`${user} `))?.split(/ +/);
    expect(row('ann')).toEqual(['ann', 'reset-password', 'password-unused', 'planned', `reset-ann-${today()}`]);
    expect(row('bea')).toEqual(['bea', 'restart-onboarding', 'no-login-profile', 'planned', `reonboard-bea-${today()}`]);
    expect(row('cid')).toEqual(['cid', 'remove-console-access', 'password-unused', 'planned', `remove-cid-${today()}`]);
    expect(row('fine')).toEqual(['fine', 'none', 'healthy', 'untouched', '-']);
    expect(row('other')).toEqual(['other', 'none', 'not-managed', 'untouched', '-']);
    expect(stdout).toContain('\nScanned 5 users; actions: 1 restart-onboarding, 1 reset-password, 1 remove-console-access; outcomes: 2 untouched, 3 planned\n');
    expect(stdout).toMatch(/\nDry run: nothing was changed \(no execution started, nothing written to IAM\)\. Run without --dry-run to start the planned executions\.\n$/);
  });

  it('a real run starts one execution per user to heal, on the right state machine, and changes nothing in IAM itself', async () => {
    const { code, stdout, stderr } = await cli(['reprovision', ...OURS], { env: ENV });

    expect(stderr).toBe('');
    expect(code).toBe(0);
    const day = today();
    expect(starts()).toEqual([
      expect.objectContaining({ stateMachineArn: REPROVISION_ARN, name: `remove-cid-${day}` }),
      expect.objectContaining({ stateMachineArn: ONBOARDING_ARN, name: `reonboard-bea-${day}` }),
      expect.objectContaining({ stateMachineArn: REPROVISION_ARN, name: `reset-ann-${day}` }),
    ]);
    const inputs = Object.fromEntries(steps.executions().map((e) => [e.name.split('-')[1], e.input]));
    expect(inputs.ann).toEqual({ action: 'RESET_PASSWORD', hire: { userName: 'ann', employeeId: 'E-ann' }, reason: 'password-unused' });
    expect(inputs.bea).toMatchObject({ employeeId: 'E-bea', email: 'bea@example.com', userName: 'bea', groups: ['developers'] });
    expect(inputs.cid).toMatchObject({ action: 'REMOVE_CONSOLE_ACCESS', hire: { userName: 'cid' } });
    // The sweep only reads IAM: the executions do the writing.
    expect(iamWrites(aws.iam)).toEqual([]);

    expect(stdout).toMatch(/^Sweeping users under \/onboarding\/ tagged /);
    expect(stdout).toMatch(new RegExp(`\\nann +reset-password +password-unused +started +reset-ann-${day}\\n`));
    expect(stdout).toContain('outcomes: 2 untouched, 3 started\n');
    expect(stdout).not.toContain('Dry run');
  });

  it('a second run the same day starts nothing again', async () => {
    await cli(['reprovision', ...OURS], { env: ENV });
    const again = await cli(['reprovision', ...OURS, '--json'], { env: ENV });

    expect(again.code).toBe(0);
    expect(steps.executions()).toHaveLength(3);
    expect((JSON.parse(again.stdout) as SweepReport).outcomes).toMatchObject({ 'already-done-today': 3, started: 0 });
  });

  it('--json prints the sweep report and nothing else', async () => {
    const { code, stdout } = await cli(['reprovision', '--dry-run', '--json', ...OURS], { env: ENV });

    expect(code).toBe(0);
    const report = JSON.parse(stdout) as SweepReport;
    expect(report).toMatchObject({ dryRun: true, scanned: 5, outcomes: { planned: 3, untouched: 2 } });
    expect(report.users.find((u) => u.userName === 'ann')).toEqual({
      userName: 'ann',
      action: 'reset-password',
      reason: 'password-unused',
      outcome: 'planned',
      executionName: `reset-ann-${today()}`,
    });
    expect(Object.keys(report).sort()).toEqual(['actions', 'dryRun', 'finishedAt', 'guard', 'outcomes', 'scanned', 'startedAt', 'users']);
  });

  it('passes the thresholds on: --unused-password-days 60 leaves a month-old password, --max-password-resets 5 resets cid', async () => {
    const { code } = await cli(['reprovision', ...OURS, '--unused-password-days', '60', '--max-password-resets', '5', '--concurrency', '1'], { env: ENV });

    expect(code).toBe(0);
    expect(starts().map((s) => s.name?.replace(/-\d{4}-\d\d-\d\d$/, ''))).toEqual(['reonboard-bea']);
    const { stdout } = await cli(['reprovision', ...OURS, '--max-password-resets', '5', '--dry-run'], { env: ENV });
    expect(stdout).toMatch(/\ncid +reset-password +password-unused +planned /);
  });

  it('exits 1 when a user could not be handled, after handling the others, and says so', async () => {
    aws.iam.on(GetUserCommand, { UserName: 'ann' }).rejects(Object.assign(new Error('Rate exceeded'), { name: 'Throttling', $metadata: {} }));

    const { code, stdout } = await cli(['reprovision', ...OURS], { env: ENV });

    expect(code).toBe(1);
    expect(starts()).toHaveLength(2);
    expect(stdout).toMatch(/\nann +none +not-inspected +error +-\n/);
    expect(stdout).toContain('\n  ann: error: Throttling: Rate exceeded\n');
    expect(stdout).toContain('\n1 users could not be handled (see above); the next sweep tries them again.\n');
  });

  it('prints an error detail on one line, whatever the message holds', async () => {
    aws.iam.on(GetUserCommand, { UserName: 'ann' }).rejects(Object.assign(new Error('Rate\nexceeded\u001b[2J'), { name: 'Throttling', $metadata: {} }));

    const { code, stdout } = await cli(['reprovision', ...OURS, '--dry-run'], { env: ENV });

    expect(code).toBe(1);
    expect(stdout).toContain('\n  ann: error: Throttling: Rate\\nexceeded\\u001b[2J\n');
  });

  it.each([
    [['--unused-password-days', 'seven'], /^onboarding: option '--unused-password-days <n>' argument 'seven' is invalid\. must be a whole number from 1 to 365/],
    [['--unused-password-days', '-3'], /--unused-password-days <n>' argument '-3' is invalid/],
    [['--unused-password-days', '0'], /--unused-password-days <n>' argument '0' is invalid/],
    [['--unused-password-days', '1.5'], /--unused-password-days <n>' argument '1\.5' is invalid/],
    [['--max-password-resets', '-1'], /--max-password-resets <k>' argument '-1' is invalid/],
    [['--max-password-resets', '1e3'], /--max-password-resets <k>' argument '1e3' is invalid/],
    [['--concurrency', '0'], /--concurrency <c>' argument '0' is invalid/],
    [['--concurrency', ''], /--concurrency <c>' argument '' is invalid/],
    [['--concurrency'], /option '--concurrency <c>' argument missing/],
    [['--managed-path', 'onboarding'], /^onboarding: --managed-path: "onboarding" is not an IAM path/],
    [['--managed-path', '/on boarding/'], /^onboarding: --managed-path: "\/on boarding\/" is not an IAM path/],
    [['--managed-by', 'a\nb'], /^onboarding: --managed-by: "a\\nb" is not an IAM tag value/],
    [['--managed-by', ''], /^onboarding: --managed-by: "" is not an IAM tag value/],
    // IAM would take a line separator in a tag value; the command would print it as a line break.
    [['--managed-by', 'iam-onboarding\u2028dev'], /^onboarding: --managed-by: "iam-onboarding\\u2028dev" is not an IAM tag value/],
    [['--managed-path', '//'], /^onboarding: --managed-path: "\/\/" is not an IAM path/],
    [['--state-machine-arn', 'reprovision'], /^onboarding: --state-machine-arn: "reprovision" is not a state machine ARN/],
    [['--onboarding-state-machine-arn', 'arn:aws:states:eu-west-1:1:x'], /^onboarding: --onboarding-state-machine-arn: ".*" is not a state machine ARN/],
    [['--region', 'Europe'], /^onboarding: --region: "Europe" is not an AWS region/],
    [['--stage', 'dev', '--local'], /cannot be used with option/],
  ])('bad flags %j: exit 2, one line, no AWS call', async (flags, message) => {
    const { code, stdout, stderr } = await cli(['reprovision', ...OURS, ...flags], { env: ENV });

    expect(code).toBe(2);
    expect(stdout).toBe('');
    expect(stderr).toMatch(message);
    expect(stderr.split('\n')).toHaveLength(2);
    expect(allCalls()).toBe(0);
  });

  it('with neither --stage, --local nor --managed-by, asks which deployment, before any AWS call', async () => {
    const { code, stderr } = await cli(['reprovision'], { env: ENV });

    expect(code).toBe(2);
    expect(stderr).toBe(
      "onboarding: which deployment's users? Pass --stage <stage> or --local, or --managed-by <value> (the stage's managedBy, iam-onboarding-<stage>)\n",
    );
    expect(allCalls()).toBe(0);
  });

  it('needs both state machines: says which one is missing and where to give it', async () => {
    const noOnboarding = await cli(['reprovision', ...OURS], { env: { [REPROVISION.env]: REPROVISION_ARN } });
    expect(noOnboarding.code).toBe(2);
    expect(noOnboarding.stderr).toBe(
      'onboarding: which onboarding state machine? Pass --stage <stage> or --local, or set ONBOARDING_STATE_MACHINE_ARN\n',
    );

    const noReprovision = await cli(['reprovision', ...OURS], { env: { [ONBOARDING.env]: ONBOARDING_ARN } });
    expect(noReprovision.code).toBe(2);
    expect(noReprovision.stderr).toBe(
      'onboarding: which state machine? Pass --state-machine-arn <arn>, --stage <stage> or --local, or set REPROVISION_STATE_MACHINE_ARN\n',
    );
    expect(allCalls()).toBe(0);

    // Both named by flags: --state-machine-arn is the reprovision one.
    const flags = await cli(
      ['reprovision', ...OURS, '--state-machine-arn', REPROVISION_ARN, '--onboarding-state-machine-arn', ONBOARDING_ARN],
      { env: {} },
    );
    expect(flags.code).toBe(0);
    expect(starts().map((s) => s.stateMachineArn)).toEqual([REPROVISION_ARN, ONBOARDING_ARN, REPROVISION_ARN]);
  });

  it('--stage reads both ARNs from one DescribeStacks and uses the stage\'s managed-by tag', async () => {
    cfn.on(DescribeStacksCommand).resolves({
      Stacks: [
        {
          StackName: 'iam-onboarding-test',
          CreationTime: new Date(),
          StackStatus: 'UPDATE_COMPLETE',
          Outputs: [
            { OutputKey: ONBOARDING.stackOutput, OutputValue: ONBOARDING_ARN },
            { OutputKey: REPROVISION.stackOutput, OutputValue: REPROVISION_ARN },
          ],
        },
      ],
    });

    const { code, stdout } = await cli(['reprovision', '--stage', 'test', '--dry-run'], { env: {} });

    expect(code).toBe(0);
    expect(cfn).toHaveReceivedCommandTimes(DescribeStacksCommand, 1);
    expect(cfn).toHaveReceivedCommandWith(DescribeStacksCommand, { StackName: 'iam-onboarding-test' });
    // iam-onboarding-test is the tag TEST_ENV's users carry: ann is ours.
    expect(stdout).toMatch(/\nann +reset-password +password-unused +planned /);
    // IAM is global; its client still follows the ARN's partition and region.
    expect(await (aws.iam.call(0).thisValue as IAMClient).config.region()).toBe('eu-west-1');
  });

  it('a stack without the reprovision output: exit 1, naming the output', async () => {
    cfn.on(DescribeStacksCommand).resolves({
      Stacks: [{ StackName: 'x', CreationTime: new Date(), StackStatus: 'CREATE_COMPLETE', Outputs: [{ OutputKey: ONBOARDING.stackOutput, OutputValue: ONBOARDING_ARN }] }],
    });

    const { code, stderr } = await cli(['reprovision', '--stage', 'old'], { env: {} });

    expect(code).toBe(1);
    expect(stderr).toBe('onboarding: stack iam-onboarding-old has no output ReprovisionStateMachineArn: is it this project\'s stack, fully deployed?\n');
    expect(aws.iam.calls()).toHaveLength(0);
  });

  describe('--local', () => {
    let root: string;
    const localArn = (key: string) => `arn:aws:states:us-east-1:123456789012:stateMachine:iam-onboarding-local-${key}`;
    beforeAll(async () => {
      root = await mkdtemp(path.join(os.tmpdir(), 'onboarding-reprovision-local-'));
      await writeFile(
        path.join(root, '.local-stack.json'),
        JSON.stringify({ endpoint: 'http://127.0.0.1:45678', stateMachines: { onboarding: localArn('onboarding'), reprovision: localArn('reprovision') } }),
      );
    });
    afterAll(() => rm(root, { recursive: true, force: true }));

    it('takes both state machines and the endpoint from .local-stack.json, and the local stage\'s tag', async () => {
      const { code, stdout } = await cli(['reprovision', '--local'], { env: {}, projectRoot: root });

      expect(code).toBe(0);
      expect(stdout).toMatch(/^Sweeping users under \/onboarding\/ tagged onboarding:managed-by=iam-onboarding-local\n/);
      // TEST_ENV's users carry another stage's tag: none of them is touched.
      expect(starts()).toEqual([]);
      for (const client of [aws.iam.call(0).thisValue as IAMClient]) {
        const endpoint = await client.config.endpoint!();
        expect(`${endpoint.protocol}//${endpoint.hostname}:${endpoint.port}`).toBe('http://127.0.0.1:45678');
        expect(await client.config.credentials()).toMatchObject({ accessKeyId: 'local' });
      }

      await cli(['reprovision', '--local', '--managed-by', TEST_ENV.MANAGED_BY], { env: {}, projectRoot: root });
      expect(starts().map((s) => s.stateMachineArn)).toEqual([localArn('reprovision'), localArn('onboarding'), localArn('reprovision')]);
      const sfnClient = steps.sfn.call(0).thisValue as SFNClient;
      expect((await sfnClient.config.endpoint!()).port).toBe(45678);
    });
  });
});
