/**
 * The packaged functions, run as Lambda runs them: each zip `serverless package` wrote,
 * unpacked, executed by lambda-runtime.mjs on node 22 in processes of their own.
 *
 * Each function has its own execution environments (worker processes), with its own
 * environment variables: the stack's AWS settings, the variables the template gives that
 * function (values resolved by the stack), and Lambda's own (`AWS_LAMBDA_FUNCTION_NAME`,
 * `LAMBDA_TASK_ROOT`, `_HANDLER`...). An environment serves one invocation at a time; a
 * concurrent invocation starts another (a cold start), up to {@link MAX_ENVIRONMENTS}.
 * Invocations past the function's timeout end with `Sandbox.Timedout` and the environment is
 * discarded, as Lambda does. Every process is stopped with the stack, and exits by itself if
 * the stack's process goes away (its IPC channel closes).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { functionArnFor, type LambdaIdentity } from '../workflow.ts';
import { readPackage, unpack, type PackagedFunction } from './artifacts.ts';
import type { NodeRuntime } from './node22.ts';

const RUNTIME_SCRIPT = path.join(import.meta.dirname, 'lambda-runtime.mjs');
/** Environments per function at most; further concurrent invocations wait for one. */
export const MAX_ENVIRONMENTS = 10;
const INIT_TIMEOUT_MS = 30_000;
const STOP_GRACE_MS = 2_000;
/**
 * How long after the deadline a result may still arrive: the handler sees the deadline itself
 * (middy answers 5 ms before it), and its answer needs a moment to cross the process boundary,
 * which Lambda's runtime API does not.
 */
const DEADLINE_GRACE_MS = 100;

/** An error a packaged function threw, as Lambda reported it: `name` is its errorType. */
export class FunctionError extends Error {
  constructor(errorType: string, errorMessage: string, trace: string[] = []) {
    super(errorMessage);
    this.name = errorType;
    const frames = trace.filter((line) => /^\s+at /.test(line));
    this.stack = [`${errorType}: ${errorMessage}`, ...frames].join('\n');
  }
}

interface ErrorPayload {
  errorType: string;
  errorMessage: string;
  trace?: string[];
}

type WorkerMessage =
  | { type: 'ready'; node: string; initMs: number }
  | { type: 'init-error'; node: string; error: ErrorPayload }
  | { type: 'log'; stream: 'stdout' | 'stderr'; text: string }
  | { type: 'result'; id: string; payload?: string; error?: ErrorPayload }
  | { type: 'crash'; error: ErrorPayload };

interface Pending {
  id: string;
  resolve: (value: unknown) => void;
  reject: (error: Error) => void;
  timer: NodeJS.Timeout;
}

/** One execution environment: a node 22 process with one function loaded. */
class Environment {
  readonly child: ChildProcess;
  readonly ready: Promise<string>;
  readonly exited: Promise<void>;
  readonly logStream: string;
  busy = false;
  alive = true;
  /** Timed out: killed, and never handed another invocation. */
  discarded = false;
  private pending: Pending | undefined;

