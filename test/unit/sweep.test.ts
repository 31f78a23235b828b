import { IAMClient, ListGroupsForUserCommand } from '@aws-sdk/client-iam';
import { SFNClient, StartExecutionCommand } from '@aws-sdk/client-sfn';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { sweep, type SweepReport } from '../../functions/lib/sweep.ts';
import { SWEEP_DEFAULTS, type SweepSettings } from '../../functions/lib/sweep-settings.ts';
import { iamWrites } from '../../testing/aws-fakes.ts';
import { TEST_ENV } from '../../testing/lambda-env.ts';
import { fakeDirectory, fakeStepFunctions, onboardedUser, type DirectoryUser } from '../support/iam-directory.ts';
import { useFakeAws } from '../support/in-process.ts';

const NOW = new Date('2025-03-10T06:00:00Z');
const SETTINGS: SweepSettings = {
  managedPath: TEST_ENV.MANAGED_PATH,
  managedBy: TEST_ENV.MANAGED_BY,
  onboardingStateMachineArn: 'arn:aws:states:us-east-1:123456789012:stateMachine:iam-onboarding-test-onboarding',
  reprovisionStateMachineArn: 'arn:aws:states:us-east-1:123456789012:stateMachine:iam-onboarding-test-reprovision',
  ...SWEEP_DEFAULTS,
};

const fake = useFakeAws();
let steps: ReturnType<typeof fakeStepFunctions>;
beforeEach(() => {
  steps = fakeStepFunctions();
});
afterEach(() => steps.reset());

const run = (options: { dryRun?: boolean } = {}) =>
  sweep({ iam: new IAMClient({ region: 'us-east-1' }), sfn: new SFNClient({ region: 'us-east-1' }) }, SETTINGS, { now: NOW, ...options });
const entry = (report: SweepReport, userName: string) => report.users.find((u) => u.userName === userName);

/** A user that needs `action`, with its employee-id tag as given (undefined: none). */
function userNeeding(
  action: 'restart-onboarding' | 'reset-password' | 'remove-console-access',
  userName: string,
  employeeId: string | undefined,
  tags: Record<string, string | undefined> = {},
): DirectoryUser {
  const user = onboardedUser(userName, {
    now: NOW,
    issuedDaysAgo: 9,
    tags: {
      ...tags,
      'onboarding:employee-id': employeeId,
      ...(action === 'remove-console-access' && { 'onboarding:password-resets': String(SWEEP_DEFAULTS.maxPasswordResets) }),
    },
  });
  if (action === 'restart-onboarding') delete user.loginProfile;
  return user;
}

const ACTIONS = ['restart-onboarding', 'reset-password', 'remove-console-access'] as const;

describe('sweep: a user whose tags cannot say whose it is', () => {
  it.each(ACTIONS)('is not-rebuildable for %s, and no execution is started', async (action) => {
    fakeDirectory(fake.aws.iam, [userNeeding(action, 'nameless', undefined), userNeeding(action, 'named', 'E-42')]);

    const report = await run();

    expect(entry(report, 'nameless')).toMatchObject({ action, outcome: 'not-rebuildable' });
    expect(entry(report, 'nameless')?.detail).toMatch(/^HireNotRebuildable: User "nameless" cannot be .* from its tags: missing onboarding:employee-id/);
    expect(entry(report, 'named')).toMatchObject({ action, outcome: 'started' });
    expect(steps.executions().map((e) => e.name)).toEqual([expect.stringContaining('-named-')]);
    expect(report.outcomes).toMatchObject({ started: 1, 'not-rebuildable': 1, error: 0 });
    expect(iamWrites(fake.aws.iam)).toEqual([]);
  });

  it('is not-rebuildable when its employee-id tag is not an employee id, naming the tag and not its value', async () => {
    // A space is a valid tag value, and not a valid employee id: the removal would fail its validation.
    fakeDirectory(fake.aws.iam, [userNeeding('remove-console-access', 'spaced', 'E 7 secret-value')]);

    const report = await run();

    expect(entry(report, 'spaced')).toMatchObject({ action: 'remove-console-access', outcome: 'not-rebuildable' });
    expect(entry(report, 'spaced')?.detail).toContain('onboarding:employee-id: must be an employee id');
    expect(entry(report, 'spaced')?.detail).not.toContain('secret-value');
    expect(steps.sfn).toHaveReceivedCommandTimes(StartExecutionCommand, 0);
  });

  it('is reported the same in a dry run: not planned', async () => {
    fakeDirectory(fake.aws.iam, ACTIONS.map((action) => userNeeding(action, action, undefined)));

    const report = await run({ dryRun: true });

    expect(report.users.map((u) => [u.action, u.outcome]).sort()).toEqual(ACTIONS.map((action) => [action, 'not-rebuildable']).sort());
    expect(report.outcomes.planned).toBe(0);
    expect(steps.sfn.calls()).toHaveLength(0);
  });

  it('removal still needs nothing but whose user it is: no email tag, no groups read', async () => {
    fakeDirectory(fake.aws.iam, [userNeeding('remove-console-access', 'mailless', 'E-9', { 'onboarding:email': undefined })]);

    const report = await run();

    expect(entry(report, 'mailless')).toMatchObject({ action: 'remove-console-access', outcome: 'started' });
    expect(JSON.parse(steps.sfn.commandCalls(StartExecutionCommand)[0]?.args[0].input.input ?? '')).toEqual({
      action: 'REMOVE_CONSOLE_ACCESS',
      hire: { userName: 'mailless', employeeId: 'E-9' },
      reason: 'password-unused',
    });
    expect(fake.aws.iam).toHaveReceivedCommandTimes(ListGroupsForUserCommand, 0);
  });
});
