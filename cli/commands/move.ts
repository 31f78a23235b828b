import { StartExecutionCommand } from '@aws-sdk/client-sfn';
import { Option, type Command } from 'commander';
import { parseChange } from '../../functions/lib/employee-change.ts';
import { InvalidHrEvent } from '../../functions/lib/errors.ts';
import { isPlainExecutionName, MAX_EXECUTION_NAME_LENGTH, stableExecutionName } from '../../functions/lib/execution-name.ts';
import { liveView } from '../live-view.ts';
import { EXIT, printJson, UsageError, type CommandContext, type Io } from '../output.ts';
import { MOVE, withCommonOptions, withSession, type TargetOptions } from '../target.ts';

// The change's fields and the flags that set them (commander names options after the flag).
const CHANGE_FLAGS = {
  employeeId: '--employee-id',
  userName: '--user-name',
  department: '--department',
  groups: '--groups',
} as const;
type ChangeField = keyof typeof CHANGE_FLAGS;

interface MoveOptions extends TargetOptions, Partial<Record<ChangeField, string>> {
  name?: string;
  wait?: boolean;
}

export function register(program: Command, ctx: CommandContext): void {
  const command = program
    .command('move')
    .description('move an employee\'s user to the groups of a new department (or to new groups), as an "employee changed" event does')
    .requiredOption(`${CHANGE_FLAGS.employeeId} <id>`, 'employee id (the onboarding:employee-id tag)')
    .option(`${CHANGE_FLAGS.userName} <name>`, 'the IAM user (default: looked up by employee id)')
    .addOption(new Option(`${CHANGE_FLAGS.department} <name>`, 'new department: its groups in the stage\'s departmentGroups').conflicts('groups'))
    .option(`${CHANGE_FLAGS.groups} <a,b>`, 'new groups, comma-separated')
    .option('--name <name>', 'execution name (default: move-<employee id>-<time>)')
    .option('--wait', 'follow the execution until it ends; exit 1 if it fails');
  withCommonOptions(command, MOVE).action(async (options: MoveOptions) => ctx.exit(await move(ctx.io, options)));
}

/** The execution input, checked exactly as the move's first state will check it (the department's groups are the stage's). */
function changeInput(options: MoveOptions): Record<string, unknown> {
  const given = (Object.keys(CHANGE_FLAGS) as ChangeField[]).filter((field) => options[field] !== undefined);
  const input = Object.fromEntries(
    given.map((field) => [field, field === 'groups' ? (options.groups ?? '').split(',').map((g) => g.trim()).filter(Boolean) : options[field]]),
  );
  try {
    parseChange(input, {});
  } catch (error) {
    if (!(error instanceof InvalidHrEvent)) throw error;
    // Name the flag next to the field it sets (`groups (--groups).0`), as `start` does.
    throw new UsageError(error.withFieldsRenamed(withFlag).message);
  }
  return input;
}

function withFlag(field: string): string {
  const [head = field, ...rest] = field.split('.');
  if (!Object.hasOwn(CHANGE_FLAGS, head)) return field;
  return [`${head} (${CHANGE_FLAGS[head as ChangeField]})`, ...rest].join('.');
}

async function move(io: Io, options: MoveOptions): Promise<number> {
  return withSession(
    io,
    options,
    async (session) => {
      const input = changeInput(options);
      if (options.name !== undefined && !isPlainExecutionName(options.name)) {
        throw new UsageError(`--name: "${options.name}" must be 1-${MAX_EXECUTION_NAME_LENGTH} characters of letters, digits, "-" and "_"`);
      }
      // Every move is a change of its own (a repeated one changes nothing): named by its time.
      const stamp = new Date().toISOString().replace(/[-:.]/g, '').slice(0, 18);
      const name = options.name ?? stableExecutionName('move', String(input.employeeId), { suffix: stamp });
      const stateMachineArn = await session.stateMachineArn();
      const sfn = await session.sfn(stateMachineArn);
      const { executionArn = '' } = await sfn.send(new StartExecutionCommand({ stateMachineArn, name, input: JSON.stringify(input) }));
      const report = { started: true, name, executionArn, stateMachineArn };
      if (!options.json) io.stdout(`Started ${name}\n  ${executionArn}\n`);
      if (!options.wait) {
        if (options.json) printJson(io, { ...report, status: 'RUNNING' });
        return EXIT.ok;
      }

      return liveView(io, sfn, executionArn, { json: options.json, report, waiting: 'The execution waits and goes on by itself.\n' });
    },
    MOVE,
  );
}
