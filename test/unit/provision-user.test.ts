import {
  AddUserToGroupCommand,
  AttachUserPolicyCommand,
  CreateUserCommand,
  EntityAlreadyExistsException,
  GetAccountPasswordPolicyCommand,
  GetGroupCommand,
  GetUserCommand,
  TagUserCommand,
  type Tag,
} from '@aws-sdk/client-iam';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { iamClient } from '../../functions/lib/clients.ts';
import { GroupNotAllowed, GroupNotFound, UserNameConflict } from '../../functions/lib/errors.ts';
import type { Hire } from '../../functions/lib/hire.ts';
import { AWS_DEFAULT_RULES, forgetPasswordRules, PASSWORD_POLICY_CACHE_MS } from '../../functions/lib/password.ts';
import { provisionUser, type ProvisionSettings } from '../../functions/lib/provision-user.ts';
import { fakeAws, iamWrites, managedUser, noSuchEntity, type FakeAws } from '../../testing/aws-fakes.ts';
import type { User } from '@aws-sdk/client-iam';
import { TEST_ENV, TEST_TRUST } from '../../testing/lambda-env.ts';

const hire: Hire = {
  employeeId: 'E-1001',
  firstName: 'Bob',
  lastName: 'Builder',
  email: 'bob.builder@example.com',
  userName: 'bob.builder',
  groups: ['developers', 'on-call'],
};
const settings: ProvisionSettings = { managedPath: TEST_ENV.MANAGED_PATH, managedBy: TEST_ENV.MANAGED_BY, trust: TEST_TRUST };
const now = new Date('2025-03-01T09:00:00.000Z');
const alreadyExists = () =>
  new EntityAlreadyExistsException({ message: 'User with name bob.builder already exists.', $metadata: { httpStatusCode: 409 } });

let aws: FakeAws;
beforeEach(() => {
  aws = fakeAws({ groups: ['developers', 'on-call'] });
  forgetPasswordRules();
});
afterEach(() => aws.reset());

const createUserInput = () => aws.iam.commandCalls(CreateUserCommand)[0]!.args[0].input;
const commandNames = () => aws.iam.calls().map((c) => (c.args[0] as object).constructor.name.replace(/Command$/, ''));

/** IAM already holds `user` under the hire's name: CreateUser is refused, GetUser finds it (any spelling). */
function existing(user: User): void {
  aws.iam.on(CreateUserCommand).rejects(alreadyExists());
  aws.iam.on(GetUserCommand).resolves({ User: user });
}

