import {
  GetLoginProfileCommand,
  GetUserCommand,
  IAMClient,
  ListGroupsForUserCommand,
  ListUsersCommand,
} from '@aws-sdk/client-iam';
import { ListExecutionsCommand, SFNClient, StartExecutionCommand } from '@aws-sdk/client-sfn';
import fc from 'fast-check';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { parseHire } from '../../functions/lib/hire.ts';
import { sweep, type SweepOptions, type SweepReport } from '../../functions/lib/sweep.ts';
import { executionName } from '../../functions/lib/sweep-decisions.ts';
import { sweepSettingsFromEnv, SWEEP_DEFAULTS, type SweepSettings } from '../../functions/lib/sweep-settings.ts';
import { iamWrites } from '../../testing/aws-fakes.ts';
import { TEST_ENV } from '../../testing/lambda-env.ts';
import { DAY, fakeDirectory, fakeStepFunctions, onboardedUser, type DirectoryUser } from '../support/iam-directory.ts';
import { useFakeAws } from '../support/in-process.ts';

const NOW = new Date('2025-03-10T06:00:00Z');
const TODAY = '2025-03-10';
const ONBOARDING = 'arn:aws:states:us-east-1:123456789012:stateMachine:iam-onboarding-test-onboarding';
const REPROVISION = 'arn:aws:states:us-east-1:123456789012:stateMachine:iam-onboarding-test-reprovision';
const SETTINGS: SweepSettings = {
  managedPath: TEST_ENV.MANAGED_PATH,
  managedBy: TEST_ENV.MANAGED_BY,
  onboardingStateMachineArn: ONBOARDING,
  reprovisionStateMachineArn: REPROVISION,
  ...SWEEP_DEFAULTS,
};

const fake = useFakeAws();
let steps: ReturnType<typeof fakeStepFunctions>;
const clients = () => ({ iam: new IAMClient({ region: 'us-east-1' }), sfn: new SFNClient({ region: 'us-east-1' }) });

beforeEach(() => {
  steps = fakeStepFunctions();
});
afterEach(() => steps.reset());

/** The user as an onboarding that failed before the login profile leaves it. */
function stoppedHalfway(user: DirectoryUser): DirectoryUser {
  delete user.loginProfile;
  user.tags['onboarding:status'] = 'failed';
  delete user.tags['onboarding:credentials-sent-at'];
  return user;
}

function directory(...users: DirectoryUser[]) {
  return fakeDirectory(fake.aws.iam, users);
}
const run = (options: SweepOptions = {}, settings: Partial<SweepSettings> = {}) =>
  sweep(clients(), { ...SETTINGS, ...settings }, { now: NOW, ...options });
const entry = (report: SweepReport, userName: string) => report.users.find((u) => u.userName === userName);
const startCalls = () => steps.sfn.commandCalls(StartExecutionCommand).map((c) => c.args[0].input);
/** Every IAM or Step Functions call that names the user (reads included). */
const callsFor = (userName: string) =>
  [...fake.aws.iam.calls(), ...steps.sfn.calls()].filter((c) => JSON.stringify(c.args[0].input).includes(userName));

