import { DescribeExecutionCommand, GetExecutionHistoryCommand, SFNClient, StartExecutionCommand } from '@aws-sdk/client-sfn';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { cli, description, historyEvents } from './support.ts';

const sfn = mockClient(SFNClient);
const MOVE_ARN = 'arn:aws:states:us-east-1:123456789012:stateMachine:iam-onboarding-dev-move';
const env = { MOVE_STATE_MACHINE_ARN: MOVE_ARN };
const moveExecution = (name: string) => `arn:aws:states:us-east-1:123456789012:execution:iam-onboarding-dev-move:${name}`;
const startedInput = () => JSON.parse(sfn.commandCalls(StartExecutionCommand)[0]!.args[0].input.input!) as unknown;

const OUTCOME = { status: 'MOVED', employeeId: 'E-1001', userName: 'bob.builder', groups: ['finance'], added: ['finance'], removed: ['developers'], kept: [] };

beforeEach(() => {
  sfn.reset();
  sfn.on(StartExecutionCommand).callsFake(async (input: { name: string }) => ({ executionArn: moveExecution(input.name), startDate: new Date() }));
});

describe('onboarding move', () => {
  it('starts the move state machine with the change, named after the employee and the time', async () => {
    const { code, stdout, stderr } = await cli(['move', '--employee-id', 'E-1001', '--department', 'finance'], { env });

    expect(stderr).toBe('');
    expect(code).toBe(0);
    const { stateMachineArn, name } = sfn.commandCalls(StartExecutionCommand)[0]!.args[0].input;
    expect(stateMachineArn).toBe(MOVE_ARN);
    expect(name).toMatch(/^move-E-1001-\d{8}T\d{9}$/);
    expect(startedInput()).toEqual({ employeeId: 'E-1001', department: 'finance' });
    expect(stdout).toBe(`Started ${name}\n  ${moveExecution(name!)}\n`);
  });

  it('takes the user name and groups, comma-separated', async () => {
    const { code } = await cli(['move', '--employee-id', 'E-1001', '--user-name', 'bob.builder', '--groups', 'developers, on-call'], { env });
    expect(code).toBe(0);
    expect(startedInput()).toEqual({ employeeId: 'E-1001', userName: 'bob.builder', groups: ['developers', 'on-call'] });
  });

  it.each([
    [['--employee-id', 'E-1001'], 'department (--department): must name a new department or new groups'],
    [['--employee-id', 'E-1001', '--department', 'finance', '--groups', 'developers'], "option '--department <name>' cannot be used with option '--groups <a,b>'"],
    [['--department', 'finance'], "required option '--employee-id <id>' not specified"],
    [['--employee-id', 'E 1', '--groups', 'developers'], 'employeeId (--employee-id): must be 1-64 characters'],
    [['--employee-id', 'E-1', '--groups', 'dev ops'], 'groups (--groups).0: must be IAM group names'],
  ])('refuses %j before any AWS call (exit 2)', async (argv, message) => {
    const { code, stderr } = await cli(['move', ...argv], { env });
    expect(code).toBe(2);
    expect(stderr).toContain(message);
    expect(sfn.calls()).toHaveLength(0);
  });

  it('--wait follows the execution: one line per state, then the outcome', async () => {
    const events = historyEvents(
      [
        { name: 'ValidateChange', output: { change: { employeeId: 'E-1001', groups: ['finance'] } } },
        { name: 'MoveUser', output: OUTCOME },
      ],
      { output: OUTCOME },
    );
    sfn.on(GetExecutionHistoryCommand).resolves({ events });
    sfn.on(DescribeExecutionCommand).resolves(description('move-E-1001', 'SUCCEEDED', { output: JSON.stringify(OUTCOME) }));

    const { code, stdout } = await cli(['move', '--employee-id', 'E-1001', '--department', 'finance', '--wait'], { env });

    expect(code).toBe(0);
    expect(stdout).toMatch(/ValidateChange/);
    expect(stdout).toMatch(/MoveUser/);
    expect(stdout).toMatch(/Succeeded[\s\S]*status +MOVED/);
  });
});
