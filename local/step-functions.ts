/**
 * The Step Functions API (awsJson1_0, `x-amz-target: AWSStepFunctions.<Op>`) over the local
 * execution engine: what each request must hold, paging, and the answers and errors of the AWS
 * API reference, so @aws-sdk/client-sfn and the AWS CLI work unchanged.
 */
import { randomUUID } from 'node:crypto';
import { EXECUTION_STATUSES, executionArnFor, isExecutionName, isExecutionStatus } from '../cli/execution-rules.ts';
import { AwsServiceError } from './aws-protocol.ts';
import type { Execution, ExecutionEngine, StateMachine } from './execution-engine.ts';
import { withoutExecutionData } from './history.ts';

/** DescribeExecution's answer (dates in epoch seconds). */
export type ExecutionDescription = Record<string, unknown> & {
  executionArn: string;
  stateMachineArn: string;
  status: string;
  name: string;
  input: string;
  output?: string;
  error?: string;
  cause?: string;
};

type Body = Record<string, unknown>;

const MAX_INPUT_BYTES = 256 * 1024;

function seconds(ms: number | undefined): number | undefined {
  return ms === undefined ? undefined : ms / 1000;
}

function page<T>(items: T[], maxResults: unknown, nextToken: unknown, limit = 1000): { items: T[]; nextToken?: string } {
  const size = typeof maxResults === 'number' && maxResults > 0 ? Math.min(maxResults, limit) : 100;
  let offset = 0;
  if (nextToken !== undefined) {
    offset = Number(Buffer.from(String(nextToken), 'base64url').toString('utf8'));
    if (!Number.isInteger(offset) || offset < 0) throw new AwsServiceError('InvalidToken', `Invalid Token: '${String(nextToken)}'`);
  }
  const slice = items.slice(offset, offset + size);
  return {
    items: slice,
    ...(offset + size < items.length && { nextToken: Buffer.from(String(offset + size)).toString('base64url') }),
  };
}

function requireString(body: Body, field: string): string {
  const value = body[field];
  if (typeof value !== 'string' || value === '') {
    throw new AwsServiceError('ValidationException', `1 validation error detected: Value null at '${field}' failed to satisfy constraint: Member must not be null`);
  }
  return value;
}

const optionalString = (value: unknown) => (typeof value === 'string' ? value : undefined);

function parseInput(input: string): unknown {
  if (Buffer.byteLength(input) > MAX_INPUT_BYTES) {
    throw new AwsServiceError('InvalidExecutionInput', 'Invalid State Machine Execution Input: input exceeds 262144 bytes');
  }
  try {
    return JSON.parse(input);
  } catch (error) {
    throw new AwsServiceError('InvalidExecutionInput', `Invalid State Machine Execution Input: '${(error as Error).message}'`);
  }
}

/** DescribeExecution's answer for an execution. */
export function describeExecution(execution: Execution): ExecutionDescription {
  return {
    executionArn: execution.arn,
    stateMachineArn: execution.stateMachineArn,
    name: execution.name,
    status: execution.status,
    startDate: seconds(execution.startedAt),
    ...(execution.stoppedAt !== undefined && { stopDate: seconds(execution.stoppedAt) }),
    input: execution.input,
    inputDetails: { included: true },
    ...(execution.output !== undefined && { output: execution.output, outputDetails: { included: true } }),
    ...(execution.error !== undefined && { error: execution.error }),
    ...(execution.cause !== undefined && { cause: execution.cause }),
    redriveCount: 0,
    redriveStatus: 'NOT_REDRIVABLE',
  };
}

function describeStateMachine(machine: StateMachine): unknown {
  return {
    stateMachineArn: machine.arn,
    name: machine.name,
    status: 'ACTIVE',
    definition: machine.deployedDefinition,
    roleArn: machine.roleArn,
    type: 'STANDARD',
    creationDate: seconds(machine.createdAt),
    loggingConfiguration: {
      level: machine.loggingConfig?.level ?? 'OFF',
      includeExecutionData: machine.loggingConfig?.includeExecutionData ?? false,
    },
    tracingConfiguration: { enabled: false },
  };
}

export class StepFunctionsApi {
  constructor(private readonly engine: ExecutionEngine) {}

  private machine(arn: string): StateMachine {
    if (!/^arn:aws:states:[^:]+:\d{12}:stateMachine:[^:]+$/.test(arn)) {
      throw new AwsServiceError('InvalidArn', `Invalid Arn: 'Resource type not valid in this context: ${arn}'`);
    }
    const machine = this.engine.machine(arn);
    if (!machine) throw new AwsServiceError('StateMachineDoesNotExist', `State Machine Does Not Exist: '${arn}'`);
    return machine;
  }