describe('reprovisioning sweep: what it decides', () => {
  it('starts the onboarding again for a user with no login profile, with the hire rebuilt from its tags and groups', async () => {
    const bob = onboardedUser('bob.builder', { now: NOW, employeeId: 'E-1001', groups: ['developers', 'readers'] });
    delete bob.loginProfile;
    bob.tags['onboarding:status'] = 'failed';
    directory(bob);

    const report = await run();

    expect(entry(report, 'bob.builder')).toMatchObject({
      action: 'restart-onboarding',
      reason: 'no-login-profile',
      outcome: 'started',
      executionName: expect.stringMatching(/^reonboard-bob_builder-[0-9a-f]{8}-2025-03-10$/),
    });
    const [start] = startCalls();
    expect(start?.stateMachineArn).toBe(ONBOARDING);
    const input: unknown = JSON.parse(start?.input ?? '');
    expect(input).toEqual({
      employeeId: 'E-1001',
      firstName: 'Bob',
      lastName: 'Builder',
      email: 'bob.builder@example.com',
      userName: 'bob.builder',
      groups: ['developers', 'readers'],
    });
    // The onboarding's own validation accepts it as it stands.
    expect(parseHire(input, {})).toMatchObject({ userName: 'bob.builder', groups: ['developers', 'readers'] });
    expect(iamWrites(fake.aws.iam)).toEqual([]);
    expect(report.actions['restart-onboarding']).toBe(1);
    expect(report.outcomes.started).toBe(1);
  });

  it('does not act on a user whose hire cannot be rebuilt (no email tag), and says why', async () => {
    const bob = stoppedHalfway(onboardedUser('bob', { now: NOW, tags: { 'onboarding:email': undefined } }));
    directory(bob);

    const report = await run();

    expect(entry(report, 'bob')).toMatchObject({ action: 'restart-onboarding', outcome: 'not-rebuildable' });
    expect(entry(report, 'bob')?.detail).toContain('onboarding:email');
    expect(startCalls()).toEqual([]);
    expect(iamWrites(fake.aws.iam)).toEqual([]);
    expect(report.outcomes['not-rebuildable']).toBe(1);
  });

  it('resets and re-sends when the credentials email never went out', async () => {
    directory(onboardedUser('ann', { now: NOW, employeeId: 'E-7', tags: { 'onboarding:credentials-sent-at': undefined, 'onboarding:status': 'failed' } }));

    const report = await run();

    expect(entry(report, 'ann')).toMatchObject({
      action: 'reset-password',
      reason: 'credentials-not-sent',
      outcome: 'started',
      executionName: `reset-ann-${TODAY}`,
      executionArn: expect.stringContaining(`:execution:`),
    });
    expect(startCalls()).toEqual([
      {
        stateMachineArn: REPROVISION,
        name: `reset-ann-${TODAY}`,
        input: JSON.stringify({ action: 'RESET_PASSWORD', hire: { userName: 'ann', employeeId: 'E-7' }, reason: 'credentials-not-sent' }),
      },
    ]);
    expect(iamWrites(fake.aws.iam)).toEqual([]);
  });

  it('counts an email sent before the current password was issued as not sent', async () => {
    const ann = onboardedUser('ann', { now: NOW, issuedDaysAgo: 2 });
    ann.tags['onboarding:password-issued-at'] = new Date(NOW.getTime() - DAY).toISOString();
    directory(ann);

    expect(entry(await run(), 'ann')).toMatchObject({ action: 'reset-password', reason: 'credentials-not-sent' });
  });

  it('resets a temporary password unused for more than unusedPasswordDays, and not before', async () => {
    directory(
      onboardedUser('old', { now: NOW, issuedDaysAgo: 7.01 }),
      onboardedUser('recent', { now: NOW, issuedDaysAgo: 6.99 }),
      // No issue-date tag: the login profile's creation date stands in.
      { ...onboardedUser('untagged', { now: NOW, issuedDaysAgo: 8, tags: { 'onboarding:password-issued-at': undefined } }) },
    );

    const report = await run();

    expect(entry(report, 'old')).toMatchObject({ action: 'reset-password', reason: 'password-unused', outcome: 'started' });
    expect(entry(report, 'recent')).toMatchObject({ action: 'none', reason: 'healthy', outcome: 'untouched' });
    expect(entry(report, 'untagged')).toMatchObject({ action: 'reset-password', reason: 'password-unused' });
    expect(startCalls().map((s) => s.name).sort()).toEqual([`reset-old-${TODAY}`, `reset-untagged-${TODAY}`]);

    const shorter = await run({ now: new Date(NOW.getTime() + DAY) }, { unusedPasswordDays: 3 });
    expect(entry(shorter, 'recent')).toMatchObject({ action: 'reset-password', reason: 'password-unused' });
  });

  it('removes console access instead of resetting once maxPasswordResets is reached', async () => {
    directory(
      onboardedUser('third', { now: NOW, issuedDaysAgo: 8, employeeId: 'E-3', tags: { 'onboarding:password-resets': '2' } }),
      onboardedUser('fourth', { now: NOW, issuedDaysAgo: 8, employeeId: 'E-4', tags: { 'onboarding:password-resets': '3' } }),
      // Even without an email address: removal needs none.
      onboardedUser('mailless', { now: NOW, issuedDaysAgo: 8, tags: { 'onboarding:password-resets': '3', 'onboarding:email': undefined } }),
    );

    const report = await run();

    expect(entry(report, 'third')).toMatchObject({ action: 'reset-password', outcome: 'started' });
    expect(entry(report, 'fourth')).toMatchObject({
      action: 'remove-console-access',
      reason: 'password-unused',
      outcome: 'started',
      executionName: `remove-fourth-${TODAY}`,
    });
    expect(entry(report, 'mailless')).toMatchObject({ action: 'remove-console-access', outcome: 'started' });
    const removal = startCalls().find((s) => s.name === `remove-fourth-${TODAY}`);
    expect(removal?.stateMachineArn).toBe(REPROVISION);
    expect(JSON.parse(removal?.input ?? '')).toEqual({
      action: 'REMOVE_CONSOLE_ACCESS',
      hire: { userName: 'fourth', employeeId: 'E-4' },
      reason: 'password-unused',
    });
    expect(report.actions).toMatchObject({ 'reset-password': 1, 'remove-console-access': 2 });
    expect(iamWrites(fake.aws.iam)).toEqual([]);

    const none = await run({ now: new Date(NOW.getTime() + DAY) }, { maxPasswordResets: 0 });
    expect(entry(none, 'third')).toMatchObject({ action: 'remove-console-access' });
  });

  it('never touches users that are not ours, nor users who have signed in', async () => {
    const foreignTag = onboardedUser('foreign', { now: NOW, issuedDaysAgo: 30, tags: { 'onboarding:managed-by': 'someone-else' } });
    const untagged = onboardedUser('untagged', { now: NOW, issuedDaysAgo: 30, tags: { 'onboarding:managed-by': undefined } });
    delete untagged.loginProfile;
    const elsewhere = { ...onboardedUser('elsewhere', { now: NOW, issuedDaysAgo: 30 }), path: '/admins/' };
    const signedIn = {
      ...onboardedUser('signed.in', { now: NOW, issuedDaysAgo: 30, tags: { 'onboarding:credentials-sent-at': undefined } }),
      passwordLastUsed: new Date(NOW.getTime() - 20 * DAY),
    };
    const signedInNoProfile = { ...onboardedUser('gone.quiet', { now: NOW }), passwordLastUsed: new Date(NOW.getTime() - DAY) };
    delete signedInNoProfile.loginProfile;
    directory(foreignTag, untagged, elsewhere, signedIn, signedInNoProfile);

    const report = await run();

    expect(entry(report, 'foreign')).toMatchObject({ action: 'none', reason: 'not-managed', outcome: 'untouched' });
    expect(entry(report, 'untagged')).toMatchObject({ action: 'none', reason: 'not-managed' });
    expect(entry(report, 'signed.in')).toMatchObject({ action: 'none', reason: 'signed-in' });
    expect(entry(report, 'gone.quiet')).toMatchObject({ action: 'none', reason: 'signed-in' });
    // Outside the managed path: not even listed.
    expect(entry(report, 'elsewhere')).toBeUndefined();
    expect(fake.aws.iam).toHaveReceivedCommandWith(ListUsersCommand, { PathPrefix: TEST_ENV.MANAGED_PATH });
    expect(callsFor('elsewhere')).toEqual([]);
    for (const userName of ['foreign', 'untagged']) {
      // GetUser only: their login profiles and groups are not even read.
      expect(callsFor(userName).map((c) => (c.args[0] as object).constructor.name)).toEqual(['GetUserCommand']);
    }
    // ListUsers says they have signed in: not even read.
    expect(callsFor('signed.in')).toEqual([]);
    expect(callsFor('gone.quiet')).toEqual([]);
    expect(startCalls()).toEqual([]);
    expect(iamWrites(fake.aws.iam)).toEqual([]);
    expect(report.actions.none).toBe(4);
  });

  it('leaves an onboarding that may still be running alone, and one marked console-access-removed', async () => {
    const running = onboardedUser('running', { now: NOW, tags: { 'onboarding:status': 'in-progress', 'onboarding:credentials-sent-at': undefined } });
    running.tags['onboarding:updated-at'] = new Date(NOW.getTime() - 10 * 60_000).toISOString();
    running.tags['onboarding:password-issued-at'] = new Date(NOW.getTime() - 5 * 60_000).toISOString();
    const stuck = onboardedUser('stuck', { now: NOW, tags: { 'onboarding:status': 'in-progress' } });
    delete stuck.loginProfile;
    stuck.tags['onboarding:updated-at'] = new Date(NOW.getTime() - 2 * 60 * 60_000).toISOString();
    const removed = onboardedUser('removed', { now: NOW, issuedDaysAgo: 30, tags: { 'onboarding:status': 'console-access-removed' } });
    delete removed.loginProfile;
    directory(running, stuck, removed);

    const report = await run();

    expect(entry(report, 'running')).toMatchObject({ action: 'none', reason: 'in-progress' });
    expect(entry(report, 'stuck')).toMatchObject({ action: 'restart-onboarding', outcome: 'started' });
    expect(entry(report, 'removed')).toMatchObject({ action: 'none', reason: 'console-access-removed' });
    expect(startCalls().map((s) => s.name)).toEqual([`reonboard-stuck-${TODAY}`]);
  });

  it('reads every page of ListUsers', async () => {
    const users = Array.from({ length: 5 }, (_, i) => onboardedUser(`user${i}`, { now: NOW, issuedDaysAgo: 10 }));
    fakeDirectory(fake.aws.iam, users, { pageSize: 2 });

    const report = await run();

    expect(report.scanned).toBe(5);
    expect(fake.aws.iam).toHaveReceivedCommandTimes(ListUsersCommand, 3);
    expect(startCalls()).toHaveLength(5);
  });
});

