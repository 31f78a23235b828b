import {
  DeleteLoginProfileCommand,
  EntityTemporarilyUnmodifiableException,
  IAMClient,
  TagUserCommand,
  UpdateLoginProfileCommand,
} from '@aws-sdk/client-iam';
import { KMSClient } from '@aws-sdk/client-kms';
import { beforeEach, describe, expect, it } from 'vitest';
import { openSecret } from '../../functions/lib/envelope.ts';
import {
  parseReprovisionRequest,
  removeConsoleAccess,
  resetPassword,
  type ReprovisionRequest,
} from '../../functions/lib/reprovision-user.ts';
import { hireFromUser } from '../../functions/lib/user-hire.ts';
import { iamWrites } from '../../testing/aws-fakes.ts';
import { TEST_ENV, TEST_TRUST } from '../../testing/lambda-env.ts';
import { expectNoSecrets, passwordsSent } from '../support/secrets.ts';
import { DAY, fakeDirectory, onboardedUser, type DirectoryUser } from '../support/iam-directory.ts';
import { useFakeAws } from '../support/in-process.ts';

const NOW = new Date('2025-03-10T06:00:00Z');
const OWNERSHIP = { managedPath: TEST_ENV.MANAGED_PATH, managedBy: TEST_ENV.MANAGED_BY };
const EXECUTION = 'arn:aws:states:us-east-1:123456789012:execution:reprovision:reset-ann-2025-03-10';
const SETTINGS = { ...OWNERSHIP, kmsKeyId: TEST_ENV.KMS_KEY_ID, passwordLength: 20, executionId: EXECUTION, trust: TEST_TRUST };

const fake = useFakeAws();
let users: Map<string, DirectoryUser>;
const iam = () => new IAMClient({ region: 'us-east-1' });
const kms = () => new KMSClient({ region: 'us-east-1' });

const request = (overrides: Partial<ReprovisionRequest> = {}): ReprovisionRequest => ({
  action: 'RESET_PASSWORD',
  hire: { userName: 'ann', employeeId: 'E-7' },
  reason: 'password-unused',
  ...overrides,
});

beforeEach(() => {
  users = fakeDirectory(fake.aws.iam, [
    onboardedUser('ann', { now: NOW, issuedDaysAgo: 9, employeeId: 'E-7', tags: { 'onboarding:password-resets': '1', 'onboarding:first-name': 'Ann' } }),
  ]);
});

describe('resetPassword', () => {
  it('sets a new reset-required password, sealed for this user and execution, and counts the reset', async () => {
    const result = await resetPassword({ iam: iam(), kms: kms() }, request(), SETTINGS, NOW);

    expect(fake.aws.iam).toHaveReceivedCommandWith(UpdateLoginProfileCommand, { UserName: 'ann', PasswordResetRequired: true });
    const [password] = passwordsSent(fake.aws.iam);
    expect(password).toHaveLength(20);
    expect(result).toMatchObject({
      status: 'RESET',
      reason: 'password-unused',
      hire: { userName: 'ann', employeeId: 'E-7', firstName: 'Ann', email: 'ann@example.com', groups: ['developers'] },
      user: { arn: 'arn:aws:iam::123456789012:user/onboarding/ann', path: '/onboarding/' },
      passwordIssuedAt: NOW.toISOString(),
      passwordResets: 2,
    });
    if (result.status !== 'RESET') throw new Error('not reset');
    expect(await openSecret(kms(), TEST_ENV.KMS_KEY_ID, result.sealedPassword, { userName: 'ann', executionId: EXECUTION })).toBe(password);
    await expect(
      openSecret(kms(), TEST_ENV.KMS_KEY_ID, result.sealedPassword, { userName: 'ann', executionId: `${EXECUTION}-other` }),
    ).rejects.toMatchObject({ name: 'CredentialsUnavailable' });
    expect(users.get('ann')?.tags).toMatchObject({
      'onboarding:password-issued-at': NOW.toISOString(),
      'onboarding:password-resets': '2',
    });
    expectNoSecrets(passwordsSent(fake.aws.iam), {
      result: { ...result, sealedPassword: undefined },
      tags: fake.aws.iam.commandCalls(TagUserCommand).map((c) => c.args[0].input),
    });
  });

  it('tags nothing when UpdateLoginProfile fails, and keeps the password out of the error', async () => {
    fake.aws.iam.on(UpdateLoginProfileCommand).callsFake(async (input: { Password: string }) => {
      throw new EntityTemporarilyUnmodifiableException({
        message: `Login Profile cannot be modified (${input.Password})`,
        $metadata: { httpStatusCode: 409 },
      });
    });

    const error: unknown = await resetPassword({ iam: iam(), kms: kms() }, request(), SETTINGS, NOW).catch((e: unknown) => e);

    expect(error).toMatchObject({ name: 'EntityTemporarilyUnmodifiableException', message: expect.stringContaining('********') });
    expectNoSecrets(passwordsSent(fake.aws.iam), { message: (error as Error).message });
    expect(iamWrites(fake.aws.iam)).toEqual(['UpdateLoginProfileCommand']);
    expect(users.get('ann')?.tags['onboarding:password-resets']).toBe('1');
  });

  it('leaves a user who has signed in since the sweep looked alone', async () => {
    users.get('ann')!.passwordLastUsed = new Date(NOW.getTime() - DAY);

    expect(await resetPassword({ iam: iam(), kms: kms() }, request(), SETTINGS, NOW)).toEqual({ status: 'SKIPPED', reason: 'signed-in' });
    expect(iamWrites(fake.aws.iam)).toEqual([]);
    expect(fake.aws.kms.calls()).toHaveLength(0);
  });

  it('skips a user that no longer exists, or whose console access was removed', async () => {
    expect(await resetPassword({ iam: iam(), kms: kms() }, request({ hire: { userName: 'gone', employeeId: 'E-7' } }), SETTINGS, NOW)).toEqual({
      status: 'SKIPPED',
      reason: 'no-such-user',
    });
    users.get('ann')!.tags['onboarding:status'] = 'console-access-removed';
    expect(await resetPassword({ iam: iam(), kms: kms() }, request(), SETTINGS, NOW)).toEqual({
      status: 'SKIPPED',
      reason: 'console-access-removed',
    });
    expect(iamWrites(fake.aws.iam)).toEqual([]);
  });

  it('refuses a user that is not ours, or not for this employee, before any write', async () => {
    await expect(
      resetPassword({ iam: iam(), kms: kms() }, request({ hire: { userName: 'ann', employeeId: 'E-8' } }), SETTINGS, NOW),
    ).rejects.toMatchObject({ name: 'UserNameConflict', message: expect.stringContaining('ann') });
    users.get('ann')!.tags['onboarding:managed-by'] = 'someone-else';
    await expect(resetPassword({ iam: iam(), kms: kms() }, request(), SETTINGS, NOW)).rejects.toMatchObject({ name: 'UserNameConflict' });
    expect(iamWrites(fake.aws.iam)).toEqual([]);
  });

  it('fails with HireNotRebuildable, before any write, when the user has no email tag', async () => {
    delete users.get('ann')!.tags['onboarding:email'];

    await expect(resetPassword({ iam: iam(), kms: kms() }, request(), SETTINGS, NOW)).rejects.toMatchObject({
      name: 'HireNotRebuildable',
      message: expect.stringContaining('onboarding:email'),
    });
    expect(iamWrites(fake.aws.iam)).toEqual([]);
  });
});

