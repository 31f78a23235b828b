import { CreateLoginProfileCommand, EntityAlreadyExistsException, TagUserCommand, type IAMClient } from '@aws-sdk/client-iam';
import type { KMSClient } from '@aws-sdk/client-kms';
import { sealSecret } from './envelope.ts';
import { TAG } from './managed-user.ts';
import { generatePassword, passwordRules } from './password.ts';

export type LoginProfileResult =
  | { status: 'CREATED'; sealedPassword: string; passwordIssuedAt: string }
  | { status: 'ALREADY_PROVISIONED' };

export interface LoginProfileRequest {
  userName: string;
  executionId: string;
}

/** Removes the password from an error message, in case a service ever echoes it. */
export function redact(error: unknown, secret: string): unknown {
  if (error instanceof Error && secret !== '' && error.message.includes(secret)) {
    error.message = error.message.split(secret).join('********');
  }
  return error;
}

/**
 * Gives the user a console password that must be changed at first sign-in. The password is
 * sealed with KMS before IAM sees it, so a failure after CreateLoginProfile can never leave a
 * password that exists in IAM but nowhere we can deliver it from.
 *
 * An existing login profile means the user is already provisioned: nothing is reset.
 */
export async function createLoginProfile(
  clients: { iam: IAMClient; kms: KMSClient },
  request: LoginProfileRequest,
  settings: { kmsKeyId: string; passwordLength: number },
  now: Date = new Date(),
): Promise<LoginProfileResult> {
  const rules = await passwordRules(clients.iam);
  const password = generatePassword(rules, settings.passwordLength);
  const sealedPassword = await sealSecret(clients.kms, settings.kmsKeyId, password, request);

  try {
    await clients.iam.send(
      new CreateLoginProfileCommand({ UserName: request.userName, Password: password, PasswordResetRequired: true }),
    );
  } catch (error) {
    if (error instanceof EntityAlreadyExistsException) return { status: 'ALREADY_PROVISIONED' };
    throw redact(error, password);
  }

  const passwordIssuedAt = now.toISOString();
  await clients.iam.send(
    new TagUserCommand({ UserName: request.userName, Tags: [{ Key: TAG.passwordIssuedAt, Value: passwordIssuedAt }] }),
  );
  return { status: 'CREATED', sealedPassword, passwordIssuedAt };
}
