/**
 * The workflow's functions as Lambda runs them, in this process: each function bundled from
 * its sources (esbuild; the AWS SDK left external and shared), and each execution environment a fresh copy
 * of that bundle, with its own module state (SDK clients, caches, configuration). An
 * invocation takes an idle environment or starts a new one (a cold start), so a burst of
 * concurrent invocations gets as many environments as Lambda would give it, and what a warm
 * environment remembers is remembered exactly as long as it would be.
 *
 * Each environment's AWS clients answer through `requestHandler` (testing/in-memory-aws.ts),
 * and every call is attributed to the invocation that made it. Time (overheads, timeouts) is
 * `setTimeout`, so a fake clock drives it. What the burst benchmark runs the handlers with.
 */
import { createRequire } from 'node:module';
import path from 'node:path';
import vm from 'node:vm';
import type { Context } from 'aws-lambda';
import { build } from 'esbuild';
import { lambdaContext, PROJECT_ROOT, readServerlessYaml } from '../local/workflow.ts';
import type { Call, RequestHandler, Service } from './in-memory-aws.ts';

interface Client {
  config: { requestHandler: unknown };
}

/** What one bundle exports: the handler and the one client factory (functions/lib/clients.ts). */
interface BundleExports {
  handler: (event: unknown, context: Context) => Promise<unknown>;
  iamClient: () => Client;
  kmsClient: () => Client;
  sesClient: () => Client;
  sfnClient: () => Client;
}

export interface Invocation {
  functionKey: string;
  /** AWS calls the invocation made, in order. */
  calls: Call[];
  cold: boolean;
  error?: string;
}

interface Environment {
  exports: BundleExports;
  current?: Invocation;
  /** Stopped at its timeout: its calls are refused, as a frozen sandbox makes none. */
  stopped: boolean;
}

export interface LambdaSettings {
  /** Answers the AWS calls of an environment's clients. */
  requestHandler: (service: Service, observe: (call: Call) => void) => RequestHandler;
  /** Time a warm invocation takes besides its own work, in ms (default 0). */
  invokeOverheadMs?: number;
  /** Time a cold start adds, in ms (default 0). */
  coldStartMs?: number;
  /**
   * Concurrent invocations of all functions at most (Lambda's account concurrency); beyond it,
   * and beyond a function's own `reservedConcurrency` in serverless.yml: TooManyRequestsException.
   */
  concurrency?: number;
  /** Hears every invocation once it has ended. */
  onInvocation?: (invocation: Invocation) => void;
}

export interface LambdaStats {
  invocations: number;
  coldStarts: number;
  /** Invocations refused for want of concurrency. */
  throttled: number;
  timedOut: number;
  peakConcurrency: number;
}

function lambdaError(name: string, message: string): Error {
  return Object.assign(new Error(message), { name });
}

const sandboxRequire = createRequire(path.join(PROJECT_ROOT, 'package.json'));

/** Compiles each function once: a factory of fresh module instances. */
async function compile(functionKey: string, handlerPath: string): Promise<() => BundleExports> {
  const dot = handlerPath.lastIndexOf('.');
  const entry = [
    `export { ${handlerPath.slice(dot + 1)} as handler } from './${handlerPath.slice(0, dot)}.ts';`,
    `export { iamClient, kmsClient, sesClient, sfnClient } from './functions/lib/clients.ts';`,
  ].join('\n');
  const result = await build({
    stdin: { contents: entry, resolveDir: PROJECT_ROOT, loader: 'ts', sourcefile: `${functionKey}.ts` },
    bundle: true,
    format: 'cjs',
    platform: 'node',
    target: 'node20',
    // The SDK stays outside (one copy for all environments: it is stateless until a client is
    // made, and clients are made by the bundle); the rest is bundled, as for Lambda.
    external: ['@aws-sdk/*', '@smithy/*', '@aws-crypto/*'],
    write: false,
    logLevel: 'silent',
  });
  const code = result.outputFiles[0]!.text;
  const filename = path.join(PROJECT_ROOT, `.${functionKey}.bundle.cjs`);
  const factory = new vm.Script(`(function (exports, require, module, __filename, __dirname) {${code}\n})`, { filename }).runInThisContext() as (
    ...args: unknown[]
  ) => void;
  return () => {
    const module = { exports: {} as BundleExports };
    factory(module.exports, sandboxRequire, module, filename, PROJECT_ROOT);
    return module.exports;
  };
}

/** A serverless.yml value, with `${param:name}` read from the default params. */
function param(yaml: { params?: { default?: Record<string, unknown> } }, value: number | string | undefined): unknown {
  const name = typeof value === 'string' ? /^\$\{param:(\w+)\}$/.exec(value)?.[1] : undefined;
  return name === undefined ? value : yaml.params?.default?.[name];
}

export class LambdaFunctions {
  readonly stats: LambdaStats = { invocations: 0, coldStarts: 0, throttled: 0, timedOut: 0, peakConcurrency: 0 };
  private running = 0;
  private readonly runningByFunction = new Map<string, number>();
  private readonly idle = new Map<string, Environment[]>();

