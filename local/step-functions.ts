/**
 * The Step Functions API (awsJson1_0, `x-amz-target: AWSStepFunctions.<Op>`) over
 * aws-local-stepfunctions, running the real definitions with the real handlers. Answers and
 * errors follow the AWS API reference, so @aws-sdk/client-sfn and the AWS CLI work unchanged.
 */
import { randomUUID } from 'node:crypto';
import type { StateMachineDefinition } from 'aws-local-stepfunctions';
import { AwsServiceError } from './aws-protocol.ts';
import type { FaultInjector } from './faults.ts';
import { HistoryRecorder, withoutExecutionData, type HistoryEvent, type Invocation } from './history.ts';
import type { StateMachineConfig } from './service-config.ts';
import {
  functionKeyOf,
  resolveTaskHandlers,
  retryIntervals,
  runExecution,
  taskFunctionKeys,
  type LambdaIdentity,
  type Retrier,
  type TaskHandler,
} from './workflow.ts';

export type ExecutionStatus = 'RUNNING' | 'SUCCEEDED' | 'FAILED' | 'TIMED_OUT' | 'ABORTED';

interface StateMachine {
  name: string;
  arn: string;
  key: string;
  definition: StateMachineDefinition;
  /** The definition as deployed: Lambda ARNs instead of Fn::GetAtt. */
  deployedDefinition: string;
  roleArn: string;
  createdAt: number;
  loggingConfig?: StateMachineConfig['loggingConfig'];
  handlers: Record<string, TaskHandler>;
  /** Function key of each Task state, for Lambda ARNs in the history. */
  resources: Record<string, string>;
  retryWaits: Record<string, number[]>;
}

export interface Execution {
  arn: string;
  name: string;
  stateMachineArn: string;
  input: string;
  status: ExecutionStatus;
  startedAt: number;
  stoppedAt?: number;
  output?: string;
  error?: string;
  cause?: string;
  history: HistoryRecorder;
  /** Settles when the execution has ended. */
  done: Promise<void>;
  abort?: () => void;
}

export interface StepFunctionsOptions {
  identity: LambdaIdentity;
  faults: FaultInjector;
  /** Fixed wait before every retry, in ms; default: each retrier's IntervalSeconds × 50, within 50–200 ms. */
  retryIntervalMs?: number;
  /** Called for each history event of every execution, as it happens. */
  onHistoryEvent?: (execution: Execution, event: HistoryEvent) => void;
}

/** Lambda's error report for a function that threw: what Step Functions puts in `Cause`. */
function lambdaFailure(error: unknown): Error {
  const e = error instanceof Error ? error : new Error(String(error));
  // Name and message, then the frames: never the raw `stack`, which keeps the message as it was
  // before any redaction.
  const frames = (e.stack ?? '').split('\n').filter((line) => /^\s+at /.test(line));
  const failure = new Error(JSON.stringify({ errorType: e.name, errorMessage: e.message, trace: [`${e.name}: ${e.message}`, ...frames] }));
  failure.name = e.name;
  return failure;
}