describe('provisionUser: a new hire', () => {
  it('creates the user under the managed path with the ownership and hire tags', async () => {
    const user = await provisionUser(iamClient(), hire, settings, now);

    expect(user).toEqual({
      userName: 'bob.builder',
      arn: 'arn:aws:iam::123456789012:user/onboarding/bob.builder',
      path: '/onboarding/',
      groups: ['developers', 'on-call'],
      created: true,
      createdByThisExecution: true,
      busyElsewhere: false,
      passwordRules: AWS_DEFAULT_RULES,
      waitUntil: null,
    });
    const input = createUserInput();
    expect(input.UserName).toBe('bob.builder');
    expect(input.Path).toBe('/onboarding/');
    expect(input.PermissionsBoundary).toBeUndefined();
    expect(input.Tags).toEqual([
      { Key: 'onboarding:managed-by', Value: TEST_ENV.MANAGED_BY },
      { Key: 'onboarding:employee-id', Value: 'E-1001' },
      { Key: 'onboarding:status', Value: 'in-progress' },
      { Key: 'onboarding:updated-at', Value: '2025-03-01T09:00:00.000Z' },
      { Key: 'onboarding:first-name', Value: 'Bob' },
      { Key: 'onboarding:last-name', Value: 'Builder' },
      { Key: 'onboarding:email', Value: 'bob.builder@example.com' },
      { Key: 'onboarding:groups', Value: 'developers on-call' },
    ]);
  });

  it('sets the permissions boundary when one is configured', async () => {
    const boundary = 'arn:aws:iam::123456789012:policy/new-hire-boundary';
    await provisionUser(iamClient(), hire, { ...settings, permissionsBoundaryArn: boundary }, now);
    expect(createUserInput().PermissionsBoundary).toBe(boundary);
  });

  it('adds the user to each group', async () => {
    await provisionUser(iamClient(), hire, settings, now);
    expect(aws.iam).toHaveReceivedCommandTimes(AddUserToGroupCommand, 2);
    expect(aws.iam).toHaveReceivedCommandWith(AddUserToGroupCommand, { GroupName: 'developers', UserName: 'bob.builder' });
    expect(aws.iam).toHaveReceivedCommandWith(AddUserToGroupCommand, { GroupName: 'on-call', UserName: 'bob.builder' });
  });

  it('makes one call per group to check it and one to join it, and reads neither the user nor the policy twice', async () => {
    await provisionUser(iamClient(), hire, settings, now);
    expect(commandNames()).toEqual([
      'GetGroup',
      'GetGroup',
      'CreateUser',
      'AddUserToGroup',
      'AddUserToGroup',
      'GetAccountPasswordPolicy',
      'AttachUserPolicy',
    ]);
  });

  it('checks every group before it writes anything', async () => {
    await provisionUser(iamClient(), hire, settings, now);
    const names = commandNames();
    const lastCheck = names.lastIndexOf('GetGroupCommand');
    const firstWrite = names.findIndex((name) => !/^(Get|List)/.test(name));
    expect(lastCheck).toBeLessThan(firstWrite);
  });

  it('fails with GroupNotFound, naming the group, and writes nothing when an allowed group is missing', async () => {
    const allowing = { ...settings, trust: { ...TEST_TRUST, allowedGroups: ['developers', 'no-such-group'] } };
    const failure = provisionUser(iamClient(), { ...hire, groups: ['developers', 'no-such-group'] }, allowing, now);
    await expect(failure).rejects.toBeInstanceOf(GroupNotFound);
    await expect(failure).rejects.toThrow('Group "no-such-group" does not exist');
    expect(iamWrites(aws.iam)).toEqual([]);
  });

  it('lets a throttled group check through (retried by the state machine), with no write', async () => {
    aws.iam.on(GetGroupCommand).rejects(Object.assign(new Error('Rate exceeded'), { name: 'Throttling' }));
    await expect(provisionUser(iamClient(), hire, settings, now)).rejects.toMatchObject({ name: 'Throttling' });
    expect(iamWrites(aws.iam)).toEqual([]);
  });

  it('creates a user with no groups', async () => {
    await provisionUser(iamClient(), { ...hire, groups: [] }, settings, now);
    expect(aws.iam).toHaveReceivedCommandTimes(GetGroupCommand, 0);
    expect(aws.iam).toHaveReceivedCommandTimes(AddUserToGroupCommand, 0);
    expect(aws.iam).toHaveReceivedCommandTimes(CreateUserCommand, 1);
  });
});

describe('provisionUser: the right to change the password', () => {
  it('attaches IAMUserChangePassword when the account has no password policy', async () => {
    await provisionUser(iamClient(), hire, settings, now);
    expect(aws.iam).toHaveReceivedCommandExactlyOnceWith(AttachUserPolicyCommand, {
      UserName: 'bob.builder',
      PolicyArn: 'arn:aws:iam::aws:policy/IAMUserChangePassword',
    });
  });

  it('attaches it when the policy does not let users change their password', async () => {
    aws.iam.on(GetAccountPasswordPolicyCommand).resolves({ PasswordPolicy: { AllowUsersToChangePassword: false } });
    await provisionUser(iamClient(), hire, settings, now);
    expect(aws.iam).toHaveReceivedCommandTimes(AttachUserPolicyCommand, 1);
  });

  it('does not attach it when the account policy already lets users change their password', async () => {
    aws.iam.on(GetAccountPasswordPolicyCommand).resolves({ PasswordPolicy: { AllowUsersToChangePassword: true } });
    await provisionUser(iamClient(), hire, settings, now);
    expect(aws.iam).toHaveReceivedCommandTimes(AttachUserPolicyCommand, 0);
  });

  it("uses the user's partition for the AWS managed policy", async () => {
    existing(managedUser({ partition: 'aws-us-gov' }));
    await provisionUser(iamClient(), hire, settings, now);
    expect(aws.iam).toHaveReceivedCommandWith(AttachUserPolicyCommand, {
      PolicyArn: 'arn:aws-us-gov:iam::aws:policy/IAMUserChangePassword',
    });
  });
});

