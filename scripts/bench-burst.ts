/**
 * Burst benchmark: `npm run bench:burst [-- --hires 1000 --iam-rate 10 --iam-burst 20 --ses-rate 14 --seed 1 --sweep-users 5000]`.
 *
 * A quiet day first (one hire alone: its IAM calls and its time), then N hires at the same
 * instant, through the real onboarding definition and handlers, in virtual time, against IAM
 * behind its token bucket and SES behind its send rate (testing/burst.ts says how). Then the
 * scheduled sweep over `--sweep-users` managed users under the same throttle, on a quiet day
 * after a burst and on its most expensive day (0 skips it). Prints the figures; `--json`
 * prints them as one JSON document. Figures only: nothing here is a test.
 */
import '../local/polyfills.ts';
import { parseArgs } from 'node:util';
import { DEFAULT_WORLD, runBurst, runSweep, type BurstFigures, type SweepFigures, type WorldOptions } from '../testing/burst.ts';

const { values: flags } = parseArgs({
  options: {
    hires: { type: 'string', default: '1000' },
    'iam-rate': { type: 'string', default: String(DEFAULT_WORLD.iamRate) },
    'iam-burst': { type: 'string', default: String(DEFAULT_WORLD.iamBurst) },
    'ses-rate': { type: 'string', default: String(DEFAULT_WORLD.sesRate) },
    seed: { type: 'string', default: String(DEFAULT_WORLD.seed) },
    'latency-ms': { type: 'string', default: String(DEFAULT_WORLD.latencyMs) },
    'lambda-concurrency': { type: 'string', default: String(DEFAULT_WORLD.lambdaConcurrency) },
    'sweep-users': { type: 'string', default: '5000' },
    json: { type: 'boolean', default: false },
  },
});

function positive(name: string, text: string | undefined, zero = false): number {
  const value = Number(text);
  if (!Number.isFinite(value) || value < 0 || (value === 0 && !zero)) {
    process.stderr.write(`bench:burst: --${name} must be a ${zero ? 'non-negative' : 'positive'} number (got "${text}")\n`);
    process.exit(2);
  }
  return value;
}

const options: WorldOptions = {
  ...DEFAULT_WORLD,
  iamRate: positive('iam-rate', flags['iam-rate']),
  iamBurst: positive('iam-burst', flags['iam-burst']),
  sesRate: positive('ses-rate', flags['ses-rate']),
  seed: positive('seed', flags.seed),
  latencyMs: positive('latency-ms', flags['latency-ms']),
  lambdaConcurrency: positive('lambda-concurrency', flags['lambda-concurrency']),
};
const hires = Math.round(positive('hires', flags.hires));
const sweepUsers = Math.round(positive('sweep-users', flags['sweep-users'], true));

const quiet = await runBurst(1, options);
const burst = await runBurst(hires, options);
const callsPerHire = quiet.iamCalls;
const boundMs = ((hires * callsPerHire) / options.iamRate) * 1000;
const sweeps = sweepUsers > 0 ? [await runSweep(sweepUsers, 'fresh', options), await runSweep(sweepUsers, 'due', options)] : [];

const figures = {
  settings: { hires, sweepUsers, ...options },
  singleHire: { iamCalls: quiet.iamCalls, stateTransitions: quiet.stateTransitions, lambdaInvocations: quiet.lambdaInvocations, ms: quiet.makespanMs },
  burst,
  boundMs,
  makespanOverBound: burst.makespanMs / boundMs,
  // Successful IAM calls over what IAM could have answered during the burst.
  iamBusy: (burst.iamCalls - burst.iamThrottled) / ((options.iamRate * burst.makespanMs) / 1000),
  sweeps,
};

