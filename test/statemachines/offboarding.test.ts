import { DeleteLoginProfileCommand, DeleteUserCommand, EntityTemporarilyUnmodifiableException, GetAccountAuthorizationDetailsCommand } from '@aws-sdk/client-iam';
import { SendEmailCommand } from '@aws-sdk/client-ses';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { iamWrites } from '../../testing/aws-fakes.ts';
import { TEST_ENV } from '../../testing/lambda-env.ts';
import { confirmationFor } from '../../functions/lib/offboarding-guard.ts';
import { entered, retries, useStateMachines } from '../support/in-process.ts';
import { employee, fakeConfirmation, fakeLeaverDirectory, type LeaverUser } from '../support/offboarding-directory.ts';

let users: Map<string, LeaverUser>;
let ssm: ReturnType<typeof fakeConfirmation>;
const workflow = useStateMachines(['offboarding', 'reprovision'], { places: () => ({ directory: [...users.values()] }) });
const execute = (input: unknown) => workflow.execute('offboarding', input);
const now = new Date();
const HOUR = 3_600_000;

const ann = () =>
  employee('ann.lee', {
    now,
    employeeId: 'E-7',
    groups: ['developers', 'on-call', 'hand-added'],
    tags: { 'onboarding:groups': 'developers on-call' },
  });
const stranger = (): LeaverUser => ({ ...employee('eve', { now, employeeId: 'E-9' }), path: '/other/' });

function useDirectory(extra: LeaverUser[] = []) {
  users = fakeLeaverDirectory(workflow.aws.iam, [ann(), stranger(), ...extra]);
}

beforeEach(() => {
  useDirectory();
  ssm = fakeConfirmation();
});
afterEach(() => ssm.restore());

const opsMail = () => workflow.sentTo(TEST_ENV.OPS_EMAIL).map((c) => c.args[0].input);

