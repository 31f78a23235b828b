/**
 * What is deployed, run: the service packaged once (`serverless package`: the esbuild bundles
 * zipped per function, and the template), and the local stack running those zips, unpacked,
 * on node 22 (the nodejs22.x runtime) in worker processes of their own, instead of the
 * TypeScript sources on the tests' node. A bundling mistake (a missing module, a wrong handler
 * path, code that only loads on another node) fails here, not in production.
 *
 * Nothing is skipped: node 22 is installed from runtimes/node22 if it is missing, and a missing
 * moto, Serverless Framework or node 22 fails the suite.
 */
import { readdirSync, readFileSync, readlinkSync, realpathSync } from 'node:fs';
import { copyFile, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type AddressInfo, type Socket } from 'node:net';
import os from 'node:os';
import zlib from 'node:zlib';
import path from 'node:path';
import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { GetUserCommand, IAMClient } from '@aws-sdk/client-iam';
import { GetExecutionHistoryCommand, SFNClient, StartExecutionCommand, type HistoryEvent } from '@aws-sdk/client-sfn';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { tagValue } from '../../functions/lib/managed-user.ts';
import { TEMPLATE_FILE } from '../../local/packaged/artifacts.ts';
import { ensureNode22, type NodeRuntime } from '../../local/packaged/node22.ts';
import { packageForLocal, type PackageResult } from '../../local/packaged/package.ts';
import { readServerlessYaml } from '../../local/serverless-yaml.ts';
import { iamEventualConsistency, startLocalStack, type LocalStack } from '../../local/stack.ts';
import { PackagedFunctions } from '../../local/packaged/workers.ts';
import { LOCAL_IDENTITY, PROJECT_ROOT } from '../../local/workflow.ts';
import { captureOutput } from '../support/capture.ts';
import { expectNoSecrets } from '../support/secrets.ts';

const hiredEvent = JSON.parse(readFileSync(path.join(PROJECT_ROOT, 'examples/events/employee-hired.json'), 'utf8')) as {
  source: string;
  'detail-type': string;
  detail: unknown;
};
interface Hire {
  employeeId: string;
  firstName: string;
  lastName: string;
  email: string;
  department: string;
  managerEmail?: string;
}
const ADA = hiredEvent.detail as unknown as Hire;
const GRACE: Hire = { employeeId: 'E-1906', firstName: 'Grace', lastName: 'Hopper', email: 'grace.hopper@example.com', department: 'engineering' };

let node: NodeRuntime;
let workDir: string;
let packaged: PackageResult;
let stack: LocalStack;
let aws: { iam: IAMClient; sfn: SFNClient; events: EventBridgeClient };
let output: ReturnType<typeof captureOutput>;
/** The worker processes seen while the stack ran, to prove that none outlives it. */
const workers = new Set<number>();

/** Live child processes of this process that run the packaged-function runtime. */
function runtimeWorkers(): number[] {
  const found: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const cmdline = readFileSync(`/proc/${entry}/cmdline`, 'utf8');
      const ppid = /^PPid:\s+(\d+)$/m.exec(readFileSync(`/proc/${entry}/status`, 'utf8'))?.[1];
      if (cmdline.includes('lambda-runtime.mjs') && Number(ppid) === process.pid) found.push(Number(entry));
    } catch {
      // Gone already.
    }
  }
  return found;
}

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

beforeAll(async () => {
  const started = performance.now();
  node = await ensureNode22((line) => console.log(line));
  workDir = await mkdtemp(path.join(os.tmpdir(), 'deployed-test-'));
  packaged = await packageForLocal({ outDir: path.join(workDir, 'package') });
  const packagedAt = performance.now();
  stack = await startLocalStack({ quiet: true, packaged: { dir: packaged.outDir, node } });
  const client = { endpoint: stack.endpoint, region: stack.region, credentials: { accessKeyId: 'test', secretAccessKey: 'test' } };
  aws = { iam: new IAMClient(client), sfn: new SFNClient(client), events: new EventBridgeClient(client) };
  for (const pid of runtimeWorkers()) workers.add(pid);
  const { functions } = stack;
  console.log(
    [
      `Packaged functions ran on node ${functions.node} (${path.relative(PROJECT_ROOT, functions.nodePath ?? '')}); the tests run on ${process.version}.`,
      `  serverless package: ${packaged.functions.length} zips in ${packaged.seconds.toFixed(1)} s; stack up in ${((performance.now() - packagedAt) / 1000).toFixed(1)} s; ` +
        `${workers.size} worker processes; setup ${((performance.now() - started) / 1000).toFixed(1)} s`,
      ...Object.entries(functions.byFunction ?? {}).map(([key, version]) => `  ${key}: ${version}`),
    ].join('\n'),
  );
});

