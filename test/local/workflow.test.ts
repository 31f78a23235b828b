import type { StateMachineDefinition } from 'aws-local-stepfunctions';
import { describe, expect, it } from 'vitest';
import { executionArnFor } from '../../cli/execution-rules.ts';
import { roleArnFor, runExecution } from '../../local/workflow.ts';

const STATE_MACHINE_ARN = 'arn:aws:states:eu-west-1:123456789012:stateMachine:iam-onboarding-dev-onboarding';
const ROLE_ARN = 'arn:aws:iam::123456789012:role/iam-onboarding-dev-onboarding-role';

describe('the role an execution runs with', () => {
  it('is an IAM role ARN in the state machine\'s account', () => {
    expect(roleArnFor(STATE_MACHINE_ARN)).toBe(ROLE_ARN);
    expect(roleArnFor('arn:aws-cn:states:cn-north-1:123456789012:stateMachine:m')).toBe('arn:aws-cn:iam::123456789012:role/m-role');
  });

  it('is what the definition reads from the context object ($$.Execution.RoleArn)', async () => {
    const definition = {
      StartAt: 'Role',
      States: { Role: { Type: 'Pass', Parameters: { 'roleArn.$': '$$.Execution.RoleArn' }, End: true } },
    } as unknown as StateMachineDefinition;

    const result = await runExecution(definition, {}, {
      handlers: {},
      executionArn: executionArnFor(STATE_MACHINE_ARN, 'run-1'),
      executionName: 'run-1',
      stateMachineArn: STATE_MACHINE_ARN,
    });

    expect(result).toMatchObject({ status: 'SUCCEEDED', output: { roleArn: ROLE_ARN } });
  });
});