describe('resetPassword: who the resend goes to (credentialsRecipient)', () => {
  const inMode = (mode: 'hire' | 'manager' | 'split') => ({ ...SETTINGS, trust: { ...TEST_TRUST, credentialsRecipient: mode } });
  const withManager = (address: string) => {
    users.get('ann')!.tags['onboarding:manager-email'] = address;
  };

  it.each(['manager', 'split'] as const)('%s: rebuilds the manager from the user tag, for the email step', async (mode) => {
    withManager('carl@example.com');
    const result = await resetPassword({ iam: iam(), kms: kms() }, request(), inMode(mode), NOW);
    expect(result).toMatchObject({ status: 'RESET', hire: { email: 'ann@example.com', managerEmail: 'carl@example.com' } });
  });

  it.each(['manager', 'split'] as const)(
    '%s: a user without the manager tag fails HireNotRebuildable naming the tag, before any write',
    async (mode) => {
      await expect(resetPassword({ iam: iam(), kms: kms() }, request(), inMode(mode), NOW)).rejects.toThrow(
        `User "ann" cannot be sent credentials from its tags: onboarding:manager-email: is required: this stage sends the temporary password to the manager (credentialsRecipient: ${mode})`,
      );
      expect(iamWrites(fake.aws.iam)).toEqual([]);
    },
  );

  it('hire: a user without the manager tag is reset as before', async () => {
    await expect(resetPassword({ iam: iam(), kms: kms() }, request(), inMode('hire'), NOW)).resolves.toMatchObject({ status: 'RESET' });
  });

  it.each(['hire', 'manager', 'split'] as const)('%s: a manager tag outside the allowed domains fails EmailDomainNotAllowed, before any write', async (mode) => {
    withManager('carl@evil.test');
    await expect(resetPassword({ iam: iam(), kms: kms() }, request(), inMode(mode), NOW)).rejects.toMatchObject({
      name: 'EmailDomainNotAllowed',
      message: expect.stringContaining('managerEmail: the domain "evil.test"'),
    });
    expect(iamWrites(fake.aws.iam)).toEqual([]);
  });

  it('an invalid manager tag makes the hire not rebuildable, naming the tag and not its value', async () => {
    withManager('not-an-address');
    const error = (await resetPassword({ iam: iam(), kms: kms() }, request(), inMode('manager'), NOW).catch((e: unknown) => e)) as Error;
    expect(error).toMatchObject({ name: 'HireNotRebuildable', message: expect.stringContaining('onboarding:manager-email: must be an email address') });
    expect(error.message).not.toContain('not-an-address');
    expect(iamWrites(fake.aws.iam)).toEqual([]);
  });
});

