/**
 * A readable, live timeline of one execution from its Step Functions history events (as
 * GetExecutionHistory returns them, here or on AWS): each state entered and left, each
 * Lambda failure, each retry with its wait, and how the execution ended.
 */
import type { HistoryEvent } from '@aws-sdk/client-sfn';
import { causeMessage } from '../functions/lib/outcome.ts';

function short(text: string, max = 160): string {
  const line = text.replace(/\s+/g, ' ').trim();
  return line.length > max ? `${line.slice(0, max - 1)}…` : line;
}

function ms(from: Date | undefined, to: Date | undefined): number {
  return from && to ? to.getTime() - from.getTime() : 0;
}

export class Timeline {
  private origin: Date | undefined;
  private state: { name: string; enteredAt?: Date; retries: number; failedAt?: Date } | undefined;

  constructor(private readonly write: (line: string) => void) {}

  private line(at: Date | undefined, text: string): void {
    this.origin ??= at;
    const offset = `+${(ms(this.origin, at) / 1000).toFixed(3)}s`;
    this.write(`  ${offset.padStart(9)}  ${text}`);
  }

  add(event: HistoryEvent): void {
    const at = event.timestamp;
    const type = event.type ?? '';
    if (type === 'ExecutionStarted') {
      this.line(at, 'execution started');
    } else if (type.endsWith('StateEntered')) {
      const name = event.stateEnteredEventDetails?.name ?? '?';
      this.state = { name, ...(at && { enteredAt: at }), retries: 0 };
      this.line(at, `→ ${name}`);
    } else if (type === 'LambdaFunctionScheduled' && this.state?.failedAt) {
      this.state.retries += 1;
      this.line(at, `    ↻ retry ${this.state.retries} after ${ms(this.state.failedAt, at)} ms`);
      delete this.state.failedAt;
    } else if (type === 'LambdaFunctionFailed' || type === 'LambdaFunctionTimedOut') {
      const details = event.lambdaFunctionFailedEventDetails ?? event.lambdaFunctionTimedOutEventDetails;
      if (this.state && at) this.state.failedAt = at;
      this.line(at, `    ✗ ${details?.error ?? 'error'}: ${short(causeMessage(details?.cause))}`);
    } else if (type.endsWith('StateExited')) {
      const name = event.stateExitedEventDetails?.name ?? '?';
      const took = this.state?.name === name ? ms(this.state.enteredAt, at) : 0;
      const retries = this.state?.name === name && this.state.retries > 0 ? `, ${this.state.retries} ${this.state.retries === 1 ? 'retry' : 'retries'}` : '';
      const caught = this.state?.name === name && this.state.failedAt ? ', error caught' : '';
      this.line(at, `← ${name} (${took} ms${retries}${caught})`);
    } else if (type === 'ExecutionSucceeded') {
      this.line(at, 'execution SUCCEEDED');
    } else if (type === 'ExecutionFailed') {
      const details = event.executionFailedEventDetails;
      this.line(at, `execution FAILED: ${details?.error ?? ''}: ${short(causeMessage(details?.cause))}`);
    } else if (type === 'ExecutionAborted') {
      this.line(at, 'execution ABORTED');
    } else if (type === 'ExecutionTimedOut') {
      this.line(at, 'execution TIMED OUT');
    }
  }
}
