/**
 * The local AWS stack: one loopback endpoint (`AWS_ENDPOINT_URL`) that serves
 *
 * - IAM, SES, KMS, STS (and the SQS/EventBridge parts it needs) from moto, a child process;
 * - Step Functions, running the real definitions from serverless.yml with the real handlers,
 *   in this process, with the environment the deployed functions get for the stage; or, with
 *   `packaged`, the zips `serverless package` wrote, on node 22 in processes of their own
 *   (local/packaged/): what Lambda would run;
 * - Lambda's Invoke (`aws lambda invoke`, `stack.invoke`), for functions no state machine
 *   calls, such as the scheduled sweep;
 * - EventBridge PutEvents: moto matches the rules serverless.yml declares, the stack starts
 *   the state machines;
 * - AWS's real faults on any of these, from rules (see faults.ts), set at start or through
 *   `POST /_local/faults`.
 *
 * Dev tooling, never deployed. `startLocalStack()` is the programmatic API (tests, the CLI's
 * local mode); local/serve.ts (`npm run local`) and local/start.ts (`npm start`) use it. This
 * module puts the parts together: process-env.ts, intrinsics.ts, seed.ts, request-journal.ts,
 * admin-api.ts, aws-router.ts, and the Step Functions engine and API.
 */
import http from 'node:http';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { IAMClient } from '@aws-sdk/client-iam';
import { KMSClient } from '@aws-sdk/client-kms';
import { SESClient } from '@aws-sdk/client-ses';
import { SQSClient } from '@aws-sdk/client-sqs';
import { handleAdmin, type AdminTarget } from './admin-api.ts';
import { AwsRouter } from './aws-router.ts';
import { EventRouter } from './eventbridge.ts';
import { ExecutionEngine } from './execution-engine.ts';
import { FaultInjector, type FaultRule, type FaultRuleInput } from './faults.ts';
import type { HistoryEvent } from './history.ts';
import { listen, readBody, send, sendJson } from './http.ts';
import { resolveEnvironment } from './intrinsics.ts';
import { startMoto, type Moto } from './moto.ts';
import type { PackagedFunction } from './packaged/artifacts.ts';
import { ensureNode22, type NodeRuntime } from './packaged/node22.ts';
import { FunctionError, PackagedFunctions } from './packaged/workers.ts';
import { ProcessEnvironment } from './process-env.ts';
import { RequestJournal, type DeliveredMail, type RecordedRequest } from './request-journal.ts';
import { seed, type SeedSummary } from './seed.ts';
import { LOCAL_STAGE, PROJECT_ROOT, readServerlessYaml } from './serverless-yaml.ts';
import { loadServiceConfig, type ServiceConfig } from './service-config.ts';
import { describeExecution, StepFunctionsApi, type ExecutionDescription } from './step-functions.ts';
import { LOCAL_IDENTITY, stateMachineArnFor, type LambdaIdentity } from './workflow.ts';

export { iamEventualConsistency, type FaultRuleInput } from './faults.ts';
export type { ExecutionDescription } from './step-functions.ts';

export interface LocalStackOptions {
  /** Fault rules active from the start (more can be added with `faults.add` or `POST /_local/faults`). */
  faults?: FaultRuleInput[];
  /** No progress lines from the stack itself (the functions' own logs are unaffected). */
  quiet?: boolean;
  /** Where the stack's progress lines go (default: stderr). */
  log?: (line: string) => void;
  /** The serverless.yml stage whose parameters the functions get (default `local`). */
  stage?: string;
  /** Loopback port; default: a free one. */
  port?: number;
  /** Verified sender, the groups the department map names, a password policy (default true). */
  seed?: boolean;
  /** Fixed wait before every Step Functions retry, in ms (default: scaled down from the definition, 50–200 ms). */
  retryIntervalMs?: number;
  /** How long every Wait state waits, in ms (tests); default: until the time the state waits for. */
  waitMs?: number;
  root?: string;
  /**
   * Run what is deployed instead of the TypeScript sources: the functions of the package in
   * `dir` (what `serverless package` wrote: template and zips, see local/packaged/package.ts),
   * unpacked and run on node 22 (default: runtimes/node22, installed if missing), one process
   * per execution environment.
   */
  packaged?: { dir: string; node?: NodeRuntime };
}

/** Where the functions run. */
export interface FunctionsRuntime {
  mode: 'source' | 'packaged';
  /** `process.version` of the processes the handlers run in, as they report it. */
  node: string;
  /** Packaged mode: the node binary, the package's folder, and the version each function's environment reported. */
  nodePath?: string;
  packageDir?: string;
  byFunction?: Record<string, string>;
}

