import { kmsClient, sesClient } from '../lib/clients.ts';
import { config, trustPolicyOf } from '../lib/config.ts';
import type { Hire } from '../lib/hire.ts';
import { accountIdOf, lambdaHandler, logger } from '../lib/lambda.ts';
import { deliverCredentials } from '../lib/credentials-delivery.ts';

/** Opens the sealed password and emails the sign-in details to the hire, the manager or both, as `credentialsRecipient` says. */
export const handler = lambdaHandler(
  async (event: { hire: Hire; userName?: string; sealedPassword: string; executionId: string }, context) => {
    const settings = config();
    const delivery = await deliverCredentials({ kms: kmsClient(), ses: sesClient() }, event, {
      kmsKeyId: settings.KMS_KEY_ID,
      sender: settings.SENDER_EMAIL,
      account: settings.SIGNIN_ACCOUNT ?? accountIdOf(context),
      separatePasswordEmail: settings.SEPARATE_PASSWORD_EMAIL,
      trust: trustPolicyOf(settings),
      ...(settings.CREDENTIALS_CONFIGURATION_SET && { configurationSet: settings.CREDENTIALS_CONFIGURATION_SET }),
    });
    logger.info('credentials sent', { userName: event.userName ?? event.hire.userName, messageIds: delivery.messageIds });
    return delivery;
  },
);
