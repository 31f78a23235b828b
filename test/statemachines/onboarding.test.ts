import {
  AddUserToGroupCommand,
  AttachUserPolicyCommand,
  CreateLoginProfileCommand,
  CreateUserCommand,
  EntityAlreadyExistsException,
  EntityTemporarilyUnmodifiableException,
  GetGroupCommand,
  GetUserCommand,
  TagUserCommand,
  UpdateLoginProfileCommand,
  type Tag,
  type User,
} from '@aws-sdk/client-iam';
import { SendEmailCommand } from '@aws-sdk/client-ses';
import { describe, expect, it } from 'vitest';
import { forgetPasswordRules } from '../../functions/lib/password.ts';
import { iamWrites, noSuchEntity } from '../../testing/aws-fakes.ts';
import { TEST_ENV } from '../../testing/lambda-env.ts';
import { inProcessStateMachine } from '../../testing/state-machine.ts';
import { entered, retries, useStateMachines } from '../support/in-process.ts';
import { passwordsSent } from '../support/secrets.ts';

const hire = {
  employeeId: 'E-1001',
  firstName: 'Bob',
  lastName: 'Builder',
  email: 'bob.builder@example.com',
  department: 'engineering',
};
const managedTags = [
  { Key: 'onboarding:managed-by', Value: TEST_ENV.MANAGED_BY },
  { Key: 'onboarding:employee-id', Value: hire.employeeId },
];
const etu = () =>
  new EntityTemporarilyUnmodifiableException({
    message: 'Login Profile for User bob.builder cannot be modified while login profile is being created.',
    $metadata: { httpStatusCode: 409 },
  });

const workflow = useStateMachines(['onboarding']);
const execute = (input: unknown) => workflow.execute('onboarding', input);

const sentTo = workflow.sentTo;