  constructor(
    readonly fn: PackagedFunction,
    node: NodeRuntime,
    env: Record<string, string>,
    taskRoot: string,
    private readonly onExit: (environment: Environment) => void,
  ) {
    const today = new Date().toISOString().slice(0, 10).replaceAll('-', '/');
    this.logStream = `${today}/[$LATEST]${randomBytes(16).toString('hex')}`;
    this.child = spawn(node.path, [RUNTIME_SCRIPT], {
      cwd: taskRoot,
      env: { ...env, AWS_LAMBDA_LOG_STREAM_NAME: this.logStream },
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
      serialization: 'json',
    });
    // What escapes the runtime's own forwarding (node's fatal errors) still reaches the terminal.
    this.child.stdout?.on('data', (chunk: Buffer) => process.stdout.write(chunk));
    this.child.stderr?.on('data', (chunk: Buffer) => process.stderr.write(chunk));

    let settle: { resolve: (version: string) => void; reject: (error: Error) => void } | undefined;
    this.ready = new Promise<string>((resolve, reject) => (settle = { resolve, reject }));
    this.ready.catch(() => undefined);
    const initTimer = setTimeout(() => {
      settle?.reject(new Error(`did not initialise within ${INIT_TIMEOUT_MS / 1000} s`));
      this.child.kill('SIGKILL');
    }, INIT_TIMEOUT_MS);

    this.child.on('message', (message: WorkerMessage) => {
      switch (message.type) {
        case 'log':
          (message.stream === 'stderr' ? process.stderr : process.stdout).write(message.text);
          break;
        case 'ready':
          clearTimeout(initTimer);
          settle?.resolve(message.node);
          break;
        case 'init-error':
          clearTimeout(initTimer);
          settle?.reject(new FunctionError(message.error.errorType, message.error.errorMessage, message.error.trace));
          break;
        case 'result':
          this.settle(message);
          break;
        case 'crash':
          process.stderr.write(`local stack: ${fn.key} crashed between invocations: ${message.error.errorType}: ${message.error.errorMessage}\n`);
          break;
      }
    });
    this.exited = new Promise<void>((resolve) => {
      this.child.once('exit', (code, signal) => {
        clearTimeout(initTimer);
        this.alive = false;
        settle?.reject(new Error(`exited during init (${signal ?? `exit code ${code}`})`));
        const pending = this.pending;
        this.pending = undefined;
        if (pending) {
          clearTimeout(pending.timer);
          pending.reject(new FunctionError('Runtime.ExitError', `RequestId: ${pending.id} Error: Runtime exited with error: ${signal ? `signal: ${signal}` : `exit status ${code}`}`));
        }
        this.onExit(this);
        resolve();
      });
    });
    this.child.once('error', (error) => settle?.reject(error));
  }

  private settle(message: Extract<WorkerMessage, { type: 'result' }>): void {
    const pending = this.pending;
    if (!pending || pending.id !== message.id) return;
    this.pending = undefined;
    clearTimeout(pending.timer);
    if (message.error) pending.reject(new FunctionError(message.error.errorType, message.error.errorMessage, message.error.trace));
    else pending.resolve(JSON.parse(message.payload ?? 'null'));
  }

  invoke(event: unknown, identity: LambdaIdentity): Promise<unknown> {
    const { fn } = this;
    const id = randomUUID();
    const functionName = `${identity.namePrefix}${fn.key}`;
    const timeoutMs = fn.timeoutSeconds * 1000;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        if (this.pending?.id !== id) return;
        this.pending = undefined;
        // Lambda discards an environment whose invocation timed out.
        this.discarded = true;
        this.child.kill('SIGKILL');
        reject(new FunctionError('Sandbox.Timedout', `RequestId: ${id} Error: Task timed out after ${fn.timeoutSeconds.toFixed(2)} seconds`));
      }, timeoutMs + DEADLINE_GRACE_MS);
      this.pending = { id, resolve, reject, timer };
      const lost = (error: Error | null) => {
        if (!error || this.pending?.id !== id) return;
        this.pending = undefined;
        clearTimeout(timer);
        reject(new FunctionError('Runtime.ExitError', `RequestId: ${id} Error: the runtime could not be reached: ${error.message}`));
      };
      if (!this.child.connected) return lost(new Error('it has exited'));
      this.child.send({
        type: 'invoke',
        id,
        event: event ?? null,
        context: {
          functionName,
          functionVersion: '$LATEST',
          invokedFunctionArn: functionArnFor(identity, fn.key),
          memoryLimitInMB: String(fn.memoryMb),
          awsRequestId: id,
          logGroupName: `/aws/lambda/${functionName}`,
          logStreamName: this.logStream,
          deadlineMs: Date.now() + timeoutMs,
        },
      }, lost);
    });
  }

  async stop(): Promise<void> {
    if (!this.alive) return;
    // The runtime exits when its channel closes; a process that does not is killed.
    if (this.child.connected) this.child.disconnect();
    else this.child.kill('SIGTERM');
    const timer = setTimeout(() => this.child.kill('SIGKILL'), STOP_GRACE_MS);
    await this.exited;
    clearTimeout(timer);
  }
}

