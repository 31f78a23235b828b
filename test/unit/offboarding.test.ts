import {
  DeactivateMFADeviceCommand,
  DeleteAccessKeyCommand,
  DeleteLoginProfileCommand,
  DeleteServiceSpecificCredentialCommand,
  DeleteSigningCertificateCommand,
  DeleteSSHPublicKeyCommand,
  DeleteUserCommand,
  DeleteUserPolicyCommand,
  DeleteVirtualMFADeviceCommand,
  DetachUserPolicyCommand,
  IAMClient,
  RemoveUserFromGroupCommand,
  UpdateAccessKeyCommand,
  type User,
} from '@aws-sdk/client-iam';
import { GetParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { MassOffboardingHeld } from '../../functions/lib/errors.ts';
import { deleteOffboardedUser, parseDeletionRequest } from '../../functions/lib/offboarding-deletion.ts';
import { censusOf, confirmationFor, confirmationInForce, dailyAllowance, verdict } from '../../functions/lib/offboarding-guard.ts';
import { findLeaver, offboardUser } from '../../functions/lib/offboarding.ts';
import { offboardingSettingsFromEnv } from '../../functions/lib/offboarding-settings.ts';
import { iamWrites, noSuchEntity } from '../../testing/aws-fakes.ts';
import { TEST_ENV } from '../../testing/lambda-env.ts';
import { employee, fakeConfirmation, fakeLeaverDirectory, type LeaverUser } from '../support/offboarding-directory.ts';

const ownership = { managedPath: TEST_ENV.MANAGED_PATH, managedBy: TEST_ENV.MANAGED_BY };
const now = new Date('2026-12-02T12:00:00Z');
const DAY = 86_400_000;
const guard = { share: 10, floor: 5 };
const settings = { ownership, guard, confirmationParameter: TEST_ENV.OFFBOARDING_CONFIRMATION_PARAMETER, allowedGroups: ['developers', 'on-call'] };

const iam = mockClient(IAMClient);
let ssm: ReturnType<typeof fakeConfirmation>;
let users: Map<string, LeaverUser>;
const clients = () => ({ iam: new IAMClient({}), ssm: new SSMClient({}) });

const offboardedTags = (at: Date) => ({ 'onboarding:status': 'offboarded', 'onboarding:offboarded-at': at.toISOString() });

beforeEach(() => {
  iam.reset();
  ssm = fakeConfirmation();
  users = fakeLeaverDirectory(iam, [employee('ann.lee', { now, employeeId: 'E-7', groups: ['developers', 'hand-added'] })]);
});
afterEach(() => ssm.restore());

describe('the mass-change guard', () => {
  it('allows the larger of the share of the managed users and the floor, a day', () => {
    expect(dailyAllowance({ managed: 200, recentlyOffboarded: 0 }, guard)).toBe(20);
    expect(dailyAllowance({ managed: 20, recentlyOffboarded: 0 }, guard)).toBe(5);
    expect(dailyAllowance({ managed: 200, recentlyOffboarded: 0 }, { share: 0, floor: 0 })).toBe(0);
  });

  it('counts the users offboarded within the last 24 hours from their tags', () => {
    const user = (tags: Record<string, string>): User => ({ UserName: 'u', Path: '/', UserId: 'U', Arn: 'arn', CreateDate: now, Tags: Object.entries(tags).map(([Key, Value]) => ({ Key, Value })) });
    const census = censusOf(
      [
        user(offboardedTags(new Date(now.getTime() - 3_600_000))),
        user(offboardedTags(new Date(now.getTime() - 2 * DAY))),
        // Begun, not finished: dated by its last update.
        user({ 'onboarding:status': 'offboarded', 'onboarding:updated-at': now.toISOString() }),
        user({ 'onboarding:status': 'complete' }),
      ],
      now,
    );
    expect(census).toEqual({ managed: 4, recentlyOffboarded: 2 });
  });

  it('holds past the allowance unless confirmed', () => {
    const census = { managed: 100, recentlyOffboarded: 10 };
    expect(verdict(census, 0, guard, undefined).holds).toBe(false);
    expect(verdict(census, 1, guard, undefined)).toMatchObject({ holds: true, wouldBe: 11, allowance: 10 });
    expect(verdict(census, 1, guard, confirmationFor('admin', now, 3_600_000)).holds).toBe(false);
  });

  it('takes a confirmation only while it lasts, and never one longer than a day or dated ahead', () => {
    const value = (c: object) => JSON.stringify(c);
    expect(confirmationInForce(value(confirmationFor('admin', now, 3_600_000)), new Date(now.getTime() + 3_599_000))).toBeDefined();
    expect(confirmationInForce(value(confirmationFor('admin', now, 3_600_000)), new Date(now.getTime() + 3_600_000))).toBeUndefined();
    expect(confirmationFor('admin', now, 5 * DAY).expiresAt).toBe(new Date(now.getTime() + DAY).toISOString());
    const tooLong = { confirmedBy: 'x', confirmedAt: now.toISOString(), expiresAt: new Date(now.getTime() + 2 * DAY).toISOString() };
    expect(confirmationInForce(value(tooLong), now)).toBeUndefined();
    const ahead = { confirmedBy: 'x', confirmedAt: new Date(now.getTime() + DAY / 2).toISOString(), expiresAt: new Date(now.getTime() + DAY).toISOString() };
    expect(confirmationInForce(value(ahead), now)).toBeUndefined();
    for (const junk of ['none', '', '{}', '[]', 'null']) expect(confirmationInForce(junk, now)).toBeUndefined();
  });

  it('reads its settings from the environment, with defaults, naming a bad one', () => {
    expect(offboardingSettingsFromEnv({ OFFBOARDING_CONFIRMATION_PARAMETER: '/s/c' })).toEqual({
      guard: { share: 10, floor: 5 },
      retentionDays: 30,
      confirmationParameter: '/s/c',
    });
    expect(() => offboardingSettingsFromEnv({ OFFBOARDING_CONFIRMATION_PARAMETER: '/s/c', OFFBOARDING_GUARD_SHARE: '110' })).toThrow(/OFFBOARDING_GUARD_SHARE/);
    expect(() => offboardingSettingsFromEnv({})).toThrow(/OFFBOARDING_CONFIRMATION_PARAMETER/);
  });
});

describe('finding and offboarding a leaver', () => {
  it('finds the managed user by its employee tag, or by name only if it is ours for that employee', async () => {
    expect(await findLeaver(new IAMClient({}), { employeeId: 'E-7' }, ownership)).toEqual({ status: 'FOUND', employeeId: 'E-7', userName: 'ann.lee' });
    expect(await findLeaver(new IAMClient({}), { employeeId: 'E-8', userName: 'ann.lee' }, ownership)).toMatchObject({ status: 'NOT_MANAGED' });
    expect(await findLeaver(new IAMClient({}), { employeeId: 'E-8' }, ownership)).toEqual({ status: 'NOT_FOUND', employeeId: 'E-8' });
  });

  it('deactivates keys and MFA, deletes the password, leaves only assigned groups, and tags status before the removals and the time after', async () => {
    const result = await offboardUser(clients(), { employeeId: 'E-7', userName: 'ann.lee', executionId: 'arn:exec' }, settings, now);

    expect(result).toMatchObject({ status: 'OFFBOARDED', resumed: false, offboardedAt: now.toISOString() });
    // No groups record: the groups the stage may assign.
    expect(users.get('ann.lee')!.groups).toEqual(['hand-added']);
    expect(iamWrites(iam)).toEqual([
      'TagUserCommand',
      'DeleteLoginProfileCommand',
      'UpdateAccessKeyCommand',
      'RemoveUserFromGroupCommand',
      'DeactivateMFADeviceCommand',
      'TagUserCommand',
    ]);
    expect(iam.commandCalls(UpdateAccessKeyCommand)[0]!.args[0].input).toMatchObject({ Status: 'Inactive' });
    expect(iam.commandCalls(DeactivateMFADeviceCommand)).toHaveLength(1);
    expect(users.get('ann.lee')!.tags).toMatchObject({ 'onboarding:status': 'offboarded', 'onboarding:offboarded-by': 'arn:exec' });
  });

  it('throws MassOffboardingHeld before any write when the guard holds, and reads the confirmation only then', async () => {
    const crowd = Array.from({ length: 5 }, (_, i) => employee(`u${i}`, { now, tags: offboardedTags(now) }));
    users = fakeLeaverDirectory(iam, [employee('ann.lee', { now, employeeId: 'E-7' }), ...crowd]);

    await expect(offboardUser(clients(), { employeeId: 'E-7', userName: 'ann.lee', executionId: 'x' }, settings, now)).rejects.toThrow(MassOffboardingHeld);
    expect(iamWrites(iam)).toEqual([]);
    expect(ssm.commandCalls(GetParameterCommand)).toHaveLength(1);
  });

  it('lets an AWS error through for the state machine to retry, and a retry finishes the work', async () => {
    iam.on(RemoveUserFromGroupCommand).rejectsOnce(Object.assign(new Error('Rate exceeded'), { name: 'Throttling' }));
    await expect(offboardUser(clients(), { employeeId: 'E-7', userName: 'ann.lee', executionId: 'x' }, settings, now)).rejects.toThrow('Rate exceeded');
    expect(users.get('ann.lee')!.tags['onboarding:offboarded-at']).toBeUndefined();

    iam.on(RemoveUserFromGroupCommand).callsFake(async (input: { UserName: string; GroupName: string }) => {
      const user = users.get(input.UserName)!;
      user.groups = user.groups.filter((g) => g !== input.GroupName);
      return {};
    });
    const result = await offboardUser(clients(), { employeeId: 'E-7', userName: 'ann.lee', executionId: 'x' }, settings, now);
    expect(result).toMatchObject({ status: 'OFFBOARDED', resumed: true });
    expect(users.get('ann.lee')!.groups).toEqual(['hand-added']);
  });
});

describe('deleting an offboarded user after its retention', () => {
  const request = parseDeletionRequest({ action: 'DELETE_USER', hire: { userName: 'ann.lee', employeeId: 'E-7' } });
  const retention = { ownership, retentionDays: 30 };

  function leaver(offboardedDaysAgo: number) {
    users = fakeLeaverDirectory(iam, [
      employee('ann.lee', {
        now,
        employeeId: 'E-7',
        tags: offboardedTags(new Date(now.getTime() - offboardedDaysAgo * DAY)),
        credentials: {
          accessKeys: [{ id: 'AKIA1', status: 'Inactive' }],
          signingCertificates: ['CERT1'],
          sshKeys: ['SSH1'],
          serviceCredentials: ['SSC1'],
          mfaDevices: [{ serial: 'arn:aws:iam::123456789012:mfa/ann', active: true }, { serial: 'GAHT12345678', active: true }],
          attachedPolicies: ['arn:aws:iam::aws:policy/IAMUserChangePassword'],
          inlinePolicies: ['inline'],
        },
      }),
    ]);
  }

  it('detaches and deletes everything in the order IAM needs, then deletes the user', async () => {
    leaver(31);
    const result = await deleteOffboardedUser(new IAMClient({}), request, retention, now);

    expect(result).toMatchObject({ status: 'DELETED', removed: { 'login profile': 1, 'access keys': 1, 'MFA devices': 2, 'group memberships': 1 } });
    expect(users.has('ann.lee')).toBe(false);
    const order = [
      DeleteLoginProfileCommand,
      DeleteAccessKeyCommand,
      DeleteSigningCertificateCommand,
      DeleteSSHPublicKeyCommand,
      DeleteServiceSpecificCredentialCommand,
      DeactivateMFADeviceCommand,
      DeleteVirtualMFADeviceCommand,
      DeactivateMFADeviceCommand,
      DetachUserPolicyCommand,
      DeleteUserPolicyCommand,
      RemoveUserFromGroupCommand,
      DeleteUserCommand,
    ].map((c) => c.name);
    expect(iamWrites(iam)).toEqual(order);
    // The hardware device is deactivated, not deleted: it is not IAM's to delete.
    expect(iam.commandCalls(DeleteVirtualMFADeviceCommand).map((c) => c.args[0].input.SerialNumber)).toEqual(['arn:aws:iam::123456789012:mfa/ann']);
  });

  it('takes an attachment already gone (an answer lost, the SDK retried) as removed', async () => {
    leaver(31);
    iam.on(DeleteAccessKeyCommand).callsFake(async (input: { UserName: string; AccessKeyId: string }) => {
      const user = users.get(input.UserName)!;
      user.credentials.accessKeys = [];
      throw noSuchEntity(`The Access Key with id ${input.AccessKeyId} cannot be found.`);
    });
    expect(await deleteOffboardedUser(new IAMClient({}), request, retention, now)).toMatchObject({ status: 'DELETED' });
    expect(users.has('ann.lee')).toBe(false);
  });

  it('deletes nothing before the retention ends, nor a user that is not offboarded or not ours', async () => {
    leaver(29);
    expect(await deleteOffboardedUser(new IAMClient({}), request, retention, now)).toMatchObject({ status: 'SKIPPED', reason: 'retention-not-ended' });
    users = fakeLeaverDirectory(iam, [employee('ann.lee', { now, employeeId: 'E-7' })]);
    expect(await deleteOffboardedUser(new IAMClient({}), request, retention, now)).toMatchObject({ status: 'SKIPPED', reason: 'not-offboarded' });
    users = fakeLeaverDirectory(iam, [{ ...employee('ann.lee', { now, employeeId: 'E-7', tags: offboardedTags(new Date(0)) }), path: '/admins/' }]);
    expect(await deleteOffboardedUser(new IAMClient({}), request, retention, now)).toMatchObject({ status: 'SKIPPED', reason: 'not-managed' });
    users = fakeLeaverDirectory(iam, []);
    expect(await deleteOffboardedUser(new IAMClient({}), request, retention, now)).toMatchObject({ status: 'SKIPPED', reason: 'no-such-user' });
    expect(iamWrites(iam)).toEqual([]);
  });

  it('refuses a request that is not a deletion', () => {
    expect(() => parseDeletionRequest({ action: 'DELETE_USER', hire: { userName: 'a b', employeeId: 'E-1' } })).toThrow(/hire.userName/);
    expect(() => parseDeletionRequest({ action: 'DELETE_USER', hire: { userName: 'a', employeeId: 'E-1' }, reason: 'because' })).toThrow(/reason/);
  });
});
