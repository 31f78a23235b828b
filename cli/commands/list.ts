import { paginateListExecutions, type ExecutionListItem, type ExecutionStatus } from '@aws-sdk/client-sfn';
import { InvalidArgumentError, type Command } from 'commander';
import { EXECUTION_STATUSES, isExecutionStatus } from '../execution-rules.ts';
import { EXIT, formatTime, printJson, table, type CommandContext, type Io } from '../output.ts';
import { withCommonOptions, withSession, type TargetOptions } from '../target.ts';

interface ListOptions extends TargetOptions {
  status?: ExecutionStatus;
  limit: number;
}

function parseStatus(value: string): ExecutionStatus {
  const upper = value.toUpperCase();
  if (!isExecutionStatus(upper)) {
    throw new InvalidArgumentError(`must be one of ${EXECUTION_STATUSES.join(', ')}`);
  }
  return upper as ExecutionStatus;
}

function parseLimit(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1 || n > 10_000) throw new InvalidArgumentError('must be a whole number from 1 to 10000');
  return n;
}

export function register(program: Command, ctx: CommandContext): void {
  const command = program
    .command('list')
    .description('list the state machine\'s executions, newest first')
    .option('--status <status>', `only executions in this status (${EXECUTION_STATUSES.join('|')})`, parseStatus)
    .option('--limit <n>', 'at most this many', parseLimit, 50);
  withCommonOptions(command).action(async (options: ListOptions) => ctx.exit(await list(ctx.io, options)));
}

async function list(io: Io, options: ListOptions): Promise<number> {
  return withSession(io, options, async (session) => {
    const stateMachineArn = await session.stateMachineArn();
    const sfn = await session.sfn(stateMachineArn);
    const executions: ExecutionListItem[] = [];
    const pages = paginateListExecutions(
      { client: sfn, pageSize: Math.min(options.limit, 1000) },
      { stateMachineArn, ...(options.status && { statusFilter: options.status }) },
    );
    for await (const page of pages) {
      executions.push(...(page.executions ?? []));
      if (executions.length >= options.limit) break;
    }
    executions.splice(options.limit);

    if (options.json) {
      printJson(io, {
        stateMachineArn,
        executions: executions.map((e) => ({
          name: e.name,
          executionArn: e.executionArn,
          status: e.status,
          startDate: e.startDate,
          stopDate: e.stopDate,
        })),
      });
    } else if (executions.length === 0) {
      io.stdout(`No ${options.status ? `${options.status} ` : ''}executions of ${stateMachineArn}\n`);
    } else {
      io.stdout(
        table(
          ['NAME', 'STATUS', 'STARTED', 'STOPPED'],
          executions.map((e) => [e.name, e.status, formatTime(e.startDate), e.stopDate ? formatTime(e.stopDate) : '-']),
        ),
      );
    }
    return EXIT.ok;
  });
}