describe('removeConsoleAccess', () => {
  it('marks the user, deletes its login profile, and says so for the ops email', async () => {
    users.get('ann')!.tags['onboarding:password-resets'] = '3';

    const result = await removeConsoleAccess(iam(), request({ action: 'REMOVE_CONSOLE_ACCESS' }), OWNERSHIP, NOW);

    expect(result).toMatchObject({
      status: 'REMOVED',
      reason: 'password-unused',
      hire: { userName: 'ann', employeeId: 'E-7', email: 'ann@example.com' },
      passwordResets: 3,
    });
    if (result.status !== 'REMOVED') throw new Error('not removed');
    expect(result.message).toContain('never used after 3 password reset');
    // The mark comes first, so a failed deletion never leaves an unmarked user without a password.
    expect(iamWrites(fake.aws.iam)).toEqual(['TagUserCommand', 'DeleteLoginProfileCommand', 'TagUserCommand']);
    expect(users.get('ann')?.loginProfile).toBeUndefined();
    expect(users.get('ann')?.tags).toMatchObject({
      'onboarding:status': 'console-access-removed',
      'onboarding:password-resets': '0',
      'onboarding:updated-at': NOW.toISOString(),
    });
  });

  it('succeeds when the login profile is already gone (a repeated attempt)', async () => {
    delete users.get('ann')!.loginProfile;

    const result = await removeConsoleAccess(iam(), request({ action: 'REMOVE_CONSOLE_ACCESS', reason: 'credentials-not-sent' }), OWNERSHIP, NOW);

    expect(result).toMatchObject({ status: 'REMOVED' });
    if (result.status === 'REMOVED') expect(result.message).toContain('could not be delivered');
    expect(fake.aws.iam).toHaveReceivedCommandTimes(DeleteLoginProfileCommand, 1);
  });

  it('leaves a user who has signed in alone, and refuses one that is not ours', async () => {
    users.get('ann')!.passwordLastUsed = new Date();
    expect(await removeConsoleAccess(iam(), request({ action: 'REMOVE_CONSOLE_ACCESS' }), OWNERSHIP, NOW)).toEqual({
      status: 'SKIPPED',
      reason: 'signed-in',
    });
    await expect(
      removeConsoleAccess(iam(), request({ action: 'REMOVE_CONSOLE_ACCESS', hire: { userName: 'ann', employeeId: 'E-1' } }), OWNERSHIP, NOW),
    ).rejects.toMatchObject({ name: 'UserNameConflict' });
    expect(iamWrites(fake.aws.iam)).toEqual([]);
  });
});

describe('parseReprovisionRequest', () => {
  it('accepts the sweep\'s requests and defaults the reason', () => {
    expect(parseReprovisionRequest({ action: 'RESET_PASSWORD', hire: { userName: 'ann', employeeId: 'E-7' } })).toEqual({
      action: 'RESET_PASSWORD',
      hire: { userName: 'ann', employeeId: 'E-7' },
      reason: 'requested',
    });
  });

  it('names every bad field, and refuses an email address in the request', () => {
    const parse = (input: unknown) => () => parseReprovisionRequest(input);
    expect(parse({ action: 'DELETE_USER', hire: { userName: 'ann' } })).toThrowError(/action: .*; hire\.employeeId: is required/);
    expect(parse({ action: 'RESET_PASSWORD', hire: { userName: 'a b', employeeId: 'E-7' } })).toThrowError(/hire\.userName: must be an IAM user name/);
    expect(parse({ action: 'RESET_PASSWORD', hire: { userName: 'ann', employeeId: 'E-7', email: 'evil@example.com' } })).toThrowError(
      /hire: unknown field\(s\) "email"/,
    );
    expect(parse('not an object')).toThrowError(expect.objectContaining({ name: 'InvalidReprovisionRequest' }));
  });
});

describe('hireFromUser', () => {
  it('names the tags that are missing or invalid, never their values', async () => {
    const base = { UserName: 'ann', Path: '/onboarding/', UserId: 'U', Arn: 'arn', CreateDate: NOW };
    const user = { ...base, Tags: [{ Key: 'onboarding:employee-id', Value: 'E-7' }] };
    await expect(hireFromUser(iam(), user)).rejects.toThrowError(
      'User "ann" cannot be re-onboarded from its tags: missing onboarding:first-name, onboarding:last-name, onboarding:email',
    );
    const bad = {
      ...base,
      Tags: [
        { Key: 'onboarding:employee-id', Value: 'E-7' },
        { Key: 'onboarding:first-name', Value: 'Ann' },
        { Key: 'onboarding:last-name', Value: 'Lee' },
        { Key: 'onboarding:email', Value: 'secret-not-an-address' },
      ],
    };
    const error = (await hireFromUser(iam(), bad).catch((e: unknown) => e)) as Error;
    expect(error).toMatchObject({ name: 'HireNotRebuildable', message: expect.stringContaining('onboarding:email: must be an email address') });
    expect(error.message).not.toContain('secret-not-an-address');
  });
});
