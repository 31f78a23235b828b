import { SendEmailCommand, type SESClient } from '@aws-sdk/client-ses';

/** One email: the same content as plain text and HTML. */
export interface EmailMessage {
  subject: string;
  text: string;
  html: string;
}

export interface CredentialsEmailInput {
  firstName: string;
  userName: string;
  password: string;
  signInUrl: string;
  /** Send the password in a second message, apart from the user name. */
  separatePasswordEmail: boolean;
}

export function signInUrl(account: string): string {
  return `https://${account}.signin.aws.amazon.com/console`;
}

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

function html(paragraphs: string[]): string {
  return `<!doctype html><html><body>${paragraphs.map((p) => `<p>${p}</p>`).join('')}</body></html>`;
}

/** A paragraph as plain text, with its HTML when that is more than the text escaped. */
type Paragraph = string | { text: string; html: string };

function message(subject: string, paragraphs: Paragraph[]): EmailMessage {
  return {
    subject,
    text: paragraphs.map((p) => (typeof p === 'string' ? p : p.text)).join('\n\n'),
    html: html(paragraphs.map((p) => (typeof p === 'string' ? escapeHtml(p) : p.html))),
  };
}

const link = (url: string) => `<a href="${escapeHtml(url)}">${escapeHtml(url)}</a>`;

const CHANGE = 'You will be asked to choose a new password the first time you sign in; the temporary password stops working once it is changed.';

const passwordLine = (password: string): Paragraph => ({
  text: `Your temporary password: ${password}`,
  html: `Your temporary password: <code>${escapeHtml(password)}</code>`,
});

const access = (userName: string, url: string): Paragraph => ({
  text: `Your AWS console access is ready. Sign in at ${url} with the user name ${userName}.`,
  html: `Your AWS console access is ready. Sign in at ${link(url)} with the user name <b>${escapeHtml(userName)}</b>.`,
});

/** The credentials email(s) for a new hire: one message, or two when the password travels apart. */
export function credentialsEmails(input: CredentialsEmailInput): EmailMessage[] {
  const { firstName, userName, password, signInUrl: url } = input;
  const greeting = `Hello ${firstName},`;
  if (!input.separatePasswordEmail) {
    return [message('Your AWS console access', [greeting, access(userName, url), passwordLine(password), CHANGE])];
  }
  return [
    message('Your AWS console access', [greeting, access(userName, url), 'Your temporary password follows in a separate email.', CHANGE]),
    message('Your AWS temporary password', [greeting, passwordLine(password), CHANGE]),
  ];
}

/** Whose account a message to the manager is about. */
export interface ManagedHire {
  firstName: string;
  lastName: string;
  userName: string;
  signInUrl: string;
  /** YYYY-MM-DD, when HR gave one. */
  startDate?: string;
}

export interface ManagerCredentialsInput extends ManagedHire {
  password: string;
  /** Split delivery: the hire has had the user name and sign-in link by email. */
  hireHasAccessEmail: boolean;
  /** Send the password in a second message, apart from the user name (ignored when split). */
  separatePasswordEmail: boolean;
}

const fullName = (hire: ManagedHire) => `${hire.firstName} ${hire.lastName}`;

const whose = (hire: ManagedHire, what: string) =>
  `${what} ${fullName(hire)}${hire.startDate ? `, who starts on ${hire.startDate}` : ''}. ` +
  `You receive this email as the manager HR names for ${hire.firstName}.`;

const accountDetails = (hire: ManagedHire): Paragraph => ({
  text: `Sign-in page: ${hire.signInUrl}\nUser name: ${hire.userName}`,
  html: `Sign-in page: ${link(hire.signInUrl)}<br>User name: <b>${escapeHtml(hire.userName)}</b>`,
});

const passwordDetail = (password: string): Paragraph => ({
  text: `Temporary password: ${password}`,
  html: `Temporary password: <code>${escapeHtml(password)}</code>`,
});

const handOver = (hire: ManagedHire) =>
  `Give these to ${hire.firstName} in person on their first day. Do not forward this email or pass the password on by ` +
  `chat, phone or another email, and delete this email once ${hire.firstName} has signed in. At the first sign-in ` +
  `${hire.firstName} must choose a new password; the temporary one stops working then.`;

/**
 * The credentials of a new hire, mailed to their manager to hand over on day one (the
 * `manager` and `split` settings): whose they are, the user name, sign-in page and password,
 * and what to do with them. With `separatePasswordEmail` (not when split) the password comes
 * in a second message.
 */
export function managerCredentialsEmails(input: ManagerCredentialsInput): EmailMessage[] {
  const subject = `AWS console access for ${fullName(input)}`;
  const intro = whose(input, 'These are the AWS console sign-in details of');
  const hireKnows = input.hireHasAccessEmail
    ? [`${input.firstName} has received the user name and sign-in page by email; only the password comes from you.`]
    : [];
  if (input.hireHasAccessEmail || !input.separatePasswordEmail) {
    return [message(subject, ['Hello,', intro, accountDetails(input), passwordDetail(input.password), ...hireKnows, handOver(input)])];
  }
  return [
    message(subject, ['Hello,', intro, accountDetails(input), 'The temporary password follows in a separate email.', handOver(input)]),
    message(`AWS temporary password for ${fullName(input)}`, [
      'Hello,',
      whose(input, 'This is the temporary AWS console password of'),
      passwordDetail(input.password),
      handOver(input),
    ]),
  ];
}

/**
 * The email of a new hire whose manager hands over the password (`split`): the user name and
 * sign-in page, never the password.
 */
export function accessEmail(input: Pick<ManagedHire, 'firstName' | 'userName' | 'signInUrl'>): EmailMessage {
  return message('Your AWS console access', [
    `Hello ${input.firstName},`,
    access(input.userName, input.signInUrl),
    'Your manager will give you your temporary password in person on your first day.',
    CHANGE,
  ]);
}

/**
 * The manager's notice that a new hire's account is ready, when the hire receives the password
 * themselves (`hire`): the user name and sign-in page, never the password.
 */
export function managerNotice(input: ManagedHire & { email: string }): EmailMessage {
  return message(`AWS console access for ${fullName(input)} is ready`, [
    'Hello,',
    whose(input, 'The AWS console account is ready for'),
    accountDetails(input),
    `${input.firstName} receives the temporary password by email at ${input.email}. There is nothing for you to do; this email holds no password.`,
  ]);
}

/**
 * Sends each message with SES SendEmail and returns the message ids. A `configurationSet` (the
 * credentials mail's, which requires TLS) goes with every message.
 */
export async function sendEmails(
  ses: SESClient,
  from: string,
  to: string,
  messages: EmailMessage[],
  configurationSet?: string,
): Promise<string[]> {
  const ids: string[] = [];
  for (const message of messages) {
    const { MessageId } = await ses.send(
      new SendEmailCommand({
        Source: from,
        ...(configurationSet && { ConfigurationSetName: configurationSet }),
        Destination: { ToAddresses: [to] },
        Message: {
          Subject: { Data: message.subject, Charset: 'UTF-8' },
          Body: { Text: { Data: message.text, Charset: 'UTF-8' }, Html: { Data: message.html, Charset: 'UTF-8' } },
        },
      }),
    );
    ids.push(MessageId ?? '');
  }
  return ids;
}
