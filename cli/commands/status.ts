import { DescribeExecutionCommand } from '@aws-sdk/client-sfn';
import { InvalidArgumentError, type Command } from 'commander';
import * as z from 'zod/mini';
import { employeeIdSchema } from '../../functions/lib/hire.ts';
import { iamUserName } from '../../functions/lib/iam-names.ts';
import { SWEEP_DEFAULTS } from '../../functions/lib/sweep-settings.ts';
import { executionDocument } from '../execution-text.ts';
import { ownership, withOwnershipOptions, withSweepOptions, type OwnershipOptions, type SweepOptions } from '../managed-users.ts';
import { EXIT, dataLines, formatDuration, formatTime, keyValues, printJson, UsageError, type CommandContext, type Io } from '../output.ts';
import { personStatus, type Machines, type PersonQuery } from '../person-status.ts';
import { personText } from '../person-text.ts';
import { ABORTED, adviceFor } from '../runbook.ts';
import { OFFBOARDING, REPROVISION, withCommonOptions, withSession, type Session, type StateMachineRef, type TargetOptions } from '../target.ts';

interface StatusOptions extends TargetOptions, OwnershipOptions, SweepOptions {
  employeeId?: string;
  user?: string;
  email?: string;
  // Commander fills these in with the defaults.
  maxUsers: number;
  maxExecutions: number;
}

const DEFAULT_MAX_USERS = 1000;
const DEFAULT_MAX_EXECUTIONS = 100;

function wholeNumber(min: number, max: number) {
  return (value: string): number => {
    const n = /^\d+$/.test(value) ? Number(value) : Number.NaN;
    if (!Number.isInteger(n) || n < min || n > max) throw new InvalidArgumentError(`must be a whole number from ${min} to ${max}`);
    return n;
  };
}

/** A flag's value checked with a project rule, or commander reports it as bad input (exit 2). */
function checked(schema: z.ZodMiniType<string>) {
  return (value: string): string => {
    const result = z.safeParse(schema, value);
    if (!result.success) throw new InvalidArgumentError(result.error.issues[0]?.message ?? 'is not valid');
    return value;
  };
}

export function register(program: Command, ctx: CommandContext): void {
  const command = program
    .command('status')
    .description('what happened to one hire (--employee-id, --user or --email), or one execution (its name or ARN)')
    .argument('[execution]', 'execution name or ARN')
    .option('--employee-id <id>', 'the hire\'s employee id', checked(employeeIdSchema('must be an employee id (1-64 letters, digits and ._:/=+@-)')))
    .option('--user <name>', 'the hire\'s IAM user name', checked(iamUserName('must be an IAM user name')))
    .option('--email <address>', 'the hire\'s email address', checked(z.email('must be an email address').check(z.maxLength(254, 'must be at most 254 characters'))))
    .option('--max-users <n>', 'users read at most, looking for one by employee id or email', wholeNumber(1, 5000), DEFAULT_MAX_USERS)
    .option('--max-executions <n>', 'most recent executions of each state machine looked at (0: none)', wholeNumber(0, 10_000), DEFAULT_MAX_EXECUTIONS);
  withOwnershipOptions(command);
  withSweepOptions(command);
  withCommonOptions(command).action(async (ref: string | undefined, options: StatusOptions) => ctx.exit(await status(ctx.io, ref, options)));
}

async function status(io: Io, ref: string | undefined, options: StatusOptions): Promise<number> {
  return withSession(io, options, async (session) => {
    const asked = [
      ...(ref !== undefined ? ['an execution'] : []),
      ...(['employeeId', 'user', 'email'] as const).filter((key) => options[key] !== undefined).map((key) => ({ employeeId: '--employee-id', user: '--user', email: '--email' })[key]),
    ];
    if (asked.length !== 1) {
      throw new UsageError(
        asked.length === 0
          ? 'whose status? Give an execution (name or ARN), or one of --employee-id, --user, --email'
          : `give one of an execution, --employee-id, --user or --email, not ${asked.join(' and ')}`,
      );
    }
    if (ref !== undefined) return executionStatus(io, session, ref, options);
    const query: PersonQuery = {
      ...(options.employeeId !== undefined && { employeeId: options.employeeId }),
      ...(options.user !== undefined && { userName: options.user }),
      ...(options.email !== undefined && { email: options.email }),
    };
    return person(io, session, query, options);
  });
}

/** Another state machine of the stack the onboarding one came from; unknown with only --state-machine-arn. */
async function siblingArn(session: Session, machine: StateMachineRef): Promise<string | undefined> {
  try {
    return await session.stateMachineArn(machine);
  } catch (error) {
    if (error instanceof UsageError) return undefined;
    throw error;
  }
}

async function person(io: Io, session: Session, query: PersonQuery, options: StatusOptions): Promise<number> {
  const owned = ownership(options);
  const onboarding = await session.stateMachineArn();
  const reprovision = await siblingArn(session, REPROVISION);
  const offboarding = await siblingArn(session, OFFBOARDING);
  const machines: Machines = { onboarding, ...(reprovision && { reprovision }), ...(offboarding && { offboarding }) };
  const clients = { iam: await session.iam(onboarding), sfn: await session.sfn(onboarding) };
  const found = await personStatus(
    clients,
    machines,
    query,
    {
      ownership: owned,
      sweep: {
        unusedPasswordDays: options.unusedPasswordDays,
        maxPasswordResets: options.maxPasswordResets,
        inProgressGraceMinutes: SWEEP_DEFAULTS.inProgressGraceMinutes,
      },
      maxUsers: options.maxUsers,
      maxExecutions: options.maxExecutions,
      now: new Date(),
    },
    (line) => io.stderr(line),
  );
  if (options.json) printJson(io, found);
  else io.stdout(personText(found));
  return EXIT.ok;
}

async function executionStatus(io: Io, session: Session, ref: string, options: TargetOptions): Promise<number> {
  const executionArn = await session.executionArn(ref);
  const sfn = await session.sfn(executionArn);
  const execution = await sfn.send(new DescribeExecutionCommand({ executionArn }));
  const doc = executionDocument(execution);
  if (options.json) {
    printJson(io, doc);
    return EXIT.ok;
  }
  const took = execution.startDate && execution.stopDate ? execution.stopDate.getTime() - execution.startDate.getTime() : undefined;
  io.stdout(
    keyValues([
      ['Execution', doc.name],
      ['ARN', doc.executionArn],
      ['Status', doc.status],
      ['Started', formatTime(doc.startDate)],
      ['Stopped', doc.stopDate && `${formatTime(doc.stopDate)}${took !== undefined ? ` (${formatDuration(took)})` : ''}`],
      ['Error', doc.error],
      ['Cause', doc.cause],
      ['Input', doc.input],
    ]),
  );
  if (doc.output !== undefined) io.stdout(`Output\n${dataLines(doc.output)}`);
  if (doc.status === 'FAILED' || doc.status === 'TIMED_OUT' || doc.status === 'ABORTED') {
    const advice = doc.status === 'ABORTED' && doc.error === undefined ? ABORTED : adviceFor(doc.error);
    io.stdout(`Runbook${doc.error ? ` (${doc.error})` : ''}\n${keyValues([['means', advice.meaning], ['what to do', advice.action]], '  ')}`);
  }
  return EXIT.ok;
}