export interface PackagedFunctionsOptions {
  /** The folder `serverless package` wrote (template and zips). */
  dir: string;
  node: NodeRuntime;
}

export interface FunctionSettings {
  /** Names and ARNs: `<namePrefix><key>` in the identity's region and account. */
  identity: LambdaIdentity;
  /** Each function's environment variables, computed by the stack (see stack.ts). */
  environment: (fn: PackagedFunction) => Record<string, string>;
}

export class PackagedFunctions {
  private readonly environments = new Map<string, Set<Environment>>();
  private readonly waiting = new Map<string, Array<{ resolve: (environment: Environment) => void; reject: (error: unknown) => void }>>();
  private settings: { identity: LambdaIdentity; environments: Map<string, Record<string, string>> } | undefined;
  private stopped = false;
  /** `process.version` as each function's environments report it. */
  readonly versions = new Map<string, string>();

  private constructor(
    private readonly options: PackagedFunctionsOptions,
    readonly functions: Map<string, PackagedFunction>,
    private readonly workDir: string,
  ) {
    process.once('exit', this.killAll);
  }

  /** Reads the package and unpacks every zip (Lambda's /var/task, one per function). */
  static async open(options: PackagedFunctionsOptions): Promise<PackagedFunctions> {
    const functions = readPackage(options.dir);
    const workDir = await mkdtemp(path.join(os.tmpdir(), 'local-lambda-'));
    try {
      await Promise.all([...functions.values()].map((fn) => unpack(fn, path.join(workDir, fn.key))));
    } catch (error) {
      await rm(workDir, { recursive: true, force: true });
      throw error;
    }
    return new PackagedFunctions(options, functions, workDir);
  }

  get node(): NodeRuntime {
    return this.options.node;
  }

  get dir(): string {
    return this.options.dir;
  }

  /** What every function runs with from now on: stops the environments of the previous settings. */
  async configure(settings: FunctionSettings): Promise<void> {
    const environments = new Map([...this.functions.values()].map((fn) => [fn.key, settings.environment(fn)]));
    await this.stopEnvironments();
    this.settings = { identity: settings.identity, environments };
  }

  private get identity(): LambdaIdentity {
    if (!this.settings) throw new Error('The packaged functions are not configured');
    return this.settings.identity;
  }

  /** Starts one environment per function and waits until each has loaded its handler; fails with every function that did not. */
  async warm(): Promise<void> {
    const results = await Promise.allSettled(
      [...this.functions.values()].map(async (fn) => {
        const environment = this.spawn(fn);
        try {
          await environment.ready;
        } catch (error) {
          await environment.stop();
          throw new Error(`${fn.key} (${fn.handler} in ${path.basename(fn.zip)}): ${(error as Error).name}: ${(error as Error).message}`, { cause: error });
        }
      }),
    );
    const failed = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected').map((r) => (r.reason as Error).message);
    if (failed.length > 0) {
      throw new Error(`The packaged functions did not start on node ${this.node.version}:\n  ${failed.join('\n  ')}`);
    }
  }