describe('reprovisioning sweep: acting once', () => {
  it('a second sweep the same day starts nothing new (ExecutionAlreadyExists); the next day acts again', async () => {
    const bob = stoppedHalfway(onboardedUser('bob', { now: NOW }));
    directory(bob, onboardedUser('ann', { now: NOW, issuedDaysAgo: 9 }), onboardedUser('fine', { now: NOW }));

    const first = await run();
    const again = await run({ now: new Date(NOW.getTime() + 6 * 60 * 60_000) });

    expect(first.outcomes).toMatchObject({ started: 2, untouched: 1 });
    expect(again.outcomes).toMatchObject({ started: 0, 'already-done-today': 2, untouched: 1 });
    expect(entry(again, 'bob')).toMatchObject({ action: 'restart-onboarding', outcome: 'already-done-today', executionName: `reonboard-bob-${TODAY}` });
    expect(steps.executions()).toHaveLength(2);

    const tomorrow = await run({ now: new Date(NOW.getTime() + DAY) });
    expect(tomorrow.outcomes.started).toBe(2);
    expect(steps.executions().map((e) => e.name).sort()).toEqual([
      `reonboard-bob-${TODAY}`,
      'reonboard-bob-2025-03-11',
      `reset-ann-${TODAY}`,
      'reset-ann-2025-03-11',
    ]);
  });

  it('a dry run reads, reports what it would do, and makes no write call at all', async () => {
    const bob = stoppedHalfway(onboardedUser('bob', { now: NOW }));
    directory(
      bob,
      onboardedUser('ann', { now: NOW, issuedDaysAgo: 9 }),
      onboardedUser('cut', { now: NOW, issuedDaysAgo: 9, tags: { 'onboarding:password-resets': '3' } }),
    );

    const report = await run({ dryRun: true });

    expect(report.dryRun).toBe(true);
    expect(report.users.map((u) => [u.userName, u.action, u.outcome, u.executionName])).toEqual([
      ['ann', 'reset-password', 'planned', `reset-ann-${TODAY}`],
      ['bob', 'restart-onboarding', 'planned', `reonboard-bob-${TODAY}`],
      ['cut', 'remove-console-access', 'planned', `remove-cut-${TODAY}`],
    ]);
    expect(report.outcomes.planned).toBe(3);
    expect(steps.sfn.calls()).toHaveLength(0);
    expect(iamWrites(fake.aws.iam)).toEqual([]);
    expect(fake.aws.kms.calls()).toHaveLength(0);
    expect(fake.aws.ses.calls()).toHaveLength(0);
  });

  it('reports a user it could not handle and carries on with the others', async () => {
    directory(onboardedUser('ann', { now: NOW, issuedDaysAgo: 9 }), onboardedUser('bob', { now: NOW, issuedDaysAgo: 9 }));
    const throttled = Object.assign(new Error('Rate exceeded'), { name: 'Throttling', $metadata: {} });
    fake.aws.iam.on(GetUserCommand, { UserName: 'ann' }).rejects(throttled);
    steps.sfn.on(StartExecutionCommand, { name: `reset-bob-${TODAY}` }).rejectsOnce(
      Object.assign(new Error('Service unavailable'), { name: 'ServiceUnavailable', $metadata: {} }),
    );

    const report = await run();

    expect(entry(report, 'ann')).toMatchObject({ action: 'none', reason: 'not-inspected', outcome: 'error', detail: 'Throttling: Rate exceeded' });
    expect(entry(report, 'bob')).toMatchObject({ action: 'reset-password', outcome: 'error', detail: 'ServiceUnavailable: Service unavailable' });
    expect(report.outcomes.error).toBe(2);
  });
});