export interface RouteInfo {
  eventBusName: string;
  ruleName: string;
  pattern: Record<string, unknown>;
  inputPath?: string;
  stateMachineArn: string;
}

export interface StateMachineInfo {
  key: string;
  name: string;
  arn: string;
  routes: RouteInfo[];
}

export interface LocalStack {
  endpoint: string;
  region: string;
  accountId: string;
  /** Environment for SDKs and the AWS CLI talking to the stack (dummy credentials). */
  clientEnv: Record<string, string>;
  /** The environment the functions run with (the stage's, intrinsics resolved). */
  functionEnv: Record<string, string>;
  /** Where the functions run: their sources in this process, or the packaged zips on node 22. */
  readonly functions: FunctionsRuntime;
  stateMachines: StateMachineInfo[];
  seeded: SeedSummary;
  moto: { endpoint: string; pid: number };
  faults: {
    add(rules: FaultRuleInput | FaultRuleInput[]): FaultRule[];
    list(): FaultRule[];
    clear(id?: string): number;
  };
  /** AWS calls answered so far, optionally only one service/operation. */
  requests(filter?: { service?: string; operation?: string }): RecordedRequest[];
  /** Every password the functions sent to IAM (CreateLoginProfile, UpdateLoginProfile): for tests that prove where it is not. */
  passwordsSent(): string[];
  /** Mail SES (moto) accepted (SendEmail), passwords masked. */
  mail(): Promise<DeliveredMail[]>;
  executions(stateMachineArn?: string): ExecutionDescription[];
  history(executionArn: string): HistoryEvent[];
  waitForExecution(executionArn: string, timeoutMs?: number): Promise<ExecutionDescription>;
  /** Resolves when no execution is running and no function invocation is in flight. */
  waitForIdle(timeoutMs?: number): Promise<void>;
  /**
   * Invokes a function by its serverless.yml key, as Lambda's Invoke does (the schedule's
   * invocation of the sweep, say): its JSON result, or an error with the function's error
   * `name` and message. Lambda fault rules apply.
   */
  invoke(functionKey: string, payload?: unknown): Promise<unknown>;
  /** Empties moto and the stack (executions, faults, requests), then provisions and seeds again. */
  reset(): Promise<void>;
  stop(): Promise<void>;
}

const CREDENTIALS = { accessKeyId: 'test', secretAccessKey: 'test' };

let active = false;
let previousPort: number | undefined;

function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    promise,
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`Timed out after ${ms} ms waiting for ${what}`)), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}

/** The process-wide resources of a stack, released however it ends. */
interface Resources {
  server: http.Server;
  env: ProcessEnvironment;
  closing: AbortController;
  moto?: Moto;
  packaged?: PackagedFunctions;
  stopped: boolean;
}

/** The stack's parts, once moto runs and the stage's configuration is read. */
interface Parts {
  endpoint: string;
  moto: Moto;
  config: ServiceConfig;
  identity: LambdaIdentity;
  clients: { iam: IAMClient; kms: KMSClient; ses: SESClient; events: EventBridgeClient; sqs: SQSClient };
  faults: FaultInjector;
  engine: ExecutionEngine;
  stepFunctions: StepFunctionsApi;
  rules: EventRouter;
  journal: RequestJournal;
  clientEnv: Record<string, string>;
  functionEnv: Record<string, string>;
  seeded: SeedSummary;
  log: (line: string) => void;
  packaged?: PackagedFunctions;
}

export async function startLocalStack(options: LocalStackOptions = {}): Promise<LocalStack> {
  if (active) throw new Error('A local stack is already running in this process: the functions share one environment');
  active = true;
  const resources: Resources = { server: http.createServer(), env: new ProcessEnvironment(), closing: new AbortController(), stopped: false };
  try {
    return await assemble(options, resources);
  } catch (error) {
    resources.stopped = true;
    resources.closing.abort();
    resources.server.closeAllConnections();
    resources.server.close();
    await resources.moto?.stop();
    await resources.packaged?.stop();
    resources.env.restore();
    active = false;
    throw error;
  }
}

