import { DescribeExecutionCommand, type HistoryEvent } from '@aws-sdk/client-sfn';
import type { Command } from 'commander';
import { EXIT, formatDuration, printJson, table, type CommandContext, type Io } from '../output.ts';
import { withCommonOptions, withSession, type TargetOptions } from '../target.ts';
import { readHistory, StepParser } from '../execution-history.ts';
import { outcomeText, stepLine } from '../execution-text.ts';

interface HistoryOptions extends TargetOptions {
  events?: boolean;
}

export function register(program: Command, ctx: CommandContext): void {
  const command = program
    .command('history')
    .description('show what an execution did: each state, each retry, the outcome')
    .argument('<execution>', 'execution name or ARN')
    .option('--events', 'every history event instead of the steps');
  withCommonOptions(command).action(async (ref: string, options: HistoryOptions) => ctx.exit(await history(ctx.io, ref, options)));
}

function eventRow(event: HistoryEvent, start: number | undefined, state: string): unknown[] {
  const detail = Object.entries(event).find(([key]) => key.endsWith('EventDetails'))?.[1] as { error?: string } | undefined;
  const at = event.timestamp?.getTime();
  return [event.id, at !== undefined && start !== undefined ? `+${formatDuration(at - start)}` : '-', event.type, state || '-', detail?.error];
}

async function history(io: Io, ref: string, options: HistoryOptions): Promise<number> {
  return withSession(io, options, async (session) => {
    const executionArn = await session.executionArn(ref);
    const sfn = await session.sfn(executionArn);
    // State data only for --json, where it is shown (masked); people get the steps.
    const events = await readHistory(sfn, executionArn, { includeData: Boolean(options.json) });
    const steps = new StepParser();
    const states: string[] = [];
    for (const event of events) {
      steps.push(event);
      states.push(steps.stateOf(event));
    }

    if (options.json) {
      printJson(io, { executionArn, steps: steps.steps, events });
      return EXIT.ok;
    }
    if (options.events) {
      const start = events[0]?.timestamp?.getTime();
      io.stdout(table(['ID', 'TIME', 'TYPE', 'STATE', 'ERROR'], events.map((e, i) => eventRow(e, start, states[i] ?? ''))));
      return EXIT.ok;
    }
    io.stdout(`${executionArn}\n`);
    for (const step of steps.steps) io.stdout(stepLine(step));
    io.stdout(outcomeText(await sfn.send(new DescribeExecutionCommand({ executionArn }))));
    return EXIT.ok;
  });
}