if (flags.json) {
  process.stdout.write(`${JSON.stringify(figures, null, 2)}\n`);
} else {
  const n = (value: number) => value.toLocaleString('en-US');
  const s = (ms: number) => (ms < 10_000 ? `${(ms / 1000).toFixed(2)} s` : `${n(Math.round(ms / 1000))} s`);
  const b: BurstFigures = burst;
  const failures = Object.entries(b.failures).map(([name, count]) => `${name} ${n(count)}`).join(', ');
  const lines = [
    `Burst: ${n(hires)} hires at once; IAM ${options.iamRate} calls/s (bucket ${options.iamBurst}), SES ${options.sesRate} emails/s; seed ${options.seed}`,
    `  a single hire alone         ${quiet.iamCalls} IAM calls, ${quiet.stateTransitions} state transitions, ${s(quiet.makespanMs)}`,
    `  hires                       ${n(b.hires)}`,
    `  onboarded                   ${n(b.onboarded)}${b.other ? ` (and ${n(b.other)} ended otherwise)` : ''}`,
    `  failed                      ${n(b.failed)}${failures ? ` (${failures})` : ''}`,
    `  ops emails                  ${n(b.opsEmails)}`,
    `  credentials emails          ${n(b.credentialsEmails)} (hires without exactly one: ${n(b.hiresNotEmailedOnce)}; SES throttled ${n(b.sesThrottled)})`,
    `  IAM calls made              ${n(b.iamCalls)} (${(b.iamCalls / hires).toFixed(2)} a hire)`,
    `  IAM calls wasted            ${n(b.iamWasted)} (${n(b.iamThrottled)} answered Throttling, the rest redone after a throttled step)`,
    `  state transitions           ${n(b.stateTransitions)} (${(b.stateTransitions / hires).toFixed(2)} a hire)`,
    `  Lambda invocations          ${n(b.lambdaInvocations)} (${n(b.lambdaColdStarts)} cold starts, peak concurrency ${n(b.lambdaPeakConcurrency)}, ${n(b.lambdaThrottled)} refused)`,
    `  makespan                    ${s(b.makespanMs)} (median hire ${s(b.medianHireMs)}, slowest ${s(b.slowestHireMs)})`,
    `  bound                       ${s(boundMs)} (${n(hires)} hires x ${callsPerHire} IAM calls / ${options.iamRate} a second)`,
    `  makespan / bound            ${figures.makespanOverBound.toFixed(2)}`,
    `  IAM kept busy               ${(figures.iamBusy * 100).toFixed(0)} % of the makespan (calls answered / what IAM could answer)`,
    `  retries (most in one execution, of the retrier's MaxAttempts):`,
    ...b.retries.map((r) => `    ${`${r.state} ${r.error}`.padEnd(52)} ${n(r.retries).padStart(7)} (${r.mostInOneExecution} of ${r.maxAttempts})`),
  ];
  for (const sweep of sweeps) lines.push('', ...sweepLines(sweep, s, n));
  process.stdout.write(`${lines.join('\n')}\n`);
}

function sweepLines(sweep: SweepFigures, s: (ms: number) => string, n: (value: number) => string): string[] {
  const what = sweep.scenario === 'fresh' ? 'onboarded in the last 6 days, none signed in yet' : 'every password due a reset (its most expensive day)';
  const worst = Math.max(...sweep.invocations.map((i) => i.durationMs));
  return [
    `Sweep: ${n(sweep.users)} managed users, ${what}; IAM ${options.iamRate} calls/s; timeout ${s(sweep.timeoutMs)}`,
    ...sweep.invocations.map(
      (i, k) =>
        `  ${k === 0 ? 'scheduled invocation' : `Lambda's retry ${k}     `}    at ${s(i.startedAtMs).padStart(7)}, ran ${s(i.durationMs)}: ${i.error ?? 'succeeded'}`,
    ),
    `  longest invocation          ${s(worst)} (${((worst / sweep.timeoutMs) * 100).toFixed(0)} % of the timeout)`,
    `  done after                  ${s(sweep.elapsedMs)}`,
    `  executions started          ${n(sweep.executionsStarted)} (users acted on ${n(sweep.usersActedOn)}, users never read ${n(sweep.usersLeft)})`,
    `  IAM calls                   ${n(sweep.iamCalls)} (${n(sweep.iamThrottled)} answered Throttling)`,
  ];
}