describe('offboarding state machine: a leaver loses access and is kept', () => {
  it('finds the user by employee id, removes its access, tags it offboarded and tells ops', async () => {
    const result = await execute({ employeeId: 'E-7' });

    expect(result.status).toBe('SUCCEEDED');
    expect(entered(result)).toEqual(['ValidateTermination', 'IsLastDayAhead', 'FindLeaver', 'IsFound', 'OffboardUser', 'IsOffboarded', 'NotifyOpsOfOffboarding', 'Offboarded']);
    expect(result.output).toMatchObject({
      status: 'OFFBOARDED',
      userName: 'ann.lee',
      employeeId: 'E-7',
      removed: { loginProfile: true, accessKeys: ['AKIA7'], groups: ['developers', 'on-call'], mfaDevices: ['arn:aws:iam::123456789012:mfa/ann.lee'] },
    });
    const user = users.get('ann.lee')!;
    console.log('after offboarding:', JSON.stringify({ tags: user.tags, groups: user.groups, loginProfile: user.loginProfile ?? null, credentials: user.credentials }));
    expect(user.loginProfile).toBeUndefined();
    expect(user.credentials.accessKeys).toEqual([{ id: 'AKIA7', status: 'Inactive' }]);
    expect(user.credentials.mfaDevices).toEqual([{ serial: 'arn:aws:iam::123456789012:mfa/ann.lee', active: false }]);
    // Only the groups this workflow assigned; the one added by hand stays.
    expect(user.groups).toEqual(['hand-added']);
    expect(user.tags).toMatchObject({ 'onboarding:status': 'offboarded', 'onboarding:offboarded-by': expect.stringContaining(':execution:offboarding:') });
    expect(Date.parse(user.tags['onboarding:offboarded-at']!)).toBeGreaterThan(0);
    // The user itself is kept.
    expect(workflow.aws.iam.commandCalls(GetAccountAuthorizationDetailsCommand).length).toBeGreaterThan(0);
    expect(iamWrites(workflow.aws.iam)).not.toContain('DeleteUserCommand');
    expect(opsMail()).toHaveLength(1);
    expect(opsMail()[0]!.Message!.Subject!.Data).toBe('User ann.lee offboarded');
    expect(opsMail()[0]!.Message!.Body!.Text!.Data).toContain('Access keys deactivated: 1');
    // Counted once, in the workflow's metrics.
    expect(workflow.output.text().match(/"Offboarded":1\b/g)).toHaveLength(1);
  });

  it('takes the user name from the event, once it is verified to be ours for that employee', async () => {
    const result = await execute({ employeeId: 'E-7', userName: 'ann.lee' });

    expect(result.output).toMatchObject({ status: 'OFFBOARDED', userName: 'ann.lee' });
    // Found by GetUser: no read of the whole directory but the guard's.
    expect(workflow.aws.iam.commandCalls(GetAccountAuthorizationDetailsCommand)).toHaveLength(1);
  });

  it('waits until the end of a last day still ahead, then offboards', async () => {
    const lastDay = new Date(now.getTime() + 3 * 24 * HOUR).toISOString().slice(0, 10);
    const result = await execute({ employeeId: 'E-7', lastDay });

    expect(result.status).toBe('SUCCEEDED');
    expect(entered(result).slice(0, 4)).toEqual(['ValidateTermination', 'IsLastDayAhead', 'WaitForLastDay', 'FindLeaver']);
    // UTC (the default timeZone): the last day ends at midnight.
    const [end] = new Date(Date.parse(lastDay) + 24 * HOUR).toISOString().split('T');
    expect(JSON.stringify(result.events)).toContain(`"waitUntil":"${end}T00:00:00.000Z"`);
    expect(result.output).toMatchObject({ status: 'OFFBOARDED' });
  });

  it('retries a login-profile change still settling, and finishes the offboarding it began without counting it twice', async () => {
    const etu = new EntityTemporarilyUnmodifiableException({ message: 'Login Profile for User ann.lee cannot be modified', $metadata: { httpStatusCode: 409 } });
    let failures = 1;
    const original = users.get('ann.lee')!;
    workflow.aws.iam.on(DeleteLoginProfileCommand).callsFake(async () => {
      if (failures-- > 0) throw etu;
      delete original.loginProfile;
      return {};
    });

    const result = await execute({ employeeId: 'E-7' });

    expect(result.status).toBe('SUCCEEDED');
    expect(retries(result, 'OffboardUser')).toHaveLength(1);
    expect(result.output).toMatchObject({ status: 'OFFBOARDED' });
    expect(original.loginProfile).toBeUndefined();
    // The second attempt found the user already marked: the guard was not asked again.
    expect(workflow.aws.iam.commandCalls(GetAccountAuthorizationDetailsCommand)).toHaveLength(2);
  });
});

