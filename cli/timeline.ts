/**
 * An execution as people follow it: one step per state as it completes, one per retry, then
 * the outcome. Built from Step Functions history, so `start --wait` (live) and `history`
 * (after the fact) show the same lines.
 */
import {
  DescribeExecutionCommand,
  paginateGetExecutionHistory,
  type DescribeExecutionCommandOutput,
  type HistoryEvent,
  type SFNClient,
} from '@aws-sdk/client-sfn';
import { causeMessage } from '../functions/lib/outcome.ts';
import { dataLines, formatDuration, formatTime, keyValues, parseData } from './output.ts';

export type Step =
  | { kind: 'state'; state: string; status: 'done' | 'caught' | 'failed' | 'aborted'; error?: string; durationMs?: number; at?: Date }
  | { kind: 'retry'; state: string; error: string; attempt: number; at?: Date };

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

/** The `<type>EventDetails` object an event carries, whatever its type. */
function details(event: HistoryEvent): { name?: string; error?: string; cause?: string } {
  for (const [key, value] of Object.entries(event)) {
    if (key.endsWith('EventDetails') && value && typeof value === 'object') return value as { name?: string };
  }
  return {};
}

interface OpenState {
  enteredAt?: Date;
  attempt: number;
  failure?: string;
}

/** Turns history events, fed in order (all at once or poll by poll), into steps. */
export class Timeline {
  readonly steps: Step[] = [];
  /** The event that ended the execution, once seen. */
  end?: HistoryEvent;
  lastEventId = 0;
  // Events chain through previousEventId back to the state they belong to (so retries are
  // found even when states run in parallel).
  private readonly stateByEvent = new Map<number, string>();
  private readonly open = new Map<string, OpenState>();
  private lastEntered?: string;

  push(event: HistoryEvent): Step[] {
    const type = event.type ?? '';
    const id = event.id ?? 0;
    this.lastEventId = Math.max(this.lastEventId, id);
    const found: Step[] = [];
    const at = event.timestamp;

    if (type.startsWith('Execution')) {
      if (EXECUTION_ENDED.has(type)) this.end = event;
    } else if (type.endsWith('StateEntered')) {
      const state = details(event).name ?? '?';
      this.stateByEvent.set(id, state);
      this.lastEntered = state;
      if (type === 'FailStateEntered') found.push({ kind: 'state', state, status: 'failed', at });
      else this.open.set(state, { enteredAt: at, attempt: 1 });
    } else if (type.endsWith('StateExited') || type.endsWith('StateAborted')) {
      const state = details(event).name ?? this.stateFor(event);
      this.stateByEvent.set(id, state);
      const entry = this.open.get(state);
      this.open.delete(state);
      const status = type.endsWith('StateAborted') ? 'aborted' : entry?.failure ? 'caught' : 'done';
      found.push({
        kind: 'state',
        state,
        status,
        ...(entry?.failure && { error: entry.failure }),
        ...(entry?.enteredAt && at && { durationMs: at.getTime() - entry.enteredAt.getTime() }),
        at,
      });
    } else {
      const state = this.stateFor(event);
      this.stateByEvent.set(id, state);
      const entry = this.open.get(state);
      if (entry && ATTEMPT_FAILED.has(type)) {
        entry.failure = details(event).error ?? type;
      } else if (entry && ATTEMPT_SCHEDULED.has(type) && entry.failure) {
        entry.attempt += 1;
        found.push({ kind: 'retry', state, error: entry.failure, attempt: entry.attempt, at });
        delete entry.failure;
      }
    }
    this.steps.push(...found);
    return found;
  }

  /** The state an event already pushed belongs to ('' for the execution's own events). */
  stateOf(event: HistoryEvent): string {
    return this.stateByEvent.get(event.id ?? 0) ?? '';
  }

  private stateFor(event: HistoryEvent): string {
    const fromChain = event.previousEventId !== undefined ? this.stateByEvent.get(event.previousEventId) : undefined;
    return fromChain ?? this.lastEntered ?? '';
  }
}