async function assemble(options: LocalStackOptions, resources: Resources): Promise<LocalStack> {
  const log = options.quiet ? () => undefined : (options.log ?? ((line: string) => process.stderr.write(`${line}\n`)));
  const stage = options.stage ?? LOCAL_STAGE;
  const endpoint = await listenOnLoopback(resources.server, options.port);
  // moto, the stage's configuration and the packaged functions (unpacked, node 22 installed) side by side.
  const [backends, packaged] = await Promise.allSettled([
    startBackends(stage, options.root ?? PROJECT_ROOT, resources.closing).then((started) => {
      resources.moto = started.moto;
      return started;
    }),
    options.packaged ? openPackaged(options.packaged, log).then((opened) => (resources.packaged = opened)) : undefined,
  ]);
  if (backends.status === 'rejected') throw backends.reason;
  if (packaged.status === 'rejected') throw packaged.reason;
  const { moto, config } = backends.value;
  moto.onUnexpectedExit((code) => log(`local stack: moto exited unexpectedly (code ${code}); AWS calls will fail`));
  if (!resources.packaged) {
    for (const skipped of config.skippedEnvironment) {
      log(`local stack: ${skipped} is not applied (all functions share one process and one SDK configuration)`);
    }
  }

  const parts = createParts({ endpoint, moto, config, stage, log, options, ...(resources.packaged && { packaged: resources.packaged }) });
  await provision(parts, resources.env, options.seed !== false);
  // Handlers are imported once the environment is set: the logger reads its level at import.
  for (const machine of config.stateMachines) await parts.engine.addStateMachine(machine);
  for (const rule of options.faults ?? []) parts.faults.add(rule);

  const stack = localStack(parts, resources, options.seed !== false);
  serveRequests(resources, parts, stack);
  log(`local stack: ${endpoint} (moto ${moto.endpoint}, pid ${moto.pid})`);
  if (parts.packaged) {
    log(`local stack: the functions run packaged (${parts.packaged.dir}) on node ${stack.functions.node} (${parts.packaged.node.path})`);
  }
  return stack;
}

/** The package unpacked, and node 22 (installed first if it is missing). */
async function openPackaged(packaged: NonNullable<LocalStackOptions['packaged']>, log: (line: string) => void): Promise<PackagedFunctions> {
  const node = packaged.node ?? (await ensureNode22(log));
  return PackagedFunctions.open({ dir: packaged.dir, node });
}

/** Listens on loopback and returns the endpoint. */
async function listenOnLoopback(server: http.Server, port: number | undefined): Promise<string> {
  // The functions' SDK clients keep the endpoint they first used: a stack restarted in the
  // same process takes the same port when it can.
  let bound: number;
  try {
    bound = await listen(server, port ?? previousPort ?? 0);
  } catch (error) {
    if (port !== undefined || previousPort === undefined) throw error;
    bound = await listen(server, 0);
  }
  previousPort = bound;
  return `http://127.0.0.1:${bound}`;
}

/** moto and the stage's configuration: both take seconds, so side by side; if one fails, the other is stopped. */
async function startBackends(stage: string, root: string, closing: AbortController): Promise<{ moto: Moto; config: ServiceConfig }> {
  let moto: Moto | undefined;
  const motoStarting = startMoto().then((started) => (moto = started));
  const configLoading = loadServiceConfig(stage, root, closing.signal);
  try {
    const [started, config] = await Promise.all([motoStarting, configLoading]);
    return { moto: started, config };
  } catch (error) {
    closing.abort();
    await Promise.allSettled([motoStarting, configLoading]);
    await moto?.stop();
    throw error;
  }
}

/** The clients, the fault rules, Step Functions, the rules and the journal, not provisioned yet. */
function createParts(given: {
  endpoint: string;
  moto: Moto;
  config: ServiceConfig;
  stage: string;
  log: Parts['log'];
  options: LocalStackOptions;
  packaged?: PackagedFunctions;
}): Parts {
  const { endpoint, moto, config, log, options, packaged } = given;
  const identity: LambdaIdentity = { ...LOCAL_IDENTITY, region: config.region, namePrefix: `${config.service}-${given.stage}-` };
  const direct = { endpoint: moto.endpoint, region: identity.region, credentials: CREDENTIALS, maxAttempts: 3 };
  const clients = {
    iam: new IAMClient(direct),
    kms: new KMSClient(direct),
    ses: new SESClient(direct),
    events: new EventBridgeClient(direct),
    sqs: new SQSClient(direct),
  };
  const faults = new FaultInjector();
  const engine = new ExecutionEngine({
    identity,
    faults,
    ...(options.retryIntervalMs !== undefined && { retryIntervalMs: options.retryIntervalMs }),
    ...(options.waitMs !== undefined && { waitMs: options.waitMs }),
    ...(packaged && { invoke: (functionKey: string, input: unknown) => packaged.invoke(functionKey, input) }),
  });
  const stepFunctions = new StepFunctionsApi(engine);
  const clientEnv: Record<string, string> = {
    AWS_ENDPOINT_URL: endpoint,
    AWS_REGION: identity.region,
    AWS_DEFAULT_REGION: identity.region,
    AWS_ACCESS_KEY_ID: CREDENTIALS.accessKeyId,
    AWS_SECRET_ACCESS_KEY: CREDENTIALS.secretAccessKey,
  };
  return {
    endpoint,
    moto,
    config,
    log,
    identity,
    clients,
    faults,
    engine,
    stepFunctions,
    rules: new EventRouter({ events: clients.events, sqs: clients.sqs }, stepFunctions),
    journal: new RequestJournal(),
    clientEnv,
    functionEnv: {},
    seeded: { groups: [] },
    ...(packaged && { packaged }),
  };
}

