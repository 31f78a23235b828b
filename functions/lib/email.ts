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

/** The credentials email(s) for a new hire: one message, or two when the password travels apart. */
export function credentialsEmails(input: CredentialsEmailInput): EmailMessage[] {
  const { firstName, userName, password, signInUrl: url } = input;
  const greeting = `Hello ${firstName},`;
  const access = `Your AWS console access is ready. Sign in at ${url} with the user name ${userName}.`;
  const change = 'You will be asked to choose a new password the first time you sign in; the temporary password stops working once it is changed.';
  const passwordLine = `Your temporary password: ${password}`;
  const htmlAccess = `Your AWS console access is ready. Sign in at <a href="${escapeHtml(url)}">${escapeHtml(url)}</a> with the user name <b>${escapeHtml(userName)}</b>.`;
  const htmlPassword = `Your temporary password: <code>${escapeHtml(password)}</code>`;
  const greetingHtml = `Hello ${escapeHtml(firstName)},`;

  if (!input.separatePasswordEmail) {
    return [
      {
        subject: 'Your AWS console access',
        text: [greeting, access, passwordLine, change].join('\n\n'),
        html: html([greetingHtml, htmlAccess, htmlPassword, escapeHtml(change)]),
      },
    ];
  }
  return [
    {
      subject: 'Your AWS console access',
      text: [greeting, access, 'Your temporary password follows in a separate email.', change].join('\n\n'),
      html: html([greetingHtml, htmlAccess, 'Your temporary password follows in a separate email.', escapeHtml(change)]),
    },
    {
      subject: 'Your AWS temporary password',
      text: [greeting, passwordLine, change].join('\n\n'),
      html: html([greetingHtml, htmlPassword, escapeHtml(change)]),
    },
  ];
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
