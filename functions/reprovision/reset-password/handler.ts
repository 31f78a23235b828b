import { iamClient, kmsClient } from '../../lib/clients.ts';
import { config, trustPolicyOf } from '../../lib/config.ts';
import { lambdaHandler, logger } from '../../lib/lambda.ts';
import { parseReprovisionRequest, resetPassword } from '../../lib/reprovision-user.ts';

/** Gives a managed user a new reset-required password; only its KMS ciphertext leaves this function. */
export const handler = lambdaHandler(async (event: { request: unknown; executionId: string }) => {
  const request = parseReprovisionRequest(event.request);
  const settings = config();
  const { KMS_KEY_ID, PASSWORD_LENGTH, MANAGED_PATH, MANAGED_BY } = settings;
  const result = await resetPassword({ iam: iamClient(), kms: kmsClient() }, request, {
    managedPath: MANAGED_PATH,
    managedBy: MANAGED_BY,
    kmsKeyId: KMS_KEY_ID,
    passwordLength: PASSWORD_LENGTH,
    executionId: event.executionId,
    trust: trustPolicyOf(settings),
  });
  logger.info('password reset', {
    userName: request.hire.userName,
    status: result.status,
    reason: result.reason,
    ...(result.status === 'RESET' && { passwordResets: result.passwordResets }),
  });
  return result;
});