/**
 * A packaged function's environment: the stack's AWS settings, then each variable the template
 * gives the function, with the value the stack resolved for the stage (a plain value the stack
 * did not resolve, such as a function's own AWS_* setting, as the template has it).
 */
function packagedEnvironment(parts: Parts, fn: PackagedFunction): Record<string, string> {
  const env: Record<string, string> = { ...parts.clientEnv };
  for (const [name, value] of Object.entries(fn.environment)) {
    const resolved = parts.functionEnv[name] ?? (typeof value === 'object' || value === undefined ? undefined : String(value));
    if (resolved === undefined) {
      throw new Error(`${fn.key}: the packaged template sets ${name} to ${JSON.stringify(value)}, which the local stack does not resolve for stage ${parts.config.stage}`);
    }
    env[name] = resolved;
  }
  return env;
}

/** Creates what the environment refers to, sets the functions' environment, creates the rules, and seeds. */
async function provision(parts: Parts, env: ProcessEnvironment, seeding: boolean): Promise<void> {
  const { config, identity, clients } = parts;
  const resolved = await resolveEnvironment(config.environment, {
    identity,
    stateMachines: config.stateMachines,
    resources: config.resources,
    kms: clients.kms,
  });
  // One object for the stack's lifetime: `functionEnv` shows the values of the latest reset.
  Object.assign(parts.functionEnv, resolved);
  env.apply(parts.clientEnv, parts.functionEnv);
  await parts.rules.provision(
    config.stateMachines.map((m) => ({ stateMachineArn: stateMachineArnFor(identity, m.name), stateMachineName: m.name, routes: m.routes })),
  );
  if (parts.packaged) {
    // New settings (a reset makes a new KMS key) mean new execution environments, as a deployment would.
    await parts.packaged.configure({ identity, environment: (fn) => packagedEnvironment(parts, fn) });
    await parts.packaged.warm();
  }
  if (seeding) parts.seeded = await seed(clients, parts.functionEnv);
}

function stateMachineInfo(parts: Parts): StateMachineInfo[] {
  const routes = parts.rules.list();
  return parts.config.stateMachines.map((m) => {
    const arn = stateMachineArnFor(parts.identity, m.name);
    return {
      key: m.key,
      name: m.name,
      arn,
      routes: routes
        .filter((r) => r.stateMachineArn === arn)
        .map((r) => ({
          eventBusName: r.eventBusName,
          ruleName: r.ruleName,
          pattern: r.pattern,
          ...(r.inputPath !== undefined && { inputPath: r.inputPath }),
          stateMachineArn: r.stateMachineArn,
        })),
    };
  });
}

/** The programmatic API over the parts. */
function localStack(parts: Parts, resources: Resources, seeding: boolean): LocalStack {
  const { engine, faults, journal, moto } = parts;
  return {
    endpoint: parts.endpoint,
    region: parts.identity.region,
    accountId: parts.identity.accountId,
    clientEnv: parts.clientEnv,
    functionEnv: parts.functionEnv,
    get functions() {
      return functionsRuntime(parts);
    },
    stateMachines: stateMachineInfo(parts),
    get seeded() {
      return parts.seeded;
    },
    moto: { endpoint: moto.endpoint, pid: moto.pid },
    faults: {
      add: (rules) => faults.add(rules),
      list: () => faults.list(),
      clear: (id) => faults.clear(id),
    },
    requests: (filter = {}) => journal.list(filter),
    passwordsSent: () => journal.passwordsSent(),
    mail: async () => journal.mail(),
    executions: (arn) => engine.list().filter((e) => !arn || e.stateMachineArn === arn).map(describeExecution),
    history: (arn) => engine.get(arn)?.history.events.map((e) => ({ ...e })) ?? [],
    waitForExecution: async (arn, timeoutMs = 30_000) => {
      const execution = engine.get(arn);
      if (!execution) throw new Error(`No execution ${arn}`);
      await withTimeout(execution.done, timeoutMs, `execution ${arn}`);
      return describeExecution(execution);
    },
    waitForIdle: (timeoutMs = 30_000) => withTimeout(engine.idle(), timeoutMs, 'running executions and invocations'),
    invoke: async (functionKey, payload = {}) => {
      try {
        return await engine.invoke(functionKey, payload);
      } catch (error) {
        throw asFunctionError(error);
      }
    },
    reset: async () => {
      await engine.clear();
      faults.reset();
      journal.clear();
      await fetch(new URL('/moto-api/reset', moto.endpoint), { method: 'POST' });
      await provision(parts, resources.env, seeding);
    },
    stop: () => stop(parts, resources),
  };
}

