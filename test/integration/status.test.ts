/**
 * `onboarding status` for a person on the local stack: hires put on the HR bus (so their
 * executions have EventBridge's random names), run by the real definition and handlers, with
 * moto for IAM, KMS and SES. A hire that succeeded, one whose credentials mail SES refused, and
 * one refused before it reached IAM.
 */
import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { adviceFor } from '../../cli/runbook.ts';
import { useLocalCli } from '../support/local-cli.ts';
import { expectNoSecrets } from '../support/secrets.ts';

const local = useLocalCli('onboarding-status-local-');
const { cli } = local;
let events: EventBridgeClient;

beforeAll(() => {
  events = new EventBridgeClient({ endpoint: local.stack.endpoint, region: local.stack.region, credentials: { accessKeyId: 'test', secretAccessKey: 'test' } });
});
afterAll(() => events?.destroy());

const ADA = { employeeId: 'E-1815', firstName: 'Ada', lastName: 'Lovelace', email: 'ada.lovelace@example.com', department: 'engineering' };
const GRACE = { employeeId: 'E-1906', firstName: 'Grace', lastName: 'Hopper', email: 'grace.hopper@example.com', department: 'engineering' };
const EVE = { employeeId: 'E-1002', firstName: 'Eve', lastName: 'Moneypenny', email: 'eve@example.com', groups: ['Admins'] };

/** Puts the hire on the HR bus and waits for the execution the rule started; its name. */
async function hire(detail: object): Promise<string> {
  const onboarding = local.stack.stateMachines.find((m) => m.key === 'onboarding')!;
  const before = new Set(local.stack.executions().map((e) => e.executionArn));
  const put = await events.send(
    new PutEventsCommand({
      Entries: [{ EventBusName: onboarding.routes[0]!.eventBusName, Source: 'hr.system', DetailType: 'Employee Hired', Detail: JSON.stringify(detail) }],
    }),
  );
  expect(put.FailedEntryCount).toBe(0);
  const started = local.stack.executions().filter((e) => !before.has(e.executionArn));
  expect(started).toHaveLength(1);
  const done = await local.stack.waitForExecution(started[0]!.executionArn);
  return done.name;
}

