/**
 * `--wait`: the live view of an execution a command started (`start`, `move`, `offboard`). One
 * line per step as the history shows it, then the outcome; it stops following, the execution
 * still running, once the execution waits in a Wait state (a start date, a last day), and says so.
 */
import type { SFNClient } from '@aws-sdk/client-sfn';
import { follow, type Step } from './execution-history.ts';
import { executionDocument, outcomeText, stepLine, succeeded } from './execution-text.ts';
import { EXIT, printJson, type Io } from './output.ts';

/** How often `--wait` polls the execution's history. */
export const POLL_INTERVAL_MS = 1000;

export interface LiveViewOptions {
  json?: boolean;
  /** What `--json` reports besides the outcome (name, ARNs, ...). */
  report: Record<string, unknown>;
  /** What to print when the execution waits in a Wait state: it goes on by itself. */
  waiting: string;
}

/** Follows the execution and prints it; the exit code: 0 when it succeeded or waits, 1 otherwise. */
export async function liveView(io: Io, sfn: SFNClient, executionArn: string, options: LiveViewOptions): Promise<number> {
  const steps: Step[] = [];
  const { execution } = await follow(sfn, executionArn, {
    untilWait: true,
    intervalMs: POLL_INTERVAL_MS,
    sleep: io.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms))),
    onEvent: (_event, found) => {
      steps.push(...found);
      if (!options.json) found.forEach((step) => io.stdout(stepLine(step)));
    },
  });
  const waiting = execution.status === 'RUNNING';
  if (options.json) printJson(io, { ...options.report, status: execution.status, steps, execution: executionDocument(execution) });
  else io.stdout(waiting ? options.waiting : outcomeText(execution));
  return succeeded(execution) || waiting ? EXIT.ok : EXIT.failed;
}