function functionsRuntime(parts: Parts): FunctionsRuntime {
  const { packaged } = parts;
  if (!packaged) return { mode: 'source', node: process.version };
  const byFunction = Object.fromEntries([...packaged.versions].sort(([a], [b]) => a.localeCompare(b)));
  const versions = [...new Set(Object.values(byFunction))];
  return {
    mode: 'packaged',
    node: versions.length === 1 ? (versions[0] ?? '') : versions.join(', ') || packaged.node.version,
    nodePath: packaged.node.path,
    packageDir: packaged.dir,
    byFunction,
  };
}

/** A function's failure as the caller of Invoke sees it: its errorType as `name`, its errorMessage. */
function asFunctionError(error: unknown): unknown {
  if (!(error instanceof Error)) return error;
  try {
    const report = JSON.parse(error.message) as { errorType?: unknown; errorMessage?: unknown; trace?: unknown };
    if (typeof report.errorType === 'string' && typeof report.errorMessage === 'string') {
      return new FunctionError(report.errorType, report.errorMessage, Array.isArray(report.trace) ? report.trace.map(String) : []);
    }
  } catch {
    // Not a function's report: a Lambda fault, with its own name and message.
  }
  return error;
}

async function stop(parts: Parts, resources: Resources): Promise<void> {
  if (resources.stopped) return;
  resources.stopped = true;
  resources.closing.abort();
  parts.engine.stopAll('The local stack stopped');
  resources.server.closeAllConnections();
  await new Promise((resolve) => resources.server.close(resolve));
  await parts.moto.stop();
  // In-flight handler calls now fail fast (connection refused); let them settle.
  await withTimeout(parts.engine.idle(), 5_000, 'stopped executions').catch(() => undefined);
  await parts.packaged?.stop();
  Object.values(parts.clients).forEach((client) => client.destroy());
  resources.env.restore();
  active = false;
}

/** Every request: `/_local/` is the admin API, `/moto-api/` goes to moto as it is, the rest are AWS calls. */
function serveRequests(resources: Resources, parts: Parts, stack: LocalStack): void {
  const aws = new AwsRouter({
    motoEndpoint: parts.moto.endpoint,
    faults: parts.faults,
    stepFunctions: parts.stepFunctions,
    rules: parts.rules,
    journal: parts.journal,
    lambda: {
      namePrefix: parts.identity.namePrefix,
      region: parts.identity.region,
      accountId: parts.identity.accountId,
      functionKeys: () => (parts.packaged ? [...parts.packaged.functions.keys()] : Object.keys(readServerlessYaml().functions)),
      invoke: (functionKey, payload) => parts.engine.invoke(functionKey, payload),
    },
    log: parts.log,
    signal: resources.closing.signal,
  });
  const admin: AdminTarget = {
    health: () => ({ ready: true, endpoint: parts.endpoint, moto: parts.moto.endpoint }),
    faults: parts.faults,
    requests: (filter) => stack.requests(filter),
    mail: () => stack.mail(),
    reset: () => stack.reset(),
  };
  resources.server.on('request', (req: http.IncomingMessage, res: http.ServerResponse) => {
    void (async () => {
      const url = new URL(req.url ?? '/', parts.endpoint);
      try {
        const body = await readBody(req);
        if (url.pathname.startsWith('/_local/')) {
          const { status, value } = await handleAdmin(req.method ?? 'GET', url, body, admin);
          return sendJson(res, status, value);
        }
        send(res, url.pathname.startsWith('/moto-api/') ? await aws.forward(req, body) : await aws.handle(req, body, url));
      } catch (error) {
        if (res.headersSent) return res.destroy();
        const { stopped } = resources;
        const message = stopped ? 'The local stack is stopping' : `Local stack error: ${(error as Error).message}`;
        sendJson(res, stopped ? 503 : 500, { __type: stopped ? 'ServiceUnavailable' : 'InternalFailure', message });
      }
    })();
  });
}
