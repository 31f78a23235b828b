import {
  CreateLoginProfileCommand,
  CreateUserCommand,
  DeleteLoginProfileCommand,
  EntityTemporarilyUnmodifiableException,
  IAMClient,
  UpdateLoginProfileCommand,
} from '@aws-sdk/client-iam';
import { MessageRejected, SendEmailCommand } from '@aws-sdk/client-ses';
import { SFNClient } from '@aws-sdk/client-sfn';
import { beforeEach, describe, expect, it } from 'vitest';
import { sweep } from '../../functions/lib/sweep.ts';
import { SWEEP_DEFAULTS, type SweepSettings } from '../../functions/lib/sweep-settings.ts';
import { iamWrites } from '../../testing/aws-fakes.ts';
import { TEST_ENV } from '../../testing/lambda-env.ts';
import { DAY, fakeDirectory, fakeStepFunctions, onboardedUser, type DirectoryUser } from '../support/iam-directory.ts';
import { entered, retries, useStateMachines } from '../support/in-process.ts';
import { passwordsSent } from '../support/secrets.ts';

let users: Map<string, DirectoryUser>;
const workflow = useStateMachines(['reprovision', 'onboarding'], { places: () => ({ directory: [...users.values()] }) });
const ONBOARDING = 'arn:aws:states:us-east-1:123456789012:stateMachine:onboarding';
const REPROVISION = 'arn:aws:states:us-east-1:123456789012:stateMachine:reprovision';

const now = new Date();
const ann = () =>
  onboardedUser('ann.lee', {
    now,
    issuedDaysAgo: 9,
    employeeId: 'E-7',
    tags: { 'onboarding:first-name': 'Ann', 'onboarding:last-name': 'Lee', 'onboarding:password-resets': '1' },
  });

beforeEach(() => {
  users = fakeDirectory(workflow.aws.iam, [ann()]);
});

const execute = workflow.execute;

const resetAnn = { action: 'RESET_PASSWORD', hire: { userName: 'ann.lee', employeeId: 'E-7' }, reason: 'password-unused' };
const removeAnn = { ...resetAnn, action: 'REMOVE_CONSOLE_ACCESS' };

const sentTo = workflow.sentTo;
const etu = () =>
  new EntityTemporarilyUnmodifiableException({
    message: 'Login Profile for User ann.lee cannot be modified while login profile is being created.',
    $metadata: { httpStatusCode: 409 },
  });

