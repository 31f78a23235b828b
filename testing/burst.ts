/**
 * The burst benchmark's simulation: N hires at once through the real onboarding definition
 * (aws-local-stepfunctions, with the definition's own retry waits, backoff and jitter) and the
 * real handlers (bundled, one module instance per Lambda execution environment:
 * ./lambda-instances.ts), against IAM, SES and KMS in memory behind IAM's token bucket and
 * SES's send rate (./in-memory-aws.ts). Everything waits on a fake clock
 * (@sinonjs/fake-timers): a twenty-minute burst takes seconds to run, and the same seed gives
 * the same figures. The scheduled sweep over thousands of managed users runs the same way
 * (`runSweep`), with Lambda's retries of its asynchronous invocation.
 *
 * Run by `npm run bench:burst` (scripts/bench-burst.ts), and small in the tests.
 */
import FakeTimers from '@sinonjs/fake-timers';
import { applyTestEnv, TEST_ENV } from './lambda-env.ts';
import { InMemoryAws } from './in-memory-aws.ts';
import { LambdaFunctions, type Invocation } from './lambda-instances.ts';
import { inProcessStateMachine, type ExecutionResult } from './state-machine.ts';
import { loadDefinition, readServerlessYaml, taskFunctionKeys } from '../local/workflow.ts';

export interface WorldOptions {
  /** IAM's account-wide rate (calls a second) and bucket size. */
  iamRate: number;
  iamBurst: number;
  /** SES's maximum send rate, emails a second. */
  sesRate: number;
  /** Seeds every random draw of the run: retry jitter (the definition's and the SDK's). */
  seed: number;
  /** Latency of one AWS call, ms (IAM, SES; KMS takes a fifth of it). */
  latencyMs: number;
  /** Lambda: overhead of a warm invocation and extra time of a cold start, ms; concurrent invocations at most. */
  invokeOverheadMs: number;
  coldStartMs: number;
  lambdaConcurrency: number;
}

export const DEFAULT_WORLD: WorldOptions = {
  iamRate: 10,
  iamBurst: 20,
  // SES's starting production quota; the sandbox's is 1.
  sesRate: 14,
  seed: 1,
  latencyMs: 50,
  invokeOverheadMs: 20,
  coldStartMs: 250,
  // Lambda's default account concurrency.
  lambdaConcurrency: 1000,
};

/** A small, fast, seedable PRNG (mulberry32): the run's Math.random. */
function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

// The benchmark's clock starts here, whatever the day.
const EPOCH = Date.parse('2026-01-05T09:00:00.000Z');

const realSetImmediate = globalThis.setImmediate;
const settle = () => new Promise<void>((resolve) => realSetImmediate(resolve));

/**
 * Runs `work` with a fake clock and a seeded Math.random. The clock moves only when nothing
 * else can: every promise settles, then the next timer fires, and so on until `work` ends.
 */
export async function inVirtualTime<T>(seed: number, work: () => Promise<T>): Promise<T> {
  const random = Math.random;
  Math.random = seededRandom(seed);
  const clock = FakeTimers.install({
    now: EPOCH,
    toFake: ['setTimeout', 'clearTimeout', 'setImmediate', 'clearImmediate', 'setInterval', 'clearInterval', 'Date'],
  });
  // Node waits at least 1 ms (a delay below 1, or NaN, is 1); the fake clock would fire a
  // fraction of a millisecond at once, and a loop that waits for time to pass would never end.
  const fakeSetTimeout = globalThis.setTimeout as (callback: (...args: unknown[]) => void, delay: number, ...args: unknown[]) => unknown;
  globalThis.setTimeout = ((callback: (...args: unknown[]) => void, delay?: number, ...args: unknown[]) =>
    fakeSetTimeout(callback, delay !== undefined && delay >= 1 ? delay : 1, ...args)) as unknown as typeof setTimeout;
  try {
    let finished = false;
    const running = work().finally(() => {
      finished = true;
    });
    running.catch(() => undefined);
    while (!finished) {
      await settle();
      if (!finished && clock.countTimers() > 0) clock.next();
    }
    return await running;
  } finally {
    clock.uninstall();
    Math.random = random;
  }
}

/** What each Lambda invocation's IAM calls came to. */
interface CallLedger {
  iamCalls: number;
  iamThrottled: number;
  /** IAM calls in invocations that ended throttled: all of them are made again. */
  iamWasted: number;
}

const THROTTLING = new Set(['Throttling', 'ThrottlingException', 'TooManyRequestsException', 'Lambda.TooManyRequestsException']);

