import { DecryptCommand, EncryptCommand, InvalidCiphertextException, type KMSClient } from '@aws-sdk/client-kms';
import { CredentialsUnavailable } from './errors.ts';

/**
 * The temporary password travels between states only as KMS ciphertext, bound by the
 * encryption context to the user and the execution: a ciphertext copied from one execution's
 * history cannot be opened for another user or execution.
 */
export interface EnvelopeContext {
  userName: string;
  executionId: string;
}

function encryptionContext(ctx: EnvelopeContext): Record<string, string> {
  return { purpose: 'onboarding-temporary-password', userName: ctx.userName, executionId: ctx.executionId };
}

export async function sealSecret(kms: KMSClient, keyId: string, secret: string, ctx: EnvelopeContext): Promise<string> {
  const { CiphertextBlob } = await kms.send(
    new EncryptCommand({
      KeyId: keyId,
      Plaintext: new TextEncoder().encode(secret),
      EncryptionContext: encryptionContext(ctx),
    }),
  );
  if (!CiphertextBlob) throw new CredentialsUnavailable('KMS returned no ciphertext');
  return Buffer.from(CiphertextBlob).toString('base64');
}

export async function openSecret(kms: KMSClient, keyId: string, ciphertext: string, ctx: EnvelopeContext): Promise<string> {
  try {
    const { Plaintext } = await kms.send(
      new DecryptCommand({
        KeyId: keyId,
        CiphertextBlob: Buffer.from(ciphertext, 'base64'),
        EncryptionContext: encryptionContext(ctx),
      }),
    );
    if (!Plaintext) throw new CredentialsUnavailable('KMS returned no plaintext');
    return new TextDecoder().decode(Plaintext);
  } catch (error) {
    if (error instanceof InvalidCiphertextException) {
      throw new CredentialsUnavailable(`The sealed password cannot be opened for user ${ctx.userName} in this execution`);
    }
    throw error;
  }
}
