/**
 * `npm run local`: the local AWS stack, kept up until Ctrl-C. Prints the endpoint and commands
 * to paste. Started by local/start.ts with an IPC channel, it reports readiness there instead
 * and stops when its parent goes away.
 *
 * `npm run local -- --packaged [dir]` runs what is deployed instead of the TypeScript sources:
 * the service packaged now (`serverless package`, into .home/package) or the package in `dir`,
 * each function's zip unpacked and run on node 22.
 */
import { rm } from 'node:fs/promises';
import path from 'node:path';
import { Command, InvalidArgumentError } from 'commander';
import { removeDiscoveryFile, writeDiscoveryFile } from './discovery.ts';
import { MotoNotInstalled } from './moto.ts';
import { packageForLocal } from './packaged/package.ts';
import { LOCAL_STAGE, PROJECT_ROOT, SERVICE } from './serverless-yaml.ts';
import { iamEventualConsistency, startLocalStack, type FaultRuleInput, type FunctionsRuntime, type LocalStack } from './stack.ts';

export interface ReadyMessage {
  type: 'ready';
  endpoint: string;
  motoPid: number;
  stateMachines: LocalStack['stateMachines'];
  seeded: LocalStack['seeded'];
  functions: FunctionsRuntime;
}
export interface FailedMessage {
  type: 'failed';
  message: string;
}

function integer(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) throw new InvalidArgumentError('must be a whole number');
  return n;
}

function faultRule(value: string, previous: FaultRuleInput[]): FaultRuleInput[] {
  try {
    return [...previous, JSON.parse(value) as FaultRuleInput];
  } catch {
    throw new InvalidArgumentError('must be a JSON fault rule, e.g. \'{"service":"iam","operation":"CreateUser","error":"Throttling","count":1}\'');
  }
}

const program = new Command('npm run local')
  .description('Run the local AWS stack (moto + the real state machines and handlers) until Ctrl-C')
  .option('--port <port>', 'loopback port (default: a free one)', integer)
  .option('--iam-settle-ms <ms>', 'IAM eventual consistency: CreateLoginProfile answers NoSuchEntity this long after CreateUser', integer)
  .option('--fault <json>', 'a fault rule (repeatable); see POST /_local/faults', faultRule, [] as FaultRuleInput[])
  .option('--quiet', 'no progress lines from the stack')
  .option(
    '--packaged [dir]',
    'run what is deployed: the zips serverless package writes, on node 22 (packaged now into .home/package, or the package in dir)',
  )
  .parse();

// The SDK warns on node 20 about releases a year away; it would bury the banner.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

const options = program.opts<{ port?: number; iamSettleMs?: number; fault: FaultRuleInput[]; quiet?: boolean; packaged?: string | true }>();
const ipc = typeof process.send === 'function';