describe('offboarding state machine: nothing of ours, nothing touched', () => {
  it('ends NOT_FOUND for an employee the workflow has no user for, changing nothing', async () => {
    const result = await execute({ employeeId: 'E-404' });

    expect(result.status).toBe('SUCCEEDED');
    expect(result.output).toMatchObject({ status: 'NOT_FOUND', employeeId: 'E-404' });
    expect(iamWrites(workflow.aws.iam)).toEqual([]);
    expect(opsMail()).toEqual([]);
  });

  it('ends NOT_FOUND for a user name that does not exist', async () => {
    const result = await execute({ employeeId: 'E-7', userName: 'nobody' });
    expect(result.output).toMatchObject({ status: 'NOT_FOUND' });
    expect(iamWrites(workflow.aws.iam)).toEqual([]);
  });

  it('ends NOT_MANAGED for a user outside the managed path, or ours for another employee', async () => {
    for (const input of [{ employeeId: 'E-9', userName: 'eve' }, { employeeId: 'E-8', userName: 'ann.lee' }]) {
      const result = await execute(input);
      expect(result.status).toBe('SUCCEEDED');
      expect(result.output).toMatchObject({ status: 'NOT_MANAGED', userName: input.userName });
    }
    expect(iamWrites(workflow.aws.iam)).toEqual([]);
    expect(users.get('eve')!.loginProfile).toBeDefined();
  });

  it('ends ALREADY_OFFBOARDED for a duplicate termination, changing nothing', async () => {
    await execute({ employeeId: 'E-7' });
    const writes = iamWrites(workflow.aws.iam).length;
    const tags = { ...users.get('ann.lee')!.tags };

    const again = await execute({ employeeId: 'E-7' });

    expect(again.status).toBe('SUCCEEDED');
    expect(again.output).toMatchObject({ status: 'ALREADY_OFFBOARDED', userName: 'ann.lee' });
    expect(iamWrites(workflow.aws.iam)).toHaveLength(writes);
    expect(users.get('ann.lee')!.tags).toEqual(tags);
    expect(opsMail()).toHaveLength(1);
    expect(workflow.output.text().match(/"Offboarded":1\b/g)).toHaveLength(1);
  });

  it('refuses hostile input with InvalidHrEvent before any AWS call, and tells ops', async () => {
    for (const input of [
      { employeeId: 'E-7', userName: 'ann.lee\nBcc: x@evil.test' },
      { employeeId: 'E-7', username: 'ann.lee' },
      { employeeId: '<script>' },
      { employeeId: 'E-7', lastDay: 'tomorrow' },
      'E-7',
    ]) {
      const result = await execute(input);
      expect(result.status, JSON.stringify(input)).toBe('FAILED');
      expect(result.error).toBe('InvalidHrEvent');
    }
    expect(workflow.aws.iam.calls()).toEqual([]);
    expect(opsMail()).toHaveLength(5);
    expect(opsMail()[0]!.Message!.Subject!.Data).toBe('Offboarding failed for an unidentified employee: InvalidHrEvent');
  });
});

describe('offboarding state machine: the mass-change guard', () => {
  // 60 managed users: 10 % is 6 a day.
  const crowd = (offboardedToday: number) =>
    Array.from({ length: 59 }, (_, i) =>
      employee(`user${i}`, {
        now,
        employeeId: `E-${100 + i}`,
        tags: i < offboardedToday ? { 'onboarding:status': 'offboarded', 'onboarding:offboarded-at': new Date(now.getTime() - HOUR).toISOString() } : {},
      }),
    );

  it('offboards while the day stays within the share', async () => {
    useDirectory(crowd(5));
    const result = await execute({ employeeId: 'E-7' });
    expect(result.output).toMatchObject({ status: 'OFFBOARDED' });
  });

  it('holds with MassOffboardingHeld, leaves the user untouched and tells ops, once the share would be exceeded', async () => {
    useDirectory(crowd(6));
    const result = await execute({ employeeId: 'E-7' });

    expect(result.status).toBe('FAILED');
    expect(result.error).toBe('MassOffboardingHeld');
    expect(result.cause).toContain('7 of 60 managed users');
    expect(entered(result)).toContain('NotifyOpsOfFailure');
    expect(iamWrites(workflow.aws.iam)).toEqual([]);
    expect(users.get('ann.lee')!.loginProfile).toBeDefined();
    expect(opsMail().map((m) => m.Message!.Subject!.Data)).toEqual(['Offboarding held for ann.lee: MassOffboardingHeld']);
  });

  it('offboards past the share once an admin has confirmed, for as long as the confirmation lasts', async () => {
    useDirectory(crowd(6));
    ssm.restore();
    ssm = fakeConfirmation(JSON.stringify(confirmationFor('arn:aws:iam::123456789012:user/admin', new Date(now.getTime() - 60_000), HOUR)));
    expect((await execute({ employeeId: 'E-7' })).output).toMatchObject({ status: 'OFFBOARDED' });

    ssm.restore();
    ssm = fakeConfirmation(JSON.stringify(confirmationFor('admin', new Date(now.getTime() - 2 * HOUR), HOUR)));
    expect((await execute({ employeeId: 'E-110' })).error).toBe('MassOffboardingHeld');
  });
});

