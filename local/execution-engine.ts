/**
 * Runs executions of the registered state machines on aws-local-stepfunctions, with the real
 * handlers: each Lambda invocation goes through the fault rules and is recorded in the
 * execution's history, as Step Functions records it. What the API accepts and answers is
 * step-functions.ts's.
 */
import type { StateMachineDefinition } from 'aws-local-stepfunctions';
import type { FaultInjector } from './faults.ts';
import { HistoryRecorder, type Invocation } from './history.ts';
import type { StateMachineConfig } from './service-config.ts';
import {
  fixedWaits,
  functionArnFor,
  functionKeyOf,
  resolveTaskHandlers,
  retryIntervals,
  roleArnFor,
  runExecution,
  sourceInvoker,
  stateMachineArnFor,
  taskFunctionKeys,
  type ExecutionResult,
  type LambdaIdentity,
  type Retrier,
  type TaskHandler,
} from './workflow.ts';

export type ExecutionStatus = 'RUNNING' | 'SUCCEEDED' | 'FAILED' | 'TIMED_OUT' | 'ABORTED';

export interface StateMachine {
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
  /** Milliseconds each Wait state waits, when the stack shortens them (tests); default: the definition's time. */
  waits?: Record<string, number>;
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

export interface ExecutionEngineOptions {
  identity: LambdaIdentity;
  faults: FaultInjector;
  /** Fixed wait before every retry, in ms; default: each retrier's IntervalSeconds × 50, within 50–200 ms. */
  retryIntervalMs?: number;
  /** Every Wait state (a start date, a last day) waits this long, in ms; default: until its own time. */
  waitMs?: number;
  /**
   * Runs a function by key; default: its TypeScript handler, imported into this process. The
   * stack's packaged mode runs the deployed zips on node 22 instead (local/packaged/).
   */
  invoke?: (functionKey: string, input: unknown) => Promise<unknown>;
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

export class ExecutionEngine {
  private readonly machines = new Map<string, StateMachine>();
  private readonly executions = new Map<string, Execution>();
  /** Handler invocations still running, including those of stopped executions (Lambda finishes them). */
  private readonly inflight = new Set<Promise<unknown>>();

  private readonly invokeFunction: (functionKey: string, input: unknown) => Promise<unknown>;

  constructor(private readonly options: ExecutionEngineOptions) {
    this.invokeFunction = options.invoke ?? sourceInvoker({ identity: options.identity });
  }

  /** Registers a state machine: resolves its handlers from serverless.yml and wraps them with faults. */
  async addStateMachine(config: StateMachineConfig): Promise<string> {
    const { identity } = this.options;
    const handlers = await resolveTaskHandlers(config.definition, {
      identity,
      around: (_state, functionKey, invoke) => this.invokeWithFaults(functionKey, invoke),
      ...(this.options.invoke && { invoke: this.options.invoke }),
    });
    const deployed = JSON.stringify(config.definition, (key, value: unknown) => {
      const fn = key === 'Resource' ? functionKeyOf(value) : undefined;
      return fn ? functionArnFor(identity, fn) : value;
    });
    const arn = stateMachineArnFor(identity, config.name);
    this.machines.set(arn, {
      name: config.name,
      arn,
      key: config.key,
      definition: config.definition,
      deployedDefinition: deployed,
      roleArn: roleArnFor(arn),
      createdAt: Date.now(),
      ...(config.loggingConfig && { loggingConfig: config.loggingConfig }),
      handlers,
      resources: taskFunctionKeys(config.definition),
      retryWaits: retryIntervals(config.definition, (retrier: Retrier) =>
        this.options.retryIntervalMs ?? Math.min(200, Math.max(50, (retrier.IntervalSeconds ?? 1) * 50)),
      ),
      ...(this.options.waitMs !== undefined && { waits: fixedWaits(config.definition, this.options.waitMs) }),
    });
    return arn;
  }

  machine(arn: string): StateMachine | undefined {
    return this.machines.get(arn);
  }

