/**
 * An execution's Step Functions history, read and turned into steps: one per state as it
 * completes, one per retry. The one reader of history for the CLI (`start --wait`, `history`)
 * and `npm start`, here or on AWS.
 */
import { DescribeExecutionCommand, paginateGetExecutionHistory, type DescribeExecutionCommandOutput, type HistoryEvent, type SFNClient } from '@aws-sdk/client-sfn';

export type Step =
  | { kind: 'state'; state: string; status: 'done' | 'caught' | 'failed' | 'aborted'; error?: string; durationMs?: number; at?: Date }
  /** `failedAt`: when the attempt before this one failed (the retry waited from then until `at`). */
  | { kind: 'retry'; state: string; error: string; attempt: number; at?: Date; failedAt?: Date }
  /** A Wait state began (a start date, a last day); `until`: the time it waits for, when its input says. */
  | { kind: 'wait'; state: string; until?: string; at?: Date };

// A task's attempt ends with one of these; if the same state schedules its task again, that
// was a retry, otherwise a Catch took over (or the execution failed).
const ATTEMPT_FAILED = new Set([
  'LambdaFunctionFailed',
  'LambdaFunctionTimedOut',
  'LambdaFunctionStartFailed',
  'LambdaFunctionScheduleFailed',
  'TaskFailed',
  'TaskTimedOut',
  'TaskStartFailed',
  'TaskSubmitFailed',
  'ActivityFailed',
  'ActivityTimedOut',
  'ActivityScheduleFailed',
]);
const ATTEMPT_SCHEDULED = new Set(['LambdaFunctionScheduled', 'TaskScheduled', 'ActivityScheduled']);
const EXECUTION_ENDED = new Set(['ExecutionSucceeded', 'ExecutionFailed', 'ExecutionTimedOut', 'ExecutionAborted']);

/** Whether the event ends a task's attempt with a failure. */
export function isAttemptFailure(event: HistoryEvent): boolean {
  return ATTEMPT_FAILED.has(event.type ?? '');
}

/**
 * The time a Wait state waits for, as the workflow's definitions hand it over: a `waitUntil`
 * field in the state's input (statemachines/*.asl.yaml). Undefined when there is none (or the
 * input is masked).
 */
function waitUntilIn(input: string | undefined): string | undefined {
  let found: string | undefined;
  try {
    JSON.parse(input ?? '', (key, value: unknown) => {
      if (key === 'waitUntil' && typeof value === 'string') found ??= value;
      return value;
    });
  } catch {
    return undefined;
  }
  return found;
}

/** The `<type>EventDetails` object an event carries, whatever its type. */
export function eventDetails(event: HistoryEvent): { name?: string; error?: string; cause?: string; input?: string } {
  for (const [key, value] of Object.entries(event)) {
    if (key.endsWith('EventDetails') && value && typeof value === 'object') return value as { name?: string };
  }
  return {};
}

interface OpenState {
  enteredAt?: Date;
  attempt: number;
  failure?: { error: string; at?: Date };
}

/** Turns history events, fed in order (all at once or poll by poll), into steps. */
export class StepParser {
  readonly steps: Step[] = [];
  /** The event that ended the execution, once seen. */
  end?: HistoryEvent;
  lastEventId = 0;
  // Events chain through previousEventId back to the state they belong to (so retries are
  // found even when states run in parallel).
  private readonly stateByEvent = new Map<number, string>();
  private readonly open = new Map<string, OpenState>();
  private lastEntered?: string;

  /** Takes the next event; returns the steps it completed. */
  push(event: HistoryEvent): Step[] {
    const type = event.type ?? '';
    this.lastEventId = Math.max(this.lastEventId, event.id ?? 0);
    let found: Step[] = [];
    if (type.startsWith('Execution')) {
      if (EXECUTION_ENDED.has(type)) this.end = event;
    } else if (type.endsWith('StateEntered')) {
      found = this.entered(event);
    } else if (type.endsWith('StateExited') || type.endsWith('StateAborted')) {
      found = [this.exited(event)];
    } else {
      found = this.attemptEvent(event);
    }
    this.steps.push(...found);
    return found;
  }

  /** The state an event already pushed belongs to ('' for the execution's own events). */
  stateOf(event: HistoryEvent): string {
    return this.stateByEvent.get(event.id ?? 0) ?? '';
  }