describe('offboarding state machine: a dry run', () => {
  it('says what would be removed and what the guard would say, and changes nothing', async () => {
    const lastDay = new Date(now.getTime() + 3 * 24 * HOUR).toISOString().slice(0, 10);
    const result = await execute({ employeeId: 'E-7', lastDay, dryRun: true });

    expect(result.status).toBe('SUCCEEDED');
    expect(entered(result)).not.toContain('WaitForLastDay');
    expect(result.output).toMatchObject({
      status: 'DRY_RUN',
      userName: 'ann.lee',
      wouldRemove: { loginProfile: true, accessKeys: ['AKIA7'], groups: ['developers', 'on-call'] },
      guard: { holds: false },
    });
    expect(iamWrites(workflow.aws.iam)).toEqual([]);
    expect(workflow.aws.ses.commandCalls(SendEmailCommand)).toEqual([]);
  });
});

describe('reprovision state machine: deleting an offboarded user', () => {
  const deleteAnn = { action: 'DELETE_USER', hire: { userName: 'ann.lee', employeeId: 'E-7' }, reason: 'retention-ended' };
  const offboardedDaysAgo = (days: number) => {
    const user = users.get('ann.lee')!;
    user.tags['onboarding:status'] = 'offboarded';
    user.tags['onboarding:offboarded-at'] = new Date(now.getTime() - days * 24 * HOUR).toISOString();
    return user;
  };

  it('deletes it once its retention is over, everything attached first', async () => {
    offboardedDaysAgo(31);
    const result = await workflow.execute('reprovision', deleteAnn);

    expect(result.status).toBe('SUCCEEDED');
    expect(entered(result)).toEqual(['ChooseAction', 'DeleteOffboardedUser', 'IsDeleted', 'UserDeleted']);
    expect(result.output).toMatchObject({ status: 'USER_DELETED', userName: 'ann.lee', removed: { 'login profile': 1, 'access keys': 1, 'group memberships': 3 } });
    expect(users.has('ann.lee')).toBe(false);
    expect(workflow.output.text()).toMatch(/"LeaversDeleted":1\b/);
    // Never recorded as a failure on the user, never mailed as one.
    expect(opsMail()).toEqual([]);
  });

  it('skips a user kept for longer, one that is not offboarded, and one that is not ours', async () => {
    offboardedDaysAgo(29);
    expect((await workflow.execute('reprovision', deleteAnn)).output).toMatchObject({ status: 'SKIPPED', reason: 'retention-not-ended' });
    users.get('ann.lee')!.tags['onboarding:status'] = 'complete';
    expect((await workflow.execute('reprovision', deleteAnn)).output).toMatchObject({ status: 'SKIPPED', reason: 'not-offboarded' });
    expect((await workflow.execute('reprovision', { ...deleteAnn, hire: { userName: 'eve', employeeId: 'E-9' } })).output).toMatchObject({ status: 'SKIPPED', reason: 'not-managed' });
    expect(iamWrites(workflow.aws.iam)).toEqual([]);
  });

  it('goes straight to ops when IAM refuses, without tagging the leaver failed', async () => {
    offboardedDaysAgo(31);
    workflow.aws.iam.on(DeleteUserCommand).rejects(Object.assign(new Error('User: arn:... is not authorized'), { name: 'AccessDenied' }));
    const result = await workflow.execute('reprovision', deleteAnn);

    expect(result.status).toBe('FAILED');
    expect(result.error).toBe('AccessDenied');
    expect(entered(result)).not.toContain('RecordFailure');
    expect(users.get('ann.lee')!.tags['onboarding:status']).toBe('offboarded');
    expect(opsMail()).toHaveLength(1);
  });
});