describe('reprovisioning sweep: bounded concurrency', () => {
  it('never has more than `concurrency` users in flight, and uses that many', async () => {
    const users = Array.from({ length: 12 }, (_, i) => onboardedUser(`user${String(i).padStart(2, '0')}`, { now: NOW, issuedDaysAgo: 9 }));
    // A user is in flight from its first IAM call to the end of its StartExecution.
    const inFlight = new Set<string>();
    let peak = 0;
    const tick = () => new Promise((resolve) => setImmediate(resolve));
    fakeDirectory(fake.aws.iam, users, {
      onUserCall: async (userName) => {
        inFlight.add(userName);
        peak = Math.max(peak, inFlight.size);
        await tick();
      },
    });
    steps.reset();
    steps = fakeStepFunctions({
      onStart: async (execution) => {
        await tick();
        inFlight.delete((execution.input as { hire: { userName: string } }).hire.userName);
      },
    });

    const report = await run({}, { concurrency: 3 });

    expect(report.outcomes.started).toBe(12);
    expect(peak).toBe(3);
    expect(inFlight.size).toBe(0);
  });
});

describe('reprovisioning sweep: at scale, within its time', () => {
  const users = () => Array.from({ length: 6 }, (_, i) => onboardedUser(`user${i}`, { now: NOW, issuedDaysAgo: 9 }));

  it('begins no user past its deadline: those are reported deferred, unread, and the report keeps IAM\'s order', async () => {
    vi.useFakeTimers({ now: NOW, toFake: ['Date'] });
    try {
      // Each read takes a second: a user to reset takes three (GetUser, GetLoginProfile, ListGroupsForUser).
      fakeDirectory(fake.aws.iam, users(), { onUserCall: () => void vi.setSystemTime(Date.now() + 1000) });
      const report = await run({ deadline: NOW.getTime() + 4_500 }, { concurrency: 1 });

      expect(report.users.map((u) => [u.userName, u.outcome])).toEqual([
        ['user0', 'started'],
        ['user1', 'started'],
        ['user2', 'deferred'],
        ['user3', 'deferred'],
        ['user4', 'deferred'],
        ['user5', 'deferred'],
      ]);
      expect(report.outcomes).toMatchObject({ started: 2, deferred: 4 });
      expect(callsFor('user2')).toEqual([]);
    } finally {
      vi.useRealTimers();
    }
  });

  it('reads no user an earlier invocation started an execution for today: Step Functions lists them', async () => {
    fakeDirectory(fake.aws.iam, users());
    const today = (name: string, hoursAgo: number) => ({
      executionArn: `${REPROVISION}:${name}`.replace(':stateMachine:', ':execution:'),
      stateMachineArn: REPROVISION,
      name,
      status: 'RUNNING' as const,
      startDate: new Date(NOW.getTime() - hoursAgo * 3_600_000),
    });
    steps.sfn.on(ListExecutionsCommand).resolves({ executions: [] });
    steps.sfn.on(ListExecutionsCommand, { stateMachineArn: REPROVISION }).resolves({
      // Newest first, as Step Functions lists them; yesterday's do not count.
      executions: [today(`reset-user1-${TODAY}`, 1), today(`reset-user4-${TODAY}`, 2), today('reset-user2-2025-03-09', 30)],
    });

    const report = await run({ skipActedOnToday: true });

    expect(entry(report, 'user1')).toMatchObject({ action: 'reset-password', reason: 'started-today', outcome: 'already-done-today', executionName: `reset-user1-${TODAY}` });
    expect(entry(report, 'user4')).toMatchObject({ outcome: 'already-done-today' });
    expect(callsFor('user1')).toEqual([]);
    expect(report.outcomes).toMatchObject({ started: 4, 'already-done-today': 2 });
    expect(steps.sfn).toHaveReceivedCommandWith(ListExecutionsCommand, { stateMachineArn: ONBOARDING, maxResults: 1000 });
  });

  it('reads every user when the executions cannot be listed (StartExecution still refuses a name taken today)', async () => {
    fakeDirectory(fake.aws.iam, users());
    steps.sfn.on(ListExecutionsCommand).rejects(Object.assign(new Error('Rate exceeded'), { name: 'ThrottlingException', $metadata: {} }));
    const report = await run({ skipActedOnToday: true });
    expect(report.outcomes.started).toBe(6);
  });

  it('reports every user as it finds it now unless asked to skip: no execution is even listed', async () => {
    fakeDirectory(fake.aws.iam, users());
    await run();
    expect(steps.sfn).not.toHaveReceivedCommand(ListExecutionsCommand);
  });

  it('begins where startAt says, walking round the list', async () => {
    fakeDirectory(fake.aws.iam, users());
    const report = await run({ startAt: 0.5, deadline: Number.NEGATIVE_INFINITY });
    expect(report.outcomes.deferred).toBe(6);

    const begun: string[] = [];
    fakeDirectory(fake.aws.iam, users(), { onUserCall: (userName) => void begun.push(userName) });
    await run({ startAt: 0.5 }, { concurrency: 1 });
    expect([...new Set(begun)]).toEqual(['user3', 'user4', 'user5', 'user0', 'user1', 'user2']);
  });
});

