import { GetUserCommand, TagUserCommand } from '@aws-sdk/client-iam';
import { SendEmailCommand } from '@aws-sdk/client-ses';
import { describe, expect, it } from 'vitest';
import { iamClient, kmsClient, sesClient } from '../../functions/lib/clients.ts';
import { sealSecret } from '../../functions/lib/envelope.ts';
import { CredentialsUnavailable } from '../../functions/lib/errors.ts';
import type { Hire } from '../../functions/lib/hire.ts';
import { causeMessage } from '../../functions/lib/caught-error.ts';
import { markComplete } from '../../functions/lib/completion.ts';
import { deliverCredentials } from '../../functions/lib/credentials-delivery.ts';
import { recordFailure } from '../../functions/lib/failure-record.ts';
import { notifyOps } from '../../functions/lib/ops-notice.ts';
import { iamWrites, managedUser } from '../../testing/aws-fakes.ts';
import { TEST_ENV, TEST_TRUST } from '../../testing/lambda-env.ts';
import { useFakeAws } from '../support/in-process.ts';
import { expectNoSecrets } from '../support/secrets.ts';

const hire: Hire = {
  employeeId: 'E-1001',
  firstName: 'Bob',
  lastName: 'Builder',
  email: 'bob.builder@example.com',
  userName: 'bob.builder',
  groups: ['developers'],
};
const executionId = 'arn:aws:states:us-east-1:123456789012:execution:onboarding:run-1';
const password = "Tq7#mZ2!pX9@wL4$kR8'";
const ownership = { managedPath: TEST_ENV.MANAGED_PATH, managedBy: TEST_ENV.MANAGED_BY };
const now = new Date('2025-03-01T09:00:00.000Z');
const settings = { kmsKeyId: TEST_ENV.KMS_KEY_ID, sender: TEST_ENV.SENDER_EMAIL, account: '123456789012', separatePasswordEmail: false, trust: TEST_TRUST };

const fake = useFakeAws();

const sealed = (userName = hire.userName, execution = executionId) =>
  sealSecret(kmsClient(), TEST_ENV.KMS_KEY_ID, password, { userName, executionId: execution });
const mails = () => fake.aws.ses.commandCalls(SendEmailCommand).map((c) => c.args[0].input);

describe('deliverCredentials', () => {
  it('opens the sealed password and emails user name, URL and password to the hire', async () => {
    const delivery = await deliverCredentials(
      { kms: kmsClient(), ses: sesClient() },
      { hire, sealedPassword: await sealed(), executionId },
      settings,
      now,
    );

    expect(delivery).toEqual({
      messageIds: ['message-1'],
      sentAt: '2025-03-01T09:00:00.000Z',
      signInUrl: 'https://123456789012.signin.aws.amazon.com/console',
    });
    const [mail] = mails();
    expect(mail!.Source).toBe(TEST_ENV.SENDER_EMAIL);
    expect(mail!.Destination!.ToAddresses).toEqual(['bob.builder@example.com']);
    const text = mail!.Message!.Body!.Text!.Data!;
    expect(text).toContain(password);
    expect(text).toContain('bob.builder');
    expect(text).toContain('https://123456789012.signin.aws.amazon.com/console');
    expectNoSecrets([password], { delivery });
  });

  it('sends two messages when the password travels apart', async () => {
    const delivery = await deliverCredentials(
      { kms: kmsClient(), ses: sesClient() },
      { hire, sealedPassword: await sealed(), executionId },
      { ...settings, separatePasswordEmail: true, account: 'example-corp' },
      now,
    );
    expect(delivery.messageIds).toEqual(['message-1', 'message-2']);
    expect(delivery.signInUrl).toBe('https://example-corp.signin.aws.amazon.com/console');
  });

  it.each([
    ['another user', () => sealed('mallory')],
    ['another execution', () => sealed(hire.userName, `${executionId}-other`)],
  ])('refuses a password sealed for %s, and sends nothing', async (_case, seal) => {
    const failure = deliverCredentials({ kms: kmsClient(), ses: sesClient() }, { hire, sealedPassword: await seal(), executionId }, settings, now);
    await expect(failure).rejects.toBeInstanceOf(CredentialsUnavailable);
    expect(fake.aws.ses).toHaveReceivedCommandTimes(SendEmailCommand, 0);
  });
});