describe('provisionUser: the account password policy, remembered by a warm Lambda', () => {
  it('is read once for many hires within a few minutes, retries included', async () => {
    await provisionUser(iamClient(), hire, settings, now);
    await provisionUser(iamClient(), { ...hire, userName: 'bob.builder2', employeeId: 'E-1002' }, settings, now);
    await provisionUser(iamClient(), hire, settings, now);
    expect(aws.iam).toHaveReceivedCommandTimes(GetAccountPasswordPolicyCommand, 1);
  });

  it(`is read again once it is ${PASSWORD_POLICY_CACHE_MS / 60_000} minutes old, and a change then applies`, async () => {
    vi.useFakeTimers({ now: now.getTime(), toFake: ['Date'] });
    try {
      await provisionUser(iamClient(), hire, settings, now);
      aws.iam.on(GetAccountPasswordPolicyCommand).resolves({ PasswordPolicy: { AllowUsersToChangePassword: true, MinimumPasswordLength: 30 } });
      vi.setSystemTime(now.getTime() + PASSWORD_POLICY_CACHE_MS - 1);
      expect((await provisionUser(iamClient(), hire, settings, now)).passwordRules.minimumLength).toBe(8);
      vi.setSystemTime(now.getTime() + PASSWORD_POLICY_CACHE_MS);
      const user = await provisionUser(iamClient(), hire, settings, now);
      expect(user.passwordRules).toMatchObject({ minimumLength: 30, allowUsersToChangePassword: true });
      expect(aws.iam).toHaveReceivedCommandTimes(GetAccountPasswordPolicyCommand, 2);
      expect(aws.iam).toHaveReceivedCommandTimes(AttachUserPolicyCommand, 2);
    } finally {
      vi.useRealTimers();
    }
  });

  it('is not remembered when reading it failed', async () => {
    aws.iam
      .on(GetAccountPasswordPolicyCommand)
      .rejectsOnce(Object.assign(new Error('Rate exceeded'), { name: 'Throttling' }))
      .rejects(noSuchEntity('The Password Policy with domain name 123456789012 cannot be found.'));
    await expect(provisionUser(iamClient(), hire, settings, now)).rejects.toMatchObject({ name: 'Throttling' });
    await provisionUser(iamClient(), hire, settings, now);
    expect(aws.iam).toHaveReceivedCommandTimes(GetAccountPasswordPolicyCommand, 2);
  });
});

describe('provisionUser: tags', () => {
  it('leaves the email tag out when the address would not survive as a tag value', async () => {
    await provisionUser(iamClient(), { ...hire, email: "o'brien@example.com" }, settings, now);
    const keys = createUserInput().Tags!.map((t) => t.Key);
    expect(keys).not.toContain('onboarding:email');
    expect(keys).toContain('onboarding:employee-id');
  });

  it('stores names with characters tags cannot hold replaced by spaces', async () => {
    await provisionUser(iamClient(), { ...hire, firstName: "D'Arcy", lastName: 'Ñúñez (Jr.)' }, settings, now);
    const tags = Object.fromEntries(createUserInput().Tags!.map((t) => [t.Key, t.Value]));
    expect(tags['onboarding:first-name']).toBe('D Arcy');
    expect(tags['onboarding:last-name']).toBe('Ñúñez  Jr. ');
  });
});

describe('provisionUser: an existing user (CreateUser answers EntityAlreadyExists, which changes nothing)', () => {
  it('adopts the user it created before for the same employee, read only after CreateUser was refused', async () => {
    existing(managedUser());

    const user = await provisionUser(iamClient(), hire, settings, now);

    expect(user).toMatchObject({ created: false, arn: 'arn:aws:iam::123456789012:user/onboarding/bob.builder', path: '/onboarding/' });
    expect(commandNames().slice(0, 4)).toEqual(['GetGroup', 'GetGroup', 'CreateUser', 'GetUser']);
    // Group membership and the change-password right are made sure of again (both idempotent).
    expect(aws.iam).toHaveReceivedCommandTimes(AddUserToGroupCommand, 2);
    expect(aws.iam).toHaveReceivedCommandTimes(AttachUserPolicyCommand, 1);
  });

  it.each([
    ['outside the managed path', managedUser({ path: '/' })],
    ['under the path but without the managed-by tag', managedUser({ tags: [{ Key: 'onboarding:employee-id', Value: 'E-1001' }] })],
    ['managed by another deployment', managedUser({ managedBy: 'iam-onboarding-other' })],
    ['managed for another employee', managedUser({ employeeId: 'E-9999' })],
    ['with no tags at all', managedUser({ tags: [] })],
  ])('refuses a user %s with UserNameConflict, and writes nothing to it', async (_case, user) => {
    existing(user);

    const failure = provisionUser(iamClient(), hire, settings, now);

    await expect(failure).rejects.toBeInstanceOf(UserNameConflict);
    await expect(failure).rejects.toMatchObject({ name: 'UserNameConflict' });
    await expect(failure).rejects.toThrow('User "bob.builder" already exists and is not managed by this workflow');
    // The only write attempted is the CreateUser that IAM refused.
    expect(iamWrites(aws.iam)).toEqual(['CreateUserCommand']);
  });
});

