import { kmsClient, sesClient } from '../lib/clients.ts';
import { config } from '../lib/config.ts';
import type { Hire } from '../lib/hire.ts';
import { accountIdOf, lambdaHandler, logger } from '../lib/lambda.ts';
import { deliverCredentials } from '../lib/outcome.ts';

/** Opens the sealed password and emails the sign-in details to the new hire. */
export const handler = lambdaHandler(
  async (event: { hire: Hire; sealedPassword: string; executionId: string }, context) => {
    const { KMS_KEY_ID, SENDER_EMAIL, SIGNIN_ACCOUNT, SEPARATE_PASSWORD_EMAIL } = config();
    const delivery = await deliverCredentials({ kms: kmsClient(), ses: sesClient() }, event, {
      kmsKeyId: KMS_KEY_ID,
      sender: SENDER_EMAIL,
      account: SIGNIN_ACCOUNT ?? accountIdOf(context),
      separatePasswordEmail: SEPARATE_PASSWORD_EMAIL,
    });
    logger.info('credentials sent', { userName: event.hire.userName, messageIds: delivery.messageIds });
    return delivery;
  },
);
