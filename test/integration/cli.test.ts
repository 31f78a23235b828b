/**
 * The CLI against the local stack: real Step Functions API calls over loopback, the real
 * definition and handlers behind them, moto for IAM, KMS and SES.
 */
import { describe, expect, it } from 'vitest';
import { executionArnFor } from '../../cli/execution-rules.ts';
import { HIRE } from '../cli/support.ts';
import { useLocalCli } from '../support/local-cli.ts';
import { expectNoSecrets } from '../support/secrets.ts';

const local = useLocalCli('onboarding-cli-local-');
const { cli } = local;

describe('onboarding CLI on the local stack', () => {
  it('starts an onboarding, follows it through IAM retries, and shows the summary', async () => {
    // IAM right after CreateUser: the login profile cannot be created twice, then it can.
    local.stack.faults.add({ service: 'iam', operation: 'CreateLoginProfile', error: 'EntityTemporarilyUnmodifiable', count: 2 });

    const started = await cli(['start', ...hireFlags(), '--wait']);

    expect(started.stderr).toBe('');
    expect(started.code).toBe(0);
    const lines = started.stdout.split('\n');
    expect(lines[0]).toBe('Started onboard-E-1001');
    expect(lines.filter((l) => /^ {2}CreateLoginProfile +retry +EntityTemporarilyUnmodifiableException \(attempt [23]\)$/.test(l))).toHaveLength(2);
    expect(lines.filter((l) => / done /.test(l)).map((l) => l.trim().split(/\s+/)[0])).toEqual([
      'ValidateInput',
      'CreateUser',
      'WaitsForStartDate',
      'CreateLoginProfile',
      'IsNewLoginProfile',
      'SendCredentials',
      'MarkComplete',
    ]);
    expect(started.stdout).toMatch(/\nSucceeded in .*\n {2}status +ONBOARDED\n/);
    expect(started.stdout).toMatch(/\n {2}userName +bob\.builder\n/);
    expect((await local.stack.mail()).filter((m) => m.to.includes(HIRE.email))).toHaveLength(1);

    const status = await cli(['status', 'onboard-E-1001', '--json']);
    expect(JSON.parse(status.stdout)).toMatchObject({ status: 'SUCCEEDED', output: { status: 'ONBOARDED', userName: 'bob.builder' } });

    const history = await cli(['history', 'onboard-E-1001', '--json']);
    expect(history.code).toBe(0);
    // The sealed password is in the execution's history, and masked in what the CLI shows.
    const sealed = local.stack
      .history(executionArnOf('onboard-E-1001'))
      .map((e) => JSON.stringify(e).match(/sealedPassword\\":\\"([^\\]+)/)?.[1])
      .find(Boolean);
    expect(sealed).toMatch(/^[A-Za-z0-9+/=]{40,}$/);
    expect(history.stdout).not.toContain(sealed);
    expect(history.stdout).toContain('\\"sealedPassword\\":\\"********\\"');

    // The password went to IAM (a new one per attempt) and the mail, and into none of what
    // the CLI printed.
    const passwords = local.stack.passwordsSent();
    expect(passwords).toHaveLength(3);
    const events = await cli(['history', 'onboard-E-1001', '--events']);
    expectNoSecrets(passwords, { started, status, history, events, logs: local.logs() });
  });

  it('starting the same hire again reports the finished run and starts nothing', async () => {
    expect((await cli(['start', ...hireFlags(), '--wait'])).code).toBe(0);

    const again = await cli(['start', ...hireFlags()]);

    expect(again.code).toBe(0);
    expect(again.stdout).toMatch(/^onboard-E-1001 already finished: SUCCEEDED/);
    expect(local.stack.requests({ service: 'states', operation: 'StartExecution' })).toHaveLength(1);

    const list = await cli(['list']);
    expect(list.stdout).toMatch(/^NAME +STATUS +STARTED +STOPPED\nonboard-E-1001 +SUCCEEDED /);
  });

  it('a failing onboarding: the error and cause, exit 1; --name starts a fresh run', async () => {
    const failed = await cli(['start', ...hireFlags(), '--groups', 'no-such-group', '--wait']);

    expect(failed.code).toBe(1);
    // Refused before any write: the group is not one the workflow may assign.
    expect(failed.stdout).toMatch(/\n {2}ValidateInput +caught +GroupNotAllowed/);
    expect(failed.stdout).toMatch(/\nFailed after .*: GroupNotAllowed\n {2}cause {2}.*no-such-group/);

    const repeated = await cli(['start', ...hireFlags()]);
    expect(repeated.code).toBe(1);
    expect(repeated.stdout).toMatch(/^onboard-E-1001 already finished: FAILED/);
    expect(repeated.stdout).toMatch(/--name onboard-E-1001-\d{8}T\d{6}\n$/);

    const rerun = await cli(['start', ...hireFlags(), '--name', 'onboard-E-1001-retry', '--wait']);
    expect(rerun.code).toBe(0);
    expect(rerun.stdout).toMatch(/\nSucceeded in /);
  });
});

function executionArnOf(name: string): string {
  return executionArnFor(local.stack.stateMachines.find((m) => m.key === 'onboarding')!.arn, name);
}

function hireFlags(): string[] {
  return ['--employee-id', HIRE.employeeId, '--first-name', HIRE.firstName, '--last-name', HIRE.lastName, '--email', HIRE.email, '--department', HIRE.department];
}
