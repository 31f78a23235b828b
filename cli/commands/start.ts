import { readFile } from 'node:fs/promises';
import { DescribeExecutionCommand, StartExecutionCommand, type DescribeExecutionCommandOutput, type SFNClient } from '@aws-sdk/client-sfn';
import type { Command } from 'commander';
import { InvalidHrEvent } from '../../functions/lib/errors.ts';
import { parseHire } from '../../functions/lib/hire.ts';
import { EXIT, formatTime, printJson, UsageError, type CommandContext, type Io } from '../output.ts';
import { isPlainExecutionName, MAX_EXECUTION_NAME_LENGTH, stableExecutionName } from '../../functions/lib/execution-name.ts';
import { executionArnFor } from '../execution-rules.ts';
import { withCommonOptions, withSession, type TargetOptions } from '../target.ts';
import { executionDocument, outcomeText, succeeded } from '../execution-text.ts';
import { liveView } from '../live-view.ts';

// The hire's fields and the flags that set them (commander names options after the flag).
export const HIRE_FLAGS = {
  employeeId: '--employee-id',
  firstName: '--first-name',
  lastName: '--last-name',
  email: '--email',
  userName: '--user-name',
  groups: '--groups',
  department: '--department',
  managerEmail: '--manager-email',
  startDate: '--start-date',
} as const;
type HireField = keyof typeof HIRE_FLAGS;

interface StartOptions extends TargetOptions, Partial<Record<HireField, string>> {
  input?: string;
  name?: string;
  wait?: boolean;
}

export function register(program: Command, ctx: CommandContext): void {
  const command = program
    .command('start')
    .description('start onboarding a hire (the HR event\'s detail), from a JSON file or from flags')
    .option('--input <file>', 'JSON file with the hire: the "employee hired" event\'s detail')
    .option(`${HIRE_FLAGS.employeeId} <id>`, 'employee id (unique per hire)')
    .option(`${HIRE_FLAGS.firstName} <name>`, 'first name')
    .option(`${HIRE_FLAGS.lastName} <name>`, 'last name')
    .option(`${HIRE_FLAGS.email} <address>`, 'where the credentials are sent')
    .option(`${HIRE_FLAGS.userName} <name>`, 'IAM user name (default: from the email)')
    .option(`${HIRE_FLAGS.groups} <a,b>`, 'IAM groups, comma-separated (default: the department\'s)')
    .option(`${HIRE_FLAGS.department} <name>`, 'department')
    .option(`${HIRE_FLAGS.managerEmail} <address>`, 'manager\'s email')
    .option(`${HIRE_FLAGS.startDate} <YYYY-MM-DD>`, 'first day')
    .option('--name <name>', 'execution name, to start a fresh run on purpose (default: onboard-<employee id>)')
    .option('--wait', 'follow the execution until it ends; exit 1 if it fails');
  withCommonOptions(command).action(async (options: StartOptions) => ctx.exit(await start(ctx.io, options)));
}

/** The execution name for a hire, `onboard-<employeeId>`: starting the same hire twice is refused. */
export function defaultExecutionName(employeeId: string): string {
  return stableExecutionName('onboard', employeeId);
}

/** What `--wait` says when the execution waits for a start date: it goes on by itself. */
function waitingText(name: string, employeeId: string): string {
  return (
    `The execution waits for the start date and goes on by itself (a Wait state: no cost while it waits).\n` +
    `  onboarding status --employee-id ${employeeId}   what the hire has now\n` +
    `  onboarding history ${name}   the steps so far\n`
  );
}

function freshName(name: string, now: Date): string {
  const stamp = now.toISOString().replace(/[-:]/g, '').slice(0, 15);
  return `${name.slice(0, MAX_EXECUTION_NAME_LENGTH - stamp.length - 1)}-${stamp}`;
}

async function readHireFile(file: string): Promise<unknown> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'is a directory' : `cannot be read (${code ?? String(error)})`;
    throw new UsageError(`--input ${file}: ${why}`);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new UsageError(`--input ${file}: not valid JSON (${(error as Error).message})`);
  }
  if (parsed && typeof parsed === 'object' && 'detail' in parsed && 'detail-type' in parsed) {
    throw new UsageError(`--input ${file}: this is a whole EventBridge event; give its "detail" (the hire) instead`);
  }
  return parsed;
}

