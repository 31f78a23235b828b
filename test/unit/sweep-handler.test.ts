import { GetUserCommand } from '@aws-sdk/client-iam';
import { ListExecutionsCommand, StartExecutionCommand } from '@aws-sdk/client-sfn';
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { handler, startOf } from '../../functions/reprovision/sweep/handler.ts';
import { lambdaContext } from '../../local/workflow.ts';
import { iamWrites } from '../../testing/aws-fakes.ts';
import { fakeDirectory, fakeStepFunctions, onboardedUser } from '../support/iam-directory.ts';
import { useFakeAws } from '../support/in-process.ts';

const ONBOARDING = 'arn:aws:states:us-east-1:123456789012:stateMachine:onboarding';
const REPROVISION = 'arn:aws:states:us-east-1:123456789012:stateMachine:reprovision';

const fake = useFakeAws();
let steps: ReturnType<typeof fakeStepFunctions>;

beforeAll(() => {
  Object.assign(process.env, {
    ONBOARDING_STATE_MACHINE_ARN: ONBOARDING,
    REPROVISION_STATE_MACHINE_ARN: REPROVISION,
    UNUSED_PASSWORD_DAYS: '7',
    MAX_PASSWORD_RESETS: '3',
    REPROVISION_CONCURRENCY: '2',
  });
});
beforeEach(() => {
  steps = fakeStepFunctions();
  const now = new Date();
  fakeDirectory(fake.aws.iam, [onboardedUser('ann', { now, issuedDaysAgo: 30 }), onboardedUser('fine', { now })]);
});
afterEach(() => steps.reset());

const invoke = (event: unknown) => handler(event, lambdaContext('reprovisionSweep'));

describe('reprovision sweep handler', () => {
  it('runs the sweep from the schedule and logs what it did, per user and in total', async () => {
    const report = await invoke({ dryRun: false });

    expect(report.outcomes).toMatchObject({ started: 1, untouched: 1 });
    expect(steps.sfn).toHaveReceivedCommandWith(StartExecutionCommand, { stateMachineArn: REPROVISION });
    const records = fake.output.records();
    expect(records).toContainEqual(expect.objectContaining({ message: 'user reprovisioned', userName: 'ann', action: 'reset-password' }));
    expect(records).toContainEqual(
      expect.objectContaining({ message: 'sweep finished', scanned: 2, outcomes: expect.objectContaining({ started: 1 }) }),
    );
  });

  it('ignores the fields of a raw scheduled event', async () => {
    const report = await invoke({ version: '0', 'detail-type': 'Scheduled Event', source: 'aws.events', detail: {} });
    expect(report.dryRun).toBe(false);
  });

  it('makes no write call on {"dryRun": true}', async () => {
    const report = await invoke({ dryRun: true });

    expect(report.outcomes.planned).toBe(1);
    expect(steps.sfn.calls()).toHaveLength(0);
    expect(iamWrites(fake.aws.iam)).toEqual([]);
  });

  it('rejects a malformed input naming the field, before any call', async () => {
    await expect(invoke({ dryRun: 'yes' })).rejects.toMatchObject({
      name: 'InvalidReprovisionRequest',
      message: expect.stringContaining('dryRun'),
    });
    expect(fake.aws.iam.calls()).toHaveLength(0);
  });

  it('fails the invocation after handling the others when some users could not be handled', async () => {
    fake.aws.iam.on(GetUserCommand, { UserName: 'fine' }).rejects(Object.assign(new Error('Rate exceeded'), { name: 'Throttling', $metadata: {} }));

    await expect(invoke({})).rejects.toMatchObject({ name: 'SweepIncomplete', message: expect.stringContaining('1 of 2') });
    expect(steps.sfn).toHaveReceivedCommandTimes(StartExecutionCommand, 1);
    expect(fake.output.records()).toContainEqual(expect.objectContaining({ level: 'ERROR', message: 'user not handled', userName: 'fine' }));
  });

  it('begins no user in the last tenth of its time, and fails naming the users it left for the next invocation', async () => {
    const outOfTime = { ...lambdaContext('reprovisionSweep'), getRemainingTimeInMillis: () => 0 };

    await expect(handler({}, outOfTime)).rejects.toMatchObject({
      name: 'SweepIncomplete',
      message: expect.stringContaining('2 of 2 users could not be handled (2 not begun before the time ran out)'),
    });
    expect(fake.aws.iam).not.toHaveReceivedCommand(GetUserCommand);
    expect(fake.output.records()).toContainEqual(expect.objectContaining({ level: 'WARN', message: 'user left for the next invocation', userName: 'ann' }));
  });
});

describe('the scheduled sweep, invoked again after running out of time', () => {
  it("lists today's executions first, to read no user one of them was started for", async () => {
    steps.sfn.on(ListExecutionsCommand).resolves({ executions: [] });
    await invoke({});
    expect(steps.sfn).toHaveReceivedCommandWith(ListExecutionsCommand, { stateMachineArn: REPROVISION });
    expect(steps.sfn).toHaveReceivedCommandWith(ListExecutionsCommand, { stateMachineArn: ONBOARDING });
  });
});

describe('where an invocation begins in the list', () => {
  const at = (iso: string) => startOf(new Date(iso));

  it('is a fraction of it that moves 0.618 round a minute, or a day, later', () => {
    const base = at('2026-01-05T03:00:00Z');
    const round = (x: number) => (x + 1) % 1;
    expect(base).toBeGreaterThanOrEqual(0);
    expect(base).toBeLessThan(1);
    expect(round(at('2026-01-05T03:01:00Z') - base)).toBeCloseTo(0.618, 3);
    expect(round(at('2026-01-06T03:00:00Z') - base)).toBeCloseTo(0.618, 3);
    expect(at('2026-01-05T03:00:59Z')).toBe(base);
  });
});
