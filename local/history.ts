/**
 * Builds an execution's history in the shape GetExecutionHistory returns on AWS, from two
 * sources: aws-local-stepfunctions' event log (states entered, exited, failed, retried) and
 * the stack's own record of each Lambda invocation (what the function received and returned,
 * when it started and ended). A retry shows as AWS shows it: LambdaFunctionFailed, then,
 * after the wait, another LambdaFunctionScheduled in the same state.
 *
 * The library delivers its events asynchronously, while invocations are recorded as they
 * happen, so an invocation is placed once the library event that precedes it has arrived.
 */
import type { ExecutionEvent } from './workflow.ts';

/** One event as the Step Functions API returns it (timestamp in epoch milliseconds here). */
export interface HistoryEvent {
  id: number;
  previousEventId: number;
  timestamp: number;
  type: string;
  [details: string]: unknown;
}

export interface Invocation {
  state: string;
  resource: string;
  input: unknown;
  startedAt: number;
  ended?: { at: number; output?: unknown; error?: { error: string; cause: string } };
}

const payload = (value: unknown) => JSON.stringify(value ?? null);
/** Payloads here are never cut short (AWS truncates above 256 KiB). */
const details = () => ({ truncated: false });

export class HistoryRecorder {
  readonly events: HistoryEvent[] = [];
  /** Invocations recorded before the library event that precedes them arrived, per state. */
  private readonly queued = new Map<string, Invocation[]>();
  /** States whose next invocation can be placed as soon as it is recorded. */
  private readonly ready = new Set<string>();
  /** The placed invocation of each state whose end is not in the history yet. */
  private readonly open = new Map<string, Invocation>();
  private closed = false;

  constructor(private readonly roleArn: string) {}

  private push(type: string, timestamp: number, extra: Record<string, unknown> = {}): void {
    // A closed execution records nothing more (a stopped execution's Lambda may still finish).
    if (this.closed) return;
    if (/^Execution(Succeeded|Failed|Aborted|TimedOut)$/.test(type)) this.closed = true;
    const id = this.events.length + 1;
    this.events.push({ id, previousEventId: id - 1, timestamp, type, ...extra });
  }

  /** Called by the stack when a Task's Lambda is invoked. */
  invocationStarted(invocation: Invocation): void {
    if (this.ready.delete(invocation.state)) this.place(invocation);
    else this.queued.set(invocation.state, [...(this.queued.get(invocation.state) ?? []), invocation]);
  }

  /** Called by the stack when the Lambda returns or throws. */
  invocationEnded(invocation: Invocation): void {
    if (this.open.get(invocation.state) === invocation) this.closeInvocation(invocation);
  }

  private place(invocation: Invocation): void {
    const input = payload(invocation.input);
    this.push('LambdaFunctionScheduled', invocation.startedAt, {
      lambdaFunctionScheduledEventDetails: { resource: invocation.resource, input, inputDetails: details() },
    });
    this.push('LambdaFunctionStarted', invocation.startedAt);
    this.open.set(invocation.state, invocation);
    if (invocation.ended) this.closeInvocation(invocation);
  }

  private closeInvocation(invocation: Invocation): void {
    const ended = invocation.ended;
    if (!ended) return;
    this.open.delete(invocation.state);
    if (ended.error) {
      this.push('LambdaFunctionFailed', ended.at, { lambdaFunctionFailedEventDetails: ended.error });
    } else {
      const output = payload(ended.output);
      this.push('LambdaFunctionSucceeded', ended.at, {
        lambdaFunctionSucceededEventDetails: { output, outputDetails: details() },
      });
    }
  }

  /** The next invocation of a Task state may start now (entered, or retried after its wait). */
  private expectInvocation(state: string): void {
    const waiting = this.queued.get(state);
    const next = waiting?.shift();
    if (next) this.place(next);
    else this.ready.add(state);
  }

  /** Maps one aws-local-stepfunctions event (see workflow.ts ExecutionEvent). */
  record(event: ExecutionEvent): void {
    const state = event.state as { name: string; type: string; input?: unknown; output?: unknown } | undefined;
    const at = event.timestamp;
    switch (event.type) {
      case 'ExecutionStarted': {
        const input = payload(event.input);
        this.push('ExecutionStarted', at, {
          executionStartedEventDetails: { input, inputDetails: details(), roleArn: this.roleArn },
        });
        return;
      }
      case 'StateEntered': {
        if (!state) return;
        const input = payload(state.input);
        this.push(`${state.type}StateEntered`, at, {
          stateEnteredEventDetails: { name: state.name, input, inputDetails: details() },
        });
        if (state.type === 'Task') this.expectInvocation(state.name);
        return;
      }
      case 'StateRetried':
        if (state) this.expectInvocation(state.name);
        return;
      case 'StateFailed': {
        if (!state || state.type !== 'Task') return;
        this.ready.delete(state.name);
        const running = this.open.get(state.name);
        if (running && !running.ended) {
          // The state gave up on a function still running: the Task timed out.
          this.open.delete(state.name);
          this.push('LambdaFunctionTimedOut', at, {
            lambdaFunctionTimedOutEventDetails: { error: String(event.Error), cause: String(event.Cause ?? '') },
          });
        }
        return;
      }
      case 'StateExited': {
        if (!state || state.type === 'Fail') return;
        const output = payload(state.output);
        this.push(`${state.type}StateExited`, at, {
          stateExitedEventDetails: { name: state.name, output, outputDetails: details() },
        });
        return;
      }
      case 'ExecutionSucceeded': {
        const output = payload(event.output);
        this.push('ExecutionSucceeded', at, { executionSucceededEventDetails: { output, outputDetails: details() } });
        return;
      }
      case 'ExecutionFailed':
        this.push('ExecutionFailed', at, {
          executionFailedEventDetails: { error: String(event.Error), cause: causeText(event.Cause) },
        });
        return;
      case 'ExecutionTimeout':
        this.push('ExecutionTimedOut', at, { executionTimedOutEventDetails: {} });
        return;
      case 'MapIterationStarted':
      case 'MapIterationSucceeded':
      case 'MapIterationFailed': {
        const parent = event.parentState as { name: string } | undefined;
        const key = `${event.type[0]?.toLowerCase()}${event.type.slice(1)}EventDetails`;
        this.push(event.type, at, { [key]: { name: parent?.name, index: event.index } });
        return;
      }
      default:
        // StateCaught has no AWS counterpart (the next state's events show the catch);
        // ExecutionAborted is recorded by the stack with StopExecution's error and cause.
        return;
    }
  }

  /** StopExecution: AWS records the caller's error and cause. */
  aborted(at: number, error?: string, cause?: string): void {
    this.push('ExecutionAborted', at, {
      executionAbortedEventDetails: { ...(error !== undefined && { error }), ...(cause !== undefined && { cause }) },
    });
  }
}

function causeText(cause: unknown): string {
  if (cause === undefined || cause === null) return '';
  return typeof cause === 'string' ? cause : JSON.stringify(cause);
}

/** Removes execution data (inputs and outputs), as GetExecutionHistory does with includeExecutionData=false. */
export function withoutExecutionData(event: HistoryEvent): HistoryEvent {
  const copy: HistoryEvent = { ...event };
  for (const [key, value] of Object.entries(copy)) {
    if (key.endsWith('EventDetails') && value && typeof value === 'object') {
      const { input: _input, output: _output, ...rest } = value as Record<string, unknown>;
      copy[key] = rest;
    }
  }
  return copy;
}
