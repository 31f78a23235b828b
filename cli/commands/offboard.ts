import { DescribeExecutionCommand, StartExecutionCommand } from '@aws-sdk/client-sfn';
import type { Command } from 'commander';
import { InvalidHrEvent } from '../../functions/lib/errors.ts';
import { isPlainExecutionName, MAX_EXECUTION_NAME_LENGTH, stableExecutionName } from '../../functions/lib/execution-name.ts';
import { parseTermination } from '../../functions/lib/termination.ts';
import { executionArnFor } from '../execution-rules.ts';
import { liveView } from '../live-view.ts';
import { EXIT, formatTime, printJson, UsageError, type CommandContext, type Io } from '../output.ts';
import { OFFBOARDING, withCommonOptions, withSession, type TargetOptions } from '../target.ts';

interface OffboardOptions extends TargetOptions {
  employeeId?: string;
  userName?: string;
  lastDay?: string;
  dryRun?: boolean;
  wait?: boolean;
  name?: string;
}

const FLAGS: Record<string, string> = { employeeId: '--employee-id', userName: '--user-name', lastDay: '--last-day', dryRun: '--dry-run' };

export function register(program: Command, ctx: CommandContext): void {
  const command = program
    .command('offboard')
    .description('offboard a leaver by hand (the "employee terminated" event\'s detail): its managed user loses its access and is kept')
    .option(`${FLAGS.employeeId} <id>`, 'employee id (required)')
    .option(`${FLAGS.userName} <name>`, 'IAM user name (default: the managed user tagged with the employee id)')
    .option(`${FLAGS.lastDay} <YYYY-MM-DD>`, 'last day: access goes at its end, in the stage\'s time zone')
    .option(FLAGS.dryRun!, 'find the user and say what would be removed; change nothing (follows the execution)')
    .option('--name <name>', 'execution name, to run it again on purpose (default: offboard-<employee id>)')
    .option('--wait', 'follow the execution until it ends (or waits for the last day); exit 1 if it fails');
  withCommonOptions(command, OFFBOARDING).action(async (options: OffboardOptions) => ctx.exit(await offboard(ctx.io, options)));
}

/** The execution input, validated exactly as the workflow's first state will validate it. */
export function terminationInput(options: OffboardOptions): { employeeId: string; userName?: string; lastDay?: string; dryRun?: true } {
  if (options.employeeId === undefined) throw new UsageError('no leaver given: --employee-id is required');
  const input = {
    employeeId: options.employeeId,
    ...(options.userName !== undefined && { userName: options.userName }),
    ...(options.lastDay !== undefined && { lastDay: options.lastDay }),
    ...(options.dryRun && { dryRun: true as const }),
  };
  try {
    // The shape only: the stage's time zone is the workflow's to apply.
    parseTermination(input, { timeZone: 'UTC' });
  } catch (error) {
    if (!(error instanceof InvalidHrEvent)) throw error;
    throw new UsageError(error.withFieldsRenamed((field) => (FLAGS[field] ? `${field} (${FLAGS[field]})` : field)).message);
  }
  return input;
}

/** `offboard-<employeeId>`; a dry run gets a name of its own each time, so that it never takes the real one. */
export function offboardExecutionName(employeeId: string, dryRun: boolean, now: Date): string {
  if (!dryRun) return stableExecutionName('offboard', employeeId);
  return stableExecutionName('offboard-dry-run', employeeId, { suffix: now.toISOString().replace(/[-:.]/g, '').slice(0, 15) });
}

async function offboard(io: Io, options: OffboardOptions): Promise<number> {
  return withSession(
    io,
    options,
    async (session) => {
      const input = terminationInput(options);
      if (options.name !== undefined && !isPlainExecutionName(options.name)) {
        throw new UsageError(`--name: "${options.name}" must be 1-${MAX_EXECUTION_NAME_LENGTH} characters of letters, digits, "-" and "_"`);
      }
      const name = options.name ?? offboardExecutionName(input.employeeId, input.dryRun === true, new Date());
      const stateMachineArn = await session.stateMachineArn();
      const sfn = await session.sfn(stateMachineArn);
      const executionArn = executionArnFor(stateMachineArn, name);

      let started = true;
      try {
        await sfn.send(new StartExecutionCommand({ stateMachineArn, name, input: JSON.stringify(input) }));
      } catch (error) {
        if ((error as Error).name !== 'ExecutionAlreadyExists') throw error;
        started = false;
      }
      if (!options.json) {
        if (started) io.stdout(`${input.dryRun ? 'Dry run: nothing will be changed. ' : ''}Started ${name}\n  ${executionArn}\n`);
        else {
          const existing = await sfn.send(new DescribeExecutionCommand({ executionArn }));
          io.stdout(`${name} already started: ${existing.status} (started ${formatTime(existing.startDate)})\n  ${executionArn}\n`);
        }
      }
      // A dry run is only worth its answer: it is always followed.
      if (!options.wait && !input.dryRun) {
        if (options.json) printJson(io, { started, name, executionArn, stateMachineArn, status: 'RUNNING' });
        return EXIT.ok;
      }

      const report = { started, name, executionArn, stateMachineArn };
      return liveView(io, sfn, executionArn, { json: options.json, report, waiting: 'The execution waits for the end of the last day and goes on by itself.\n' });
    },
    OFFBOARDING,
  );
}