describe('markComplete', () => {
  const delivery = { messageIds: ['m-1', 'm-2'], sentAt: '2025-03-01T08:59:00.000Z', signInUrl: 'https://123456789012.signin.aws.amazon.com/console' };
  const user = { arn: 'arn:aws:iam::123456789012:user/onboarding/bob.builder', path: '/onboarding/' };

  it('tags the user complete, with when the credentials were sent', async () => {
    await markComplete(iamClient(), { hire, user, delivery }, now);
    expect(fake.aws.iam).toHaveReceivedCommandExactlyOnceWith(TagUserCommand, {
      UserName: 'bob.builder',
      Tags: [
        { Key: 'onboarding:status', Value: 'complete' },
        { Key: 'onboarding:updated-at', Value: '2025-03-01T09:00:00.000Z' },
        { Key: 'onboarding:credentials-sent-at', Value: '2025-03-01T08:59:00.000Z' },
      ],
    });
  });

  it('returns exactly the summary, with no password or sealed password, whatever else the state holds', async () => {
    const state = { hire, user, delivery, executionId, loginProfile: { sealedPassword: 'c2VhbGVk' } };
    const summary = await markComplete(iamClient(), state, now);
    expect(summary).toEqual({
      status: 'ONBOARDED',
      employeeId: 'E-1001',
      userName: 'bob.builder',
      arn: user.arn,
      path: '/onboarding/',
      groups: ['developers'],
      signInUrl: delivery.signInUrl,
      emailsSent: 2,
      completedAt: '2025-03-01T09:00:00.000Z',
    });
  });

  it('records which execution completed the user', async () => {
    await markComplete(iamClient(), { hire, user, delivery, executionId }, now);
    expect(fake.aws.iam.commandCalls(TagUserCommand)[0]?.args[0].input.Tags).toContainEqual({ Key: 'onboarding:completed-by', Value: executionId });
  });
});

describe('recordFailure', () => {
  const error = { Error: 'EntityTemporarilyUnmodifiableException', Cause: '{"errorMessage":"Login Profile cannot be modified"}' };

  it('tags the failure on the user this workflow created for the employee', async () => {
    fake.aws.iam.on(GetUserCommand).resolves({ User: managedUser() });

    await expect(recordFailure(iamClient(), { hire, error }, ownership, now)).resolves.toEqual({ recorded: true });
    expect(fake.aws.iam).toHaveReceivedCommandExactlyOnceWith(TagUserCommand, {
      UserName: 'bob.builder',
      Tags: [
        { Key: 'onboarding:status', Value: 'failed' },
        { Key: 'onboarding:updated-at', Value: '2025-03-01T09:00:00.000Z' },
        { Key: 'onboarding:failure', Value: 'EntityTemporarilyUnmodifiableException' },
      ],
    });
  });

  it('makes the error name a valid tag value', async () => {
    fake.aws.iam.on(GetUserCommand).resolves({ User: managedUser() });
    await recordFailure(iamClient(), { hire, error: { Error: 'Weird!Error<Name>' } }, ownership, now);
    const tags = fake.aws.iam.commandCalls(TagUserCommand)[0]!.args[0].input.Tags!;
    expect(tags).toContainEqual({ Key: 'onboarding:failure', Value: 'Weird Error Name ' });
  });

  it('does nothing when the user does not exist', async () => {
    await expect(recordFailure(iamClient(), { hire, error }, ownership, now)).resolves.toEqual({ recorded: false, reason: 'no-such-user' });
    expect(iamWrites(fake.aws.iam)).toEqual([]);
  });

  it.each([
    ['someone else\'s user', managedUser({ path: '/', tags: [] })],
    ['a user managed by another deployment', managedUser({ managedBy: 'iam-onboarding-other' })],
    ['our user for another employee', managedUser({ employeeId: 'E-9999' })],
  ])('leaves %s untouched (no TagUser)', async (_case, user) => {
    fake.aws.iam.on(GetUserCommand).resolves({ User: user });
    await expect(recordFailure(iamClient(), { hire, error: { Error: 'UserNameConflict' } }, ownership, now)).resolves.toEqual({
      recorded: false,
      reason: 'not-managed',
    });
    expect(fake.aws.iam).toHaveReceivedCommandTimes(TagUserCommand, 0);
  });

  // Found by the fault suite (test/reliability/faults.test.ts): MarkComplete's Lambda died after
  // tagging the user complete, and RecordFailure then marked a user who could sign in "failed".
  describe('on a user tagged complete', () => {
    const lambdaDied = { Error: 'Lambda.Unknown', Cause: 'Runtime exited without providing a reason' };
    /** Our user for the hire, tagged complete by the given execution. */
    const completedBy = (execution: string) =>
      managedUser({
        tags: [
          { Key: 'onboarding:managed-by', Value: TEST_ENV.MANAGED_BY },
          { Key: 'onboarding:employee-id', Value: hire.employeeId },
          { Key: 'onboarding:status', Value: 'complete' },
          { Key: 'onboarding:credentials-sent-at', Value: '2025-03-01T08:59:59.000Z' },
          { Key: 'onboarding:completed-by', Value: execution },
        ],
      });

    it('leaves the user complete when the failure is of the execution that completed it', async () => {
      fake.aws.iam.on(GetUserCommand).resolves({ User: completedBy(executionId) });
      await expect(recordFailure(iamClient(), { hire, error: lambdaDied, executionId }, ownership, now)).resolves.toEqual({
        recorded: false,
        reason: 'completed-by-this-execution',
      });
      expect(fake.aws.iam).toHaveReceivedCommandTimes(TagUserCommand, 0);
    });

    it('records the failure of another execution (a reset or a repeated event that failed)', async () => {
      fake.aws.iam.on(GetUserCommand).resolves({ User: completedBy(`${executionId}-earlier`) });
      await expect(recordFailure(iamClient(), { hire, error: lambdaDied, executionId }, ownership, now)).resolves.toEqual({ recorded: true });
      expect(fake.aws.iam.commandCalls(TagUserCommand)[0]?.args[0].input.Tags).toContainEqual({ Key: 'onboarding:status', Value: 'failed' });
    });
  });
});

