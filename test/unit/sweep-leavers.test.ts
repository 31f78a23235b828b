import { IAMClient } from '@aws-sdk/client-iam';
import { SFNClient, StartExecutionCommand } from '@aws-sdk/client-sfn';
import { SSMClient } from '@aws-sdk/client-ssm';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { confirmationFor } from '../../functions/lib/offboarding-guard.ts';
import { sweep, type SweepReport } from '../../functions/lib/sweep.ts';
import { SWEEP_DEFAULTS, type SweepSettings } from '../../functions/lib/sweep-settings.ts';
import { iamWrites } from '../../testing/aws-fakes.ts';
import { TEST_ENV } from '../../testing/lambda-env.ts';
import { DAY, fakeStepFunctions } from '../support/iam-directory.ts';
import { useFakeAws } from '../support/in-process.ts';
import { employee, fakeConfirmation, fakeLeaverDirectory, type LeaverUser } from '../support/offboarding-directory.ts';

const NOW = new Date('2025-03-10T06:00:00Z');
const TODAY = '2025-03-10';
const REPROVISION = 'arn:aws:states:us-east-1:123456789012:stateMachine:iam-onboarding-test-reprovision';
const SETTINGS: SweepSettings = {
  managedPath: TEST_ENV.MANAGED_PATH,
  managedBy: TEST_ENV.MANAGED_BY,
  onboardingStateMachineArn: 'arn:aws:states:us-east-1:123456789012:stateMachine:iam-onboarding-test-onboarding',
  reprovisionStateMachineArn: REPROVISION,
  ...SWEEP_DEFAULTS,
  confirmationParameter: TEST_ENV.OFFBOARDING_CONFIRMATION_PARAMETER,
};

const fake = useFakeAws();
let steps: ReturnType<typeof fakeStepFunctions>;
let ssm: ReturnType<typeof fakeConfirmation>;
beforeEach(() => {
  steps = fakeStepFunctions();
  ssm = fakeConfirmation();
});
afterEach(() => {
  steps.reset();
  ssm.restore();
});

const clients = () => ({ iam: new IAMClient({ region: 'us-east-1' }), sfn: new SFNClient({ region: 'us-east-1' }), ssm: new SSMClient({ region: 'us-east-1' }) });
const run = (options: { dryRun?: boolean } = {}) => sweep(clients(), SETTINGS, { now: NOW, ...options });
const entry = (report: SweepReport, userName: string) => report.users.find((u) => u.userName === userName);
const started = () => steps.sfn.commandCalls(StartExecutionCommand).map((c) => c.args[0].input);

/** A leaver offboarded `daysAgo`, without a password (as the leaver flow leaves it), signed in before it left. */
function leaver(userName: string, daysAgo: number): LeaverUser {
  const user = employee(userName, {
    now: NOW,
    issuedDaysAgo: 200,
    employeeId: `E-${userName}`,
    tags: { 'onboarding:status': 'offboarded', 'onboarding:offboarded-at': new Date(NOW.getTime() - daysAgo * DAY).toISOString() },
  });
  delete user.loginProfile;
  return { ...user, passwordLastUsed: new Date(NOW.getTime() - (daysAgo + 1) * DAY) };
}
const staff = (n: number) => Array.from({ length: n }, (_, i) => employee(`staff${i}`, { now: NOW, issuedDaysAgo: 2 }));

describe('reprovisioning sweep: leavers', () => {
  it('never onboards an offboarded user again, though it has no password: it is kept until its retention ends', async () => {
    const fresh = leaver('fresh', 3);
    // Never signed in: without the census it would look like an onboarding stopped halfway.
    delete fresh.passwordLastUsed;
    fakeLeaverDirectory(fake.aws.iam, [fresh]);

    const report = await run();

    expect(entry(report, 'fresh')).toMatchObject({ action: 'none', reason: 'offboarded', outcome: 'untouched' });
    expect(started()).toEqual([]);
    expect(iamWrites(fake.aws.iam)).toEqual([]);
  });

  it('starts the deletion of a user whose retention has ended, once a day', async () => {
    fakeLeaverDirectory(fake.aws.iam, [leaver('gone', 31), leaver('kept', 29), ...staff(3)]);

    const report = await run();

    expect(entry(report, 'gone')).toMatchObject({ action: 'delete-user', reason: 'retention-ended', outcome: 'started', executionName: `delete-gone-${TODAY}` });
    expect(entry(report, 'kept')).toMatchObject({ action: 'none', reason: 'offboarded' });
    expect(started()).toEqual([
      { stateMachineArn: REPROVISION, name: `delete-gone-${TODAY}`, input: JSON.stringify({ action: 'DELETE_USER', hire: { userName: 'gone', employeeId: 'E-gone' }, reason: 'retention-ended' }) },
    ]);
    expect(report.actions['delete-user']).toBe(1);
    expect(report.guard).toMatchObject({ managed: 5, recentlyOffboarded: 0, deletionsDue: 1, deletionsAllowed: 1 });

    // A second sweep the same day finds the execution started.
    expect(entry(await run(), 'gone')).toMatchObject({ outcome: 'already-done-today' });
    expect(iamWrites(fake.aws.iam)).toEqual([]);
  });

  it('plans deletions in a dry run and starts nothing', async () => {
    fakeLeaverDirectory(fake.aws.iam, [leaver('gone', 40)]);
    expect(entry(await run({ dryRun: true }), 'gone')).toMatchObject({ action: 'delete-user', outcome: 'planned' });
    expect(started()).toEqual([]);
  });

  it('holds the deletions past the day\'s allowance, oldest offboardings first, counting the day\'s offboardings', async () => {
    // 30 managed users: 10 % is 3, the floor 5. Two offboarded today leave room for 3 deletions.
    const due = [40, 35, 33, 32, 31].map((days, i) => leaver(`due${i}`, days));
    fakeLeaverDirectory(fake.aws.iam, [...due, leaver('today1', 0.1), leaver('today2', 0.2), ...staff(23)]);

    const report = await run();

    expect(report.guard).toMatchObject({ managed: 30, recentlyOffboarded: 2, allowance: 5, deletionsDue: 5, deletionsAllowed: 3 });
    expect(report.users.filter((u) => u.outcome === 'started').map((u) => u.userName)).toEqual(['due0', 'due1', 'due2']);
    expect(report.users.filter((u) => u.outcome === 'held').map((u) => u.userName)).toEqual(['due3', 'due4']);
    expect(entry(report, 'due3')!.detail).toContain('MassOffboardingHeld');
    expect(report.outcomes.held).toBe(2);
  });

  it('lets every due deletion through while an admin\'s confirmation lasts', async () => {
    ssm.restore();
    ssm = fakeConfirmation(JSON.stringify(confirmationFor('admin', new Date(NOW.getTime() - 60_000), 3_600_000)));
    fakeLeaverDirectory(fake.aws.iam, Array.from({ length: 8 }, (_, i) => leaver(`due${i}`, 31 + i)));

    const report = await run();

    expect(report.outcomes.held).toBe(0);
    expect(report.guard).toMatchObject({ deletionsDue: 8, deletionsAllowed: 8, confirmedUntil: new Date(NOW.getTime() + 3_540_000).toISOString() });
  });
});