  stateMachines(): StateMachine[] {
    return [...this.machines.values()];
  }

  /**
   * A direct invocation of a function (Lambda's Invoke: the scheduled sweep, `aws lambda
   * invoke`), with the same Lambda fault rules and error reports as a Task's; `idle()` waits for it.
   */
  async invoke(functionKey: string, payload: unknown): Promise<unknown> {
    const running = this.invokeWithFaults(functionKey, () => this.invokeFunction(functionKey, payload));
    this.inflight.add(running);
    try {
      return await running;
    } finally {
      this.inflight.delete(running);
    }
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

  /** Starts the execution `arn` of `machine` (StartExecution has checked the request) and returns it running. */
  start(machine: StateMachine, arn: string, name: string, input: { text: string; parsed: unknown }): Execution {
    const execution: Execution = {
      arn,
      name,
      stateMachineArn: machine.arn,
      input: input.text,
      status: 'RUNNING',
      startedAt: Date.now(),
      history: new HistoryRecorder(machine.roleArn),
      done: Promise.resolve(),
    };
    this.executions.set(arn, execution);
    execution.done = runExecution(machine.definition, input.parsed as never, {
      handlers: this.recordedHandlers(machine, execution),
      executionArn: arn,
      executionName: name,
      stateMachineArn: machine.arn,
      retryIntervalOverrides: machine.retryWaits,
      ...(machine.waits && { waitTimeOverrides: machine.waits }),
      onEvent: (event) => execution.history.record(event),
      onStart: (abort) => {
        execution.abort = abort;
      },
    }).then(
      (result) => ended(execution, result),
      (error: unknown) => crashed(execution, error),
    );
    return execution;
  }

  /**
   * The machine's handlers for one execution: each invocation recorded for the history, and
   * refused once the execution was stopped (the library would otherwise retry once more, at once).
   */
  private recordedHandlers(machine: StateMachine, execution: Execution): Record<string, TaskHandler> {
    const { history } = execution;
    const recorded = (state: string, handler: TaskHandler): TaskHandler => async (payload) => {
      if (execution.status !== 'RUNNING') throw new LambdaServiceFault('States.Aborted', 'The execution was stopped');
      const invocation: Invocation = {
        state,
        resource: functionArnFor(this.options.identity, machine.resources[state] ?? state),
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
    };
    return Object.fromEntries(Object.entries(machine.handlers).map(([state, handler]) => [state, recorded(state, handler)]));
  }

  /** Stops a running execution, with the caller's error and cause; an ended one is left as it is. */
  stop(execution: Execution, error?: string, cause?: string): Execution {
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

  /** Stops every running execution (States.Aborted, with `cause`). */
  stopAll(cause: string): void {
    for (const e of this.list()) this.stop(e, 'States.Aborted', cause);
  }

  /** Stops every running execution, lets in-flight invocations finish, and forgets them all. */
  async clear(): Promise<void> {
    this.stopAll('The local stack was reset');
    await this.idle();
    this.executions.clear();
  }
}

/** An execution's end as the library reported it (unless it was stopped first). */
function ended(execution: Execution, result: ExecutionResult): void {
  if (execution.status !== 'RUNNING') return;
  execution.status = result.status;
  execution.stoppedAt = Date.now();
  if (result.status === 'SUCCEEDED') execution.output = JSON.stringify(result.output ?? null);
  if (result.error !== undefined) execution.error = result.error;
  if (result.cause !== undefined) execution.cause = result.cause;
}

/** The library itself failed: the execution fails with States.Runtime, as on AWS. */
function crashed(execution: Execution, error: unknown): void {
  if (execution.status !== 'RUNNING') return;
  execution.status = 'FAILED';
  execution.stoppedAt = Date.now();
  execution.error = 'States.Runtime';
  execution.cause = error instanceof Error ? error.message : String(error);
  execution.history.record({ type: 'ExecutionFailed', timestamp: Date.now(), Error: execution.error, Cause: execution.cause });
}
