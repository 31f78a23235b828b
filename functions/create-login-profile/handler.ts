import { iamClient, kmsClient } from '../lib/clients.ts';
import { config } from '../lib/config.ts';
import { lambdaHandler, logger } from '../lib/lambda.ts';
import { createLoginProfile, type LoginProfileClaim } from '../lib/login-profile.ts';
import { count } from '../lib/metrics.ts';
import type { PasswordRules } from '../lib/password.ts';

/** Sets a reset-required console password; only its KMS ciphertext leaves this function. */
export const handler = lambdaHandler(async (event: { userName: string; executionId: string; passwordRules: PasswordRules } & LoginProfileClaim) => {
  const { KMS_KEY_ID, PASSWORD_LENGTH } = config();
  const result = await createLoginProfile(
    { iam: iamClient(), kms: kmsClient() },
    {
      userName: event.userName,
      executionId: event.executionId,
      createdByThisExecution: event.createdByThisExecution === true,
      busyElsewhere: event.busyElsewhere === true,
      waitedUntil: event.waitedUntil ?? null,
      passwordRules: event.passwordRules,
    },
    { kmsKeyId: KMS_KEY_ID, passwordLength: PASSWORD_LENGTH },
  );
  logger.info('login profile', { userName: event.userName, status: result.status });
  if (result.status === 'ALREADY_PROVISIONED') count('AlreadyProvisioned');
  if (result.status === 'IN_PROGRESS_ELSEWHERE') count('InProgressElsewhere');
  if (result.status === 'SUPERSEDED' || result.status === 'WITHDRAWN') count('Superseded');
  return result;
});
