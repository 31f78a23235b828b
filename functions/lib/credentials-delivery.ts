import type { KMSClient } from '@aws-sdk/client-kms';
import type { SESClient } from '@aws-sdk/client-ses';
import { credentialsEmails, sendEmails, signInUrl } from './email.ts';
import { openSecret } from './envelope.ts';
import type { Hire } from './hire.ts';
import { assertRecipientAllowed, type TrustPolicy } from './trust-policy.ts';

export interface DeliveryRequest {
  hire: Pick<Hire, 'firstName' | 'email' | 'userName'>;
  /** The user's name as IAM spells it, when it may differ in case from the hire's. */
  userName?: string;
  sealedPassword: string;
  executionId: string;
}

export interface Delivery {
  messageIds: string[];
  sentAt: string;
  signInUrl: string;
}

export interface DeliverySettings {
  kmsKeyId: string;
  sender: string;
  account: string;
  separatePasswordEmail: boolean;
  trust: TrustPolicy;
  /** SES configuration set that requires TLS. */
  configurationSet?: string;
}

/**
 * Opens the sealed password and emails the credentials to the new hire, only at an allowed
 * domain (checked again here, right before the password is opened: the last step before mail).
 */
export async function deliverCredentials(
  clients: { kms: KMSClient; ses: SESClient },
  request: DeliveryRequest,
  settings: DeliverySettings,
  now: Date = new Date(),
): Promise<Delivery> {
  const { hire } = request;
  const userName = request.userName ?? hire.userName;
  assertRecipientAllowed('email', hire.email, settings.trust);
  const password = await openSecret(clients.kms, settings.kmsKeyId, request.sealedPassword, {
    userName,
    executionId: request.executionId,
  });
  const url = signInUrl(settings.account);
  const messages = credentialsEmails({
    firstName: hire.firstName,
    userName,
    password,
    signInUrl: url,
    separatePasswordEmail: settings.separatePasswordEmail,
  });
  const messageIds = await sendEmails(clients.ses, settings.sender, hire.email, messages, settings.configurationSet);
  return { messageIds, sentAt: now.toISOString(), signInUrl: url };
}
