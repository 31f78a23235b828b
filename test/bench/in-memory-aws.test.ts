/**
 * The burst benchmark's AWS (testing/in-memory-aws.ts), through real SDK clients: what IAM's
 * token bucket and SES's send rate answer, as the handlers' clients see it.
 */
import { CreateUserCommand, GetUserCommand, IAMClient } from '@aws-sdk/client-iam';
import { DecryptCommand, EncryptCommand, KMSClient } from '@aws-sdk/client-kms';
import { SendEmailCommand, SESClient } from '@aws-sdk/client-ses';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { InMemoryAws, TokenBucket, type Service } from '../../testing/in-memory-aws.ts';

const config = { region: 'us-east-1', credentials: { accessKeyId: 'test', secretAccessKey: 'test' }, maxAttempts: 1 };
let aws: InMemoryAws;

function client<T extends IAMClient | SESClient | KMSClient>(made: T, service: Service): T {
  (made.config as { requestHandler: unknown }).requestHandler = aws.requestHandler(service);
  return made;
}

beforeEach(() => {
  vi.useFakeTimers({ now: new Date('2026-01-05T09:00:00Z'), toFake: ['Date'] });
  aws = new InMemoryAws({ iam: { rate: 2, burst: 3 }, ses: { rate: 1 }, groups: ['developers'] });
});
afterEach(() => vi.useRealTimers());

describe('the token bucket', () => {
  it('is full at first, refills at its rate up to its size, and a refused take costs nothing', () => {
    const bucket = new TokenBucket(2, 3);
    expect([bucket.take(), bucket.take(), bucket.take(), bucket.take()]).toEqual([true, true, true, false]);
    vi.advanceTimersByTime(499);
    expect(bucket.take()).toBe(false);
    vi.advanceTimersByTime(1);
    expect(bucket.take()).toBe(true);
    vi.advanceTimersByTime(60_000);
    expect([bucket.take(), bucket.take(), bucket.take(), bucket.take()]).toEqual([true, true, true, false]);
  });
});

describe('IAM', () => {
  const user = (UserName: string) => new CreateUserCommand({ UserName, Path: '/onboarding/', Tags: [{ Key: 'k', Value: 'v' }] });

  it('answers Throttling (400, "Rate exceeded") when its bucket is empty, as IAM does, and nothing is done', async () => {
    const iam = client(new IAMClient(config), 'iam');
    for (const name of ['a', 'b', 'c']) await iam.send(user(name));

    const refused = await iam.send(user('d')).catch((error: unknown) => error as Error & { $metadata: { httpStatusCode: number } });

    expect(refused).toMatchObject({ name: 'Throttling', message: 'Rate exceeded', $metadata: { httpStatusCode: 400 } });
    expect(aws.user('d')).toBeUndefined();
    expect(aws.calls.map((c) => c.error ?? 'ok')).toEqual(['ok', 'ok', 'ok', 'Throttling']);
  });

  it('keeps user names unique ignoring case, and finds a user by any spelling', async () => {
    const iam = client(new IAMClient(config), 'iam');
    await iam.send(user('Dana.Scully'));

    await expect(iam.send(user('dana.scully'))).rejects.toMatchObject({ name: 'EntityAlreadyExistsException' });
    vi.advanceTimersByTime(1000);
    const { User: found } = await iam.send(new GetUserCommand({ UserName: 'DANA.SCULLY' }));
    expect(found).toMatchObject({ UserName: 'Dana.Scully', Path: '/onboarding/', Tags: [{ Key: 'k', Value: 'v' }] });
  });
});

describe('SES', () => {
  it('sends at most its rate, and answers Throttling ("Maximum sending rate exceeded.") beyond it', async () => {
    const ses = client(new SESClient(config), 'ses');
    const mail = new SendEmailCommand({
      Source: 'it@example.com',
      Destination: { ToAddresses: ['ada@example.com'] },
      Message: { Subject: { Data: 'Hello' }, Body: { Text: { Data: 'Hi' } } },
    });

    await ses.send(mail);
    await expect(ses.send(mail)).rejects.toMatchObject({ name: 'Throttling', message: 'Maximum sending rate exceeded.' });
    vi.advanceTimersByTime(1000);
    await ses.send(mail);

    expect(aws.mail).toEqual([
      { to: ['ada@example.com'], subject: 'Hello', at: expect.any(Number) },
      { to: ['ada@example.com'], subject: 'Hello', at: expect.any(Number) },
    ]);
    expect(aws.mail[1]!.at - aws.mail[0]!.at).toBeGreaterThanOrEqual(1000);
  });
});

describe('KMS', () => {
  it('opens a ciphertext only under the encryption context it was sealed with', async () => {
    const kms = client(new KMSClient(config), 'kms');
    const context = { user: 'ada' };
    const { CiphertextBlob } = await kms.send(new EncryptCommand({ KeyId: 'key', Plaintext: Buffer.from('secret'), EncryptionContext: context }));

    const { Plaintext } = await kms.send(new DecryptCommand({ CiphertextBlob, EncryptionContext: context }));
    expect(Buffer.from(Plaintext!).toString()).toBe('secret');
    await expect(kms.send(new DecryptCommand({ CiphertextBlob, EncryptionContext: { user: 'eve' } }))).rejects.toMatchObject({
      name: 'InvalidCiphertextException',
    });
  });
});
