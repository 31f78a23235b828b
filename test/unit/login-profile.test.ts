import {
  CreateLoginProfileCommand,
  EntityAlreadyExistsException,
  GetAccountPasswordPolicyCommand,
  GetUserCommand,
  IAMClient,
  TagUserCommand,
  UpdateLoginProfileCommand,
} from '@aws-sdk/client-iam';
import { EncryptCommand, KMSInternalException } from '@aws-sdk/client-kms';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { iamClient, kmsClient } from '../../functions/lib/clients.ts';
import { openSecret } from '../../functions/lib/envelope.ts';
import { createLoginProfile, redact } from '../../functions/lib/login-profile.ts';
import { AWS_DEFAULT_RULES } from '../../functions/lib/password.ts';
import { fakeAws, iamWrites, managedUser, type FakeAws } from '../../testing/aws-fakes.ts';
import { TEST_ENV } from '../../testing/lambda-env.ts';
import { expectNoSecrets, passwordsSent } from '../support/secrets.ts';

const request = {
  userName: 'bob.builder',
  executionId: 'arn:aws:states:us-east-1:123456789012:execution:onboarding:run-1',
  passwordRules: AWS_DEFAULT_RULES,
};
const settings = { kmsKeyId: TEST_ENV.KMS_KEY_ID, passwordLength: 20 };
const now = new Date('2025-03-01T09:00:00.000Z');

let aws: FakeAws;
beforeEach(() => {
  aws = fakeAws();
});
afterEach(() => aws.reset());

const clients = () => ({ iam: iamClient(), kms: kmsClient() });

describe('createLoginProfile', () => {
  it('creates a reset-required login profile and returns only the sealed password', async () => {
    const result = await createLoginProfile(clients(), request, settings, now);

    expect(aws.iam).toHaveReceivedCommandExactlyOnceWith(CreateLoginProfileCommand, {
      UserName: 'bob.builder',
      PasswordResetRequired: true,
    });
    const [password] = passwordsSent(aws.iam);
    expect(password).toHaveLength(20);
    expect(result).toEqual({
      status: 'CREATED',
      sealedPassword: expect.any(String),
      passwordIssuedAt: '2025-03-01T09:00:00.000Z',
    });
    expectNoSecrets([password!], { result });
    // The sealed password opens, for this user and execution, to the password IAM was given.
    if (result.status !== 'CREATED') throw new Error('expected CREATED');
    await expect(openSecret(kmsClient(), settings.kmsKeyId, result.sealedPassword, request)).resolves.toBe(password);
  });

  it('raises the length to the account policy minimum (as the CreateUser step read it)', async () => {
    await createLoginProfile(clients(), { ...request, passwordRules: { ...AWS_DEFAULT_RULES, minimumLength: 32 } }, settings, now);
    expect(passwordsSent(aws.iam)[0]).toHaveLength(32);
  });

  it('does not read the account password policy again', async () => {
    await createLoginProfile(clients(), request, settings, now);
    expect(aws.iam).toHaveReceivedCommandTimes(GetAccountPasswordPolicyCommand, 0);
  });

  it('makes one IAM call: the issue date is the login profile\'s own CreateDate, not a tag', async () => {
    await createLoginProfile(clients(), request, settings, now);
    expect(aws.iam.calls().map((c) => (c.args[0] as object).constructor.name)).toEqual(['CreateLoginProfileCommand']);
    expect(aws.iam).toHaveReceivedCommandTimes(TagUserCommand, 0);
  });

  it('replaces the password of the profile this execution created when its answer was lost, with no tag either', async () => {
    aws.iam.on(CreateLoginProfileCommand).rejects(
      new EntityAlreadyExistsException({ message: 'Login Profile for user bob.builder already exists.', $metadata: { httpStatusCode: 409 } }),
    );
    aws.iam.on(UpdateLoginProfileCommand).resolves({});

    const result = await createLoginProfile(clients(), { ...request, createdByThisExecution: true }, settings, now);

    expect(result).toMatchObject({ status: 'CREATED', sealedPassword: expect.any(String) });
    expect(aws.iam).toHaveReceivedCommandWith(UpdateLoginProfileCommand, { UserName: 'bob.builder', PasswordResetRequired: true });
    expect(aws.iam).toHaveReceivedCommandTimes(TagUserCommand, 0);
  });

  it('seals before IAM sees the password: if KMS fails, no login profile is created', async () => {
    aws.kms.on(EncryptCommand).rejects(new KMSInternalException({ message: 'internal', $metadata: { httpStatusCode: 500 } }));

    await expect(createLoginProfile(clients(), request, settings, now)).rejects.toMatchObject({ name: 'KMSInternalException' });
    expect(aws.iam).toHaveReceivedCommandTimes(CreateLoginProfileCommand, 0);
    expect(aws.iam).toHaveReceivedCommandTimes(TagUserCommand, 0);
  });

  it('answers ALREADY_PROVISIONED, with no password and no tag, when the login profile exists', async () => {
    aws.iam.on(CreateLoginProfileCommand).rejects(
      new EntityAlreadyExistsException({ message: 'Login Profile for user bob.builder already exists.', $metadata: { httpStatusCode: 409 } }),
    );

    await expect(createLoginProfile(clients(), request, settings, now)).resolves.toEqual({ status: 'ALREADY_PROVISIONED' });
    expect(aws.iam).toHaveReceivedCommandTimes(TagUserCommand, 0);
  });

  it('lets a transient IAM error through with its name, so the state machine retries it', async () => {
    aws.iam.on(CreateLoginProfileCommand).rejects(Object.assign(new Error('Rate exceeded'), { name: 'Throttling' }));
    await expect(createLoginProfile(clients(), request, settings, now)).rejects.toMatchObject({
      name: 'Throttling',
      message: 'Rate exceeded',
    });
  });
});

