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
 * local mode); local/serve.ts (`npm run local`) and local/start.ts (`npm start`) use it.
 */
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { CreateGroupCommand, EntityAlreadyExistsException, IAMClient, UpdateAccountPasswordPolicyCommand } from '@aws-sdk/client-iam';
import { CreateKeyCommand, KMSClient } from '@aws-sdk/client-kms';
import { SESClient, VerifyEmailIdentityCommand } from '@aws-sdk/client-ses';
import { SQSClient } from '@aws-sdk/client-sqs';
import { resetConfigCache } from '../functions/lib/config.ts';
import { escapeHtml } from '../functions/lib/email.ts';
import { awsError, awsJson, AwsServiceError, errorCodeOf, parseAwsRequest, type AwsRequest, type HttpAnswer } from './aws-protocol.ts';
import { EventRouter, type Route } from './eventbridge.ts';
import { FaultInjector, InvalidFaultRule, type FaultRule, type FaultRuleInput } from './faults.ts';
import type { HistoryEvent } from './history.ts';
import { startMoto, type Moto } from './moto.ts';
import { loadServiceConfig, type CfnValue, type ServiceConfig } from './service-config.ts';
import { StepFunctions, type Execution } from './step-functions.ts';
import { LOCAL_IDENTITY, PROJECT_ROOT, type LambdaIdentity } from './workflow.ts';

export { iamEventualConsistency, type FaultRule, type FaultRuleInput } from './faults.ts';
export { MotoNotInstalled, MOTO_INSTALL_HINT } from './moto.ts';
export type { HistoryEvent } from './history.ts';

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

/** One AWS call the stack answered, with only non-secret parameters. */
export interface RecordedRequest {
  at: number;
  service: string;
  operation: string;
  params: Record<string, string>;
  status: number;
  /** The error code of the answer, if it was an error. */
  error?: string;
  /** Set when a fault rule produced or delayed the answer. */
  faultRuleId?: string;
}

/** An email SES (moto) accepted, every password the stack saw masked. */
export interface DeliveredMail {
  id: string;
  source: string;
  to: string[];
  cc: string[];
  subject: string;
  text?: string;
  html?: string;
  /** The HTML part when there is one, else the text (what moto keeps). */
  body: string;
}

export interface SeedSummary {
  sender?: string;
  groups: string[];
  passwordPolicy?: { MinimumPasswordLength: number; AllowUsersToChangePassword: boolean };
}

/** DescribeExecution's answer (dates in epoch seconds). */
export type ExecutionDescription = Record<string, unknown> & {
  executionArn: string;
  stateMachineArn: string;
  status: string;
  name: string;
  input: string;
  output?: string;
  error?: string;
  cause?: string;
};

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
const SAFE_PARAM =
  /^(UserName|GroupName|Path|PathPrefix|PasswordResetRequired|PolicyArn|Source|Destination\.(To|Cc|Bcc)Addresses\.member\.\d+|Tags\.member\.\d+\.(Key|Value)|TagKeys\.member\.\d+|EmailAddress|KeyId|EncryptionContext|stateMachineArn|executionArn|name|statusFilter|Name|EventBusName)$/;
const SECRET_PARAMS = ['Password', 'NewPassword', 'OldPassword'];
const MASK = '********';

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

async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

function send(res: ServerResponse, answer: HttpAnswer): void {
  res.writeHead(answer.status, { ...answer.headers, 'content-length': Buffer.byteLength(answer.body) });
  res.end(answer.body);
}

function sendJson(res: ServerResponse, status: number, value: unknown): void {
  send(res, { status, headers: { 'content-type': 'application/json' }, body: `${JSON.stringify(value, null, 2)}\n` });
}

async function listen(server: http.Server, port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => {
      server.removeListener('error', reject);
      resolve((server.address() as AddressInfo).port);
    });
  });
}

