/**
 * The reprovisioning sweep against the local stack: IAM, KMS and SES from moto, the real
 * onboarding and reprovision definitions with the real handlers behind a real Step Functions
 * API, and the sweep calling it all over loopback as it would call AWS.
 */
import { GetUserCommand, IAMClient } from '@aws-sdk/client-iam';
import { SFNClient, StartExecutionCommand } from '@aws-sdk/client-sfn';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { tagValue } from '../../functions/lib/managed-user.ts';
import { sweep } from '../../functions/lib/sweep.ts';
import { sweepSettingsFromEnv, type SweepSettings } from '../../functions/lib/sweep-settings.ts';
import { startLocalStack, type LocalStack } from '../../local/stack.ts';
import { captureOutput } from '../support/capture.ts';
import { expectNoSecrets } from '../support/secrets.ts';

const HIRE = {
  employeeId: 'E-2001',
  firstName: 'Ada',
  lastName: 'Lovelace',
  email: 'ada.lovelace@example.com',
  department: 'engineering',
};

let stack: LocalStack;
let settings: SweepSettings;
let clients: { iam: IAMClient; sfn: SFNClient };
let output: ReturnType<typeof captureOutput>;

beforeAll(async () => {
  stack = await startLocalStack({ quiet: true, retryIntervalMs: 10 });
  const client = { endpoint: stack.endpoint, region: stack.region, credentials: { accessKeyId: 'test', secretAccessKey: 'test' } };
  clients = { iam: new IAMClient(client), sfn: new SFNClient(client) };
  // The settings the deployed sweep gets for the stage, state machine ARNs included.
  settings = sweepSettingsFromEnv(stack.functionEnv, {
    managedPath: stack.functionEnv.MANAGED_PATH ?? '',
    managedBy: stack.functionEnv.MANAGED_BY ?? '',
  });
});

afterAll(async () => {
  await stack?.stop();
});

beforeEach(async () => {
  await stack.reset();
  // The functions' log lines, checked for passwords below.
  output = captureOutput();
});

afterEach(() => {
  output.restore();
});

const arnOf = (key: string) => stack.stateMachines.find((m) => m.key === key)?.arn ?? '';
const mailTo = async (to: string) => (await stack.mail()).filter((m) => m.to.includes(to));