describe('execution names', () => {
  it('are <prefix>-<user>-<day>, letters, digits, - and _ only, at most 80 characters', () => {
    expect(executionName('reset-password', 'ann', NOW)).toBe(`reset-ann-${TODAY}`);
    expect(executionName('restart-onboarding', 'Ann_B-2', NOW)).toBe(`reonboard-Ann_B-2-${TODAY}`);
    expect(executionName('remove-console-access', 'ann', NOW)).toBe(`remove-ann-${TODAY}`);
    // The day is UTC's.
    expect(executionName('reset-password', 'ann', new Date('2025-03-10T23:59:59-05:00'))).toBe('reset-ann-2025-03-11');
  });

  it('stay valid and distinct for any IAM user names', () => {
    const iamName = fc.stringMatching(/^[A-Za-z0-9+=,.@_-]{1,64}$/);
    fc.assert(
      fc.property(iamName, iamName, fc.constantFrom('reset-password', 'restart-onboarding', 'remove-console-access'), (a, b, action) => {
        const name = executionName(action as 'reset-password', a, NOW);
        expect(name).toMatch(/^[A-Za-z0-9_-]{1,80}$/);
        if (a !== b) expect(name).not.toBe(executionName(action as 'reset-password', b, NOW));
      }),
    );
    expect(executionName('reset-password', 'bob.builder', NOW)).not.toBe(executionName('reset-password', 'bob_builder', NOW));
    expect(executionName('restart-onboarding', 'x'.repeat(64), NOW)).toHaveLength(80);
  });
});