  private execution(arn: string): Execution {
    if (!/^arn:aws:states:[^:]+:\d{12}:execution:[^:]+:[^:]+$/.test(arn)) {
      throw new AwsServiceError('InvalidArn', `Invalid Arn: 'Resource type not valid in this context: ${arn}'`);
    }
    const execution = this.engine.get(arn);
    if (!execution) throw new AwsServiceError('ExecutionDoesNotExist', `Execution Does Not Exist: '${arn}'`);
    return execution;
  }

  /**
   * StartExecution. Names are unique per state machine (AWS keeps them 90 days): the same
   * name with the same input while that execution runs returns it; anything else is
   * ExecutionAlreadyExists.
   */
  startExecution(stateMachineArn: string, input = '{}', name: string = randomUUID()): Execution {
    const machine = this.machine(stateMachineArn);
    if (!isExecutionName(name)) throw new AwsServiceError('InvalidName', `Invalid Name: '${name}'`);
    const parsed = parseInput(input);
    const arn = executionArnFor(machine.arn, name);
    const existing = this.engine.get(arn);
    if (existing) {
      if (existing.status === 'RUNNING' && existing.input === input) return existing;
      throw new AwsServiceError('ExecutionAlreadyExists', `Execution Already Exists: '${arn}'`);
    }
    return this.engine.start(machine, arn, name, { text: input, parsed });
  }

  /** One Step Functions API call; throws AwsServiceError for AWS's error answers. */
  handle(operation: string, body: Body): unknown {
    switch (operation) {
      case 'StartExecution': {
        const execution = this.startExecution(requireString(body, 'stateMachineArn'), optionalString(body.input) ?? '{}', optionalString(body.name));
        return { executionArn: execution.arn, startDate: seconds(execution.startedAt) };
      }
      case 'DescribeExecution':
        return describeExecution(this.execution(requireString(body, 'executionArn')));
      case 'StopExecution': {
        const execution = this.engine.stop(this.execution(requireString(body, 'executionArn')), optionalString(body.error), optionalString(body.cause));
        return { stopDate: seconds(execution.stoppedAt) };
      }
      case 'ListExecutions':
        return this.listExecutions(body);
      case 'GetExecutionHistory':
        return this.executionHistory(body);
      case 'ListStateMachines':
        return this.listStateMachines(body);
      case 'DescribeStateMachine':
        return describeStateMachine(this.machine(requireString(body, 'stateMachineArn')));
      default:
        throw new AwsServiceError('UnknownOperationException', `The local stack does not implement Step Functions ${operation}`);
    }
  }

  private listExecutions(body: Body): unknown {
    const machine = this.machine(requireString(body, 'stateMachineArn'));
    const status = body.statusFilter;
    if (status !== undefined && !isExecutionStatus(String(status))) {
      throw new AwsServiceError(
        'ValidationException',
        `1 validation error detected: Value '${String(status)}' at 'statusFilter' failed to satisfy constraint: Member must satisfy enum value set: [${EXECUTION_STATUSES.join(', ')}]`,
      );
    }
    const matching = this.engine
      .list()
      .filter((e) => e.stateMachineArn === machine.arn && (status === undefined || e.status === status))
      .sort((a, b) => b.startedAt - a.startedAt);
    const { items, nextToken } = page(matching, body.maxResults, body.nextToken);
    return {
      executions: items.map((e) => ({
        executionArn: e.arn,
        stateMachineArn: e.stateMachineArn,
        name: e.name,
        status: e.status,
        startDate: seconds(e.startedAt),
        ...(e.stoppedAt !== undefined && { stopDate: seconds(e.stoppedAt) }),
      })),
      ...(nextToken && { nextToken }),
    };
  }

  private executionHistory(body: Body): unknown {
    const execution = this.execution(requireString(body, 'executionArn'));
    const includeData = body.includeExecutionData !== false;
    let events = execution.history.events.map((e) => (includeData ? e : withoutExecutionData(e)));
    if (body.reverseOrder === true) events = [...events].reverse();
    const { items, nextToken } = page(events, body.maxResults, body.nextToken);
    return { events: items.map((e) => ({ ...e, timestamp: seconds(e.timestamp) })), ...(nextToken && { nextToken }) };
  }

  private listStateMachines(body: Body): unknown {
    const machines = this.engine.stateMachines().sort((a, b) => a.name.localeCompare(b.name));
    const { items, nextToken } = page(machines, body.maxResults, body.nextToken);
    return {
      stateMachines: items.map((m) => ({ stateMachineArn: m.arn, name: m.name, type: 'STANDARD', creationDate: seconds(m.createdAt) })),
      ...(nextToken && { nextToken }),
    };
  }
}