describe('onboarding state machine', () => {
  it('onboards a new hire: user, groups, reset-required password, credentials email, complete tag', async () => {
    const result = await execute(hire);

    expect(result.status).toBe('SUCCEEDED');
    expect(entered(result)).toEqual([
      'ValidateInput',
      'CreateUser',
      'WaitsForStartDate',
      'CreateLoginProfile',
      'IsNewLoginProfile',
      'SendCredentials',
      'MarkComplete',
    ]);
    expect(result.output).toMatchObject({
      status: 'ONBOARDED',
      userName: 'bob.builder',
      employeeId: 'E-1001',
      path: '/onboarding/',
      groups: ['developers'],
      signInUrl: 'https://123456789012.signin.aws.amazon.com/console',
      emailsSent: 1,
    });

    const create = workflow.aws.iam.commandCalls(CreateUserCommand)[0]!.args[0].input;
    expect(create).toMatchObject({ UserName: 'bob.builder', Path: '/onboarding/' });
    expect(create.Tags).toEqual(expect.arrayContaining(managedTags));
    expect(workflow.aws.iam).toHaveReceivedCommandWith(AddUserToGroupCommand, { GroupName: 'developers', UserName: 'bob.builder' });
    expect(workflow.aws.iam).toHaveReceivedCommandWith(AttachUserPolicyCommand, {
      UserName: 'bob.builder',
      PolicyArn: 'arn:aws:iam::aws:policy/IAMUserChangePassword',
    });
    expect(workflow.aws.iam).toHaveReceivedCommandWith(CreateLoginProfileCommand, { UserName: 'bob.builder', PasswordResetRequired: true });

    const [password] = passwordsSent(workflow.aws.iam);
    expect(password).toHaveLength(20);
    const mail = sentTo(hire.email);
    expect(mail).toHaveLength(1);
    const body = mail[0]!.args[0].input.Message!;
    expect(body.Body!.Text!.Data).toContain(password);
    expect(body.Body!.Text!.Data).toContain('bob.builder');
    expect(body.Body!.Text!.Data).toContain('https://123456789012.signin.aws.amazon.com/console');
    expect(body.Body!.Html!.Data).toContain('bob.builder');
    expect(mail[0]!.args[0].input.Source).toBe(TEST_ENV.SENDER_EMAIL);

    const statusTags = workflow.aws.iam.commandCalls(TagUserCommand).flatMap((c) => c.args[0].input.Tags ?? []);
    expect(statusTags).toEqual(expect.arrayContaining([{ Key: 'onboarding:status', Value: 'complete' }]));
    expect(sentTo(TEST_ENV.OPS_EMAIL)).toHaveLength(0);
  });

  it('a start date ahead: the user now, then the wait (made instant here), then the password and the email', async () => {
    // IAM answers GetUser with the user as CreateUser made it (tags and all).
    let user: User | undefined;
    workflow.aws.iam.on(CreateUserCommand).callsFake(async (input: { UserName: string; Path: string; Tags: Tag[] }) => {
      user = { UserName: input.UserName, Path: input.Path, Arn: 'arn', UserId: 'U', CreateDate: new Date(), Tags: input.Tags };
      return { User: user };
    });
    workflow.aws.iam.on(GetUserCommand).callsFake(async () => {
      if (!user) throw noSuchEntity();
      return { User: user };
    });
    const startDate = new Date(Date.now() + 30 * 86_400_000).toISOString().slice(0, 10);

    const result = await execute({ ...hire, startDate });

    expect(result.output).toMatchObject({ status: 'ONBOARDED', userName: 'bob.builder' });
    expect(entered(result).slice(1, 5)).toEqual(['CreateUser', 'WaitsForStartDate', 'WaitForStartDate', 'CreateLoginProfile']);
    const created = workflow.aws.iam.commandCalls(CreateUserCommand)[0]!.args[0].input;
    expect(created.Tags).toEqual(
      expect.arrayContaining([
        { Key: 'onboarding:status', Value: 'waiting' },
        { Key: 'onboarding:credentials-at', Value: `${startDate}T08:00:00.000Z` },
        { Key: 'onboarding:start-date', Value: startDate },
      ]),
    );
    // After the wait: the claim checked (GetUser), the user in progress again, then the password
    // (the password policy as this Lambda last read it: weeks later, that is a new read).
    const calls = workflow.aws.iam.calls().map((c) => (c.args[0] as object).constructor.name.replace(/Command$/, ''));
    expect(calls.slice(calls.indexOf('GetUser'), calls.indexOf('CreateLoginProfile') + 1)).toEqual(['GetUser', 'TagUser', 'CreateLoginProfile']);
    expect(sentTo(hire.email)).toHaveLength(1);
  });

  it('makes 7 IAM calls for a hire with one group: 5 and 2 per group', async () => {
    forgetPasswordRules(); // a cold Lambda: it reads the account password policy
    const result = await execute(hire);

    expect(result.status).toBe('SUCCEEDED');
    const calls = workflow.aws.iam.calls().map((c) => (c.args[0] as object).constructor.name.replace(/Command$/, ''));
    expect(calls).toEqual(['GetGroup', 'CreateUser', 'AddUserToGroup', 'GetAccountPasswordPolicy', 'AttachUserPolicy', 'CreateLoginProfile', 'TagUser']);
  });

  it('retries CreateLoginProfile through EntityTemporarilyUnmodifiable, as thrown by the SDK', async () => {
    workflow.aws.iam.on(CreateLoginProfileCommand).rejectsOnce(etu()).rejectsOnce(etu()).rejectsOnce(etu()).resolves({});

    const result = await execute(hire);

    expect(result.status).toBe('SUCCEEDED');
    expect(retries(result, 'CreateLoginProfile')).toHaveLength(3);
    expect(workflow.aws.iam).toHaveReceivedCommandTimes(CreateLoginProfileCommand, 4);
    expect(workflow.aws.iam).toHaveReceivedCommandTimes(CreateUserCommand, 1);
    expect(sentTo(hire.email)).toHaveLength(1);
  });

  it('retries CreateLoginProfile while the new user is not yet visible (NoSuchEntity)', async () => {
    workflow.aws.iam.on(CreateLoginProfileCommand).rejectsOnce(noSuchEntity()).resolves({});

    const result = await execute(hire);

    expect(result.status).toBe('SUCCEEDED');
    expect(retries(result, 'CreateLoginProfile')).toHaveLength(1);
    expect(sentTo(hire.email)).toHaveLength(1);
  });

  it('gives up after the retries run out: failure tagged, ops emailed, execution FAILED with the SDK error name', async () => {
    workflow.aws.iam.on(CreateLoginProfileCommand).rejects(etu());
    workflow.aws.iam.on(GetUserCommand).rejectsOnce(noSuchEntity()).resolves({
      User: { UserName: 'bob.builder', Path: '/onboarding/', Arn: 'arn', UserId: 'U', CreateDate: new Date(), Tags: managedTags },
    });

    const result = await execute(hire);

    expect(result.status).toBe('FAILED');
    expect(result.error).toBe('EntityTemporarilyUnmodifiableException');
    expect(retries(result, 'CreateLoginProfile')).toHaveLength(10);
    expect(entered(result).slice(-3)).toEqual(['RecordFailure', 'NotifyOps', 'OnboardingFailed']);
    const failureTags = workflow.aws.iam.commandCalls(TagUserCommand).flatMap((c) => c.args[0].input.Tags ?? []);
    expect(failureTags).toEqual(
      expect.arrayContaining([
        { Key: 'onboarding:status', Value: 'failed' },
        { Key: 'onboarding:failure', Value: 'EntityTemporarilyUnmodifiableException' },
      ]),
    );
    const ops = sentTo(TEST_ENV.OPS_EMAIL);
    expect(ops).toHaveLength(1);
    expect(ops[0]!.args[0].input.Message!.Subject!.Data).toContain('EntityTemporarilyUnmodifiableException');
    expect(sentTo(hire.email)).toHaveLength(0);
  });

  it('rejects an invalid event with InvalidHrEvent naming the field, before any IAM call', async () => {
    const result = await execute({ ...hire, firstName: 'Bob\r\nBcc: attacker@example.com', email: 'not-an-email' });

    expect(result.status).toBe('FAILED');
    expect(result.error).toBe('InvalidHrEvent');
    expect(result.cause).toContain('firstName');
    expect(result.cause).toContain('email');
    expect(workflow.aws.iam.calls()).toHaveLength(0);
    expect(workflow.aws.kms.calls()).toHaveLength(0);
    expect(sentTo(TEST_ENV.OPS_EMAIL)).toHaveLength(1);
    expect(sentTo(hire.email)).toHaveLength(0);
  });

  it('never retries a validation error', async () => {
    const result = await execute('not even an object');
    expect(result.error).toBe('InvalidHrEvent');
    expect(result.events.filter((e) => e.type === 'StateRetried')).toHaveLength(0);
  });

  it('fails with GroupNotFound before creating the user when an allowed group is missing', async () => {
    workflow.aws.iam.on(GetGroupCommand).rejects(noSuchEntity('The group with name on-call cannot be found.'));
    const result = await execute({ ...hire, department: undefined, groups: ['on-call'] });

    expect(result.error).toBe('GroupNotFound');
    expect(iamWrites(workflow.aws.iam)).toHaveLength(0);
    expect(sentTo(TEST_ENV.OPS_EMAIL)).toHaveLength(1);
  });

  it('carries on with a user this workflow already created for the same employee', async () => {
    workflow.aws.iam.on(GetUserCommand).resolves({
      User: { UserName: 'bob.builder', Path: '/onboarding/', Arn: 'arn:aws:iam::123456789012:user/onboarding/bob.builder', UserId: 'U', CreateDate: new Date(), Tags: managedTags },
    });

    const result = await execute(hire);

    expect(result.status).toBe('SUCCEEDED');
    // The user has no record of its assigned groups yet: the onboarding writes one (TagUser).
    expect(iamWrites(workflow.aws.iam)).toEqual([
      'CreateUserCommand',
      'TagUserCommand',
      'AddUserToGroupCommand',
      'AttachUserPolicyCommand',
      'CreateLoginProfileCommand',
      'TagUserCommand',
    ]);
    expect(workflow.aws.iam).toHaveReceivedCommandWith(TagUserCommand, { UserName: 'bob.builder', Tags: [{ Key: 'onboarding:groups', Value: 'developers' }] });
    expect(workflow.aws.iam).toHaveReceivedCommandTimes(CreateLoginProfileCommand, 1);
    expect(sentTo(hire.email)).toHaveLength(1);
  });

  it('fails with UserNameConflict on a user that is not ours under the name the event gave, and leaves it untouched', async () => {
    workflow.aws.iam.on(GetUserCommand).resolves({
      User: { UserName: 'bob.builder', Path: '/', Arn: 'arn:aws:iam::123456789012:user/bob.builder', UserId: 'U', CreateDate: new Date(), Tags: [] },
    });

    const result = await execute({ ...hire, userName: 'bob.builder' });

    expect(result.status).toBe('FAILED');
    expect(result.error).toBe('UserNameConflict');
    // The one write attempted is the CreateUser IAM refused (EntityAlreadyExists): nothing changed.
    expect(iamWrites(workflow.aws.iam)).toEqual(['CreateUserCommand']);
    expect(entered(result)).toContain('RecordFailure');
    expect(sentTo(TEST_ENV.OPS_EMAIL)).toHaveLength(1);
    expect(sentTo(hire.email)).toHaveLength(0);
  });

  it('treats a managed user of another employee as a conflict', async () => {
    workflow.aws.iam.on(GetUserCommand).resolves({
      User: {
        UserName: 'bob.builder', Path: '/onboarding/', Arn: 'arn', UserId: 'U', CreateDate: new Date(),
        Tags: [managedTags[0]!, { Key: 'onboarding:employee-id', Value: 'E-9999' }],
      },
    });

    const result = await execute({ ...hire, userName: 'bob.builder' });

    expect(result.error).toBe('UserNameConflict');
    expect(iamWrites(workflow.aws.iam)).toEqual(['CreateUserCommand']);
  });

  it('gives a hire whose derived name is taken the next free one, and says so in the output, the tags and the email', async () => {
    const someoneElses = { UserName: 'bob.builder', Path: '/', Arn: 'arn:aws:iam::123456789012:user/bob.builder', UserId: 'U', CreateDate: new Date(), Tags: [] };
    workflow.aws.iam.on(GetUserCommand, { UserName: 'bob.builder' }).resolves({ User: someoneElses });

    const result = await execute(hire);

    expect(result.output).toMatchObject({ status: 'ONBOARDED', userName: 'bob.builder2' });
    const created = workflow.aws.iam.commandCalls(CreateUserCommand).map((c) => c.args[0].input);
    expect(created.map((input) => input.UserName)).toEqual(['bob.builder', 'bob.builder2']);
    expect(created[1]!.Tags).toEqual(expect.arrayContaining([{ Key: 'onboarding:requested-name', Value: 'bob.builder' }]));
    expect(workflow.aws.iam).toHaveReceivedCommandWith(CreateLoginProfileCommand, { UserName: 'bob.builder2' });
    const [mail] = sentTo(hire.email);
    expect(mail!.args[0].input.Message!.Body!.Text!.Data).toContain('bob.builder2');
  });

  it('does not reset the password or email again when the login profile already exists', async () => {
    workflow.aws.iam.on(GetUserCommand).resolves({
      User: { UserName: 'bob.builder', Path: '/onboarding/', Arn: 'arn:aws:iam::123456789012:user/onboarding/bob.builder', UserId: 'U', CreateDate: new Date(), Tags: managedTags },
    });
    workflow.aws.iam.on(CreateLoginProfileCommand).rejects(
      new EntityAlreadyExistsException({ message: 'Login Profile for user bob.builder already exists.', $metadata: { httpStatusCode: 409 } }),
    );

    const result = await execute(hire);

    expect(result.status).toBe('SUCCEEDED');
    expect(result.output).toEqual({
      status: 'ALREADY_PROVISIONED',
      employeeId: 'E-1001',
      userName: 'bob.builder',
      arn: 'arn:aws:iam::123456789012:user/onboarding/bob.builder',
    });
    expect(workflow.aws.ses.commandCalls(SendEmailCommand)).toHaveLength(0);
    expect(workflow.aws.iam.commandCalls(CreateUserCommand)).toHaveLength(1); // refused: the user exists
  });

  it('retries SES throttling and still sends exactly one credentials email', async () => {
    const throttled = Object.assign(new Error('Maximum sending rate exceeded.'), { name: 'Throttling', $metadata: {} });
    workflow.aws.ses.on(SendEmailCommand).rejectsOnce(throttled).resolves({ MessageId: 'm-1' });

    const result = await execute(hire);

    expect(result.status).toBe('SUCCEEDED');
    expect(retries(result, 'SendCredentials')).toHaveLength(1);
    expect(sentTo(hire.email)).toHaveLength(2); // one throttled attempt, one delivered
  });

  it('sends the password in a second message when configured to', async () => {
    process.env.SEPARATE_PASSWORD_EMAIL = 'true';
    const { resetConfigCache } = await import('../../functions/lib/config.ts');
    resetConfigCache();
    try {
      const result = await execute(hire);
      expect(result.status).toBe('SUCCEEDED');
      const [first, second] = sentTo(hire.email).map((c) => c.args[0].input.Message!.Body!.Text!.Data!);
      const [password] = passwordsSent(workflow.aws.iam);
      expect(first).toContain('bob.builder');
      expect(first).not.toContain(password);
      expect(second).toContain(password);
      expect(second).not.toContain('bob.builder');
    } finally {
      delete process.env.SEPARATE_PASSWORD_EMAIL;
      resetConfigCache();
    }
  });

  it('recovers its own login profile when CreateLoginProfile worked but the answer was lost: one working password, one email', async () => {
    // The first attempt's write lands, then the caller sees a 5xx; the retry finds the profile.
    const lost = Object.assign(new Error('Internal failure'), { name: 'ServiceFailureException', $metadata: { httpStatusCode: 500 } });
    const exists = new EntityAlreadyExistsException({ message: 'Login Profile for user bob.builder already exists.', $metadata: { httpStatusCode: 409 } });
    workflow.aws.iam.on(CreateLoginProfileCommand).rejectsOnce(lost).rejects(exists);
    workflow.aws.iam.on(UpdateLoginProfileCommand).resolves({});

    const result = await execute(hire);

    expect(result.status).toBe('SUCCEEDED');
    expect(result.output).toMatchObject({ status: 'ONBOARDED', emailsSent: 1 });
    expect(workflow.aws.iam).toHaveReceivedCommandWith(UpdateLoginProfileCommand, { UserName: 'bob.builder', PasswordResetRequired: true });
    // The password emailed is the one IAM holds last.
    const lastPassword = workflow.aws.iam.commandCalls(UpdateLoginProfileCommand).at(-1)!.args[0].input.Password!;
    const mail = sentTo(hire.email);
    expect(mail).toHaveLength(1);
    expect(mail[0]!.args[0].input.Message!.Body!.Text!.Data).toContain(lastPassword);
  });

  it('stands back from a user another execution created moments ago and is still onboarding (a duplicate delivery)', async () => {
    workflow.aws.iam.on(GetUserCommand).resolves({
      User: {
        UserName: 'bob.builder', Path: '/onboarding/', Arn: 'arn:aws:iam::123456789012:user/onboarding/bob.builder', UserId: 'U', CreateDate: new Date(),
        Tags: [
          ...managedTags,
          { Key: 'onboarding:created-by', Value: 'arn:aws:states:us-east-1:123456789012:execution:onboarding:first-delivery' },
          { Key: 'onboarding:status', Value: 'in-progress' },
          { Key: 'onboarding:updated-at', Value: new Date().toISOString() },
        ],
      },
    });

    const result = await execute(hire);

    expect(result.status).toBe('SUCCEEDED');
    expect(result.output).toMatchObject({ status: 'IN_PROGRESS_ELSEWHERE', userName: 'bob.builder' });
    expect(workflow.aws.iam).toHaveReceivedCommandTimes(CreateLoginProfileCommand, 0);
    expect(workflow.aws.iam).toHaveReceivedCommandTimes(UpdateLoginProfileCommand, 0);
    expect(workflow.aws.kms.calls()).toHaveLength(0);
    expect(workflow.aws.ses.commandCalls(SendEmailCommand)).toHaveLength(0);
  });

  it('never resets a login profile another execution created, even one whose own answer might have been lost', async () => {
    workflow.aws.iam.on(GetUserCommand).resolves({
      User: { UserName: 'bob.builder', Path: '/onboarding/', Arn: 'arn', UserId: 'U', CreateDate: new Date(), Tags: [...managedTags, { Key: 'onboarding:created-by', Value: 'someone-else' }, { Key: 'onboarding:status', Value: 'failed' }] },
    });
    workflow.aws.iam.on(CreateLoginProfileCommand).rejects(new EntityAlreadyExistsException({ message: 'exists', $metadata: { httpStatusCode: 409 } }));

    const result = await execute(hire);

    expect(result.output).toMatchObject({ status: 'ALREADY_PROVISIONED' });
    expect(workflow.aws.iam).toHaveReceivedCommandTimes(UpdateLoginProfileCommand, 0);
    expect(workflow.aws.ses.commandCalls(SendEmailCommand)).toHaveLength(0);
  });
});