export async function startLocalStack(options: LocalStackOptions = {}): Promise<LocalStack> {
  if (active) throw new Error('A local stack is already running in this process: the functions share one environment');
  active = true;
  const stage = options.stage ?? 'local';
  const root = options.root ?? PROJECT_ROOT;
  const log = options.quiet ? () => undefined : (options.log ?? ((line: string) => process.stderr.write(`${line}\n`)));

  const server = http.createServer();
  // The functions read process.env: what the stack changes there, it puts back when it stops.
  const savedEnv = new Map<string, string | undefined>();
  const setEnv = (name: string, value: string | undefined) => {
    if (!savedEnv.has(name)) savedEnv.set(name, process.env[name]);
    if (value === undefined) delete process.env[name];
    else process.env[name] = value;
  };
  const restoreEnv = () => {
    for (const [name, value] of savedEnv) setEnv(name, value);
    savedEnv.clear();
    resetConfigCache();
  };
  let moto: Moto | undefined;
  let stopped = false;
  const closing = new AbortController();
  try {
    // The functions' SDK clients keep the endpoint they first used: a stack restarted in the
    // same process takes the same port when it can.
    let port: number;
    try {
      port = await listen(server, options.port ?? previousPort ?? 0);
    } catch (error) {
      if (options.port !== undefined || previousPort === undefined) throw error;
      port = await listen(server, 0);
    }
    previousPort = port;
    const endpoint = `http://127.0.0.1:${port}`;

    // Both take seconds: run them side by side, and stop the other if one fails.
    const motoStarting = startMoto().then((started) => (moto = started));
    const configLoading = loadServiceConfig(stage, root, closing.signal);
    const [, config] = await Promise.all([motoStarting, configLoading]).catch(async (error: unknown) => {
      closing.abort();
      await Promise.allSettled([motoStarting, configLoading]);
      throw error;
    });
    if (!moto) throw new Error('moto did not start');
    moto.onUnexpectedExit((code) => log(`local stack: moto exited unexpectedly (code ${code}); AWS calls will fail`));
    for (const skipped of config.skippedEnvironment) {
      log(`local stack: ${skipped} is not applied (all functions share one process and one SDK configuration)`);
    }

    const identity: LambdaIdentity = {
      ...LOCAL_IDENTITY,
      region: config.region,
      namePrefix: `${config.service}-${stage}-`,
    };
    const direct = { endpoint: moto.endpoint, region: identity.region, credentials: CREDENTIALS, maxAttempts: 3 };
    const clients = {
      iam: new IAMClient(direct),
      kms: new KMSClient(direct),
      ses: new SESClient(direct),
      events: new EventBridgeClient(direct),
      sqs: new SQSClient(direct),
    };

    const faults = new FaultInjector();
    const stepFunctions = new StepFunctions({
      identity,
      faults,
      ...(options.retryIntervalMs !== undefined && { retryIntervalMs: options.retryIntervalMs }),
    });
    const router = new EventRouter({ events: clients.events, sqs: clients.sqs }, stepFunctions);
    let journal: RecordedRequest[] = [];
    let secrets: string[] = [];
    // What was sent, kept here: moto's own store is only readable through a dump of every service.
    let mailbox: DeliveredMail[] = [];
    const stateMachineArn = (name: string) => `arn:aws:states:${identity.region}:${identity.accountId}:stateMachine:${name}`;

    const clientEnv: Record<string, string> = {
      AWS_ENDPOINT_URL: endpoint,
      AWS_REGION: identity.region,
      AWS_DEFAULT_REGION: identity.region,
      AWS_ACCESS_KEY_ID: CREDENTIALS.accessKeyId,
      AWS_SECRET_ACCESS_KEY: CREDENTIALS.secretAccessKey,
    };
    const functionEnv: Record<string, string> = {};
    let seeded: SeedSummary = { groups: [] };


    /** Creates what the environment refers to, sets the functions' environment, and seeds. */
    const provision = async (stateMachines: ServiceConfig['stateMachines']) => {
      const created = new Map<string, { arn: string; id: string }>();
      const resolve = async (name: string, value: CfnValue): Promise<string> => {
        if (typeof value !== 'object') return String(value);
        const [intrinsic, arg] = Object.entries(value)[0] ?? [];
        const [logicalId, attribute] = intrinsic === 'Ref' ? [String(arg), 'Ref'] : intrinsic === 'Fn::GetAtt' ? (arg as [string, string]) : [];
        if (logicalId === 'AWS::Region') return identity.region;
        if (logicalId === 'AWS::AccountId') return identity.accountId;
        if (logicalId === 'AWS::Partition') return 'aws';
        const machine = stateMachines.find((m) => m.logicalId === logicalId);
        if (machine) return attribute === 'Name' ? machine.name : stateMachineArn(machine.name);
        const resource = logicalId ? config.resources[logicalId] : undefined;
        if (resource?.Type === 'AWS::KMS::Key' && logicalId) {
          let key = created.get(logicalId);
          if (!key) {
            const { KeyMetadata } = await clients.kms.send(
              new CreateKeyCommand({ Description: String(resource.Properties?.Description ?? logicalId) }),
            );
            key = { arn: KeyMetadata?.Arn ?? '', id: KeyMetadata?.KeyId ?? '' };
            created.set(logicalId, key);
          }
          return attribute === 'Arn' ? key.arn : key.id;
        }
        throw new Error(`${name}: the local stack cannot resolve ${JSON.stringify(value)}`);
      };

      for (const name of Object.keys(process.env)) if (name.startsWith('AWS_ENDPOINT_URL_')) setEnv(name, undefined);
      for (const name of ['AWS_PROFILE', 'AWS_SESSION_TOKEN']) setEnv(name, undefined);
      for (const [name, value] of Object.entries(clientEnv)) setEnv(name, value);
      for (const [name, value] of Object.entries(config.environment)) {
        functionEnv[name] = await resolve(name, value);
        setEnv(name, functionEnv[name]);
      }
      resetConfigCache();

      await router.provision(
        stateMachines.map((m) => ({ stateMachineArn: stateMachineArn(m.name), stateMachineName: m.name, routes: m.routes })),
      );
      if (options.seed !== false) seeded = await seed(clients, functionEnv);
    };

    await provision(config.stateMachines);
    // Handlers are imported once the environment is set: the logger reads its level at import.
    for (const machine of config.stateMachines) await stepFunctions.addStateMachine(machine);
    for (const rule of options.faults ?? []) faults.add(rule);

    const describe = (execution: Execution) => stepFunctions.describe(execution) as ExecutionDescription;

    const forward = async (req: IncomingMessage, body: Buffer): Promise<HttpAnswer> => {
      const target = new URL(req.url ?? '/', moto?.endpoint);
      const response = await fetch(target, {
        method: req.method ?? 'GET',
        headers: Object.fromEntries(
          Object.entries(req.headers).filter(([k, v]) => typeof v === 'string' && !['connection', 'content-length', 'host', 'transfer-encoding', 'expect', 'keep-alive'].includes(k)),
        ) as Record<string, string>,
        ...(body.length > 0 && { body }),
        signal: closing.signal,
      });
      const headers: Record<string, string> = {};
      response.headers.forEach((value, key) => {
        // fetch has decoded the body; the rest are per connection.
        if (!['connection', 'keep-alive', 'transfer-encoding', 'content-length', 'content-encoding'].includes(key)) headers[key] = value;
      });
      return { status: response.status, headers, body: Buffer.from(await response.arrayBuffer()) };
    };

    const record = (call: AwsRequest, status: number, error: string | undefined, faultRuleId: string | undefined) => {
      const params = Object.fromEntries(Object.entries(call.params).filter(([k]) => SAFE_PARAM.test(k)));
      journal.push({
        at: Date.now(),
        service: call.service,
        operation: call.operation,
        params,
        status,
        ...(error !== undefined && { error }),
        ...(faultRuleId !== undefined && { faultRuleId }),
      });
    };

    const handleAws = async (req: IncomingMessage, res: ServerResponse, body: Buffer, url: URL) => {
      const call = parseAwsRequest(req.headers, url, body);
      if (call.service === 'iam' && ['CreateLoginProfile', 'UpdateLoginProfile', 'ChangePassword'].includes(call.operation)) {
        for (const name of SECRET_PARAMS) if (call.params[name]) secrets.push(call.params[name]);
      }
      // Rules on `lambda` are about the workflow's functions, not the Lambda API.
      const fault = call.service === 'lambda' ? undefined : faults.pick(call);
      if (fault?.delayMs) await sleep(fault.delayMs, undefined, { signal: closing.signal });
      let answer: HttpAnswer;
      if (fault?.error && fault.when === 'before') {
        answer = awsError(call, fault.error);
      } else if (call.service === 'states') {
        try {
          answer = awsJson('states', stepFunctions.handle(call.operation, call.json ?? {}));
        } catch (error) {
          if (!(error instanceof AwsServiceError)) throw error;
          answer = awsError(call, { code: error.code, status: error.status, message: error.message });
        }
        if (fault?.error) answer = awsError(call, fault.error);
      } else {
        const forwarded = await forward(req, body);
        answer = forwarded;
        if (call.service === 'iam' && call.operation === 'CreateUser' && forwarded.status === 200 && call.params.UserName) {
          faults.userCreated(call.params.UserName);
        }
        if (call.service === 'ses' && call.operation === 'SendEmail' && forwarded.status === 200 && !fault?.error) {
          mailbox.push(acceptedMail(call.params, forwarded.body.toString()));
        }
        if (call.service === 'events' && call.operation === 'PutEvents' && forwarded.status === 200) {
          for (const delivery of await router.deliver()) {
            if (delivery.execution) {
              log(`EventBridge: event ${delivery.eventId} matched ${delivery.ruleName} -> started ${delivery.execution.arn}`);
            } else {
              log(`EventBridge: event ${delivery.eventId} matched ${delivery.ruleName} but its target failed: ${delivery.error}`);
            }
          }
        }
        if (fault?.error) answer = awsError(call, fault.error);
      }
      record(call, answer.status, errorCodeOf(answer.status, answer.body.toString()), fault?.rule.id);
      send(res, answer);
    };

    const handleAdmin = async (req: IncomingMessage, res: ServerResponse, body: Buffer, url: URL) => {
      const [, , resource, id] = url.pathname.split('/');
      const method = req.method ?? 'GET';
      if (resource === 'health') return sendJson(res, 200, { ready: true, endpoint, moto: moto?.endpoint });
      if (resource === 'faults') {
        if (method === 'GET') return sendJson(res, 200, { rules: faults.list() });
        if (method === 'DELETE') return sendJson(res, 200, { removed: faults.clear(id) });
        if (method === 'POST') {
          let input: unknown;
          try {
            input = JSON.parse(body.toString('utf8'));
          } catch {
            return sendJson(res, 400, { error: 'InvalidFaultRule', message: 'Invalid fault rule: the body must be JSON' });
          }
          const rules = (input as { rules?: unknown })?.rules ?? input;
          try {
            return sendJson(res, 201, { rules: faults.add(rules) });
          } catch (error) {
            if (error instanceof InvalidFaultRule) return sendJson(res, 400, { error: error.name, message: error.message });
            throw error;
          }
        }
      }
      if (resource === 'requests' && method === 'GET') {
        const service = url.searchParams.get('service') ?? undefined;
        const operation = url.searchParams.get('operation') ?? undefined;
        return sendJson(res, 200, { requests: stack.requests({ ...(service && { service }), ...(operation && { operation }) }) });
      }
      if (resource === 'mail' && method === 'GET') return sendJson(res, 200, { messages: await stack.mail() });
      if (resource === 'reset' && method === 'POST') {
        await stack.reset();
        return sendJson(res, 200, { reset: true });
      }
      return sendJson(res, 404, { error: 'NotFound', message: `No local admin call ${method} ${url.pathname}` });
    };

    server.on('request', (req: IncomingMessage, res: ServerResponse) => {
      void (async () => {
        const url = new URL(req.url ?? '/', endpoint);
        try {
          const body = await readBody(req);
          if (url.pathname.startsWith('/_local/')) return await handleAdmin(req, res, body, url);
          if (url.pathname.startsWith('/moto-api/')) return send(res, await forward(req, body));
          await handleAws(req, res, body, url);
        } catch (error) {
          if (res.headersSent) return res.destroy();
          const message = stopped ? 'The local stack is stopping' : `Local stack error: ${(error as Error).message}`;
          sendJson(res, stopped ? 503 : 500, { __type: stopped ? 'ServiceUnavailable' : 'InternalFailure', message });
        }
      })();
    });

    const routes = router.list();
    const stack: LocalStack = {
      endpoint,
      region: identity.region,
      accountId: identity.accountId,
      clientEnv,
      functionEnv,
      stateMachines: config.stateMachines.map((m) => ({
        key: m.key,
        name: m.name,
        arn: stateMachineArn(m.name),
        routes: routes
          .filter((r: Route) => r.stateMachineArn === stateMachineArn(m.name))
          .map((r) => ({
            eventBusName: r.eventBusName,
            ruleName: r.ruleName,
            pattern: r.pattern,
            ...(r.inputPath !== undefined && { inputPath: r.inputPath }),
            stateMachineArn: r.stateMachineArn,
          })),
      })),
      get seeded() {
        return seeded;
      },
      moto: { endpoint: moto.endpoint, pid: moto.pid },
      faults: {
        add: (rules) => faults.add(rules),
        list: () => faults.list(),
        clear: (id) => faults.clear(id),
      },
      requests: (filter = {}) =>
        journal
          .filter((r) => (!filter.service || r.service === filter.service) && (!filter.operation || r.operation === filter.operation))
          .map((r) => ({ ...r, params: { ...r.params } })),
      passwordsSent: () => [...secrets],
      mail: async () => {
        const mask = (text: string) =>
          secrets.reduce((masked, secret) => masked.split(secret).join(MASK).split(escapeHtml(secret)).join(MASK), text);
        return mailbox.map((m) => ({
          ...m,
          subject: mask(m.subject),
          body: mask(m.body),
          ...(m.text !== undefined && { text: mask(m.text) }),
          ...(m.html !== undefined && { html: mask(m.html) }),
        }));
      },
      executions: (arn) => stepFunctions.list().filter((e) => !arn || e.stateMachineArn === arn).map(describe),
      history: (arn) => stepFunctions.get(arn)?.history.events.map((e) => ({ ...e })) ?? [],
      waitForExecution: async (arn, timeoutMs = 30_000) => {
        const execution = stepFunctions.get(arn);
        if (!execution) throw new Error(`No execution ${arn}`);
        await withTimeout(execution.done, timeoutMs, `execution ${arn}`);
        return describe(execution);
      },
      waitForIdle: (timeoutMs = 30_000) => withTimeout(stepFunctions.idle(), timeoutMs, 'running executions and invocations'),
      reset: async () => {
        await stepFunctions.clear();
        faults.reset();
        journal = [];
        secrets = [];
        mailbox = [];
        await fetch(new URL('/moto-api/reset', moto?.endpoint), { method: 'POST' });
        await provision(config.stateMachines);
      },
      stop: async () => {
        if (stopped) return;
        stopped = true;
        closing.abort();
        for (const e of stepFunctions.list()) if (e.status === 'RUNNING') stepFunctions.stop(e.arn, 'States.Aborted', 'The local stack stopped');
        server.closeAllConnections();
        await new Promise((resolve) => server.close(resolve));
        await moto?.stop();
        // In-flight handler calls now fail fast (connection refused); let them settle.
        await withTimeout(stepFunctions.idle(), 5_000, 'stopped executions').catch(() => undefined);
        Object.values(clients).forEach((client) => client.destroy());
        restoreEnv();
        active = false;
      },
    };

    log(`local stack: ${endpoint} (moto ${moto.endpoint}, pid ${moto.pid})`);
    return stack;
  } catch (error) {
    stopped = true;
    closing.abort();
    server.closeAllConnections();
    server.close();
    await moto?.stop();
    restoreEnv();
    active = false;
    throw error;
  }
}