describe('sweep settings', () => {
  it('come from the environment with documented defaults', () => {
    const env = { ONBOARDING_STATE_MACHINE_ARN: ONBOARDING, REPROVISION_STATE_MACHINE_ARN: REPROVISION };
    expect(sweepSettingsFromEnv(env, { managedPath: '/onboarding/', managedBy: 'x' })).toEqual({
      managedPath: '/onboarding/',
      managedBy: 'x',
      onboardingStateMachineArn: ONBOARDING,
      reprovisionStateMachineArn: REPROVISION,
      unusedPasswordDays: 7,
      maxPasswordResets: 3,
      concurrency: 5,
      inProgressGraceMinutes: 60,
      retentionDays: 30,
      guardShare: 10,
      guardFloor: 5,
    });
    expect(
      sweepSettingsFromEnv(
        { ...env, UNUSED_PASSWORD_DAYS: '14', MAX_PASSWORD_RESETS: '1', REPROVISION_CONCURRENCY: '2', OFFBOARDED_RETENTION_DAYS: '90', OFFBOARDING_GUARD_SHARE: '5', OFFBOARDING_CONFIRMATION_PARAMETER: '/s/c' },
        { managedPath: '/', managedBy: 'x' },
      ),
    ).toMatchObject({ unusedPasswordDays: 14, maxPasswordResets: 1, concurrency: 2, retentionDays: 90, guardShare: 5, confirmationParameter: '/s/c' });
  });

  it('name the variable that is wrong', () => {
    const bad = () =>
      sweepSettingsFromEnv(
        { ONBOARDING_STATE_MACHINE_ARN: ONBOARDING, REPROVISION_STATE_MACHINE_ARN: 'nope', REPROVISION_CONCURRENCY: '0' },
        { managedPath: '/', managedBy: 'x' },
      );
    expect(bad).toThrowError(/REPROVISION_STATE_MACHINE_ARN/);
    expect(bad).toThrowError(/REPROVISION_CONCURRENCY/);
  });

  it('are checked before any call', async () => {
    await expect(run({}, { concurrency: 0 })).rejects.toMatchObject({ name: 'ConfigurationError', message: expect.stringContaining('concurrency') });
    expect(fake.aws.iam.calls()).toHaveLength(0);
  });
});

describe('reads', () => {
  it('reads login profiles only of users whose tags cannot settle it, and groups only of users to act on', async () => {
    directory(onboardedUser('fine', { now: NOW }), onboardedUser('old', { now: NOW, issuedDaysAgo: 9 }));
    await run();
    expect(fake.aws.iam).toHaveReceivedCommandTimes(GetLoginProfileCommand, 1);
    expect(fake.aws.iam).toHaveReceivedCommandWith(GetLoginProfileCommand, { UserName: 'old' });
    expect(fake.aws.iam).toHaveReceivedCommandTimes(ListGroupsForUserCommand, 1);
    expect(fake.aws.iam).toHaveReceivedCommandWith(ListGroupsForUserCommand, { UserName: 'old' });
  });

  it('lists the users a thousand at a time, IAM\'s largest page', async () => {
    directory(onboardedUser('fine', { now: NOW }));
    await run();
    expect(fake.aws.iam).toHaveReceivedCommandWith(ListUsersCommand, { PathPrefix: TEST_ENV.MANAGED_PATH, MaxItems: 1000 });
  });
});

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