  private entered(event: HistoryEvent): Step[] {
    const state = eventDetails(event).name ?? '?';
    this.stateByEvent.set(event.id ?? 0, state);
    this.lastEntered = state;
    if (event.type === 'FailStateEntered') return [{ kind: 'state', state, status: 'failed', at: event.timestamp }];
    this.open.set(state, { enteredAt: event.timestamp, attempt: 1 });
    if (event.type === 'WaitStateEntered') {
      const until = waitUntilIn(eventDetails(event).input);
      return [{ kind: 'wait', state, ...(until && { until }), at: event.timestamp }];
    }
    return [];
  }

  private exited(event: HistoryEvent): Step {
    const at = event.timestamp;
    const state = eventDetails(event).name ?? this.stateFor(event);
    this.stateByEvent.set(event.id ?? 0, state);
    const entry = this.open.get(state);
    this.open.delete(state);
    const status = event.type?.endsWith('StateAborted') ? 'aborted' : entry?.failure ? 'caught' : 'done';
    return {
      kind: 'state',
      state,
      status,
      ...(entry?.failure && { error: entry.failure.error }),
      ...(entry?.enteredAt && at && { durationMs: at.getTime() - entry.enteredAt.getTime() }),
      at,
    };
  }

  /** An event of a task's attempt: a failure is remembered; the next attempt scheduled after one is a retry. */
  private attemptEvent(event: HistoryEvent): Step[] {
    const type = event.type ?? '';
    const state = this.stateFor(event);
    this.stateByEvent.set(event.id ?? 0, state);
    const entry = this.open.get(state);
    if (entry && ATTEMPT_FAILED.has(type)) {
      entry.failure = { error: eventDetails(event).error ?? type, ...(event.timestamp && { at: event.timestamp }) };
    } else if (entry?.failure && ATTEMPT_SCHEDULED.has(type)) {
      const { error, at: failedAt } = entry.failure;
      entry.attempt += 1;
      delete entry.failure;
      return [{ kind: 'retry', state, error, attempt: entry.attempt, at: event.timestamp, ...(failedAt && { failedAt }) }];
    }
    return [];
  }

  private stateFor(event: HistoryEvent): string {
    const fromChain = event.previousEventId !== undefined ? this.stateByEvent.get(event.previousEventId) : undefined;
    return fromChain ?? this.lastEntered ?? '';
  }
}

/** Every event of an execution after `afterId`, oldest first. */
export async function readHistory(
  sfn: SFNClient,
  executionArn: string,
  options: { afterId?: number; includeData?: boolean } = {},
): Promise<HistoryEvent[]> {
  const events: HistoryEvent[] = [];
  const pages = paginateGetExecutionHistory(
    { client: sfn, pageSize: 1000 },
    { executionArn, includeExecutionData: options.includeData ?? false },
  );
  for await (const page of pages) {
    for (const event of page.events ?? []) if ((event.id ?? 0) > (options.afterId ?? 0)) events.push(event);
  }
  return events;
}

/** The execution is in a Wait state now: the last step it began is a wait that has not ended. */
function waiting(steps: StepParser): boolean {
  const last = steps.steps.at(-1);
  return last?.kind === 'wait';
}

export interface FollowOptions {
  intervalMs: number;
  sleep: (ms: number) => Promise<void>;
  /** Each new event, in order, with the steps it completed. */
  onEvent: (event: HistoryEvent, steps: Step[]) => void;
  /** Stop following, the execution still running, once it waits in a Wait state (for days, perhaps). */
  untilWait?: boolean;
}

/**
 * Follows a running execution until it ends (or, `untilWait`, until it waits): polls its
 * history for new events and, when a poll brings none, asks DescribeExecution whether it is over.
 */
export async function follow(
  sfn: SFNClient,
  executionArn: string,
  options: FollowOptions,
): Promise<{ steps: StepParser; execution: DescribeExecutionCommandOutput }> {
  const steps = new StepParser();
  const readNew = async () => {
    const events = await readHistory(sfn, executionArn, { afterId: steps.lastEventId });
    for (const event of events) options.onEvent(event, steps.push(event));
    return events.length;
  };
  for (;;) {
    const count = await readNew();
    if (steps.end) break;
    if (options.untilWait && waiting(steps)) break;
    if (count === 0) {
      const execution = await sfn.send(new DescribeExecutionCommand({ executionArn }));
      if (execution.status !== 'RUNNING') {
        // The two APIs are read apart: pick up the last steps the history had not shown yet.
        await readNew();
        return { steps, execution };
      }
    }
    await options.sleep(options.intervalMs);
  }
  const execution = await sfn.send(new DescribeExecutionCommand({ executionArn }));
  return { steps, execution };
}
