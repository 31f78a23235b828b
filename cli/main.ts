/**
 * The `onboarding` CLI: start, follow and inspect onboarding executions by hand.
 * `run` is the whole program; bin/onboarding.js only connects it to the process.
 */
import { Command, CommanderError } from 'commander';
import { register as confirmOffboarding } from './commands/confirm-offboarding.ts';
import { register as history } from './commands/history.ts';
import { register as list } from './commands/list.ts';
import { register as offboard } from './commands/offboard.ts';
import { register as move } from './commands/move.ts';
import { register as reprovision } from './commands/reprovision.ts';
import { register as runbook } from './commands/runbook.ts';
import { register as start } from './commands/start.ts';
import { register as status } from './commands/status.ts';
import { EXIT, oneLine, type CommandContext, type Io } from './output.ts';

/** Every command: one file under cli/commands/ each, registered here. */
const COMMANDS: Array<(program: Command, ctx: CommandContext) => void> = [start, status, list, history, reprovision, offboard, confirmOffboarding, move, runbook];

function program(ctx: CommandContext): Command {
  const cli = new Command('onboarding')
    .description('Start and follow IAM onboarding executions (the onboarding state machine)')
    .exitOverride()
    .configureOutput({
      writeOut: ctx.io.stdout,
      writeErr: ctx.io.stderr,
      // Commander puts its "(Did you mean ...?)" on a line of its own: one error, one line.
      outputError: (message, write) =>
        write(`onboarding: ${oneLine(message.replace(/^error: /, '').trimEnd().replace(/\n(?=\(Did you mean )/, ' '))} (see --help)\n`),
    })
    .showSuggestionAfterError()
    .addHelpText(
      'after',
      '\nExit codes: 0 done; 1 the execution failed, or AWS refused; 2 bad input (nothing was sent to AWS).',
    );
  for (const register of COMMANDS) register(cli, ctx);
  return cli;
}

/** Runs the CLI on `argv` (the arguments after the program name) and returns the exit code. */
export async function run(argv: string[], io: Io): Promise<number> {
  let code: number = EXIT.ok;
  const ctx: CommandContext = { io, exit: (c) => (code = c) };
  try {
    await program(ctx).parseAsync(argv, { from: 'user' });
  } catch (error) {
    if (!(error instanceof CommanderError)) throw error;
    // Help and --version end here with 0; anything commander rejects is bad input.
    return error.exitCode === 0 ? EXIT.ok : EXIT.usage;
  }
  return code;
}
