/**
 * An execution as the CLI shows it: its steps as lines (the same for `start --wait`, live, and
 * `history`, after the fact), how it ended, and the JSON document `--json` prints.
 */
import type { DescribeExecutionCommandOutput } from '@aws-sdk/client-sfn';
import { causeMessage } from '../functions/lib/caught-error.ts';
import type { Step } from './execution-history.ts';
import { dataLines, formatDuration, formatTime, keyValues, parseData } from './output.ts';

const STATE_WIDTH = 20;

export function stepLine(step: Step): string {
  const state = step.state.padEnd(STATE_WIDTH);
  if (step.kind === 'retry') return `  ${state} ${'retry'.padEnd(7)} ${step.error} (attempt ${step.attempt})\n`;
  if (step.kind === 'wait') return `  ${state} ${'waiting'.padEnd(7)} ${step.until ? `until ${step.until}` : ''}`.trimEnd().concat('\n');
  const detail = [step.error, step.durationMs !== undefined ? formatDuration(step.durationMs) : undefined]
    .filter(Boolean)
    .join('  ');
  return `  ${state} ${step.status.padEnd(7)} ${detail}`.trimEnd().concat('\n');
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
