import { CreateLoginProfileCommand, CreateUserCommand, EntityAlreadyExistsException, GetUserCommand, TagUserCommand } from '@aws-sdk/client-iam';
import { SendEmailCommand } from '@aws-sdk/client-ses';
import { describe, expect, it } from 'vitest';
import { TEST_ENV } from '../../testing/lambda-env.ts';
import { fakeDirectory, onboardedUser } from '../support/iam-directory.ts';
import { entered, useStateMachines } from '../support/in-process.ts';

// The stage (TEST_ENV) allows the groups developers and on-call, and credentials to example.com.
const hire = {
  employeeId: 'E-1001',
  firstName: 'Bob',
  lastName: 'Builder',
  email: 'bob.builder@example.com',
  groups: ['developers'],
};

const workflow = useStateMachines(['onboarding', 'reprovision']);
const recipients = () => workflow.aws.ses.commandCalls(SendEmailCommand).flatMap((c) => c.args[0].input.Destination?.ToAddresses ?? []);
const opsMail = () => workflow.sentTo(TEST_ENV.OPS_EMAIL);

describe('the onboarding refuses what the stage does not allow, before any AWS write', () => {
  it.each([
    ['a privileged group that exists', { groups: ['developers', 'Admins'] }, 'GroupNotAllowed', 'groups: "Admins" may not be assigned'],
    ['an allowed group in another case', { groups: ['Developers'] }, 'GroupNotAllowed', 'groups: "Developers" may not be assigned'],
    ['an address at an outside domain', { email: 'bob@evil.example.net' }, 'EmailDomainNotAllowed', 'email: the domain "evil.example.net" may not receive credentials'],
    ['a subdomain of an allowed domain', { email: 'bob@mail.example.com' }, 'EmailDomainNotAllowed', 'email: the domain "mail.example.com"'],
    ['an allowed domain as a local part', { email: 'example.com@evil.test' }, 'EmailDomainNotAllowed', 'email: the domain "evil.test"'],
    ['HTML in a name', { firstName: '<a href="https://evil.test">Bob</a>' }, 'InvalidHrEvent', 'firstName: must not contain < or >'],
  ])('%s: %s, no IAM call, nothing mailed but to ops', async (_case, change, error, message) => {
    const result = await workflow.execute('onboarding', { ...hire, ...change });

    expect(result).toMatchObject({ status: 'FAILED', error });
    expect(result.cause).toContain(message);
    expect(entered(result)).toEqual(['ValidateInput', 'ValidationFailed', 'NotifyOps', 'OnboardingFailed']);
    expect(workflow.aws.iam.calls()).toHaveLength(0);
    expect(workflow.aws.kms.calls()).toHaveLength(0);
    expect(recipients()).toEqual([TEST_ENV.OPS_EMAIL]);
    expect(opsMail()[0]?.args[0].input.Message?.Subject?.Data).toContain(error);
  });

  it('takes department groups only from the department map, which the allowed groups include', async () => {
    const { groups: _none, ...byDepartment } = hire;
    const result = await workflow.execute('onboarding', { ...byDepartment, department: 'engineering' });
    expect(result.status).toBe('SUCCEEDED');
    expect(result.output).toMatchObject({ groups: ['developers'] });
    expect(recipients()).toEqual([hire.email]);
  });
});

describe('the sweep\'s resend refuses an address from a tag outside the allowed domains', () => {
  it('fails EmailDomainNotAllowed before resetting the password, and tells ops', async () => {
    fakeDirectory(workflow.aws.iam, [
      onboardedUser('bob.builder', { now: new Date(), employeeId: 'E-1001', issuedDaysAgo: 9, tags: { 'onboarding:email': 'bob@evil.example.net' } }),
    ]);

    const result = await workflow.execute('reprovision', {
      action: 'RESET_PASSWORD',
      hire: { userName: 'bob.builder', employeeId: 'E-1001' },
      reason: 'password-unused',
    });

    expect(result).toMatchObject({ status: 'FAILED', error: 'EmailDomainNotAllowed' });
    expect(result.cause).toContain('email: the domain "evil.example.net" may not receive credentials');
    const writes = workflow.aws.iam.calls().map((c) => (c.args[0] as object).constructor.name);
    expect(writes.filter((name) => !['GetUserCommand', 'ListGroupsForUserCommand', 'TagUserCommand'].includes(name))).toEqual([]);
    // The only tag written is the failure record.
    expect(workflow.aws.iam.commandCalls(TagUserCommand).map((c) => c.args[0].input.Tags)).toEqual([
      expect.arrayContaining([{ Key: 'onboarding:status', Value: 'failed' }, { Key: 'onboarding:failure', Value: 'EmailDomainNotAllowed' }]),
    ]);
    expect(workflow.aws.iam).toHaveReceivedCommand(GetUserCommand);
    expect(recipients()).toEqual([TEST_ENV.OPS_EMAIL]);
  });
});

describe('user names are unique ignoring case, as in IAM', () => {
  it('adopts our user spelt in another case, and every later step uses IAM\'s spelling', async () => {
    // IAM finds "bob.builder" when asked for "Bob.Builder" (the emulators would not).
    workflow.aws.iam.on(CreateUserCommand).rejects(new EntityAlreadyExistsException({ message: 'User with name Bob.Builder already exists.', $metadata: { httpStatusCode: 409 } }));
    workflow.aws.iam.on(GetUserCommand).resolves({
      User: {
        UserName: 'bob.builder',
        Path: TEST_ENV.MANAGED_PATH,
        Arn: 'arn:aws:iam::123456789012:user/onboarding/bob.builder',
        UserId: 'U',
        CreateDate: new Date(),
        Tags: [
          { Key: 'onboarding:managed-by', Value: TEST_ENV.MANAGED_BY },
          { Key: 'onboarding:employee-id', Value: hire.employeeId },
        ],
      },
    });

    const result = await workflow.execute('onboarding', { ...hire, userName: 'Bob.Builder' });

    expect(result.status).toBe('SUCCEEDED');
    expect(result.output).toMatchObject({ userName: 'bob.builder' });
    expect(workflow.aws.iam.commandCalls(CreateLoginProfileCommand).map((c) => c.args[0].input.UserName)).toEqual(['bob.builder']);
    const mail = workflow.sentTo(hire.email)[0]?.args[0].input.Message?.Body?.Text?.Data ?? '';
    expect(mail).toContain('with the user name bob.builder.');
  });
});