describe('createLoginProfile: an IAM error that echoes the password', () => {
  /**
   * A real IAM client whose HTTP layer answers CreateLoginProfile with an error quoting the
   * password it was sent: the error goes through the SDK's own deserializer, so it has every
   * field a real one has (`Error.Message`, `Code`, `RequestId`, ...).
   */
  function echoingIam(): IAMClient {
    const xml = (code: string, message: string) =>
      `<ErrorResponse xmlns="https://iam.amazonaws.com/doc/2010-05-08/"><Error><Type>Sender</Type><Code>${code}</Code>` +
      `<Message>${message}</Message></Error><RequestId>req-1</RequestId></ErrorResponse>`;
    return new IAMClient({
      region: 'us-east-1',
      credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
      maxAttempts: 1,
      requestHandler: {
        handle: async (httpRequest: { body: string }) => {
          const form = new URLSearchParams(httpRequest.body);
          const body =
            form.get('Action') === 'GetAccountPasswordPolicy'
              ? { status: 404, xml: xml('NoSuchEntity', 'The Password Policy with domain name 123456789012 cannot be found.') }
              : { status: 400, xml: xml('PasswordPolicyViolation', `Password ${form.get('Password')} does not conform to the policy`) };
          return {
            response: { statusCode: body.status, headers: { 'content-type': 'text/xml' }, body: new TextEncoder().encode(body.xml) },
          };
        },
      } as never,
    });
  }

  beforeEach(() => aws.iam.restore()); // this test's IAM client is real, with a fake HTTP layer

  it('is rethrown with the same name and without the password anywhere in it', async () => {
    const iam = echoingIam();
    const sent: string[] = [];
    iam.middlewareStack.add(
      (next) => async (args) => {
        const input = args.input as { Password?: string };
        if (input.Password) sent.push(input.Password);
        return next(args);
      },
      { step: 'initialize' },
    );

    const error = await createLoginProfile({ iam, kms: kmsClient() }, request, settings, now).then(
      () => {
        throw new Error('expected a failure');
      },
      (e: unknown) => e as Error,
    );

    expect(sent).toHaveLength(1);
    expect(error.name).toBe('PasswordPolicyViolationException');
    expect(error.message).toBe('Password ******** does not conform to the policy');
    // What the Lambda runtime reports and logs: the message, the stack, every enumerable field.
    expectNoSecrets(sent, {
      message: error.message,
      stack: error.stack,
      fields: JSON.stringify(error),
      ownProperties: Object.getOwnPropertyNames(error).map((key) => String((error as unknown as Record<string, unknown>)[key])),
    });
  });
});