describe('reprovision state machine: reset and re-send', () => {
  it('sets a new reset-required password, emails it to the address on the user, and marks the user complete', async () => {
    const result = await execute('reprovision', resetAnn);

    expect(result.status).toBe('SUCCEEDED');
    expect(entered(result)).toEqual(['ChooseAction', 'ResetPassword', 'IsReset', 'SendCredentials', 'MarkComplete', 'PasswordReset']);
    expect(result.output).toMatchObject({
      status: 'PASSWORD_RESET',
      userName: 'ann.lee',
      employeeId: 'E-7',
      reason: 'password-unused',
      passwordResets: 2,
      emailsSent: 1,
    });
    expect(workflow.aws.iam).toHaveReceivedCommandWith(UpdateLoginProfileCommand, { UserName: 'ann.lee', PasswordResetRequired: true });
    const [password] = passwordsSent(workflow.aws.iam);
    const mail = sentTo('ann.lee@example.com');
    expect(mail).toHaveLength(1);
    expect(mail[0]!.args[0].input.Message!.Body!.Text!.Data).toContain(password);
    expect(mail[0]!.args[0].input.Message!.Body!.Text!.Data).toContain('Hello Ann,');
    expect(sentTo(TEST_ENV.OPS_EMAIL)).toHaveLength(0);

    const tags = users.get('ann.lee')!.tags;
    expect(tags).toMatchObject({ 'onboarding:status': 'complete', 'onboarding:password-resets': '2' });
    expect(Date.parse(tags['onboarding:credentials-sent-at']!)).toBeGreaterThanOrEqual(Date.parse(tags['onboarding:password-issued-at']!));
  });

  it('retries UpdateLoginProfile through EntityTemporarilyUnmodifiable and counts one reset', async () => {
    workflow.aws.iam.on(UpdateLoginProfileCommand).rejectsOnce(etu()).rejectsOnce(etu()).rejectsOnce(etu()).resolves({});

    const result = await execute('reprovision', resetAnn);

    expect(result.status).toBe('SUCCEEDED');
    expect(retries(result, 'ResetPassword')).toHaveLength(3);
    expect(workflow.aws.iam).toHaveReceivedCommandTimes(UpdateLoginProfileCommand, 4);
    // The email carries the password of the attempt that succeeded.
    expect(sentTo('ann.lee@example.com')[0]!.args[0].input.Message!.Body!.Text!.Data).toContain(passwordsSent(workflow.aws.iam)[3]);
    expect(sentTo('ann.lee@example.com')).toHaveLength(1);
    expect(users.get('ann.lee')!.tags['onboarding:password-resets']).toBe('2');
  });

  it('gives up after the retries run out: failure tagged, ops emailed, FAILED with the SDK error name', async () => {
    workflow.aws.iam.on(UpdateLoginProfileCommand).rejects(etu());

    const result = await execute('reprovision', resetAnn);

    expect(result.status).toBe('FAILED');
    expect(result.error).toBe('EntityTemporarilyUnmodifiableException');
    expect(retries(result, 'ResetPassword')).toHaveLength(10);
    expect(entered(result).slice(-3)).toEqual(['RecordFailure', 'NotifyOps', 'ReprovisionFailed']);
    expect(users.get('ann.lee')!.tags).toMatchObject({
      'onboarding:status': 'failed',
      'onboarding:failure': 'EntityTemporarilyUnmodifiableException',
      'onboarding:password-resets': '1',
    });
    const ops = sentTo(TEST_ENV.OPS_EMAIL);
    expect(ops).toHaveLength(1);
    expect(ops[0]!.args[0].input.Message!.Body!.Text!.Data).toContain('User: ann.lee');
    expect(sentTo('ann.lee@example.com')).toHaveLength(0);
  });

  it('fails with the SES error when the email is rejected, leaving the user for the next sweep to re-send', async () => {
    workflow.aws.ses.on(SendEmailCommand, { Destination: { ToAddresses: ['ann.lee@example.com'] } }).rejects(
      new MessageRejected({ message: 'Email address is not verified.', $metadata: { httpStatusCode: 400 } }),
    );

    const result = await execute('reprovision', resetAnn);

    expect(result.status).toBe('FAILED');
    expect(result.error).toBe('MessageRejected');
    expect(entered(result).slice(-3)).toEqual(['RecordFailure', 'NotifyOps', 'ReprovisionFailed']);
    expect(users.get('ann.lee')!.tags['onboarding:status']).toBe('failed');

    const report = await sweep(
      { iam: new IAMClient({ region: 'us-east-1' }), sfn: new SFNClient({ region: 'us-east-1' }) },
      { managedPath: TEST_ENV.MANAGED_PATH, managedBy: TEST_ENV.MANAGED_BY, onboardingStateMachineArn: ONBOARDING, reprovisionStateMachineArn: REPROVISION, ...SWEEP_DEFAULTS },
      { dryRun: true, now: new Date(now.getTime() + DAY) },
    );
    expect(report.users[0]).toMatchObject({ userName: 'ann.lee', action: 'reset-password', reason: 'credentials-not-sent' });
  });

  it('leaves a user who signed in since the sweep looked alone', async () => {
    users.get('ann.lee')!.passwordLastUsed = new Date();

    const result = await execute('reprovision', resetAnn);

    expect(result.status).toBe('SUCCEEDED');
    expect(result.output).toEqual({ status: 'SKIPPED', userName: 'ann.lee', reason: 'signed-in' });
    expect(iamWrites(workflow.aws.iam)).toEqual([]);
    expect(workflow.aws.ses.calls()).toHaveLength(0);
  });

  it('fails with UserNameConflict on a user that is not ours, and leaves it untouched', async () => {
    users.get('ann.lee')!.tags['onboarding:managed-by'] = 'someone-else';

    const result = await execute('reprovision', resetAnn);

    expect(result.error).toBe('UserNameConflict');
    expect(iamWrites(workflow.aws.iam)).toEqual([]);
    expect(sentTo(TEST_ENV.OPS_EMAIL)).toHaveLength(1);
    expect(sentTo('ann.lee@example.com')).toHaveLength(0);
  });
});

