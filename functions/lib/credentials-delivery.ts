import type { KMSClient } from '@aws-sdk/client-kms';
import type { SESClient } from '@aws-sdk/client-ses';
import { accessEmail, credentialsEmails, managerCredentialsEmails, managerNotice, sendEmails, signInUrl, type EmailMessage } from './email.ts';
import { openSecret } from './envelope.ts';
import type { Hire } from './hire.ts';
import { assertRecipientsAllowed, credentialRecipients, type RecipientField, type TrustPolicy } from './trust-policy.ts';

export interface DeliveryRequest {
  hire: Pick<Hire, 'firstName' | 'lastName' | 'email' | 'userName' | 'managerEmail' | 'startDate'>;
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
  /** The allowed domains, and who receives the password (`credentialsRecipient`). */
  trust: TrustPolicy;
  /** SES configuration set that requires TLS. */
  configurationSet?: string;
}

/** One message, its address, and the hire's field that holds the address. */
export interface AddressedMessage {
  field: RecipientField;
  to: string;
  message: EmailMessage;
}

/**
 * What the credentials step mails, and to whom, under the stage's `credentialsRecipient`:
 *
 * - `hire`: the credentials to the hire; with a `managerEmail`, a notice to the manager (user
 *   name and sign-in page, never the password);
 * - `manager`: the credentials to the manager, to hand over on day one; nothing to the hire;
 * - `split`: the user name and sign-in page to the hire, the credentials to the manager.
 *
 * Messages without the password come first. Step Functions retries the whole step, so a retry
 * sends again what the failed attempt had sent: with the password last, a failure before it
 * repeats only messages without it, and a failure of the password's own message means that
 * message was not sent. Only an SES answer lost after SES accepted the password's message (the
 * step fails, is retried, and sends it again) delivers it twice: at least once, as before.
 */
export function credentialsMail(
  hire: DeliveryRequest['hire'],
  details: { userName: string; password: string; signInUrl: string; separatePasswordEmail: boolean },
  policy: Pick<TrustPolicy, 'credentialsRecipient'>,
): AddressedMessage[] {
  const mode = policy.credentialsRecipient;
  // Refuses a hire without the manager's address when the mode needs it.
  const recipients = new Map(credentialRecipients(hire, policy));
  const to = (field: RecipientField) => (message: EmailMessage): AddressedMessage => {
    const address = recipients.get(field);
    if (address === undefined) throw new Error(`credentialsMail: ${field} receives nothing under credentialsRecipient ${mode}`);
    return { field, to: address, message };
  };
  const { password, separatePasswordEmail } = details;
  const about = {
    firstName: hire.firstName,
    lastName: hire.lastName,
    userName: details.userName,
    signInUrl: details.signInUrl,
    ...(hire.startDate !== undefined && { startDate: hire.startDate }),
  };
  const mail: AddressedMessage[] = [];
  if (mode === 'hire') {
    const toHire = credentialsEmails({ firstName: hire.firstName, userName: details.userName, password, signInUrl: details.signInUrl, separatePasswordEmail });
    mail.push(...toHire.map(to('email')));
    if (recipients.has('managerEmail')) mail.push(to('managerEmail')(managerNotice({ ...about, email: hire.email })));
  } else {
    if (mode === 'split') mail.push(to('email')(accessEmail(about)));
    const toManager = managerCredentialsEmails({ ...about, password, hireHasAccessEmail: mode === 'split', separatePasswordEmail });
    mail.push(...toManager.map(to('managerEmail')));
  }
  const carriesPassword = (m: AddressedMessage) => m.message.text.includes(password);
  return [...mail.filter((m) => !carriesPassword(m)), ...mail.filter(carriesPassword)];
}

/**
 * Opens the sealed password and mails the credentials as the stage's `credentialsRecipient`
 * says ({@link credentialsMail}), only to allowed domains: every address is checked again here,
 * before the password is opened, as the last step before mail.
 */
export async function deliverCredentials(
  clients: { kms: KMSClient; ses: SESClient },
  request: DeliveryRequest,
  settings: DeliverySettings,
  now: Date = new Date(),
): Promise<Delivery> {
  const { hire } = request;
  const userName = request.userName ?? hire.userName;
  assertRecipientsAllowed(hire, settings.trust);
  const password = await openSecret(clients.kms, settings.kmsKeyId, request.sealedPassword, {
    userName,
    executionId: request.executionId,
  });
  const url = signInUrl(settings.account);
  const mail = credentialsMail(hire, { userName, password, signInUrl: url, separatePasswordEmail: settings.separatePasswordEmail }, settings.trust);
  const messageIds: string[] = [];
  for (const { to, message } of mail) {
    messageIds.push(...(await sendEmails(clients.ses, settings.sender, to, [message], settings.configurationSet)));
  }
  return { messageIds, sentAt: now.toISOString(), signInUrl: url };
}