afterAll(async () => {
  await stack?.stop();
  if (workDir) await rm(workDir, { recursive: true, force: true });
  expect([...workers].filter(alive), 'worker processes left running').toEqual([]);
  expect(runtimeWorkers()).toEqual([]);
});

beforeEach(() => {
  output = captureOutput();
});

afterEach(() => {
  for (const pid of runtimeWorkers()) workers.add(pid);
  output.restore();
});

const arnOf = (key: string) => stack.stateMachines.find((m) => m.key === key)?.arn ?? '';
const mailTo = async (to: string) => (await stack.mail()).filter((m) => m.to.includes(to));
const userNameOf = (hire: Hire) => `${hire.firstName}.${hire.lastName}`.toLowerCase();

async function historyOf(executionArn: string): Promise<HistoryEvent[]> {
  return (await aws.sfn.send(new GetExecutionHistoryCommand({ executionArn, maxResults: 1000 }))).events ?? [];
}
const lambdaFailures = (events: HistoryEvent[]) => events.filter((e) => e.type === 'LambdaFunctionFailed').map((e) => e.lambdaFunctionFailedEventDetails?.error);
/** The log lines written (Powertools' JSON, with the Lambda context), not the metrics. */
const logLines = () => output.records().filter((r) => 'level' in r);
/** The functions whose log lines were written, by deployed name. */
const loggedFunctions = () => new Set(logLines().map((r) => r.function_name));