  private spawn(fn: PackagedFunction): Environment {
    const taskRoot = path.join(this.workDir, fn.key);
    const functionName = `${this.identity.namePrefix}${fn.key}`;
    const env: Record<string, string> = {
      PATH: process.env.PATH ?? '/usr/local/bin:/usr/bin:/bin',
      LANG: 'en_US.UTF-8',
      TZ: ':UTC',
      // The SDK reads no developer's ~/.aws: everything comes from the variables below.
      AWS_CONFIG_FILE: path.join(this.workDir, 'no-aws-config'),
      AWS_SHARED_CREDENTIALS_FILE: path.join(this.workDir, 'no-aws-credentials'),
      ...this.settings?.environments.get(fn.key),
      // Lambda's own variables, which a function's configuration cannot override.
      _HANDLER: fn.handler,
      LAMBDA_TASK_ROOT: taskRoot,
      LAMBDA_RUNTIME_DIR: path.dirname(RUNTIME_SCRIPT),
      AWS_EXECUTION_ENV: `AWS_Lambda_${fn.runtime}`,
      AWS_LAMBDA_FUNCTION_NAME: functionName,
      AWS_LAMBDA_FUNCTION_VERSION: '$LATEST',
      AWS_LAMBDA_FUNCTION_MEMORY_SIZE: String(fn.memoryMb),
      AWS_LAMBDA_LOG_GROUP_NAME: `/aws/lambda/${functionName}`,
      AWS_LAMBDA_INITIALIZATION_TYPE: 'on-demand',
    };
    const environment = new Environment(fn, this.options.node, env, taskRoot, (gone) => this.environments.get(fn.key)?.delete(gone));
    let set = this.environments.get(fn.key);
    if (!set) this.environments.set(fn.key, (set = new Set()));
    set.add(environment);
    environment.ready.then((version) => this.versions.set(fn.key, version)).catch(() => undefined);
    return environment;
  }

  /** An idle environment of the function, a new one, or the next one freed. */
  private async acquire(fn: PackagedFunction): Promise<Environment> {
    const set = this.environments.get(fn.key) ?? new Set<Environment>();
    for (const environment of set) {
      if (environment.alive && !environment.discarded && !environment.busy) {
        environment.busy = true;
        // A starting environment may still fail its init; it then fails this invocation.
        await environment.ready;
        return environment;
      }
    }
    if (set.size < MAX_ENVIRONMENTS) {
      const environment = this.spawn(fn);
      environment.busy = true;
      await environment.ready;
      return environment;
    }
    return new Promise((resolve, reject) => {
      const queue = this.waiting.get(fn.key) ?? [];
      queue.push({ resolve, reject });
      this.waiting.set(fn.key, queue);
    });
  }

  /** Hands the environment to the next waiting invocation, or marks it idle. */
  private release(environment: Environment): void {
    const next = this.waiting.get(environment.fn.key)?.shift();
    if (next && environment.alive && !environment.discarded) return next.resolve(environment);
    environment.busy = false;
    if (next) this.acquire(environment.fn).then(next.resolve, next.reject);
  }

  /** Invokes a function as Lambda's Invoke does: its JSON result, or its error as a {@link FunctionError}. */
  async invoke(functionKey: string, event: unknown): Promise<unknown> {
    if (this.stopped) throw new FunctionError('Lambda.ServiceException', 'The local stack is stopping');
    const fn = this.functions.get(functionKey);
    if (!fn) throw new FunctionError('Lambda.ResourceNotFoundException', `Function not found: ${functionKey} is not in ${this.dir}`);
    let environment: Environment;
    try {
      environment = await this.acquire(fn);
    } catch (error) {
      throw new FunctionError('Runtime.InitError', `${fn.key}: ${(error as Error).name}: ${(error as Error).message}`);
    }
    try {
      return await environment.invoke(event, this.identity);
    } finally {
      this.release(environment);
    }
  }

  private async stopEnvironments(): Promise<void> {
    const all = [...this.environments.values()].flatMap((set) => [...set]);
    this.environments.clear();
    await Promise.all(all.map((environment) => environment.stop()));
  }

  private readonly killAll = (): void => {
    for (const set of this.environments.values()) for (const environment of set) if (environment.alive) environment.child.kill('SIGKILL');
  };

  /** Stops every environment and removes the unpacked code. */
  async stop(): Promise<void> {
    this.stopped = true;
    process.removeListener('exit', this.killAll);
    await this.stopEnvironments();
    await rm(this.workDir, { recursive: true, force: true });
  }
}
