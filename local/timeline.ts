/**
 * The live timeline `npm start` prints: each state entered and left, each failed attempt with
 * its message, each retry with its wait, and how the execution ended. A renderer over the
 * CLI's reader of history (cli/execution-history.ts), fed event by event.
 */
import type { HistoryEvent } from '@aws-sdk/client-sfn';
import { causeMessage } from '../functions/lib/caught-error.ts';
import { eventDetails, isAttemptFailure, type Step } from '../cli/execution-history.ts';

const ENDED: Record<string, string> = {
  ExecutionSucceeded: 'execution SUCCEEDED',
  ExecutionAborted: 'execution ABORTED',
  ExecutionTimedOut: 'execution TIMED OUT',
};

function short(text: string, max = 160): string {
  const line = text.replace(/\s+/g, ' ').trim();
  return line.length > max ? `${line.slice(0, max - 1)}…` : line;
}

function ms(from: Date | undefined, to: Date | undefined): number {
  return from && to ? to.getTime() - from.getTime() : 0;
}

export class TimelinePrinter {
  private origin: Date | undefined;
  /** Retries so far of each state that has not exited yet. */
  private readonly retries = new Map<string, number>();

  constructor(private readonly write: (line: string) => void) {}

  /** One history event, and the steps the reader of history completed with it. */
  add(event: HistoryEvent, steps: Step[]): void {
    this.event(event);
    for (const step of steps) this.step(step);
  }

  private event(event: HistoryEvent): void {
    const at = event.timestamp;
    const type = event.type ?? '';
    const details = eventDetails(event);
    if (type === 'ExecutionStarted') this.line(at, 'execution started');
    else if (type.endsWith('StateEntered')) this.entered(at, details.name ?? '?');
    else if (isAttemptFailure(event)) this.line(at, `    ✗ ${details.error ?? 'error'}: ${short(causeMessage(details.cause))}`);
    else if (type === 'ExecutionFailed') this.line(at, `execution FAILED: ${details.error ?? ''}: ${short(causeMessage(details.cause))}`);
    else if (ENDED[type]) this.line(at, ENDED[type]);
  }

  private entered(at: Date | undefined, state: string): void {
    this.retries.delete(state);
    this.line(at, `→ ${state}`);
  }

  private step(step: Step): void {
    if (step.kind === 'wait') {
      this.line(step.at, `    … waiting${step.until ? ` until ${step.until}` : ''}`);
    } else if (step.kind === 'retry') {
      this.retries.set(step.state, step.attempt - 1);
      this.line(step.at, `    ↻ retry ${step.attempt - 1} after ${ms(step.failedAt, step.at)} ms`);
    } else if (step.status === 'done' || step.status === 'caught') {
      const retries = this.retries.get(step.state) ?? 0;
      this.retries.delete(step.state);
      const counted = retries > 0 ? `, ${retries} ${retries === 1 ? 'retry' : 'retries'}` : '';
      const caught = step.status === 'caught' ? ', error caught' : '';
      this.line(step.at, `← ${step.state} (${step.durationMs ?? 0} ms${counted}${caught})`);
    }
  }

  private line(at: Date | undefined, text: string): void {
    this.origin ??= at;
    const offset = `+${(ms(this.origin, at) / 1000).toFixed(3)}s`;
    this.write(`  ${offset.padStart(9)}  ${text}`);
  }
}
