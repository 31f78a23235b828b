import { iamClient, kmsClient } from '../../lib/clients.ts';
import { config, ownershipOf, trustPolicyOf } from '../../lib/config.ts';
import { lambdaHandler, logger } from '../../lib/lambda.ts';
import { count } from '../../lib/metrics.ts';
import { parseReprovisionRequest, resetPassword } from '../../lib/reprovision-user.ts';

/** Gives a managed user a new reset-required password; only its KMS ciphertext leaves this function. */
export const handler = lambdaHandler(async (event: { request: unknown; executionId: string }) => {
  const request = parseReprovisionRequest(event.request);
  const settings = config();
  const result = await resetPassword({ iam: iamClient(), kms: kmsClient() }, request, {
    ...ownershipOf(settings),
    kmsKeyId: settings.KMS_KEY_ID,
    passwordLength: settings.PASSWORD_LENGTH,
    executionId: event.executionId,
    trust: trustPolicyOf(settings),
  });
  logger.info('password reset', {
    userName: request.hire.userName,
    status: result.status,
    reason: result.reason,
    ...(result.status === 'RESET' && { passwordResets: result.passwordResets }),
  });
  if (result.status === 'RESET') count('PasswordsReset');
  return result;
});
