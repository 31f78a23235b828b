import { SendEmailCommand } from '@aws-sdk/client-ses';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { sesClient } from '../../functions/lib/clients.ts';
import { credentialsEmails, escapeHtml, sendEmails, signInUrl } from '../../functions/lib/email.ts';
import { fakeAws, type FakeAws } from '../../testing/aws-fakes.ts';

const password = "Tq7#mZ2!pX9@wL4$kR8'";
const url = 'https://123456789012.signin.aws.amazon.com/console';
const input = { firstName: 'Bob', userName: 'bob.builder', password, signInUrl: url, separatePasswordEmail: false };
const MUST_CHANGE = /asked to choose a new password the first time you sign in/;

describe('signInUrl', () => {
  it.each([
    ['123456789012', 'https://123456789012.signin.aws.amazon.com/console'],
    ['example-corp', 'https://example-corp.signin.aws.amazon.com/console'],
  ])('is the console sign-in URL of %s', (account, expected) => {
    expect(signInUrl(account)).toBe(expected);
  });
});

describe('credentialsEmails: one message', () => {
  const [message, ...rest] = credentialsEmails(input);

  it('is a single message', () => {
    expect(rest).toEqual([]);
    expect(message!.subject).toBe('Your AWS console access');
  });

  it.each(['text', 'html'] as const)('%s part: greeting, sign-in URL, user name, password, must-change wording', (part) => {
    const body = message![part];
    expect(body).toContain('Hello Bob,');
    expect(body).toContain(url);
    expect(body).toContain('bob.builder');
    expect(body).toMatch(MUST_CHANGE);
    // The HTML part escapes the quote and ampersand-like characters of the password.
    expect(body).toContain(part === 'text' ? password : escapeHtml(password));
  });

  it('links the sign-in URL in the HTML part', () => {
    expect(message!.html).toContain(`<a href="${url}">${url}</a>`);
    expect(message!.html).toMatch(/^<!doctype html><html><body>.*<\/body><\/html>$/s);
  });

  it('shows the password in the HTML part exactly as typed once unescaped', () => {
    const code = /<code>(.*?)<\/code>/.exec(message!.html)![1]!;
    const unescaped = code.replace(/&#(\d+);/g, (_, n: string) => String.fromCharCode(Number(n)));
    expect(unescaped).toBe(password);
  });
});

describe('credentialsEmails: HTML escaping', () => {
  it('escapes a first name that carries markup', () => {
    const [message] = credentialsEmails({ ...input, firstName: '<script>alert("x")</script>' });
    expect(message!.html).not.toContain('<script>');
    expect(message!.html).toContain('&#60;script&#62;alert(&#34;x&#34;)&#60;/script&#62;');
    // The text part is plain text: nothing to escape, nothing interpreted.
    expect(message!.text).toContain('Hello <script>alert("x")</script>,');
  });

  it.each([
    ['&', '&#38;'],
    ['<', '&#60;'],
    ['>', '&#62;'],
    ['"', '&#34;'],
    ["'", '&#39;'],
  ])('escapes %s', (raw, escaped) => {
    expect(escapeHtml(`a${raw}b`)).toBe(`a${escaped}b`);
  });
});

describe('credentialsEmails: password in a separate message', () => {
  const messages = credentialsEmails({ ...input, separatePasswordEmail: true });
  const [first, second] = messages;

  it('sends two messages with their own subjects', () => {
    expect(messages).toHaveLength(2);
    expect(first!.subject).toBe('Your AWS console access');
    expect(second!.subject).toBe('Your AWS temporary password');
  });

  it.each(['text', 'html'] as const)('first message (%s): user name and URL, no password', (part) => {
    expect(first![part]).toContain('bob.builder');
    expect(first![part]).toContain(url);
    expect(first![part]).toContain('Your temporary password follows in a separate email.');
    expect(first![part]).not.toContain(password);
    expect(first![part]).not.toContain(escapeHtml(password));
  });

  it.each(['text', 'html'] as const)('second message (%s): password and must-change wording, no user name', (part) => {
    expect(second![part]).toContain(part === 'text' ? password : escapeHtml(password));
    expect(second![part]).toMatch(MUST_CHANGE);
    expect(second![part]).not.toContain('bob.builder');
  });
});

describe('sendEmails', () => {
  let aws: FakeAws;
  beforeEach(() => {
    aws = fakeAws();
  });
  afterEach(() => aws.reset());

  it('sends each message, text and HTML in UTF-8, from the sender to the recipient', async () => {
    const messages = credentialsEmails({ ...input, separatePasswordEmail: true });

    const ids = await sendEmails(sesClient(), 'it-onboarding@example.com', 'bob.builder@example.com', messages);

    expect(ids).toEqual(['message-1', 'message-2']);
    expect(aws.ses).toHaveReceivedCommandTimes(SendEmailCommand, 2);
    expect(aws.ses).toHaveReceivedNthCommandWith(SendEmailCommand, 1, {
      Source: 'it-onboarding@example.com',
      Destination: { ToAddresses: ['bob.builder@example.com'] },
      Message: {
        Subject: { Data: messages[0]!.subject, Charset: 'UTF-8' },
        Body: { Text: { Data: messages[0]!.text, Charset: 'UTF-8' }, Html: { Data: messages[0]!.html, Charset: 'UTF-8' } },
      },
    });
    expect(aws.ses.commandCalls(SendEmailCommand)[1]!.args[0].input.Message!.Subject!.Data).toBe('Your AWS temporary password');
  });

  it('stops at the first failure, so a retry does not skip a message', async () => {
    aws.ses.on(SendEmailCommand).rejects(Object.assign(new Error('Maximum sending rate exceeded.'), { name: 'Throttling' }));
    await expect(sendEmails(sesClient(), 'a@example.com', 'b@example.com', credentialsEmails({ ...input, separatePasswordEmail: true }))).rejects.toMatchObject({
      name: 'Throttling',
    });
    expect(aws.ses).toHaveReceivedCommandTimes(SendEmailCommand, 1);
  });
});
