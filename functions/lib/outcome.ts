import type { IAMClient } from '@aws-sdk/client-iam';
import type { KMSClient } from '@aws-sdk/client-kms';
import type { SESClient } from '@aws-sdk/client-ses';
import { credentialsEmails, escapeHtml, sendEmails, signInUrl } from './email.ts';
import { openSecret } from './envelope.ts';
import type { Hire } from './hire.ts';
import { assertRecipientAllowed, type TrustPolicy } from './trust-policy.ts';
import { findUser, isManagedFor, tagStatus, tagValue, toTagValue, TAG, type Ownership } from './managed-user.ts';
import { causeMessage, type CaughtError } from './caught-error.ts';

// The handlers and their tests still import these from here.
export { causeMessage, type CaughtError };

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

export interface OnboardingSummary {
  status: 'ONBOARDED';
  employeeId: string;
  userName: string;
  arn: string;
  path: string;
  groups: string[];
  signInUrl: string;
  emailsSent: number;
  completedAt: string;
}

/** Tags the user complete (and by which execution) and returns the execution's summary (never the password). */
export async function markComplete(
  iam: IAMClient,
  input: { hire: Hire; user: { arn: string; path: string; userName?: string }; delivery: Delivery; executionId?: string },
  now: Date = new Date(),
): Promise<OnboardingSummary> {
  const completedAt = now.toISOString();
  const userName = input.user.userName ?? input.hire.userName;
  await tagStatus(iam, userName, 'complete', now, {
    [TAG.credentialsSentAt]: input.delivery.sentAt,
    ...(input.executionId && { [TAG.completedBy]: toTagValue(input.executionId) }),
  });
  return {
    status: 'ONBOARDED',
    employeeId: input.hire.employeeId,
    userName,
    arn: input.user.arn,
    path: input.user.path,
    groups: input.hire.groups,
    signInUrl: input.delivery.signInUrl,
    emailsSent: input.delivery.messageIds.length,
    completedAt,
  };
}

export type FailureRecord = { recorded: true } | { recorded: false; reason: 'no-such-user' | 'not-managed' | 'completed-by-this-execution' };

/**
 * Tags a failed onboarding on the user, but only on a user this workflow manages for this
 * employee: a conflict with someone else's user must leave that user untouched.
 *
 * A user this same execution already tagged complete stays complete: the failure came after
 * (MarkComplete's Lambda died once its tag was written), the credentials went out, and a
 * "failed" tag would tell ops the opposite. Ops still hear about the failed execution.
 */
export async function recordFailure(
  iam: IAMClient,
  input: { hire: Pick<Hire, 'userName' | 'employeeId'>; error: CaughtError; executionId?: string },
  ownership: Ownership,
  now: Date = new Date(),
): Promise<FailureRecord> {
  const user = await findUser(iam, input.hire.userName);
  if (!user) return { recorded: false, reason: 'no-such-user' };
  if (!isManagedFor(user, ownership, input.hire.employeeId)) return { recorded: false, reason: 'not-managed' };
  if (input.executionId && tagValue(user.Tags, TAG.status) === 'complete' && tagValue(user.Tags, TAG.completedBy) === toTagValue(input.executionId)) {
    return { recorded: false, reason: 'completed-by-this-execution' };
  }
  await tagStatus(iam, input.hire.userName, 'failed', now, { [TAG.failure]: toTagValue(input.error.Error) });
  return { recorded: true };
}

export interface OpsNotice {
  executionId: string;
  error: CaughtError;
  hire?: Partial<Pick<Hire, 'employeeId' | 'userName' | 'email'>>;
}

/** Emails the ops address that an onboarding failed, with the error name and message. */
export async function notifyOps(
  ses: SESClient,
  notice: OpsNotice,
  settings: { sender: string; opsEmail: string },
): Promise<{ messageId: string }> {
  const who = notice.hire?.userName ?? notice.hire?.employeeId ?? 'an unidentified hire';
  const lines = [
    `An onboarding failed with ${notice.error.Error}.`,
    `User: ${notice.hire?.userName ?? '(not determined)'}`,
    `Employee id: ${notice.hire?.employeeId ?? '(not determined)'}`,
    `Execution: ${notice.executionId}`,
    `Cause: ${causeMessage(notice.error.Cause).slice(0, 2000)}`,
  ];
  const [messageId] = await sendEmails(ses, settings.sender, settings.opsEmail, [
    {
      subject: `Onboarding failed for ${who}: ${notice.error.Error}`.replace(/[\r\n]/g, ' '),
      text: lines.join('\n'),
      html: `<!doctype html><html><body>${lines.map((l) => `<p>${escapeHtml(l)}</p>`).join('')}</body></html>`,
    },
  ]);
  return { messageId: messageId ?? '' };
}