describe('reprovision state machine: remove console access', () => {
  it('deletes the login profile, marks the user, emails ops and succeeds', async () => {
    users.get('ann.lee')!.tags['onboarding:password-resets'] = '3';

    const result = await execute('reprovision', removeAnn);

    expect(result.status).toBe('SUCCEEDED');
    expect(entered(result)).toEqual(['ChooseAction', 'RemoveConsoleAccess', 'IsRemoved', 'NotifyOpsOfRemoval', 'ConsoleAccessRemoved']);
    expect(result.output).toEqual({
      status: 'CONSOLE_ACCESS_REMOVED',
      userName: 'ann.lee',
      employeeId: 'E-7',
      reason: 'password-unused',
      passwordResets: 3,
    });
    expect(workflow.aws.iam).toHaveReceivedCommandWith(DeleteLoginProfileCommand, { UserName: 'ann.lee' });
    expect(users.get('ann.lee')!.loginProfile).toBeUndefined();
    expect(users.get('ann.lee')!.tags['onboarding:status']).toBe('console-access-removed');
    const ops = sentTo(TEST_ENV.OPS_EMAIL);
    expect(ops).toHaveLength(1);
    expect(ops[0]!.args[0].input.Message!.Subject!.Data).toContain('ConsoleAccessRemoved');
    expect(ops[0]!.args[0].input.Message!.Body!.Text!.Data).toContain('never used after 3 password reset');
    expect(sentTo('ann.lee@example.com')).toHaveLength(0);
    expect(workflow.aws.iam).toHaveReceivedCommandTimes(UpdateLoginProfileCommand, 0);
  });

  it('retries DeleteLoginProfile through EntityTemporarilyUnmodifiable', async () => {
    workflow.aws.iam.on(DeleteLoginProfileCommand).rejectsOnce(etu()).callsFake(async () => {
      delete users.get('ann.lee')!.loginProfile;
      return {};
    });
    users.get('ann.lee')!.tags['onboarding:password-resets'] = '3';

    const result = await execute('reprovision', removeAnn);

    expect(result.status).toBe('SUCCEEDED');
    expect(retries(result, 'RemoveConsoleAccess')).toHaveLength(1);
    expect(result.output).toMatchObject({ status: 'CONSOLE_ACCESS_REMOVED', passwordResets: 3 });
    expect(users.get('ann.lee')!.tags).toMatchObject({ 'onboarding:status': 'console-access-removed', 'onboarding:password-resets': '0' });
    expect(sentTo(TEST_ENV.OPS_EMAIL)).toHaveLength(1);
  });
});