describe('reprovisioning on the local stack', () => {
  it('heals an onboarding that failed on SES: the sweep resets the password and the credentials arrive', async () => {
    expect(settings.onboardingStateMachineArn).toBe(arnOf('onboarding'));
    expect(settings.reprovisionStateMachineArn).toBe(arnOf('reprovision'));

    // SES rejects the credentials email once: the onboarding fails after the password was set.
    stack.faults.add({ service: 'ses', operation: 'SendEmail', error: 'MessageRejected', count: 1 });
    const { executionArn } = await clients.sfn.send(
      new StartExecutionCommand({ stateMachineArn: arnOf('onboarding'), name: 'hire-E-2001', input: JSON.stringify(HIRE) }),
    );
    const onboarding = await stack.waitForExecution(executionArn ?? '');
    expect(onboarding).toMatchObject({ status: 'FAILED', error: 'MessageRejected' });
    expect(await mailTo(HIRE.email)).toHaveLength(0);
    stack.faults.clear();

    const report = await sweep(clients, settings);
    await stack.waitForIdle();

    expect(report.users).toEqual([
      expect.objectContaining({ userName: 'ada.lovelace', action: 'reset-password', reason: 'credentials-not-sent', outcome: 'started' }),
    ]);
    const [reset] = stack.executions(arnOf('reprovision'));
    expect(reset).toMatchObject({ status: 'SUCCEEDED', name: report.users[0]?.executionName });
    expect(JSON.parse(reset?.output ?? '{}')).toMatchObject({ status: 'PASSWORD_RESET', userName: 'ada.lovelace', emailsSent: 1 });

    const updates = stack.requests({ service: 'iam', operation: 'UpdateLoginProfile' });
    expect(updates).toEqual([expect.objectContaining({ status: 200, params: expect.objectContaining({ UserName: 'ada.lovelace', PasswordResetRequired: 'true' }) })]);
    const mail = await mailTo(HIRE.email);
    expect(mail).toHaveLength(1);
    expect(mail[0]?.body).toContain('ada.lovelace');
    expect(mail[0]?.body).toContain('********');

    const { User: user } = await clients.iam.send(new GetUserCommand({ UserName: 'ada.lovelace' }));
    expect(tagValue(user?.Tags, 'onboarding:status')).toBe('complete');
    expect(tagValue(user?.Tags, 'onboarding:password-resets')).toBe('1');

    // Healed: the next sweep leaves the user alone, and acts on nothing twice.
    const again = await sweep(clients, settings);
    expect(again.users).toEqual([expect.objectContaining({ userName: 'ada.lovelace', action: 'none', reason: 'healthy' })]);
    expect(stack.executions(arnOf('reprovision'))).toHaveLength(1);

    // Two passwords were set (the onboarding's and the reset's); neither is anywhere else.
    const passwords = stack.passwordsSent();
    expect(passwords).toHaveLength(2);
    expectNoSecrets(passwords, {
      report,
      executions: stack.executions(),
      histories: stack.executions().map((e) => stack.history(e.executionArn)),
      requests: stack.requests(),
      tags: user?.Tags,
      logs: output.text(),
    });
  });

  it('starts the onboarding again for a user left without a login profile', async () => {
    // IAM keeps refusing the login profile until the onboarding gives up.
    stack.faults.add({ service: 'iam', operation: 'CreateLoginProfile', error: 'EntityTemporarilyUnmodifiable' });
    const { executionArn } = await clients.sfn.send(
      new StartExecutionCommand({ stateMachineArn: arnOf('onboarding'), name: 'hire-E-2001', input: JSON.stringify(HIRE) }),
    );
    expect(await stack.waitForExecution(executionArn ?? '')).toMatchObject({ status: 'FAILED', error: 'EntityTemporarilyUnmodifiableException' });
    stack.faults.clear();

    const report = await sweep(clients, settings);
    await stack.waitForIdle();

    expect(report.users).toEqual([
      expect.objectContaining({ userName: 'ada.lovelace', action: 'restart-onboarding', reason: 'no-login-profile', outcome: 'started' }),
    ]);
    const restarted = stack.executions(arnOf('onboarding')).find((e) => e.name === report.users[0]?.executionName);
    expect(restarted).toMatchObject({ status: 'SUCCEEDED' });
    expect(JSON.parse(restarted?.output ?? '{}')).toMatchObject({ status: 'ONBOARDED', userName: 'ada.lovelace', groups: ['developers'] });
    // The user was created once; the restart's CreateUser is told it exists, and adopts it.
    expect(stack.requests({ service: 'iam', operation: 'CreateUser' }).map((r) => [r.status, r.error])).toEqual([
      [200, undefined],
      [409, 'EntityAlreadyExists'],
    ]);
    expect(await mailTo(HIRE.email)).toHaveLength(1);
    expectNoSecrets(stack.passwordsSent(), { report, logs: output.text(), histories: stack.executions().map((e) => stack.history(e.executionArn)) });
  });

  it('a dry run on the local stack starts nothing and writes nothing', async () => {
    stack.faults.add({ service: 'ses', operation: 'SendEmail', error: 'MessageRejected', count: 1 });
    const { executionArn } = await clients.sfn.send(
      new StartExecutionCommand({ stateMachineArn: arnOf('onboarding'), name: 'hire-E-2001', input: JSON.stringify(HIRE) }),
    );
    await stack.waitForExecution(executionArn ?? '');
    const before = stack.requests().length;

    const report = await sweep(clients, settings, { dryRun: true });

    expect(report.users).toEqual([expect.objectContaining({ action: 'reset-password', outcome: 'planned' })]);
    const made = stack.requests().slice(before);
    expect(made.map((r) => r.operation).filter((op) => !/^(Get|List)/.test(op))).toEqual([]);
    expect(stack.executions(arnOf('reprovision'))).toHaveLength(0);
  });
});