describe('the packaged service on the local stack (node 22)', () => {
  it('runs every function from its zip on node 22, in processes of their own', () => {
    const keys = Object.keys(readServerlessYaml().functions).sort();
    expect(packaged.functions.map((f) => f.key).sort()).toEqual(keys);
    expect(stack.functions).toMatchObject({ mode: 'packaged', node: expect.stringMatching(/^v22\./) });
    expect(Object.keys(stack.functions.byFunction ?? {}).sort()).toEqual(keys);
    for (const version of Object.values(stack.functions.byFunction ?? {})) expect(version).toMatch(/^v22\./);
    // The processes really are the node 22 binary, not this process's node.
    const node22 = realpathSync(stack.functions.nodePath ?? '');
    expect(node22).not.toBe(realpathSync(process.execPath));
    expect(workers.size).toBeGreaterThanOrEqual(keys.length);
    for (const pid of workers) expect(realpathSync(readlinkSync(`/proc/${pid}/exe`))).toBe(node22);
  });

  it('onboards a hire from an HR event, through IAM settling, with the packaged handlers', async () => {
    stack.faults.add(iamEventualConsistency({ calls: 2 }));
    const bus = stack.stateMachines.find((m) => m.key === 'onboarding')?.routes[0]?.eventBusName;
    const put = await aws.events.send(
      new PutEventsCommand({ Entries: [{ EventBusName: bus, Source: hiredEvent.source, DetailType: hiredEvent['detail-type'], Detail: JSON.stringify(ADA) }] }),
    );
    expect(put.FailedEntryCount).toBe(0);
    const [started] = stack.executions(arnOf('onboarding'));
    const execution = await stack.waitForExecution(started?.executionArn ?? '');
    stack.faults.clear();

    expect(execution).toMatchObject({ status: 'SUCCEEDED' });
    const userName = userNameOf(ADA);
    // The example hire names a manager: the credentials to Ada, and a notice to the manager.
    expect(JSON.parse(execution.output ?? '{}')).toMatchObject({ status: 'ONBOARDED', userName, groups: ['developers'], emailsSent: 2 });
    const history = await historyOf(execution.executionArn);
    // IAM settling: CreateLoginProfile refused twice (the SDK's exception name, from node 22), retried, then created.
    expect(lambdaFailures(history)).toEqual(['NoSuchEntityException', 'NoSuchEntityException']);
    expect(history.filter((e) => e.type === 'LambdaFunctionScheduled').map((e) => e.lambdaFunctionScheduledEventDetails?.resource)).toContain(
      `arn:aws:lambda:${stack.region}:${stack.accountId}:function:iam-onboarding-local-createLoginProfile`,
    );

    const { User: user } = await aws.iam.send(new GetUserCommand({ UserName: userName }));
    expect(tagValue(user?.Tags, 'onboarding:status')).toBe('complete');
    const mail = await mailTo(ADA.email);
    expect(mail).toHaveLength(1);
    expect(mail[0]?.body).toContain(userName);
    expect(mail[0]?.body).toContain('********');
    const notice = await mailTo(ADA.managerEmail ?? '(no manager)');
    expect(notice).toHaveLength(1);
    expect(notice[0]?.subject).toBe('AWS console access for Ada Lovelace is ready');
    expect(notice[0]?.body).toContain(userName);
    expect(notice[0]?.body).not.toContain('********');

    // The log lines come from the workers, with the Lambda context they were given.
    const records = logLines();
    expect(loggedFunctions()).toEqual(
      new Set(['validateHire', 'createUser', 'createLoginProfile', 'sendCredentials', 'markComplete'].map((k) => `iam-onboarding-local-${k}`)),
    );
    for (const record of records) {
      expect(record.function_arn).toBe(`arn:aws:lambda:${stack.region}:${stack.accountId}:function:${String(record.function_name)}`);
      expect(record.function_request_id).toMatch(/^[0-9a-f-]{36}$/);
      expect(record.function_memory_size).toBe('256');
    }
    expectNoSecrets(stack.passwordsSent(), { output: execution.output, history, logs: output.text(), tags: user?.Tags });
  });

  it('ends a failed onboarding with the ops email, the error name carried from the packaged handler', async () => {
    stack.faults.add({ service: 'ses', operation: 'SendEmail', error: 'MessageRejected', count: 1 });
    const { executionArn } = await aws.sfn.send(
      new StartExecutionCommand({ stateMachineArn: arnOf('onboarding'), name: `hire-${GRACE.employeeId}`, input: JSON.stringify(GRACE) }),
    );
    const execution = await stack.waitForExecution(executionArn ?? '');
    stack.faults.clear();

    const userName = userNameOf(GRACE);
    expect(execution).toMatchObject({ status: 'FAILED', error: 'MessageRejected' });
    expect(JSON.parse(execution.cause ?? '{}')).toMatchObject({ errorType: 'MessageRejected', errorMessage: expect.stringContaining('Email address is not verified') });
    const history = await historyOf(execution.executionArn);
    expect(lambdaFailures(history)).toEqual(['MessageRejected']);
    expect(history.filter((e) => e.type?.endsWith('StateEntered')).map((e) => e.stateEnteredEventDetails?.name).slice(-3)).toEqual([
      'RecordFailure',
      'NotifyOps',
      'OnboardingFailed',
    ]);

    expect(await mailTo(GRACE.email)).toHaveLength(0);
    const ops = await mailTo(stack.functionEnv.OPS_EMAIL ?? '');
    expect(ops).toHaveLength(1);
    expect(ops[0]?.subject).toBe(`Onboarding failed for ${userName}: MessageRejected`);
    expect(ops[0]?.body).toContain(execution.executionArn);
    const { User: user } = await aws.iam.send(new GetUserCommand({ UserName: userName }));
    expect(tagValue(user?.Tags, 'onboarding:status')).toBe('failed');
    expect(tagValue(user?.Tags, 'onboarding:failure')).toBe('MessageRejected');
    expect(loggedFunctions()).toContain('iam-onboarding-local-notifyOps');
  });

  it('heals the failed onboarding with the packaged sweep: the password is reset and the credentials arrive', async () => {
    const userName = userNameOf(GRACE);

    // A refused input fails the invocation with the handler's own error name.
    await expect(stack.invoke('reprovisionSweep', { dryRun: 'yes' })).rejects.toMatchObject({
      name: 'InvalidReprovisionRequest',
      message: expect.stringContaining('dryRun'),
    });
    // Lambda's Invoke on the endpoint, as the AWS CLI calls it: a dry run plans the reset.
    const dryRun = await fetch(`${stack.endpoint}/2015-03-31/functions/iam-onboarding-local-reprovisionSweep/invocations`, {
      method: 'POST',
      body: JSON.stringify({ dryRun: true }),
    });
    expect(dryRun.status).toBe(200);
    expect(dryRun.headers.get('x-amz-function-error')).toBeNull();
    expect(((await dryRun.json()) as { users: unknown[] }).users).toContainEqual(
      expect.objectContaining({ userName, action: 'reset-password', outcome: 'planned' }),
    );

    // The schedule's invocation.
    const report = (await stack.invoke('reprovisionSweep', { dryRun: false })) as { users: Array<Record<string, unknown>> };
    await stack.waitForIdle();

    expect(report.users).toContainEqual(
      expect.objectContaining({ userName, action: 'reset-password', reason: 'credentials-not-sent', outcome: 'started' }),
    );
    expect(report.users).toContainEqual(expect.objectContaining({ userName: userNameOf(ADA), action: 'none', reason: 'healthy' }));
    const [reset] = stack.executions(arnOf('reprovision'));
    expect(reset).toMatchObject({ status: 'SUCCEEDED' });
    expect(JSON.parse(reset?.output ?? '{}')).toMatchObject({ status: 'PASSWORD_RESET', userName, emailsSent: 1 });
    const mail = await mailTo(GRACE.email);
    expect(mail).toHaveLength(1);
    expect(mail[0]?.body).toContain('********');
    const { User: user } = await aws.iam.send(new GetUserCommand({ UserName: userName }));
    expect(tagValue(user?.Tags, 'onboarding:status')).toBe('complete');
    expect(tagValue(user?.Tags, 'onboarding:password-resets')).toBe('1');
    expect(loggedFunctions()).toEqual(
      new Set(['reprovisionSweep', 'resetPassword', 'sendCredentials', 'markComplete'].map((k) => `iam-onboarding-local-${k}`)),
    );
    expectNoSecrets(stack.passwordsSent(), { report, logs: output.text(), executions: stack.executions() });
  });
});