const STATE_WIDTH = 20;

export function stepLine(step: Step): string {
  const state = step.state.padEnd(STATE_WIDTH);
  if (step.kind === 'retry') return `  ${state} ${'retry'.padEnd(7)} ${step.error} (attempt ${step.attempt})\n`;
  const detail = [step.error, step.durationMs !== undefined ? formatDuration(step.durationMs) : undefined]
    .filter(Boolean)
    .join('  ');
  return `  ${state} ${step.status.padEnd(7)} ${detail}`.trimEnd().concat('\n');
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

export interface FollowOptions {
  intervalMs: number;
  sleep: (ms: number) => Promise<void>;
  onStep: (step: Step) => void;
}

/**
 * Follows a running execution until it ends: polls its history for new events and, when a
 * poll brings none, asks DescribeExecution whether it is over.
 */
export async function follow(
  sfn: SFNClient,
  executionArn: string,
  options: FollowOptions,
): Promise<{ timeline: Timeline; execution: DescribeExecutionCommandOutput }> {
  const timeline = new Timeline();
  const readNew = async () => {
    const events = await readHistory(sfn, executionArn, { afterId: timeline.lastEventId });
    for (const event of events) timeline.push(event).forEach(options.onStep);
    return events.length;
  };
  for (;;) {
    const count = await readNew();
    if (timeline.end) break;
    if (count === 0) {
      const execution = await sfn.send(new DescribeExecutionCommand({ executionArn }));
      if (execution.status !== 'RUNNING') {
        // The two APIs are read apart: pick up the last steps the history had not shown yet.
        await readNew();
        return { timeline, execution };
      }
    }
    await options.sleep(options.intervalMs);
  }
  const execution = await sfn.send(new DescribeExecutionCommand({ executionArn }));
  return { timeline, execution };
}

type Execution = Pick<
  DescribeExecutionCommandOutput,
  'name' | 'executionArn' | 'stateMachineArn' | 'status' | 'startDate' | 'stopDate' | 'input' | 'output' | 'error' | 'cause'
>;

export function succeeded(execution: Execution): boolean {
  return execution.status === 'SUCCEEDED';
}

function elapsed(execution: Execution): string | undefined {
  if (!execution.startDate || !execution.stopDate) return undefined;
  return formatDuration(execution.stopDate.getTime() - execution.startDate.getTime());
}

/** An execution as a JSON-ready object: data parsed, secrets masked, the error's cause as text. */
export function executionDocument(execution: Execution) {
  return {
    name: execution.name,
    executionArn: execution.executionArn,
    stateMachineArn: execution.stateMachineArn,
    status: execution.status,
    startDate: execution.startDate,
    stopDate: execution.stopDate,
    input: parseData(execution.input),
    output: parseData(execution.output),
    error: execution.error,
    cause: execution.cause === undefined ? undefined : causeMessage(execution.cause),
  };
}

const ENDED: Record<string, string> = {
  FAILED: 'Failed',
  TIMED_OUT: 'Timed out',
  ABORTED: 'Aborted',
  PENDING_REDRIVE: 'Failed (redrive pending)',
};

/** How an execution ended (or that it is still running), with its summary or its error. */
export function outcomeText(execution: Execution): string {
  const took = elapsed(execution);
  switch (execution.status) {
    case 'RUNNING':
      return `Running since ${formatTime(execution.startDate)}\n`;
    case 'SUCCEEDED':
      return `Succeeded${took ? ` in ${took}` : ''}\n${execution.output ? dataLines(parseData(execution.output)) : ''}`;
    default:
      return `${ENDED[execution.status ?? ''] ?? execution.status}${took ? ` after ${took}` : ''}${execution.error ? `: ${execution.error}` : ''}\n${
        execution.cause ? keyValues([['cause', causeMessage(execution.cause)]], '  ') : ''
      }`;
  }
}
