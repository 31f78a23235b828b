import { DescribeExecutionCommand, ExecutionAlreadyExists, GetExecutionHistoryCommand, SFNClient, StartExecutionCommand } from '@aws-sdk/client-sfn';
import { PutParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { confirmationInForce } from '../../functions/lib/offboarding-guard.ts';
import { cli, historyEvents, START } from './support.ts';

const OFFBOARDING = 'arn:aws:states:us-east-1:123456789012:stateMachine:iam-onboarding-dev-offboarding';
const env = { OFFBOARDING_STATE_MACHINE_ARN: OFFBOARDING, OFFBOARDING_CONFIRMATION_PARAMETER: '/iam-onboarding/dev/offboarding-confirmation' };
const sfn = mockClient(SFNClient);
const ssm = mockClient(SSMClient);

beforeEach(() => {
  sfn.reset();
  ssm.reset();
  sfn.on(StartExecutionCommand).callsFake(async (input: { name: string }) => ({ executionArn: `${OFFBOARDING.replace(':stateMachine:', ':execution:')}:${input.name}`, startDate: START }));
  ssm.on(PutParameterCommand).resolves({ Version: 2 });
});
afterEach(() => {
  sfn.restore();
  ssm.restore();
});

describe('onboarding offboard', () => {
  it('starts the offboarding state machine with the termination, named after the employee', async () => {
    const lastDay = new Date(Date.now() + 30 * 86_400_000).toISOString().slice(0, 10);
    const result = await cli(['offboard', '--employee-id', 'E-7', '--user-name', 'ann.lee', '--last-day', lastDay], { env });

    expect(result.code).toBe(0);
    expect(sfn.commandCalls(StartExecutionCommand).map((c) => c.args[0].input)).toEqual([
      { stateMachineArn: OFFBOARDING, name: 'offboard-E-7', input: JSON.stringify({ employeeId: 'E-7', userName: 'ann.lee', lastDay }) },
    ]);
    expect(result.stdout).toContain('Started offboard-E-7');
  });

  it('refuses bad input before calling AWS, naming the flag', async () => {
    for (const argv of [['offboard'], ['offboard', '--employee-id', 'E 7'], ['offboard', '--employee-id', 'E-7', '--last-day', 'friday'], ['offboard', '--employee-id', 'E-7', '--user-name', 'a b']]) {
      const result = await cli(argv, { env });
      expect(result.code, argv.join(' ')).toBe(2);
    }
    expect((await cli(['offboard', '--employee-id', 'E-7', '--last-day', 'friday'], { env })).stderr).toContain('lastDay (--last-day): must be a date');
    expect(sfn.calls()).toEqual([]);
  });

  it('reports a termination already started instead of starting it twice', async () => {
    sfn.on(StartExecutionCommand).rejects(new ExecutionAlreadyExists({ message: 'exists', $metadata: {} }));
    sfn.on(DescribeExecutionCommand).resolves({ status: 'SUCCEEDED', startDate: START, executionArn: 'arn', stateMachineArn: OFFBOARDING });
    const result = await cli(['offboard', '--employee-id', 'E-7'], { env });
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('offboard-E-7 already started: SUCCEEDED');
  });

  it('--dry-run runs under a name of its own, follows the execution and prints what would be removed', async () => {
    const output = { status: 'DRY_RUN', userName: 'ann.lee', wouldRemove: { loginProfile: true, accessKeys: ['AKIA7'], groups: ['developers'], mfaDevices: [] } };
    sfn.on(GetExecutionHistoryCommand).resolves({ events: historyEvents([{ name: 'ValidateTermination' }, { name: 'FindLeaver' }, { name: 'OffboardUser' }], { output }) });
    sfn.on(DescribeExecutionCommand).resolves({ status: 'SUCCEEDED', startDate: START, stopDate: START, output: JSON.stringify(output), executionArn: 'arn', stateMachineArn: OFFBOARDING });

    const result = await cli(['offboard', '--employee-id', 'E-7', '--dry-run'], { env });

    expect(result.code).toBe(0);
    const [start] = sfn.commandCalls(StartExecutionCommand).map((c) => c.args[0].input);
    expect(start!.name).toMatch(/^offboard-dry-run-E-7-\d{8}T\d{6}$/);
    expect(JSON.parse(start!.input!)).toEqual({ employeeId: 'E-7', dryRun: true });
    expect(result.stdout).toContain('Dry run: nothing will be changed.');
    expect(result.stdout).toContain('OffboardUser');
    expect(result.stdout).toContain('AKIA7');
  });
});

describe('onboarding confirm-offboarding', () => {
  it('writes a confirmation the functions take, for the time asked, at most a day', async () => {
    const result = await cli(['confirm-offboarding', '--for', '90'], { env });

    expect(result.code).toBe(0);
    const [put] = ssm.commandCalls(PutParameterCommand).map((c) => c.args[0].input);
    expect(put).toMatchObject({ Name: '/iam-onboarding/dev/offboarding-confirmation', Type: 'String', Overwrite: true });
    const confirmation = confirmationInForce(put!.Value, new Date());
    expect(confirmation).toBeDefined();
    expect(Date.parse(confirmation!.expiresAt) - Date.parse(confirmation!.confirmedAt)).toBe(90 * 60_000);
    expect(confirmationInForce(put!.Value, new Date(Date.now() + 91 * 60_000))).toBeUndefined();
    expect(result.stdout).toContain('Mass offboarding confirmed until');
  });

  it('names the stage\'s parameter, and refuses a confirmation longer than a day', async () => {
    expect((await cli(['confirm-offboarding', '--for', '1441'], { env })).code).toBe(2);
    expect((await cli(['confirm-offboarding', '--for', '-5'], { env })).code).toBe(2);
    expect(ssm.calls()).toEqual([]);
    await cli(['confirm-offboarding', '--parameter-name', '/x/y'], { env });
    expect(ssm.commandCalls(PutParameterCommand)[0]!.args[0].input.Name).toBe('/x/y');
  });
});
