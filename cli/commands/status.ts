import { DescribeExecutionCommand } from '@aws-sdk/client-sfn';
import type { Command } from 'commander';
import { EXIT, dataLines, formatDuration, formatTime, keyValues, printJson, type CommandContext, type Io } from '../output.ts';
import { withCommonOptions, withSession, type TargetOptions } from '../target.ts';
import { executionDocument } from '../execution-text.ts';

export function register(program: Command, ctx: CommandContext): void {
  const command = program
    .command('status')
    .description('show one execution: status, times, error or summary')
    .argument('<execution>', 'execution name or ARN');
  withCommonOptions(command).action(async (ref: string, options: TargetOptions) => ctx.exit(await status(ctx.io, ref, options)));
}

async function status(io: Io, ref: string, options: TargetOptions): Promise<number> {
  return withSession(io, options, async (session) => {
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
    return EXIT.ok;
  });
}