/** A failure of Lambda itself (injected): reported with its own name and plain-text cause. */
class LambdaServiceFault extends Error {
  constructor(name: string, message: string) {
    super(message);
    this.name = name;
  }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** AWS: 1-80 characters, none of whitespace, brackets, wildcards, special or control characters. */
const NAME_RULE = /^[^\s<>{}[\]?*"#%\\^|~`$&,;:/\p{Cc}]{1,80}$/u;
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

function requireString(body: Record<string, unknown>, field: string): string {
  const value = body[field];
  if (typeof value !== 'string' || value === '') {
    throw new AwsServiceError('ValidationException', `1 validation error detected: Value null at '${field}' failed to satisfy constraint: Member must not be null`);
  }
  return value;
}

export class StepFunctions {
  private readonly machines = new Map<string, StateMachine>();
  private readonly executions = new Map<string, Execution>();
  /** Handler invocations still running, including those of stopped executions (Lambda finishes them). */
  private readonly inflight = new Set<Promise<unknown>>();

  constructor(private readonly options: StepFunctionsOptions) {}

  private arn(kind: 'stateMachine' | 'execution', ...parts: string[]): string {
    const { region, accountId } = this.options.identity;
    return `arn:aws:states:${region}:${accountId}:${kind}:${parts.join(':')}`;
  }

  private functionArn(key: string): string {
    const { region, accountId, namePrefix } = this.options.identity;
    return `arn:aws:lambda:${region}:${accountId}:function:${namePrefix}${key}`;
  }

  /** Registers a state machine: resolves its handlers from serverless.yml and wraps them with faults. */
  async addStateMachine(config: StateMachineConfig): Promise<string> {
    const handlers = await resolveTaskHandlers(config.definition, {
      identity: this.options.identity,
      around: (_state, functionKey, invoke) => this.invokeWithFaults(functionKey, invoke),
    });
    const deployed = JSON.stringify(config.definition, (key, value: unknown) => {
      const fn = key === 'Resource' ? functionKeyOf(value) : undefined;
      return fn ? this.functionArn(fn) : value;
    });
    const arn = this.arn('stateMachine', config.name);
    const { identity } = this.options;
    this.machines.set(arn, {
      name: config.name,
      arn,
      key: config.key,
      definition: config.definition,
      deployedDefinition: deployed,
      roleArn: `arn:aws:iam::${identity.accountId}:role/${config.name}-role`,
      createdAt: Date.now(),
      ...(config.loggingConfig && { loggingConfig: config.loggingConfig }),
      handlers,
      resources: taskFunctionKeys(config.definition),
      retryWaits: retryIntervals(config.definition, (retrier: Retrier) =>
        this.options.retryIntervalMs ?? Math.min(200, Math.max(50, (retrier.IntervalSeconds ?? 1) * 50)),
      ),
    });
    return arn;
  }

  stateMachineArns(): string[] {
    return [...this.machines.keys()];
  }

  /** What a Lambda invocation meets: injected Lambda faults, and errors reported as Lambda reports them. */
  private async invokeWithFaults(functionKey: string, invoke: () => Promise<unknown>): Promise<unknown> {
    const fault = this.options.faults.pick({ service: 'lambda', operation: functionKey, params: {} });
    if (fault?.delayMs) await sleep(fault.delayMs);
    if (fault?.error && fault.when === 'before') throw new LambdaServiceFault(fault.error.code, fault.error.message);
    let output: unknown;
    try {
      output = await invoke();
    } catch (error) {
      throw lambdaFailure(error);
    }
    if (fault?.error) throw new LambdaServiceFault(fault.error.code, fault.error.message);
    return output;
  }

  private machine(arn: string): StateMachine {
    if (!/^arn:aws:states:[^:]+:\d{12}:stateMachine:[^:]+$/.test(arn)) {
      throw new AwsServiceError('InvalidArn', `Invalid Arn: 'Resource type not valid in this context: ${arn}'`);
    }
    const machine = this.machines.get(arn);
    if (!machine) throw new AwsServiceError('StateMachineDoesNotExist', `State Machine Does Not Exist: '${arn}'`);
    return machine;
  }

  private execution(arn: string): Execution {
    if (!/^arn:aws:states:[^:]+:\d{12}:execution:[^:]+:[^:]+$/.test(arn)) {
      throw new AwsServiceError('InvalidArn', `Invalid Arn: 'Resource type not valid in this context: ${arn}'`);
    }
    const execution = this.executions.get(arn);
    if (!execution) throw new AwsServiceError('ExecutionDoesNotExist', `Execution Does Not Exist: '${arn}'`);
    return execution;
  }

  /**
   * StartExecution. Names are unique per state machine (AWS keeps them 90 days): the same
   * name with the same input while that execution runs returns it; anything else is
   * ExecutionAlreadyExists.
   */
  start(stateMachineArn: string, input = '{}', name: string = randomUUID()): Execution {
    const machine = this.machine(stateMachineArn);
    if (!NAME_RULE.test(name)) throw new AwsServiceError('InvalidName', `Invalid Name: '${name}'`);
    if (Buffer.byteLength(input) > MAX_INPUT_BYTES) {
      throw new AwsServiceError('InvalidExecutionInput', 'Invalid State Machine Execution Input: input exceeds 262144 bytes');
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(input);
    } catch (error) {
      throw new AwsServiceError('InvalidExecutionInput', `Invalid State Machine Execution Input: '${(error as Error).message}'`);
    }

    const arn = this.arn('execution', machine.name, name);
    const existing = this.executions.get(arn);
    if (existing) {
      if (existing.status === 'RUNNING' && existing.input === input) return existing;
      throw new AwsServiceError('ExecutionAlreadyExists', `Execution Already Exists: '${arn}'`);
    }

    const history = new HistoryRecorder(machine.roleArn);
    const execution: Execution = {
      arn,
      name,
      stateMachineArn,
      input,
      status: 'RUNNING',
      startedAt: Date.now(),
      history,
      done: Promise.resolve(),
    };
    history.onEvent((event) => this.options.onHistoryEvent?.(execution, event));
    this.executions.set(arn, execution);

    // Per-execution wrappers record each invocation for the history, and refuse to run once
    // the execution was stopped (the library would otherwise retry once more, at once).
    const handlers = Object.fromEntries(
      Object.entries(machine.handlers).map(([state, handler]) => [
        state,
        async (payload: Parameters<TaskHandler>[0]) => {
          if (execution.status !== 'RUNNING') throw new LambdaServiceFault('States.Aborted', 'The execution was stopped');
          const invocation: Invocation = {
            state,
            resource: this.functionArn(machine.resources[state] ?? state),
            input: payload,
            startedAt: Date.now(),
          };
          history.invocationStarted(invocation);
          const running = handler(payload).then(
            (output) => {
              invocation.ended = { at: Date.now(), output };
              return output;
            },
            (error: Error) => {
              invocation.ended = { at: Date.now(), error: { error: error.name, cause: error.message } };
              throw error;
            },
          );
          this.inflight.add(running);
          try {
            return await running;
          } finally {
            this.inflight.delete(running);
            history.invocationEnded(invocation);
          }
        },
      ]),
    );

    execution.done = runExecution(machine.definition, parsed as never, {
      handlers,
      executionArn: arn,
      executionName: name,
      stateMachineArn,
      retryIntervalOverrides: machine.retryWaits,
      onEvent: (event) => history.record(event),
      onStart: (abort) => {
        execution.abort = abort;
      },
    }).then(
      (result) => {
        if (execution.status !== 'RUNNING') return;
        execution.status = result.status;
        execution.stoppedAt = Date.now();
        if (result.status === 'SUCCEEDED') execution.output = JSON.stringify(result.output ?? null);
        if (result.error !== undefined) execution.error = result.error;
        if (result.cause !== undefined) execution.cause = result.cause;
      },
      (error: unknown) => {
        if (execution.status !== 'RUNNING') return;
        execution.status = 'FAILED';
        execution.stoppedAt = Date.now();
        execution.error = 'States.Runtime';
        execution.cause = error instanceof Error ? error.message : String(error);
        history.record({ type: 'ExecutionFailed', timestamp: Date.now(), Error: execution.error, Cause: execution.cause });
      },
    );
    return execution;
  }

  stop(executionArn: string, error?: string, cause?: string): Execution {
    const execution = this.execution(executionArn);
    if (execution.status === 'RUNNING') {
      execution.status = 'ABORTED';
      execution.stoppedAt = Date.now();
      if (error !== undefined) execution.error = error;
      if (cause !== undefined) execution.cause = cause;
      execution.abort?.();
      execution.history.aborted(execution.stoppedAt, error, cause);
    }
    return execution;
  }

  list(): Execution[] {
    return [...this.executions.values()];
  }

  get(executionArn: string): Execution | undefined {
    return this.executions.get(executionArn);
  }

  /** Resolves when no execution runs and no handler invocation is in flight. */
  async idle(): Promise<void> {
    for (;;) {
      const running = this.list().filter((e) => e.status === 'RUNNING');
      if (running.length === 0 && this.inflight.size === 0) return;
      await Promise.allSettled([...running.map((e) => e.done), ...this.inflight]);
    }
  }

  /** Stops every running execution, lets in-flight invocations finish, and forgets them all. */
  async clear(): Promise<void> {
    for (const e of this.list()) if (e.status === 'RUNNING') this.stop(e.arn, 'States.Aborted', 'The local stack was reset');
    await this.idle();
    this.executions.clear();
  }

  describe(execution: Execution): Record<string, unknown> {
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

  /** One Step Functions API call; throws AwsServiceError for AWS's error answers. */
  handle(operation: string, body: Record<string, unknown>): unknown {
    switch (operation) {
      case 'StartExecution': {
        const execution = this.start(
          requireString(body, 'stateMachineArn'),
          typeof body.input === 'string' ? body.input : '{}',
          typeof body.name === 'string' ? body.name : undefined,
        );
        return { executionArn: execution.arn, startDate: seconds(execution.startedAt) };
      }
      case 'DescribeExecution':
        return this.describe(this.execution(requireString(body, 'executionArn')));
      case 'StopExecution': {
        const execution = this.stop(
          requireString(body, 'executionArn'),
          typeof body.error === 'string' ? body.error : undefined,
          typeof body.cause === 'string' ? body.cause : undefined,
        );
        return { stopDate: seconds(execution.stoppedAt) };
      }
      case 'ListExecutions': {
        const machine = this.machine(requireString(body, 'stateMachineArn'));
        const status = body.statusFilter;
        const valid = ['RUNNING', 'SUCCEEDED', 'FAILED', 'TIMED_OUT', 'ABORTED', 'PENDING_REDRIVE'];
        if (status !== undefined && !valid.includes(String(status))) {
          throw new AwsServiceError(
            'ValidationException',
            `1 validation error detected: Value '${String(status)}' at 'statusFilter' failed to satisfy constraint: Member must satisfy enum value set: [${valid.join(', ')}]`,
          );
        }
        const matching = this.list()
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
      case 'GetExecutionHistory': {
        const execution = this.execution(requireString(body, 'executionArn'));
        const includeData = body.includeExecutionData !== false;
        let events = execution.history.events.map((e) => (includeData ? e : withoutExecutionData(e)));
        if (body.reverseOrder === true) events = [...events].reverse();
        const { items, nextToken } = page(events, body.maxResults, body.nextToken);
        return { events: items.map((e) => ({ ...e, timestamp: seconds(e.timestamp) })), ...(nextToken && { nextToken }) };
      }
      case 'ListStateMachines': {
        const machines = [...this.machines.values()].sort((a, b) => a.name.localeCompare(b.name));
        const { items, nextToken } = page(machines, body.maxResults, body.nextToken);
        return {
          stateMachines: items.map((m) => ({
            stateMachineArn: m.arn,
            name: m.name,
            type: 'STANDARD',
            creationDate: seconds(m.createdAt),
          })),
          ...(nextToken && { nextToken }),
        };
      }
      case 'DescribeStateMachine': {
        const machine = this.machine(requireString(body, 'stateMachineArn'));
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
      default:
        throw new AwsServiceError('UnknownOperationException', `The local stack does not implement Step Functions ${operation}`);
    }
  }
}