describe('a package that would fail on Lambda', () => {
  /** The package's template and zips in a folder of their own, with the template changed by `edit`. */
  async function variant(name: string, edit: (resources: Record<string, { Type: string; Properties: Record<string, unknown> }>) => void): Promise<string> {
    const dir = path.join(workDir, name);
    await mkdir(dir);
    const template = JSON.parse(readFileSync(packaged.templatePath, 'utf8')) as { Resources: Record<string, { Type: string; Properties: Record<string, unknown> }> };
    edit(template.Resources);
    await writeFile(path.join(dir, TEMPLATE_FILE), JSON.stringify(template));
    for (const fn of packaged.functions) await copyFile(fn.zip, path.join(dir, path.basename(fn.zip)));
    return dir;
  }

  it('does not start when a handler cannot be loaded, and says which and why', async () => {
    const dir = await variant('broken-handlers', (resources) => {
      const props = (id: string) => resources[id]?.Properties ?? {};
      props('CreateUserLambdaFunction').Handler = 'functions/create-user/missing.handler';
      props('ValidateHireLambdaFunction').Handler = 'functions/validate-hire/handler.nope';
    });
    const functions = await PackagedFunctions.open({ dir, node });
    try {
      await functions.configure({ identity: LOCAL_IDENTITY, environment: () => ({}) });
      const failure = functions.warm();
      await expect(failure).rejects.toThrow(/createUser \(functions\/create-user\/missing\.handler in createUser\.zip\): Runtime\.ImportModuleError/);
      await expect(failure).rejects.toThrow(/validateHire .*Runtime\.HandlerNotFound: functions\/validate-hire\/handler\.nope is undefined or not exported/);
      await expect(failure).rejects.toThrow(/did not start on node v22\./);
    } finally {
      await functions.stop();
    }
  });

  it("gives the handler Lambda's deadline: middy ends a hung invocation just before the function timeout", async () => {
    const dir = await variant('short-timeout', (resources) => {
      const props = resources.ReprovisionSweepLambdaFunction?.Properties ?? {};
      props.Timeout = 0.5;
    });
    // An endpoint that accepts connections and never answers: the sweep's first IAM call hangs.
    const sockets = new Set<Socket>();
    const blackHole = createServer((socket) => sockets.add(socket));
    await new Promise<void>((resolve) => blackHole.listen(0, '127.0.0.1', resolve));
    const functions = await PackagedFunctions.open({ dir, node });
    try {
      const endpoint = `http://127.0.0.1:${(blackHole.address() as AddressInfo).port}`;
      await functions.configure({ identity: LOCAL_IDENTITY, environment: () => ({ ...stack.clientEnv, ...stack.functionEnv, AWS_ENDPOINT_URL: endpoint }) });
      await functions.warm();
      const started = performance.now();
      // context.getRemainingTimeInMillis() counts down from the template's Timeout (in-process it is a fixed 30 s).
      await expect(functions.invoke('reprovisionSweep', { dryRun: true })).rejects.toMatchObject({ name: 'TimeoutError' });
      expect(performance.now() - started).toBeGreaterThan(400);
    } finally {
      await functions.stop();
      sockets.forEach((socket) => socket.destroy());
      blackHole.close();
    }
  });

  it('ends an invocation past the timeout with Sandbox.Timedout, and one whose runtime exits with Runtime.ExitError', async () => {
    const dir = path.join(workDir, 'synthetic');
    await mkdir(dir);
    // Two functions no middy guards: one blocks its event loop, one exits mid-invocation.
    await writeFile(path.join(dir, 'spin.zip'), zipOf({ 'spin.mjs': 'export const handler = async () => { const end = Date.now() + 10_000; while (Date.now() < end); };' }));
    await writeFile(path.join(dir, 'exit.zip'), zipOf({ 'lib/exit.js': 'exports.handler = (event, context, callback) => { process.exit(3); };' }));
    const lambda = (key: string, handler: string) => ({
      Type: 'AWS::Lambda::Function',
      Properties: { Code: { S3Key: `serverless/x/${key}.zip` }, Handler: handler, Runtime: 'nodejs22.x', Timeout: 0.3, MemorySize: 128 },
    });
    await writeFile(path.join(dir, TEMPLATE_FILE), JSON.stringify({ Resources: { Spin: lambda('spin', 'spin.handler'), Exit: lambda('exit', 'lib/exit.handler') } }));
    const functions = await PackagedFunctions.open({ dir, node });
    try {
      await functions.configure({ identity: LOCAL_IDENTITY, environment: () => ({}) });
      await functions.warm();
      await expect(functions.invoke('spin', {})).rejects.toMatchObject({ name: 'Sandbox.Timedout', message: expect.stringMatching(/Task timed out after 0\.30 seconds$/) });
      // The timed-out environment was discarded: the next invocation gets a new one (and times out again).
      await expect(functions.invoke('spin', {})).rejects.toMatchObject({ name: 'Sandbox.Timedout' });
      await expect(functions.invoke('exit', {})).rejects.toMatchObject({ name: 'Runtime.ExitError', message: expect.stringContaining('exit status 3') });
    } finally {
      await functions.stop();
    }
  });
});