/** SendEmail's parameters (awsQuery) and moto's answer, as one delivered message. */
function acceptedMail(params: Record<string, string>, answer: string): DeliveredMail {
  const list = (prefix: string) =>
    Object.keys(params)
      .filter((k) => k.startsWith(prefix))
      .sort((a, b) => Number(a.slice(prefix.length)) - Number(b.slice(prefix.length)))
      .map((k) => params[k] ?? '');
  const text = params['Message.Body.Text.Data'];
  const html = params['Message.Body.Html.Data'];
  return {
    id: /<MessageId>([^<]+)<\/MessageId>/.exec(answer)?.[1] ?? '',
    source: params.Source ?? '',
    to: list('Destination.ToAddresses.member.'),
    cc: list('Destination.CcAddresses.member.'),
    subject: params['Message.Subject.Data'] ?? '',
    ...(text !== undefined && { text }),
    ...(html !== undefined && { html }),
    body: html ?? text ?? '',
  };
}

/** What a fresh account needs before the first onboarding: the verified sender, the groups, a password policy. */
async function seed(clients: { iam: IAMClient; ses: SESClient }, env: Record<string, string>): Promise<SeedSummary> {
  const summary: SeedSummary = { groups: [] };
  if (env.SENDER_EMAIL) {
    await clients.ses.send(new VerifyEmailIdentityCommand({ EmailAddress: env.SENDER_EMAIL }));
    summary.sender = env.SENDER_EMAIL;
  }
  let departments: Record<string, string[]> = {};
  try {
    departments = JSON.parse(env.DEPARTMENT_GROUPS || '{}') as Record<string, string[]>;
  } catch {
    // The functions report a malformed map themselves, at cold start.
  }
  for (const group of new Set(Object.values(departments).flat())) {
    try {
      await clients.iam.send(new CreateGroupCommand({ GroupName: group }));
    } catch (error) {
      if (!(error instanceof EntityAlreadyExistsException)) throw error;
    }
    summary.groups.push(group);
  }
  // Users may not change their own password account-wide, so the workflow grants it per user.
  const passwordPolicy = { MinimumPasswordLength: 14, AllowUsersToChangePassword: false };
  await clients.iam.send(
    new UpdateAccountPasswordPolicyCommand({
      ...passwordPolicy,
      RequireUppercaseCharacters: true,
      RequireLowercaseCharacters: true,
      RequireNumbers: true,
      RequireSymbols: true,
    }),
  );
  summary.passwordPolicy = passwordPolicy;
  return summary;
}