describe('provisionUser: a concurrent delivery creates the user first (EntityAlreadyExists)', () => {
  it('adopts the user when the winner created it for the same employee', async () => {
    existing(managedUser());

    const user = await provisionUser(iamClient(), hire, settings, now);

    expect(user).toMatchObject({ created: false, arn: 'arn:aws:iam::123456789012:user/onboarding/bob.builder' });
    expect(aws.iam).toHaveReceivedCommandTimes(GetUserCommand, 1);
    expect(aws.iam).toHaveReceivedCommandTimes(AddUserToGroupCommand, 2);
  });

  it('fails with UserNameConflict, with no further write, when the user that appeared is not ours', async () => {
    existing(managedUser({ path: '/' }));

    await expect(provisionUser(iamClient(), hire, settings, now)).rejects.toBeInstanceOf(UserNameConflict);
    expect(iamWrites(aws.iam)).toEqual(['CreateUserCommand']);
  });

  it('fails with UserNameConflict when the user vanished again before it could be read', async () => {
    aws.iam.on(CreateUserCommand).rejects(alreadyExists());
    await expect(provisionUser(iamClient(), hire, settings, now)).rejects.toBeInstanceOf(UserNameConflict);
    expect(iamWrites(aws.iam)).toEqual(['CreateUserCommand']);
  });
});

describe('provisionUser: which execution may give the user a password', () => {
  const executionId = 'arn:aws:states:us-east-1:123456789012:execution:onboarding:run-a';
  const claimTags = (createdBy: string, status: string, updatedAt: string) => [
    { Key: 'onboarding:managed-by', Value: TEST_ENV.MANAGED_BY },
    { Key: 'onboarding:employee-id', Value: 'E-1001' },
    { Key: 'onboarding:created-by', Value: createdBy },
    { Key: 'onboarding:status', Value: status },
    { Key: 'onboarding:updated-at', Value: updatedAt },
  ];

  it('records the creating execution on the user it creates', async () => {
    const user = await provisionUser(iamClient(), hire, { ...settings, executionId }, now);
    expect(createUserInput().Tags).toContainEqual({ Key: 'onboarding:created-by', Value: executionId });
    expect(user).toMatchObject({ created: true, createdByThisExecution: true, busyElsewhere: false });
  });

  it('knows its own user when an earlier attempt created it and the answer was lost', async () => {
    existing(managedUser({ tags: claimTags(executionId, 'in-progress', now.toISOString()) }));
    const user = await provisionUser(iamClient(), hire, { ...settings, executionId }, now);
    expect(user).toMatchObject({ created: false, createdByThisExecution: true, busyElsewhere: false });
  });

  it('stands back while another execution that just created the user is onboarding it', async () => {
    const fiveMinutesAgo = new Date(now.getTime() - 5 * 60_000).toISOString();
    existing(managedUser({ tags: claimTags('other-execution', 'in-progress', fiveMinutesAgo) }));
    const user = await provisionUser(iamClient(), hire, { ...settings, executionId }, now);
    expect(user).toMatchObject({ created: false, createdByThisExecution: false, busyElsewhere: true });
  });

  it.each([
    ['the other execution failed', 'failed', 1],
    ['the other execution completed', 'complete', 1],
    ['the other execution has been in progress too long to be alive', 'in-progress', 16],
  ])('carries on when %s', async (_why, status, minutesAgo) => {
    const then = new Date(now.getTime() - minutesAgo * 60_000).toISOString();
    existing(managedUser({ tags: claimTags('other-execution', status, then) }));
    const user = await provisionUser(iamClient(), hire, { ...settings, executionId }, now);
    expect(user).toMatchObject({ createdByThisExecution: false, busyElsewhere: false });
  });
});

describe('provisionUser: the trust boundary', () => {
  it.each([
    ['a group outside the allowed ones', ['developers', 'Admins'], '"Admins"'],
    ['an allowed group in another case', ['Developers'], '"Developers"'],
  ])('refuses %s with GroupNotAllowed, naming it, before any IAM call', async (_case, groups, named) => {
    const failure = provisionUser(iamClient(), { ...hire, groups }, settings, now);
    await expect(failure).rejects.toBeInstanceOf(GroupNotAllowed);
    await expect(failure).rejects.toMatchObject({ name: 'GroupNotAllowed' });
    await expect(failure).rejects.toThrow(`groups: ${named} may not be assigned by this workflow`);
    expect(aws.iam.calls()).toHaveLength(0);
  });

  it('refuses every group when the stage allows none', async () => {
    const none = { ...settings, trust: { ...TEST_TRUST, allowedGroups: [] } };
    await expect(provisionUser(iamClient(), { ...hire, groups: ['developers'] }, none, now)).rejects.toThrow('this stage allows no groups');
    expect(aws.iam.calls()).toHaveLength(0);
  });
});