describe('causeMessage', () => {
  it.each([
    ['the errorMessage of a Lambda error', '{"errorType":"UserNameConflict","errorMessage":"User \\"bob\\" exists","trace":["at x"]}', 'User "bob" exists'],
    ['plain text as it is', 'States.Timeout: the task timed out', 'States.Timeout: the task timed out'],
    ['JSON without errorMessage as it is', '{"reason":"x"}', '{"reason":"x"}'],
    ['a JSON string as it is', '"quoted"', '"quoted"'],
    ['JSON null as it is', 'null', 'null'],
    ['nothing as empty', undefined, ''],
  ])('gives %s', (_case, cause, expected) => {
    expect(causeMessage(cause)).toBe(expected);
  });

  it('never includes the Lambda stack trace', () => {
    expect(causeMessage(JSON.stringify({ errorType: 'E', errorMessage: 'm', trace: ['E: m', '    at secretPath (/var/task/x.mjs:1:1)'] }))).toBe('m');
  });
});

describe('notifyOps', () => {
  const opsSettings = { sender: TEST_ENV.SENDER_EMAIL, opsEmail: TEST_ENV.OPS_EMAIL };

  it('emails the ops address with the error name, the hire, the execution and the cause message', async () => {
    const result = await notifyOps(
      sesClient(),
      {
        executionId,
        error: { Error: 'UserNameConflict', Cause: JSON.stringify({ errorType: 'UserNameConflict', errorMessage: 'User "bob.builder" already exists', trace: ['at x'] }) },
        hire: { employeeId: 'E-1001', userName: 'bob.builder', email: 'bob.builder@example.com' },
      },
      opsSettings,
    );

    expect(result).toEqual({ messageId: 'message-1' });
    const [mail] = mails();
    expect(mail!.Source).toBe(TEST_ENV.SENDER_EMAIL);
    expect(mail!.Destination!.ToAddresses).toEqual([TEST_ENV.OPS_EMAIL]);
    expect(mail!.Message!.Subject!.Data).toBe('Onboarding failed for bob.builder: UserNameConflict');
    expect(mail!.Message!.Body!.Text!.Data).toBe(
      [
        'An onboarding failed with UserNameConflict.',
        'User: bob.builder',
        'Employee id: E-1001',
        `Execution: ${executionId}`,
        'Cause: User "bob.builder" already exists',
      ].join('\n'),
    );
    expect(mail!.Message!.Body!.Html!.Data).toContain('<p>Cause: User &#34;bob.builder&#34; already exists</p>');
    expect(mail!.Message!.Body!.Text!.Data).not.toContain('at x');
  });

  it('still reports a failure of validation, when there is no hire', async () => {
    await notifyOps(sesClient(), { executionId, error: { Error: 'InvalidHrEvent', Cause: 'Invalid HR event: email: is required' } }, opsSettings);
    const [mail] = mails();
    expect(mail!.Message!.Subject!.Data).toBe('Onboarding failed for an unidentified hire: InvalidHrEvent');
    expect(mail!.Message!.Body!.Text!.Data).toContain('User: (not determined)');
    expect(mail!.Message!.Body!.Text!.Data).toContain('Employee id: (not determined)');
    expect(mail!.Message!.Body!.Text!.Data).toContain('Cause: Invalid HR event: email: is required');
  });

  it('names the employee when the user name is unknown', async () => {
    await notifyOps(sesClient(), { executionId, error: { Error: 'X' }, hire: { employeeId: 'E-7' } }, opsSettings);
    expect(mails()[0]!.Message!.Subject!.Data).toBe('Onboarding failed for E-7: X');
  });

  it('keeps the subject on one line and escapes markup in the HTML body', async () => {
    await notifyOps(
      sesClient(),
      { executionId, error: { Error: 'Bad\r\nBcc: attacker@example.com', Cause: '<script>alert(1)</script>' } },
      opsSettings,
    );
    const [mail] = mails();
    expect(mail!.Message!.Subject!.Data).not.toMatch(/[\r\n]/);
    expect(mail!.Message!.Body!.Html!.Data).not.toContain('<script>');
    expect(mail!.Message!.Body!.Html!.Data).toContain('&#60;script&#62;');
  });

  it('cuts a very long cause to 2,000 characters', async () => {
    await notifyOps(sesClient(), { executionId, error: { Error: 'X', Cause: 'c'.repeat(10_000) } }, opsSettings);
    const line = mails()[0]!.Message!.Body!.Text!.Data!.split('\n').find((l) => l.startsWith('Cause: '))!;
    expect(line).toBe(`Cause: ${'c'.repeat(2_000)}`);
  });
});