describe('redact', () => {
  it('returns an error that does not mention the secret unchanged', () => {
    const error = Object.assign(new Error('Rate exceeded'), { name: 'Throttling', $metadata: { httpStatusCode: 400 } });
    expect(redact(error, 'Secret-1')).toBe(error);
  });

  it('masks the secret in message and stack, keeps the name, drops the fields that repeat it', () => {
    const error = Object.assign(new Error('bad password Secret-1'), {
      name: 'PasswordPolicyViolationException',
      Error: { Message: 'bad password Secret-1' },
    });
    const clean = redact(error, 'Secret-1') as Error;
    expect(clean.name).toBe('PasswordPolicyViolationException');
    expect(clean.message).toBe('bad password ********');
    expect(clean.stack).not.toContain('Secret-1');
    expect(JSON.stringify(clean)).not.toContain('Secret-1');
  });

  it('catches a secret that is only in an extra field', () => {
    const error = Object.assign(new Error('rejected'), { detail: { echoed: 'Secret-1' } });
    expect(JSON.stringify(redact(error, 'Secret-1'))).not.toContain('Secret-1');
  });

  it('leaves things that are not errors alone', () => {
    expect(redact('Secret-1', 'Secret-1')).toBe('Secret-1');
  });
});

describe('createLoginProfile after waiting for a start date', () => {
  const waited = { ...request, waitedUntil: '2025-03-01T08:00:00.000Z' };
  const holding = (executionId: string, status = 'waiting') =>
    aws.iam.on(GetUserCommand).resolves({
      User: managedUser({ tags: [{ Key: 'onboarding:created-by', Value: executionId }, { Key: 'onboarding:status', Value: status }] }),
    });

  it('checks the claim is still its own, tags the user in progress from now, and reads the password policy again', async () => {
    holding(request.executionId);
    aws.iam.on(GetAccountPasswordPolicyCommand).resolves({ PasswordPolicy: { MinimumPasswordLength: 40, AllowUsersToChangePassword: true } });

    const result = await createLoginProfile(clients(), waited, settings, now);

    expect(result.status).toBe('CREATED');
    expect(aws.iam).toHaveReceivedCommandWith(TagUserCommand, {
      UserName: 'bob.builder',
      Tags: [
        { Key: 'onboarding:status', Value: 'in-progress' },
        { Key: 'onboarding:updated-at', Value: now.toISOString() },
      ],
    });
    expect(passwordsSent(aws.iam)[0]).toHaveLength(40);
  });

  it('stands back (SUPERSEDED) without a password when HR moved the date and another execution holds the claim', async () => {
    holding('arn:aws:states:us-east-1:123456789012:execution:onboarding:moved');

    const result = await createLoginProfile(clients(), waited, settings, now);

    expect(result).toEqual({ status: 'SUPERSEDED' });
    expect(iamWrites(aws.iam)).toEqual([]);
    expect(aws.kms).not.toHaveReceivedCommand(EncryptCommand);
  });

  it('stands back (WITHDRAWN) without a password when the hire left before the start date (offboarded while waiting)', async () => {
    holding(request.executionId, 'offboarded');

    const result = await createLoginProfile(clients(), waited, settings, now);

    expect(result).toEqual({ status: 'WITHDRAWN' });
    expect(iamWrites(aws.iam)).toEqual([]);
    expect(aws.kms).not.toHaveReceivedCommand(EncryptCommand);
  });
});
