/**
 * The local AWS stack: one loopback endpoint (`AWS_ENDPOINT_URL`) that serves
 *
 * - IAM, SES, KMS, STS (and the SQS/EventBridge parts it needs) from moto, a child process;
 * - Step Functions, running the real definitions from serverless.yml with the real handlers,
 *   in this process, with the environment the deployed functions get for the stage;
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
import { ProcessEnvironment } from './process-env.ts';
import { RequestJournal, type DeliveredMail, type RecordedRequest } from './request-journal.ts';
import { seed, type SeedSummary } from './seed.ts';
import { LOCAL_STAGE, PROJECT_ROOT } from './serverless-yaml.ts';
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
  root?: string;
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
    resources.env.restore();
    active = false;
    throw error;
  }
}

async function assemble(options: LocalStackOptions, resources: Resources): Promise<LocalStack> {
  const log = options.quiet ? () => undefined : (options.log ?? ((line: string) => process.stderr.write(`${line}\n`)));
  const stage = options.stage ?? LOCAL_STAGE;
  const endpoint = await listenOnLoopback(resources.server, options.port);
  const { moto, config } = await startBackends(stage, options.root ?? PROJECT_ROOT, resources.closing);
  resources.moto = moto;
  moto.onUnexpectedExit((code) => log(`local stack: moto exited unexpectedly (code ${code}); AWS calls will fail`));
  for (const skipped of config.skippedEnvironment) {
    log(`local stack: ${skipped} is not applied (all functions share one process and one SDK configuration)`);
  }

  const parts = createParts({ endpoint, moto, config, stage, log, options });
  await provision(parts, resources.env, options.seed !== false);
  // Handlers are imported once the environment is set: the logger reads its level at import.
  for (const machine of config.stateMachines) await parts.engine.addStateMachine(machine);
  for (const rule of options.faults ?? []) parts.faults.add(rule);

  const stack = localStack(parts, resources, options.seed !== false);
  serveRequests(resources, parts, stack);
  log(`local stack: ${endpoint} (moto ${moto.endpoint}, pid ${moto.pid})`);
  return stack;
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
function createParts(given: { endpoint: string; moto: Moto; config: ServiceConfig; stage: string; log: Parts['log']; options: LocalStackOptions }): Parts {
  const { endpoint, moto, config, log, options } = given;
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
  };
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