describe('onboarding status on the local stack', () => {
  it('a hire that succeeded: onboarded, credentials sent, the HR event\'s execution, the sweep leaves it be', async () => {
    local.stack.faults.add({ service: 'iam', operation: 'CreateLoginProfile', error: 'EntityTemporarilyUnmodifiable', count: 2 });
    const execution = await hire(ADA);
    await hire(GRACE);

    const byId = await cli(['status', '--employee-id', 'E-1815']);

    expect(byId.code).toBe(0);
    expect(byId.stderr).toBe('Looking for employee E-1815 among 2 users under /onboarding/: reading their tags…\n');
    expect(byId.stdout.split('\n')[0]).toBe('ada.lovelace: onboarded; credentials sent; not signed in yet');
    expect(byId.stdout).toContain('  ours          yes (/onboarding/, onboarding:managed-by=iam-onboarding-local)\n');
    expect(byId.stdout).toMatch(new RegExp(`\\n {2}${execution} +onboarding +SUCCEEDED +\\S+ \\S+ +created-by, completed-by\\n`));
    expect(byId.stdout).toMatch(/\n {2}next sweep {4}nothing \(healthy\); resets the password if it is still unused after /);

    // The same answer by user name and by email, and the JSON for scripts.
    const byUser = await cli(['status', '--user', 'ada.lovelace']);
    const byEmail = await cli(['status', '--email', ADA.email, '--json']);
    expect(byUser.stdout.split('\n')[0]).toBe('ada.lovelace: onboarded; credentials sent; not signed in yet');
    expect(JSON.parse(byEmail.stdout)).toMatchObject({
      user: { userName: 'ada.lovelace', ours: true, status: 'complete', credentialsDelivered: true },
      executions: [{ name: execution, status: 'SUCCEEDED' }],
      nextSweep: { outcome: 'nothing', reason: 'healthy' },
    });
    expectNoSecrets(local.stack.passwordsSent(), { byId, byUser, byEmail });
  });

  it('a hire that failed: the error, its cause and execution, what to do, and the reset the next sweep starts', async () => {
    // SES refuses the credentials email once; ops still hear about it.
    local.stack.faults.add({ service: 'ses', operation: 'SendEmail', error: 'MessageRejected', count: 1 });
    const execution = await hire(GRACE);

    const status = await cli(['status', '--email', GRACE.email]);

    expect(status.code).toBe(0);
    expect(status.stderr).toBe('');
    expect(status.stdout.split('\n')[0]).toBe('grace.hopper: onboarding failed (MessageRejected); credentials not sent; not signed in yet');
    expect(status.stdout).toMatch(new RegExp(`\\n {2}last failure {2}MessageRejected, \\S+ \\S+, in ${execution} \\(onboarding, FAILED\\)\\n`));
    expect(status.stdout).toContain('    cause       Email address is not verified.');
    expect(status.stdout).toContain(`    what to do  ${adviceFor('MessageRejected').action}\n`);
    expect(status.stdout).toMatch(/\n {2}next sweep {4}reset-password \(credentials-not-sent\): starts reset-grace_hopper-[0-9a-f]{8}-\d{4}-\d\d-\d\d on the reprovision state machine\n/);

    // What status said the sweep would do is what it does.
    const sweep = await cli(['reprovision', '--json']);
    const planned = /starts (\S+) on the reprovision/.exec(status.stdout)?.[1];
    expect(JSON.parse(sweep.stdout).users).toEqual([
      expect.objectContaining({ userName: 'grace.hopper', action: 'reset-password', outcome: 'started', executionName: planned }),
    ]);
    await local.stack.waitForIdle();
    const after = await cli(['status', '--user', 'grace.hopper']);
    expect(after.stdout.split('\n')[0]).toBe('grace.hopper: onboarded; credentials sent; not signed in yet');
    expect(after.stdout).toMatch(new RegExp(`\\n {2}${planned} +reprovision +SUCCEEDED +\\S+ \\S+ +completed-by, name\\n`));
    expect(after.stdout).toMatch(/\n {2}next sweep {4}nothing \(healthy\); resets the password if it is still unused after /);
    expectNoSecrets(local.stack.passwordsSent(), { status, after });
  });

  it('a hire that never reached IAM: no user, its execution found by searching recent inputs, the refusal and what to do', async () => {
    await hire(ADA);
    const execution = await hire(EVE);

    const writes = () => local.stack.requests().filter((r) => r.service !== 'states' && !/^(Get|List|Describe)/.test(r.operation)).length;
    const writesBefore = writes();
    const status = await cli(['status', '--employee-id', 'E-1002']);

    expect(status.code).toBe(0);
    expect(status.stderr).toBe(
      [
        'Looking for employee E-1002 among 1 users under /onboarding/: reading their tags…',
        'Searching the inputs of the 2 most recent onboarding executions for E-1002…',
        '  2 read, 1 found',
        '',
      ].join('\n'),
    );
    expect(status.stdout.split('\n')[0]).toBe('employee E-1002: never reached IAM (no user); its last execution FAILED: GroupNotAllowed');
    expect(status.stdout).toMatch(new RegExp(`\\n {2}last failure {2}GroupNotAllowed, \\S+ \\S+, in ${execution} \\(onboarding, FAILED\\)\\n`));
    expect(status.stdout).toContain('    cause       groups: "Admins" may not be assigned by this workflow');
    expect(status.stdout).toContain(`    what to do  ${adviceFor('GroupNotAllowed').action}\n`);
    expect(status.stdout).toMatch(new RegExp(`\\n {2}${execution} +onboarding +FAILED +\\S+ \\S+ +input\\n`));
    // Only reads: nothing was started or written.
    expect(local.stack.executions()).toHaveLength(2);
    expect(writes()).toBe(writesBefore);
  });
});