describe('reprovision state machine: bad requests', () => {
  it.each([
    ['no user', { action: 'RESET_PASSWORD' }, 'hire: is required'],
    ['an email address to send to', { ...resetAnn, hire: { ...resetAnn.hire, email: 'evil@example.com' } }, 'unknown field'],
    ['an unknown action', { ...resetAnn, action: 'PURGE_USER' }, 'action: must be RESET_PASSWORD, REMOVE_CONSOLE_ACCESS or DELETE_USER'],
    ['no action', { hire: resetAnn.hire }, 'action: must be'],
    ['not an object', 'ann.lee', 'action: must be'],
  ])('fails with InvalidReprovisionRequest on %s, before any IAM call, and tells ops', async (_, input, cause) => {
    const result = await execute('reprovision', input);

    expect(result.status).toBe('FAILED');
    expect(result.error).toBe('InvalidReprovisionRequest');
    expect(result.cause).toContain(cause);
    expect(result.events.filter((e) => e.type === 'StateRetried')).toHaveLength(0);
    expect(workflow.aws.iam.calls()).toHaveLength(0);
    expect(sentTo(TEST_ENV.OPS_EMAIL)).toHaveLength(1);
  });
});

describe('sweep and state machines together', () => {
  it('the executions a sweep starts heal the users, and the next sweep finds nothing left to do', async () => {
    const bob = onboardedUser('bob', { now, employeeId: 'E-1', tags: { 'onboarding:status': 'failed', 'onboarding:credentials-sent-at': undefined } });
    delete bob.loginProfile;
    users = fakeDirectory(workflow.aws.iam, [ann(), bob, { ...onboardedUser('carl', { now }), passwordLastUsed: now }]);
    const steps = fakeStepFunctions({
      onStart: async (execution) => {
        const machine = execution.stateMachineArn === ONBOARDING ? 'onboarding' : 'reprovision';
        await execute(machine, execution.input, execution.name);
      },
    });
    const settings: SweepSettings = {
      managedPath: TEST_ENV.MANAGED_PATH,
      managedBy: TEST_ENV.MANAGED_BY,
      onboardingStateMachineArn: ONBOARDING,
      reprovisionStateMachineArn: REPROVISION,
      ...SWEEP_DEFAULTS,
    };
    const clients = { iam: new IAMClient({ region: 'us-east-1' }), sfn: new SFNClient({ region: 'us-east-1' }) };
    try {
      const first = await sweep(clients, settings, { now });

      expect(first.outcomes).toMatchObject({ started: 2, untouched: 1 });
      expect(workflow.results.map((r) => [r.status, (r.output as { status?: string }).status])).toEqual([
        ['SUCCEEDED', 'PASSWORD_RESET'],
        ['SUCCEEDED', 'ONBOARDED'],
      ]);
      // Bob's onboarding was taken up where it stopped: the user adopted (its CreateUser refused,
      // the name being taken), a password created.
      const creates = workflow.aws.iam.commandCalls(CreateUserCommand);
      expect(creates).toHaveLength(1);
      await expect(creates[0]!.returnValue).rejects.toMatchObject({ name: 'EntityAlreadyExistsException' });
      expect(workflow.aws.iam).toHaveReceivedCommandWith(CreateLoginProfileCommand, { UserName: 'bob', PasswordResetRequired: true });
      expect(sentTo('bob@example.com')).toHaveLength(1);
      expect(sentTo('ann.lee@example.com')).toHaveLength(1);
      expect(sentTo(TEST_ENV.OPS_EMAIL)).toHaveLength(0);
      expect(users.get('bob')!.tags['onboarding:status']).toBe('complete');

      const later = await sweep(clients, settings, { now: new Date(now.getTime() + 60_000) });
      expect(later.outcomes).toMatchObject({ started: 0, untouched: 3 });
      expect(later.users.map((u) => u.reason)).toEqual(['healthy', 'healthy', 'signed-in']);
      expect(workflow.aws.ses.calls()).toHaveLength(2);
      const writesToCarl = workflow.aws.iam
        .calls()
        .filter((c) => !/^(Get|List)/.test((c.args[0] as object).constructor.name))
        .filter((c) => (c.args[0].input as { UserName?: string }).UserName === 'carl');
      expect(writesToCarl).toEqual([]);
    } finally {
      steps.reset();
    }
  });
});