/** The execution input, validated exactly as the workflow's first state will validate it. */
async function hireInput(options: StartOptions): Promise<{ input: unknown; employeeId: string }> {
  const given = (Object.keys(HIRE_FLAGS) as HireField[]).filter((field) => options[field] !== undefined);
  let input: unknown;
  if (options.input !== undefined) {
    if (given.length > 0) {
      throw new UsageError(`give the hire either with --input or with flags, not both (${given.map((f) => HIRE_FLAGS[f]).join(', ')})`);
    }
    input = await readHireFile(options.input);
  } else if (given.length > 0) {
    input = Object.fromEntries(
      given.map((field) => {
        const value = options[field] as string;
        return [field, field === 'groups' ? value.split(',').map((g) => g.trim()).filter(Boolean) : value];
      }),
    );
  } else {
    throw new UsageError('no hire given: use --input <file>, or --employee-id, --first-name, --last-name and --email');
  }

  try {
    // Department groups are the deployment's setting; the workflow applies them. Here only
    // the shape is checked, so nothing invalid ever reaches Step Functions.
    return { input, employeeId: parseHire(input, {}).employeeId };
  } catch (error) {
    if (!(error instanceof InvalidHrEvent)) throw error;
    if (options.input !== undefined) throw new UsageError(`--input ${options.input}: ${error.message}`);
    // Name the flag next to the field it sets (`groups (--groups).0`).
    throw new UsageError(error.withFieldsRenamed(withFlag).message);
  }
}

function withFlag(field: string): string {
  const [head = field, ...rest] = field.split('.');
  if (!Object.hasOwn(HIRE_FLAGS, head)) return field;
  return [`${head} (${HIRE_FLAGS[head as HireField]})`, ...rest].join('.');
}

async function describeIfExists(sfn: SFNClient, executionArn: string): Promise<DescribeExecutionCommandOutput | undefined> {
  try {
    return await sfn.send(new DescribeExecutionCommand({ executionArn }));
  } catch (error) {
    if ((error as Error).name === 'ExecutionDoesNotExist') return undefined;
    throw error;
  }
}

async function start(io: Io, options: StartOptions): Promise<number> {
  return withSession(io, options, async (session) => {
    const { input, employeeId } = await hireInput(options);
    if (options.name !== undefined && !isPlainExecutionName(options.name)) {
      throw new UsageError(`--name: "${options.name}" must be 1-${MAX_EXECUTION_NAME_LENGTH} characters of letters, digits, "-" and "_"`);
    }
    const name = options.name ?? defaultExecutionName(employeeId);

    const stateMachineArn = await session.stateMachineArn();
    const sfn = await session.sfn(stateMachineArn);
    const executionArn = executionArnFor(stateMachineArn, name);

    // Asked first because Step Functions answers a repeated start of a running execution
    // with the same input as if it had started it.
    let existing = await describeIfExists(sfn, executionArn);
    if (!existing) {
      try {
        await sfn.send(new StartExecutionCommand({ stateMachineArn, name, input: JSON.stringify(input) }));
      } catch (error) {
        if ((error as Error).name !== 'ExecutionAlreadyExists') throw error;
        existing = await sfn.send(new DescribeExecutionCommand({ executionArn }));
      }
    }

    const report = { started: !existing, name, executionArn, stateMachineArn };
    if (!options.json) {
      if (existing) {
        const state = existing.status === 'RUNNING' ? 'already started' : 'already finished';
        io.stdout(`${name} ${state}: ${existing.status} (started ${formatTime(existing.startDate)})\n  ${executionArn}\n`);
      } else {
        io.stdout(`Started ${name}\n  ${executionArn}\n`);
      }
    }

    if (existing && existing.status !== 'RUNNING') {
      const ok = succeeded(existing);
      if (options.json) {
        printJson(io, { ...report, status: existing.status, execution: executionDocument(existing) });
      } else {
        io.stdout(outcomeText(existing));
        if (!ok) io.stdout(`To run it again on purpose: onboarding start ... --name ${freshName(name, new Date())}\n`);
      }
      return ok ? EXIT.ok : EXIT.failed;
    }

    if (!options.wait) {
      if (options.json) printJson(io, { ...report, status: 'RUNNING' });
      return EXIT.ok;
    }

    return liveView(io, sfn, executionArn, { json: options.json, report, waiting: waitingText(name, employeeId) });
  });
}