describe('provisionUser: user names are unique ignoring case, as in IAM', () => {
  // IAM refuses CreateUser "Bob.Builder" when "bob.builder" exists, and its GetUser finds
  // "bob.builder" when asked for "Bob.Builder" (the local emulator would do neither).
  const asked = { ...hire, userName: 'Bob.Builder' };

  it('adopts our user spelt in another case for the same employee, and carries on under its spelling', async () => {
    existing(managedUser({ userName: 'bob.builder' }));

    const user = await provisionUser(iamClient(), asked, settings, now);

    expect(user).toMatchObject({ userName: 'bob.builder', created: false });
    expect(aws.iam.commandCalls(GetUserCommand).map((c) => c.args[0].input.UserName)).toEqual(['Bob.Builder']);
    expect(aws.iam.commandCalls(AddUserToGroupCommand).map((c) => c.args[0].input.UserName)).toEqual(['bob.builder', 'bob.builder']);
    expect(aws.iam.commandCalls(AttachUserPolicyCommand).map((c) => c.args[0].input.UserName)).toEqual(['bob.builder']);
  });

  it("refuses someone else's user spelt in another case with UserNameConflict, naming both spellings, and writes nothing to it", async () => {
    existing(managedUser({ userName: 'bob.builder', employeeId: 'E-9999' }));

    const failure = provisionUser(iamClient(), asked, settings, now);

    await expect(failure).rejects.toBeInstanceOf(UserNameConflict);
    await expect(failure).rejects.toThrow('User "Bob.Builder" already exists (as "bob.builder") and is not managed by this workflow');
    expect(iamWrites(aws.iam)).toEqual(['CreateUserCommand']);
  });

  it('refuses with UserNameConflict when the user in the way, in another case, is outside the managed path', async () => {
    existing(managedUser({ userName: 'bob.builder', path: '/' }));

    await expect(provisionUser(iamClient(), asked, settings, now)).rejects.toThrow('(as "bob.builder")');
    expect(iamWrites(aws.iam)).toEqual(['CreateUserCommand']);
  });
});

describe('provisionUser: the record of assigned groups, and a rehire', () => {
  const executionId = 'arn:aws:states:us-east-1:123456789012:execution:onboarding:rehire';
  const tagWrites = () => aws.iam.commandCalls(TagUserCommand).map((c) => c.args[0].input.Tags);
  const withTags = (extra: Tag[]) => managedUser({ tags: [...managedUser().Tags!, ...extra] });

  it("adds the hire's groups to the record of a user it adopts, and writes nothing when the record already says so", async () => {
    existing(withTags([{ Key: 'onboarding:groups', Value: 'developers' }]));
    await provisionUser(iamClient(), hire, settings, now);
    expect(tagWrites()).toEqual([[{ Key: 'onboarding:groups', Value: 'developers on-call' }]]);

    aws.iam.resetHistory();
    existing(withTags([{ Key: 'onboarding:groups', Value: 'on-call developers' }]));
    await provisionUser(iamClient(), hire, settings, now);
    expect(tagWrites()).toEqual([]);
  });

  it("restores an offboarded user: in progress again under this execution's claim, the record only the new hire's groups", async () => {
    existing(
      withTags([
        { Key: 'onboarding:status', Value: 'offboarded' },
        { Key: 'onboarding:offboarded-at', Value: '2025-01-31T18:00:00.000Z' },
        { Key: 'onboarding:groups', Value: 'auditors' },
      ]),
    );

    const user = await provisionUser(iamClient(), hire, { ...settings, executionId }, now);

    expect(user).toMatchObject({ created: false, createdByThisExecution: true, busyElsewhere: false, waitUntil: null });
    // The claim first: in progress again before any access comes back.
    expect(tagWrites()).toEqual([
      expect.arrayContaining([
        { Key: 'onboarding:status', Value: 'in-progress' },
        { Key: 'onboarding:created-by', Value: executionId },
      ]),
      [{ Key: 'onboarding:groups', Value: 'developers on-call' }],
    ]);
    const calls = commandNames();
    expect(calls.indexOf('TagUser')).toBeLessThan(calls.indexOf('AddUserToGroup'));
    expect(aws.iam).toHaveReceivedCommandWith(AddUserToGroupCommand, { GroupName: 'on-call', UserName: 'bob.builder' });
  });
});