/** A zip of the given files, stored (not compressed), as Lambda accepts it. */
function zipOf(files: Record<string, string>): Buffer {
  const locals: Buffer[] = [];
  const centrals: Buffer[] = [];
  let offset = 0;
  for (const [name, text] of Object.entries(files)) {
    const data = Buffer.from(text);
    const nameBytes = Buffer.from(name);
    const crc = zlib.crc32(data);
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(20, 4);
    local.writeUInt32LE(crc, 14);
    local.writeUInt32LE(data.length, 18);
    local.writeUInt32LE(data.length, 22);
    local.writeUInt16LE(nameBytes.length, 26);
    const central = Buffer.alloc(46);
    central.writeUInt32LE(0x02014b50, 0);
    central.writeUInt16LE(20, 4);
    central.writeUInt16LE(20, 6);
    central.writeUInt32LE(crc, 16);
    central.writeUInt32LE(data.length, 20);
    central.writeUInt32LE(data.length, 24);
    central.writeUInt16LE(nameBytes.length, 28);
    central.writeUInt32LE(offset, 42);
    locals.push(local, nameBytes, data);
    centrals.push(central, nameBytes);
    offset += local.length + nameBytes.length + data.length;
  }
  const directory = Buffer.concat(centrals);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(Object.keys(files).length, 8);
  end.writeUInt16LE(Object.keys(files).length, 10);
  end.writeUInt32LE(directory.length, 12);
  end.writeUInt32LE(offset, 16);
  return Buffer.concat([...locals, directory, end]);
}