// Found by the fault suite (test/reliability/faults.test.ts).
describe('onboarding state machine: regressions', () => {
  /** IAM's view of the one user: created by CreateUser, then changed by every TagUser. */
  function trackUser(): Map<string, string> {
    const tags = new Map<string, string>();
    let created = false;
    workflow.aws.iam.on(CreateUserCommand).callsFake(async (input: { UserName: string; Path: string; Tags: Tag[] }) => {
      created = true;
      for (const tag of input.Tags) tags.set(tag.Key ?? '', tag.Value ?? '');
      return { User: { UserName: input.UserName, Path: input.Path, Arn: `arn:aws:iam::123456789012:user${input.Path}${input.UserName}`, UserId: 'AIDA', CreateDate: new Date() } };
    });
    workflow.aws.iam.on(TagUserCommand).callsFake(async (input: { Tags: Tag[] }) => {
      for (const tag of input.Tags) tags.set(tag.Key ?? '', tag.Value ?? '');
      return {};
    });
    workflow.aws.iam.on(GetUserCommand).callsFake(async (input: { UserName: string }) => {
      if (!created) throw noSuchEntity();
      const Tags = [...tags].map(([Key, Value]) => ({ Key, Value }));
      return { User: { UserName: input.UserName, Path: TEST_ENV.MANAGED_PATH, Arn: 'arn', UserId: 'AIDA', CreateDate: new Date(), Tags } };
    });
    return tags;
  }

  it('keeps the user complete when MarkComplete dies after tagging it, and still tells ops', async () => {
    const tags = trackUser();
    const dying = await inProcessStateMachine('onboarding', {
      around: async (_state, functionKey, invoke) => {
        const output = await invoke();
        if (functionKey !== 'markComplete') return output;
        // The runtime dies after the handler's AWS calls succeeded.
        throw Object.assign(new Error('Runtime exited without providing a reason'), { name: 'Lambda.Unknown' });
      },
    });

    const result = await workflow.execute(dying, hire);

    expect(result).toMatchObject({ status: 'FAILED', error: 'Lambda.Unknown' });
    expect(tags.get('onboarding:status')).toBe('complete');
    expect(tags.has('onboarding:failure')).toBe(false);
    const mails = workflow.aws.ses.commandCalls(SendEmailCommand).map((c) => c.args[0].input.Destination?.ToAddresses);
    expect(mails).toEqual([[hire.email], [TEST_ENV.OPS_EMAIL]]);
  });
});
