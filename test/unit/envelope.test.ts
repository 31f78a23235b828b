import { DecryptCommand, EncryptCommand, KMSInternalException } from '@aws-sdk/client-kms';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { kmsClient } from '../../functions/lib/clients.ts';
import { openSecret, sealSecret } from '../../functions/lib/envelope.ts';
import { CredentialsUnavailable } from '../../functions/lib/errors.ts';
import { fakeAws, type FakeAws } from '../../testing/aws-fakes.ts';
import { TEST_ENV } from '../../testing/lambda-env.ts';

const keyId = TEST_ENV.KMS_KEY_ID;
const ctx = { userName: 'bob.builder', executionId: 'arn:aws:states:us-east-1:123456789012:execution:onboarding:run-1' };
const secret = "Tq7#mZ2!pX9@wL4$kR8'";

let aws: FakeAws;
beforeEach(() => {
  aws = fakeAws();
});
afterEach(() => aws.reset());

describe('sealSecret / openSecret', () => {
  it('round-trips the secret under an encryption context naming the purpose, user and execution', async () => {
    const sealed = await sealSecret(kmsClient(), keyId, secret, ctx);

    expect(aws.kms).toHaveReceivedCommandWith(EncryptCommand, {
      KeyId: keyId,
      EncryptionContext: { purpose: 'onboarding-temporary-password', userName: ctx.userName, executionId: ctx.executionId },
    });
    await expect(openSecret(kmsClient(), keyId, sealed, ctx)).resolves.toBe(secret);
    expect(aws.kms).toHaveReceivedCommandWith(DecryptCommand, {
      KeyId: keyId,
      EncryptionContext: { purpose: 'onboarding-temporary-password', userName: ctx.userName, executionId: ctx.executionId },
    });
  });

  it('hands out base64 ciphertext that does not contain the secret', async () => {
    const sealed = await sealSecret(kmsClient(), keyId, secret, ctx);
    expect(sealed).toMatch(/^[A-Za-z0-9+/]+=*$/);
    expect(sealed).not.toContain(secret);
    expect(Buffer.from(sealed, 'base64').toString('utf8')).not.toContain(secret);
  });

  it.each([
    ['another user', { ...ctx, userName: 'mallory' }],
    ['another execution', { ...ctx, executionId: `${ctx.executionId}-replayed` }],
  ])('refuses to open the ciphertext for %s (CredentialsUnavailable)', async (_case, other) => {
    const sealed = await sealSecret(kmsClient(), keyId, secret, ctx);
    const failure = openSecret(kmsClient(), keyId, sealed, other);
    await expect(failure).rejects.toBeInstanceOf(CredentialsUnavailable);
    await expect(failure).rejects.toMatchObject({ name: 'CredentialsUnavailable' });
    await expect(failure).rejects.toThrow(`user ${other.userName}`);
  });

  it('refuses a ciphertext that was never issued', async () => {
    await expect(openSecret(kmsClient(), keyId, Buffer.from('forged').toString('base64'), ctx)).rejects.toBeInstanceOf(
      CredentialsUnavailable,
    );
  });

  it('fails with CredentialsUnavailable when KMS returns no ciphertext', async () => {
    aws.kms.on(EncryptCommand).resolves({});
    await expect(sealSecret(kmsClient(), keyId, secret, ctx)).rejects.toBeInstanceOf(CredentialsUnavailable);
  });

  it('lets transient KMS errors through with their own name, so they are retried', async () => {
    const sealed = await sealSecret(kmsClient(), keyId, secret, ctx);
    aws.kms.on(DecryptCommand).rejects(new KMSInternalException({ message: 'internal', $metadata: { httpStatusCode: 500 } }));
    await expect(openSecret(kmsClient(), keyId, sealed, ctx)).rejects.toMatchObject({ name: 'KMSInternalException' });
  });
});