/** One simulated account: AWS in memory and the functions of a state machine in Lambda. */
export async function world(options: WorldOptions, functionKeys: string[]) {
  applyTestEnv();
  Object.assign(process.env, { POWERTOOLS_LOG_LEVEL: 'SILENT', POWERTOOLS_METRICS_DISABLED: 'true', AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' });
  const aws = new InMemoryAws({
    iam: { rate: options.iamRate, burst: options.iamBurst },
    ses: { rate: options.sesRate },
    latencyMs: { iam: options.latencyMs, ses: options.latencyMs, kms: options.latencyMs / 5 },
    groups: ['developers', 'on-call'],
  });
  const ledger: CallLedger = { iamCalls: 0, iamThrottled: 0, iamWasted: 0 };
  const lambdas = await LambdaFunctions.load(functionKeys, {
    requestHandler: (service, observe) => aws.requestHandler(service, observe),
    invokeOverheadMs: options.invokeOverheadMs,
    coldStartMs: options.coldStartMs,
    concurrency: options.lambdaConcurrency,
    onInvocation: (invocation: Invocation) => {
      const iam = invocation.calls.filter((c) => c.service === 'iam');
      ledger.iamCalls += iam.length;
      const throttled = iam.filter((c) => c.error === 'Throttling').length;
      ledger.iamThrottled += throttled;
      ledger.iamWasted += invocation.error && THROTTLING.has(invocation.error) ? iam.length : throttled;
    },
  });
  return { aws, lambdas, ledger };
}

export interface HireInput {
  employeeId: string;
  firstName: string;
  lastName: string;
  email: string;
  department: string;
}

/** Hire `n` of a burst: one group (the department's), like the README's example hire. */
export function burstHire(n: number): HireInput {
  const id = String(n).padStart(5, '0');
  return { employeeId: `E-${id}`, firstName: 'Grace', lastName: `Hopper ${id}`, email: `hire.${id}@example.com`, department: 'engineering' };
}

export interface BurstFigures {
  hires: number;
  onboarded: number;
  failed: number;
  /** Executions that ended otherwise (already provisioned, in progress elsewhere). */
  other: number;
  opsEmails: number;
  credentialsEmails: number;
  /** Hires that got more or fewer than one credentials email. */
  hiresNotEmailedOnce: number;
  failures: Record<string, number>;
  iamCalls: number;
  iamThrottled: number;
  iamWasted: number;
  sesThrottled: number;
  stateTransitions: number;
  lambdaInvocations: number;
  lambdaColdStarts: number;
  lambdaPeakConcurrency: number;
  lambdaThrottled: number;
  makespanMs: number;
  /** Longest and median time from a hire's event to its execution's end. */
  slowestHireMs: number;
  medianHireMs: number;
  /** Per state and retrier: the most retries one execution used, and the retrier's MaxAttempts. */
  retries: RetryUse[];
}

export interface RetryUse {
  state: string;
  /** The retrier's first error name. */
  error: string;
  retries: number;
  mostInOneExecution: number;
  maxAttempts: number;
}

/** How much of each retrier's budget the executions used. */
function retryUse(results: ExecutionResult[]): RetryUse[] {
  const uses = new Map<string, RetryUse>();
  for (const result of results) {
    for (const event of result.events.filter((e) => e.type === 'StateRetried')) {
      const state = (event.state as { name: string }).name;
      const { retrier, attempt } = event.retry as { retrier: { ErrorEquals: string[]; MaxAttempts?: number }; attempt: number };
      const error = retrier.ErrorEquals[0] ?? '';
      const key = `${state} ${error}`;
      const use = uses.get(key) ?? { state, error, retries: 0, mostInOneExecution: 0, maxAttempts: retrier.MaxAttempts ?? 3 };
      use.retries += 1;
      use.mostInOneExecution = Math.max(use.mostInOneExecution, attempt);
      uses.set(key, use);
    }
  }
  return [...uses.values()].sort((a, b) => b.retries - a.retries);
}

/** State transitions as Step Functions bills them: every state entered, and every retry. */
export function transitions(result: ExecutionResult): number {
  return result.events.filter((e) => e.type === 'StateEntered' || e.type === 'StateRetried').length;
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] ?? 0;

/** `hires` onboardings started at the same instant, run to their end. */
export async function runBurst(hires: number, options: WorldOptions = DEFAULT_WORLD): Promise<BurstFigures> {
  const keys = [...new Set(Object.values(taskFunctionKeys(loadDefinition('statemachines/onboarding.asl.yaml'))))];
  const { aws, lambdas, ledger } = await world(options, keys);
  const onboarding = await inProcessStateMachine('onboarding', {
    invoke: (functionKey, input) => lambdas.invoke(functionKey, input),
    retryWaits: 'definition',
    namePrefix: 'burst',
  });

  const { results, makespanMs, durations } = await inVirtualTime(options.seed, async () => {
    const start = Date.now();
    const ends: number[] = [];
    const runs = Array.from({ length: hires }, async (_, i) => {
      const result = await onboarding.run(burstHire(i + 1), `burst-${i + 1}`);
      ends.push(Date.now() - start);
      return result;
    });
    const all = await Promise.all(runs);
    return { results: all, makespanMs: Date.now() - start, durations: ends };
  });

  const output = (r: ExecutionResult) => (r.output ?? {}) as { status?: string };
  const failures: Record<string, number> = {};
  for (const r of results.filter((r) => r.status !== 'SUCCEEDED')) failures[r.error ?? r.status] = (failures[r.error ?? r.status] ?? 0) + 1;
  const toHires = aws.mail.filter((m) => !m.to.includes(TEST_ENV.OPS_EMAIL));
  const perHire = new Map<string, number>();
  for (const m of toHires) for (const to of m.to) perHire.set(to, (perHire.get(to) ?? 0) + 1);
  const hiresNotEmailedOnce = Array.from({ length: hires }, (_, i) => perHire.get(burstHire(i + 1).email) ?? 0).filter((n) => n !== 1).length;

  return {
    hires,
    onboarded: results.filter((r) => r.status === 'SUCCEEDED' && output(r).status === 'ONBOARDED').length,
    failed: results.filter((r) => r.status !== 'SUCCEEDED').length,
    other: results.filter((r) => r.status === 'SUCCEEDED' && output(r).status !== 'ONBOARDED').length,
    opsEmails: aws.mail.filter((m) => m.to.includes(TEST_ENV.OPS_EMAIL)).length,
    credentialsEmails: toHires.length,
    hiresNotEmailedOnce,
    failures,
    ...ledger,
    sesThrottled: aws.calls.filter((c) => c.service === 'ses' && c.error === 'Throttling').length,
    stateTransitions: results.reduce((sum, r) => sum + transitions(r), 0),
    lambdaInvocations: lambdas.stats.invocations,
    lambdaColdStarts: lambdas.stats.coldStarts,
    lambdaPeakConcurrency: lambdas.stats.peakConcurrency,
    lambdaThrottled: lambdas.stats.throttled,
    makespanMs,
    slowestHireMs: Math.max(0, ...durations),
    medianHireMs: median(durations),
    retries: retryUse(results),
  };
}

/**
 * The sweep's users. `fresh`: onboarded over the last 6 days (a burst's), none signed in yet, all
 * complete: the sweep only makes sure of them. `due`: onboarded 8 to 30 days ago and never signed
 * in: every password is due a reset, so the sweep reads everything it can and starts an
 * execution for each: its most expensive day.
 */
export type SweepScenario = 'fresh' | 'due';

export interface SweepInvocation {
  startedAtMs: number;
  durationMs: number;
  error?: string;
  outcomes: Record<string, number>;
}

export interface SweepFigures {
  users: number;
  scenario: SweepScenario;
  /** The sweep function's timeout (serverless.yml), ms. */
  timeoutMs: number;
  /** The schedule's invocation and Lambda's retries of it, in order. */
  invocations: SweepInvocation[];
  /** From the schedule's invocation to the end of the last. */
  elapsedMs: number;
  iamCalls: number;
  iamThrottled: number;
  executionsStarted: number;
  /** Users an execution was started for. */
  usersActedOn: number;
  /** Users no invocation read. */
  usersLeft: number;
}

const SWEEP_ENV = {
  ONBOARDING_STATE_MACHINE_ARN: 'arn:aws:states:us-east-1:123456789012:stateMachine:iam-onboarding-test-onboarding',
  REPROVISION_STATE_MACHINE_ARN: 'arn:aws:states:us-east-1:123456789012:stateMachine:iam-onboarding-test-reprovision',
};

/** Lambda's asynchronous invocation: the schedule's, then two retries of a failed one, 1 and 2 minutes after it failed. */
const ASYNC_RETRY_DELAYS_MS = [60_000, 120_000];

function sweepUser(aws: InMemoryAws, n: number, scenario: SweepScenario): void {
  const id = String(n).padStart(5, '0');
  const day = 86_400_000;
  const created = new Date(Date.now() - (scenario === 'fresh' ? (n % 6) * day + 3_600_000 : (8 + (n % 23)) * day));
  const sent = new Date(created.getTime() + 60_000);
  const tags = new Map(
    Object.entries({
      'onboarding:managed-by': TEST_ENV.MANAGED_BY,
      'onboarding:employee-id': `E-${id}`,
      'onboarding:status': 'complete',
      'onboarding:updated-at': sent.toISOString(),
      'onboarding:credentials-sent-at': sent.toISOString(),
      'onboarding:first-name': 'Grace',
      'onboarding:last-name': `Hopper ${id}`,
      'onboarding:email': `hire.${id}@example.com`,
    }),
  );
  aws.addUser({
    userName: `hire.${id}`,
    path: TEST_ENV.MANAGED_PATH,
    createDate: created,
    tags,
    groups: new Set(['developers']),
    policies: new Set(),
    loginProfile: { createDate: new Date(created.getTime() + 30_000), passwordResetRequired: true },
  });
}

/** Runs `work` with `environment` set in process.env, then puts back what was there. */
async function withEnvironment<T>(environment: Record<string, string>, work: () => Promise<T>): Promise<T> {
  const before = Object.fromEntries(Object.keys(environment).map((key) => [key, process.env[key]]));
  Object.assign(process.env, environment);
  try {
    return await work();
  } finally {
    for (const [key, value] of Object.entries(before)) {
      if (value === undefined) delete process.env[key];
      else process.env[key] = value;
    }
  }
}

/** The sweep function's own environment in serverless.yml (its SDK retry settings among it), where literal. */
function sweepEnvironment(): Record<string, string> {
  const functions = readServerlessYaml().functions as Record<string, { environment?: Record<string, unknown> }>;
  const declared = Object.entries(functions.reprovisionSweep?.environment ?? {});
  const literal = declared.filter(([, value]) => (typeof value === 'string' || typeof value === 'number') && !String(value).includes('${'));
  return { ...Object.fromEntries(literal.map(([key, value]) => [key, String(value)])), ...SWEEP_ENV };
}

/** One scheduled sweep over `users` managed users, with Lambda's retries while it reports users left undone. */
export function runSweep(users: number, scenario: SweepScenario, options: WorldOptions = DEFAULT_WORLD): Promise<SweepFigures> {
  return withEnvironment(sweepEnvironment(), async () => {
    const { aws, lambdas, ledger } = await world(options, ['reprovisionSweep']);
    const timeoutMs = lambdas.timeoutOf('reprovisionSweep');
    return inVirtualTime(options.seed, async () => {
      for (let n = 1; n <= users; n++) sweepUser(aws, n, scenario);
      const start = Date.now();
      const invocations: SweepInvocation[] = [];
      for (let attempt = 0; attempt <= ASYNC_RETRY_DELAYS_MS.length; attempt++) {
        const startedAtMs = Date.now() - start;
        let outcomes: Record<string, number> = {};
        let error: string | undefined;
        try {
          outcomes = ((await lambdas.invoke('reprovisionSweep', { dryRun: false })) as { outcomes: Record<string, number> }).outcomes;
        } catch (failure) {
          error = failure instanceof Error ? failure.name : String(failure);
        }
        invocations.push({ startedAtMs, durationMs: Date.now() - start - startedAtMs, ...(error && { error }), outcomes });
        if (!error) break;
        const delay = ASYNC_RETRY_DELAYS_MS[attempt];
        if (delay !== undefined) await new Promise((resolve) => setTimeout(resolve, delay));
      }
      // What the invocations did is what IAM and Step Functions saw (a failed one's report is in its log).
      const read = new Set(aws.calls.filter((c) => c.operation === 'GetUser' && !c.error).map((c) => c.userName));
      const acted = new Set([...aws.executions.values()].map((e) => (e.input as { hire?: { userName?: string } }).hire?.userName));
      const last = invocations.at(-1);
      return {
        users,
        scenario,
        timeoutMs,
        invocations,
        elapsedMs: last ? last.startedAtMs + last.durationMs : 0,
        iamCalls: ledger.iamCalls,
        iamThrottled: ledger.iamThrottled,
        executionsStarted: aws.executions.size,
        usersActedOn: acted.size,
        usersLeft: users - read.size,
      };
    });
  });
}