  private constructor(
    private readonly factories: Map<string, () => BundleExports>,
    private readonly timeouts: Map<string, number>,
    private readonly reserved: Map<string, number>,
    private readonly settings: LambdaSettings,
  ) {}

  /** Bundles the serverless.yml functions `keys`. */
  static async load(keys: string[], settings: LambdaSettings): Promise<LambdaFunctions> {
    const yaml = readServerlessYaml() as ReturnType<typeof readServerlessYaml> & {
      provider?: { timeout?: number };
      functions: Record<string, { handler: string; timeout?: number; reservedConcurrency?: number | string }>;
    };
    const factories = new Map<string, () => BundleExports>();
    const timeouts = new Map<string, number>();
    const reserved = new Map<string, number>();
    for (const key of keys) {
      const fn = yaml.functions[key];
      if (!fn) throw new Error(`serverless.yml declares no function "${key}"`);
      factories.set(key, await compile(key, fn.handler));
      timeouts.set(key, (fn.timeout ?? yaml.provider?.timeout ?? 6) * 1000);
      const concurrency = param(yaml, fn.reservedConcurrency);
      if (concurrency !== undefined) reserved.set(key, Number(concurrency));
    }
    return new LambdaFunctions(factories, timeouts, reserved, settings);
  }

  /** A function's timeout, ms (serverless.yml). */
  timeoutOf(functionKey: string): number {
    const timeout = this.timeouts.get(functionKey);
    if (timeout === undefined) throw new Error(`function "${functionKey}" was not loaded`);
    return timeout;
  }

  private start(functionKey: string): Environment {
    const factory = this.factories.get(functionKey);
    if (!factory) throw new Error(`function "${functionKey}" was not loaded`);
    const environment: Environment = { exports: factory(), stopped: false };
    const observe = (call: Call) => {
      if (environment.stopped) throw lambdaError('SandboxStopped', 'the execution environment was stopped at its timeout');
      environment.current?.calls.push(call);
    };
    const { iamClient, kmsClient, sesClient, sfnClient } = environment.exports;
    iamClient().config.requestHandler = this.settings.requestHandler('iam', observe);
    kmsClient().config.requestHandler = this.settings.requestHandler('kms', observe);
    sesClient().config.requestHandler = this.settings.requestHandler('ses', observe);
    sfnClient().config.requestHandler = this.settings.requestHandler('states', observe);
    return environment;
  }

  /**
   * Invokes `functionKey` as Step Functions would (a synchronous Invoke): the handler's result,
   * or its error with its name; `Lambda.TooManyRequestsException` when concurrency is used up,
   * `States.Timeout`-like `Sandbox.Timedout` when it runs past the function's timeout.
   */
  async invoke(functionKey: string, event: unknown, context?: Partial<Context>): Promise<unknown> {
    const mine = this.runningByFunction.get(functionKey) ?? 0;
    const atAccountLimit = this.settings.concurrency !== undefined && this.running >= this.settings.concurrency;
    if (atAccountLimit || mine >= (this.reserved.get(functionKey) ?? Number.POSITIVE_INFINITY)) {
      this.stats.throttled += 1;
      throw lambdaError('Lambda.TooManyRequestsException', 'Rate Exceeded.');
    }
    this.running += 1;
    this.runningByFunction.set(functionKey, mine + 1);
    this.stats.invocations += 1;
    this.stats.peakConcurrency = Math.max(this.stats.peakConcurrency, this.running);
    const pool = this.idle.get(functionKey) ?? [];
    this.idle.set(functionKey, pool);
    let environment = pool.pop();
    const cold = environment === undefined;
    environment ??= this.start(functionKey);
    if (cold) this.stats.coldStarts += 1;
    const invocation: Invocation = { functionKey, calls: [], cold };
    environment.current = invocation;

    const timeoutMs = this.timeouts.get(functionKey)!;
    const started = Date.now();
    const overhead = (this.settings.invokeOverheadMs ?? 0) + (cold ? (this.settings.coldStartMs ?? 0) : 0);
    let timer: ReturnType<typeof setTimeout> | undefined;
    try {
      if (overhead > 0) await new Promise((resolve) => setTimeout(resolve, overhead));
      const timedOut = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(lambdaError('Sandbox.Timedout', `Task timed out after ${timeoutMs / 1000} seconds`)), Math.max(0, timeoutMs - overhead));
      });
      const ctx: Context = {
        ...lambdaContext(functionKey),
        getRemainingTimeInMillis: () => Math.max(0, timeoutMs - (Date.now() - started)),
        ...context,
      };
      const result = await Promise.race([environment.exports.handler(event, ctx), timedOut]);
      pool.push(environment);
      return result;
    } catch (error) {
      invocation.error = error instanceof Error ? error.name : String(error);
      if (invocation.error === 'Sandbox.Timedout') {
        // The sandbox is gone: whatever the handler still had in flight is cut off.
        environment.stopped = true;
        this.stats.timedOut += 1;
      } else {
        pool.push(environment);
      }
      throw error;
    } finally {
      clearTimeout(timer);
      environment.current = undefined;
      this.running -= 1;
      this.runningByFunction.set(functionKey, (this.runningByFunction.get(functionKey) ?? 1) - 1);
      this.settings.onInvocation?.(invocation);
    }
  }
}