function banner(stack: LocalStack): string {
  const aws = `aws --endpoint-url ${stack.endpoint}`;
  const onboarding = stack.stateMachines.find((m) => m.routes.length > 0) ?? stack.stateMachines[0];
  const lines = [
    '',
    `Local AWS stack ready: ${stack.endpoint}`,
    `  IAM, SES, KMS, STS from moto (pid ${stack.moto.pid}); Step Functions and EventBridge rules from serverless.yml`,
    ...stack.stateMachines.map((m) => `  state machine ${m.arn}`),
    ...stack.stateMachines.flatMap((m) =>
      m.routes.map((r) => `  rule ${r.ruleName} on bus ${r.eventBusName}: ${JSON.stringify(r.pattern)} -> ${m.name} (input ${r.inputPath ?? '$'})`),
    ),
    stack.functions.mode === 'packaged'
      ? `  functions: the packaged zips in ${stack.functions.packageDir}, on node ${stack.functions.node} (${stack.functions.nodePath})`
      : `  functions: the TypeScript sources, in this process (node ${stack.functions.node})`,
    `  seeded: sender ${stack.seeded.sender ?? '-'} verified, groups ${stack.seeded.groups.join(', ') || '-'}, password policy (min ${stack.seeded.passwordPolicy?.MinimumPasswordLength ?? '-'}, users may not change their own)`,
    '',
    'In another shell:',
    `  export AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test AWS_DEFAULT_REGION=${stack.region}`,
    `  ${aws} events put-events --entries file://examples/events/put-events.json`,
  ];
  if (onboarding) {
    lines.push(
      `  ${aws} stepfunctions list-executions --state-machine-arn ${onboarding.arn}`,
      `  ${aws} stepfunctions describe-execution --execution-arn "$(${aws} stepfunctions list-executions --state-machine-arn ${onboarding.arn} --query 'executions[0].executionArn' --output text)"`,
      `  ${aws} stepfunctions get-execution-history --execution-arn <executionArn>`,
      `  ${aws} stepfunctions start-execution --state-machine-arn ${onboarding.arn} --name E-2001 --input file://examples/inputs/hire.json`,
    );
  }
  lines.push(
    `  ${aws} iam get-user --user-name grace.hopper`,
    `  ${aws} lambda invoke --function-name ${SERVICE}-${LOCAL_STAGE}-reprovisionSweep --payload fileb://<(echo '{"dryRun":true}') /dev/stdout`,
    `  ${aws} iam list-groups-for-user --user-name grace.hopper`,
    `  curl -s ${stack.endpoint}/_local/mail          # mail as delivered, passwords masked`,
    `  curl -s -X POST ${stack.endpoint}/_local/faults -d '{"service":"iam","operation":"CreateLoginProfile","error":"EntityTemporarilyUnmodifiable","afterCreateUserMs":1000}'`,
    '  npx onboarding start --local --input examples/inputs/hire.json --wait',
    '  npx onboarding list --local',
    '  npx onboarding reprovision --local --dry-run',
    `SDKs and the project's tools: AWS_ENDPOINT_URL=${stack.endpoint} with the credentials above.`,
    'Function logs follow. Ctrl-C stops everything.',
    '',
  );
  return lines.join('\n');
}

/** The package to run: the given folder, or the service packaged now into .home/package. */
async function packageToRun(packaged: string | true): Promise<string> {
  if (packaged !== true) return path.resolve(packaged);
  const dir = path.join(PROJECT_ROOT, '.home', 'package');
  await rm(dir, { recursive: true, force: true });
  const log = (line: string) => (options.quiet ? undefined : process.stderr.write(`${line}\n`));
  log('local stack: packaging the service (serverless package) ...');
  const result = await packageForLocal({ outDir: dir });
  log(`local stack: packaged ${result.functions.length} functions into ${path.relative(PROJECT_ROOT, dir)} in ${result.seconds.toFixed(1)} s`);
  return dir;
}

let stack: LocalStack | undefined;
let stopping: Promise<void> | undefined;
function shutdown(code: number): void {
  stopping ??= (async () => {
    if (stack && !ipc) removeDiscoveryFile(PROJECT_ROOT);
    await stack?.stop();
    if (!ipc && !options.quiet) process.stderr.write('Local AWS stack stopped.\n');
    process.exit(code);
  })();
}

process.on('SIGINT', () => shutdown(0));
process.on('SIGTERM', () => shutdown(0));
if (ipc) process.on('disconnect', () => shutdown(0));
process.on('uncaughtException', (error) => {
  process.stderr.write(`local stack crashed: ${error.stack ?? error.message}\n`);
  shutdown(1);
});

try {
  const faults = [...options.fault, ...(options.iamSettleMs ? [iamEventualConsistency({ ms: options.iamSettleMs })] : [])];
  const packaged = options.packaged ? { dir: await packageToRun(options.packaged) } : undefined;
  stack = await startLocalStack({
    faults,
    ...(options.quiet && { quiet: true }),
    ...(options.port !== undefined && { port: options.port }),
    ...(packaged && { packaged }),
  });
  if (ipc) {
    const ready: ReadyMessage = {
      type: 'ready',
      endpoint: stack.endpoint,
      motoPid: stack.moto.pid,
      stateMachines: stack.stateMachines,
      seeded: stack.seeded,
      functions: stack.functions,
    };
    process.send?.(ready);
  } else {
    // The onboarding CLI's --local finds the stack through this file.
    writeDiscoveryFile(stack, PROJECT_ROOT);
    process.stdout.write(`${banner(stack)}\n`);
  }
} catch (error) {
  const message = error instanceof MotoNotInstalled ? error.message : `The local stack did not start: ${(error as Error).message}`;
  process.stderr.write(`${message}\n`);
  if (ipc) process.send?.({ type: 'failed', message } satisfies FailedMessage, () => process.exit(1));
  else process.exit(1);
}
