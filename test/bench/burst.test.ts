/**
 * The burst benchmark, small (`npm run bench:burst` runs 1,000): 50 hires at once through the
 * real onboarding definition and handlers, in virtual time, IAM at 10 calls a second. What is
 * asserted is what a burst must never cost, and figures the seed fixes; no wall-clock time.
 */
import '../../local/polyfills.ts';
import { beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_WORLD, runBurst, runSweep, type BurstFigures } from '../../testing/burst.ts';

const HIRES = 50;
const IAM_CALLS_PER_HIRE = 7;
const boundMs = ((HIRES * IAM_CALLS_PER_HIRE) / DEFAULT_WORLD.iamRate) * 1000;
let burst: BurstFigures;

beforeAll(async () => {
  burst = await runBurst(HIRES, DEFAULT_WORLD);
}, 120_000);

describe(`a burst of ${HIRES} hires at ${DEFAULT_WORLD.iamRate} IAM calls a second`, () => {
  it('onboards every hire, with no failed execution and no ops email', () => {
    expect(burst).toMatchObject({ hires: HIRES, onboarded: HIRES, failed: 0, other: 0, opsEmails: 0, failures: {} });
  });

  it('emails each hire exactly once', () => {
    expect(burst.credentialsEmails).toBe(HIRES);
    expect(burst.hiresNotEmailedOnce).toBe(0);
  });

  it('admits the CreateUser steps one at a time: the others waited their turn, well within their retry budget', () => {
    expect(burst.lambdaThrottled).toBeGreaterThan(0);
    for (const use of burst.retries) {
      expect(use.mostInOneExecution, `${use.state} ${use.error}`).toBeLessThan(use.maxAttempts / 2);
    }
  });

  it('spends IAM on work: at most one call in ten is refused or redone', () => {
    expect(burst.iamCalls).toBeLessThanOrEqual(HIRES * IAM_CALLS_PER_HIRE * 1.1);
    expect(burst.iamWasted).toBeLessThanOrEqual(burst.iamCalls / 10);
  });

  it('ends within the time IAM needs, plus the longest wait between turns (60 s)', () => {
    expect(burst.makespanMs).toBeGreaterThanOrEqual(boundMs * 0.8);
    expect(burst.makespanMs).toBeLessThanOrEqual(boundMs + 60_000);
  });

  it('gives the same figures for the same seed', async () => {
    expect(await runBurst(HIRES, DEFAULT_WORLD)).toEqual(burst);
  }, 120_000);
});

describe('the sweep, when IAM is too slow for one invocation (400 users due a reset, IAM at 1 call a second)', () => {
  it('is never cut off: each invocation stops in time, and the next takes up exactly what was left', async () => {
    const sweep = await runSweep(400, 'due', { ...DEFAULT_WORLD, iamRate: 1, iamBurst: 2 });

    expect(sweep.invocations.length).toBeGreaterThan(1);
    for (const invocation of sweep.invocations) expect(invocation.durationMs).toBeLessThanOrEqual(sweep.timeoutMs * 0.95);
    expect(sweep.invocations.at(-1)).not.toHaveProperty('error');
    expect(sweep).toMatchObject({ executionsStarted: 400, usersActedOn: 400, usersLeft: 0 });
    // Users acted on are not read again: about three calls each (GetUser, GetLoginProfile, ListGroupsForUser).
    expect(sweep.iamCalls - sweep.iamThrottled).toBeLessThanOrEqual(400 * 3 + 20);
  }, 120_000);
});
