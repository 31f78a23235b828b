import type { Command } from 'commander';
import { EXIT, oneLine, printJson, type CommandContext, type Io, type OutputOptions } from '../output.ts';
import { adviceFor, RUN_AGAIN, RUNBOOK, runbookMarkdown } from '../runbook.ts';

interface RunbookOptions extends OutputOptions {
  markdown?: boolean;
}

export function register(program: Command, ctx: CommandContext): void {
  program
    .command('runbook')
    .description('what an error an execution ended with means, and what to do (all of them without a name)')
    .argument('[error]', 'error name, as `status` or `history` shows it (MessageRejected, States.Timeout, ...)')
    .option('--markdown', 'the whole runbook as the markdown table of the README')
    .option('--json', 'print one JSON document for scripts')
    .action((error: string | undefined, options: RunbookOptions) => ctx.exit(runbook(ctx.io, error, options)));
}

function runbook(io: Io, error: string | undefined, options: RunbookOptions): number {
  if (options.markdown) {
    io.stdout(`${runbookMarkdown()}\n`);
    return EXIT.ok;
  }
  if (error === undefined) {
    if (options.json) printJson(io, { runAgain: RUN_AGAIN, errors: RUNBOOK });
    else io.stdout(RUNBOOK.map((entry) => `${entry.name}\n  ${entry.meaning}\n  What to do: ${entry.action}\n`).join('\n'));
    return EXIT.ok;
  }
  const advice = adviceFor(error);
  if (options.json) {
    printJson(io, { name: error, ...advice });
  } else {
    io.stdout(`${oneLine(error)}${advice.known ? '' : ' (not in the runbook)'}\n  ${advice.meaning}\n  What to do: ${advice.action}\n`);
  }
  return advice.known ? EXIT.ok : EXIT.failed;
}
