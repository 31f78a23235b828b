import { SendEmailCommand } from '@aws-sdk/client-ses';
import { describe, expect, it } from 'vitest';
import { kmsClient, sesClient } from '../../functions/lib/clients.ts';
import { credentialsMail, deliverCredentials, type AddressedMessage } from '../../functions/lib/credentials-delivery.ts';
import { escapeHtml } from '../../functions/lib/email.ts';
import { sealSecret } from '../../functions/lib/envelope.ts';
import { InvalidHrEvent } from '../../functions/lib/errors.ts';
import type { CredentialsRecipient } from '../../functions/lib/trust-policy.ts';
import { TEST_ENV, TEST_TRUST } from '../../testing/lambda-env.ts';
import { useFakeAws } from '../support/in-process.ts';

const password = "Tq7#mZ2!pX9@wL4$kR8'";
const url = 'https://123456789012.signin.aws.amazon.com/console';
const hire = {
  firstName: 'Ada',
  lastName: 'Lovelace',
  email: 'ada.lovelace@example.com',
  userName: 'ada.lovelace',
  managerEmail: 'charles.babbage@example.com',
  startDate: '2027-01-04',
};
const { managerEmail: _m, ...withoutManager } = hire;
const details = { userName: 'ada.lovelace', password, signInUrl: url, separatePasswordEmail: false };

const plan = (mode: CredentialsRecipient, who: Parameters<typeof credentialsMail>[0] = hire, separatePasswordEmail = false) =>
  credentialsMail(who, { ...details, separatePasswordEmail }, { credentialsRecipient: mode });

/** Both parts of a message hold `text` (the HTML part escaped). */
const holds = (m: AddressedMessage, text: string) => m.message.text.includes(text) && m.message.html.includes(escapeHtml(text));
const holdsPassword = (m: AddressedMessage) => m.message.text.includes(password) || m.message.html.includes(escapeHtml(password));
const summary = (mail: AddressedMessage[]) => mail.map((m) => `${m.to}: ${m.message.subject}${holdsPassword(m) ? ' [password]' : ''}`);

describe('credentialsMail: who gets what, by credentialsRecipient', () => {
  it('hire, no manager: the credentials to the hire, as before', () => {
    expect(summary(plan('hire', withoutManager))).toEqual(['ada.lovelace@example.com: Your AWS console access [password]']);
  });

  it('hire, with a manager: the manager is told the account is ready, never the password; the hire gets the credentials', () => {
    const mail = plan('hire');
    expect(summary(mail)).toEqual([
      'charles.babbage@example.com: AWS console access for Ada Lovelace is ready',
      'ada.lovelace@example.com: Your AWS console access [password]',
    ]);
    const notice = mail[0]!;
    for (const text of ['Ada Lovelace', 'ada.lovelace', url, '2027-01-04', 'ada.lovelace@example.com']) expect(holds(notice, text), text).toBe(true);
    expect(notice.message.text).toContain('this email holds no password');
  });

  it('manager: the credentials to the manager only, saying whose they are and what to do with them', () => {
    const mail = plan('manager');
    expect(summary(mail)).toEqual(['charles.babbage@example.com: AWS console access for Ada Lovelace [password]']);
    const message = mail[0]!;
    for (const text of ['Ada Lovelace', 'ada.lovelace', url, '2027-01-04', password]) expect(holds(message, text), text).toBe(true);
    expect(message.message.text).toMatch(/in person on their first day/);
    expect(message.message.text).toMatch(/Do not forward this email/);
    expect(message.message.text).toMatch(/choose a new password/);
    expect(message.message.html).toContain(`<code>${escapeHtml(password)}</code>`);
  });

  it('manager, no start date: says whose they are without one', () => {
    const { startDate: _s, ...noDate } = hire;
    const [message] = plan('manager', noDate);
    expect(message!.message.text).toContain('These are the AWS console sign-in details of Ada Lovelace. You receive this email as the manager HR names for Ada.');
  });

  it('manager, password apart: two messages to the manager, the password last', () => {
    const mail = plan('manager', hire, true);
    expect(summary(mail)).toEqual([
      'charles.babbage@example.com: AWS console access for Ada Lovelace',
      'charles.babbage@example.com: AWS temporary password for Ada Lovelace [password]',
    ]);
    expect(holds(mail[0]!, 'ada.lovelace')).toBe(true);
    expect(holds(mail[1]!, 'Ada Lovelace')).toBe(true);
    expect(mail[1]!.message.text).not.toContain('ada.lovelace');
  });

  it('split: user name and sign-in page to the hire, the password to the manager', () => {
    const mail = plan('split');
    expect(summary(mail)).toEqual([
      'ada.lovelace@example.com: Your AWS console access',
      'charles.babbage@example.com: AWS console access for Ada Lovelace [password]',
    ]);
    const [toHire, toManager] = mail;
    expect(holds(toHire!, 'ada.lovelace')).toBe(true);
    expect(holds(toHire!, url)).toBe(true);
    expect(toHire!.message.text).toContain('Your manager will give you your temporary password in person on your first day.');
    for (const text of ['Ada Lovelace', 'ada.lovelace', '2027-01-04', password]) expect(holds(toManager!, text), text).toBe(true);
    expect(toManager!.message.text).toContain('only the password comes from you');
  });

  it('split ignores separatePasswordEmail: the password already travels apart from the user name', () => {
    expect(summary(plan('split', hire, true))).toEqual(summary(plan('split')));
  });

  it.each(['hire', 'manager', 'split'] as const)('%s: every message with the password comes after every message without it', (mode) => {
    for (const separate of [false, true]) {
      const flags = plan(mode, hire, separate).map(holdsPassword);
      expect(flags.indexOf(true)).toBeGreaterThanOrEqual(0);
      expect(flags.slice(flags.indexOf(true)).every(Boolean)).toBe(true);
    }
  });

  it.each(['manager', 'split'] as const)('%s: refuses a hire without managerEmail (InvalidHrEvent)', (mode) => {
    expect(() => plan(mode, withoutManager)).toThrow(InvalidHrEvent);
    expect(() => plan(mode, withoutManager)).toThrow('managerEmail: is required');
  });

  it('escapes the names in the HTML of every message to the manager', () => {
    const marked = { ...hire, firstName: 'Ada"&', lastName: "O'Brien" };
    for (const mode of ['hire', 'manager', 'split'] as const) {
      for (const m of plan(mode, marked).filter((x) => x.field === 'managerEmail')) {
        expect(m.message.html).not.toContain('Ada"&');
        expect(m.message.html).toContain('Ada&#34;&#38; O&#39;Brien');
        expect(m.message.text).toContain(`Ada"& O'Brien`);
      }
    }
  });
});

describe('deliverCredentials: sending, and a retry of the step', () => {
  const fake = useFakeAws();
  const executionId = 'arn:aws:states:us-east-1:123456789012:execution:onboarding:run-1';
  const settings = (mode: CredentialsRecipient) => ({
    kmsKeyId: TEST_ENV.KMS_KEY_ID,
    sender: TEST_ENV.SENDER_EMAIL,
    account: '123456789012',
    separatePasswordEmail: false,
    trust: { ...TEST_TRUST, credentialsRecipient: mode },
  });
  const request = async () => ({
    hire,
    sealedPassword: await sealSecret(kmsClient(), TEST_ENV.KMS_KEY_ID, password, { userName: hire.userName, executionId }),
    executionId,
  });
  const sent = () =>
    fake.aws.ses.commandCalls(SendEmailCommand).map((c) => {
      const input = c.args[0].input;
      const body = input.Message!.Body!.Text!.Data!;
      return `${input.Destination!.ToAddresses!.join(',')}${body.includes(password) ? ' [password]' : ''}`;
    });
  const throttled = () => Object.assign(new Error('Maximum sending rate exceeded.'), { name: 'Throttling', $metadata: {} });
  /** SES refuses the `n`th SendEmail (the message is not sent) and accepts every other. */
  const refuseCall = (n: number) => {
    let calls = 0;
    fake.aws.ses.on(SendEmailCommand).callsFake(async () => {
      calls += 1;
      if (calls === n) throw throttled();
      return { MessageId: `m-${calls}` };
    });
  };

  it.each([
    ['hire', ['charles.babbage@example.com', 'ada.lovelace@example.com [password]']],
    ['manager', ['charles.babbage@example.com [password]']],
    ['split', ['ada.lovelace@example.com', 'charles.babbage@example.com [password]']],
  ] as const)('%s: mails each address its own message, one SendEmail each, the password last', async (mode, expected) => {
    const delivery = await deliverCredentials({ kms: kmsClient(), ses: sesClient() }, await request(), settings(mode));
    expect(sent()).toEqual(expected);
    expect(delivery.messageIds).toHaveLength(expected.length);
    expect(JSON.stringify(delivery)).not.toContain(password);
  });

  it.each(['hire', 'split'] as const)(
    '%s: a step that fails on its first message and is retried sends the password once',
    async (mode) => {
      refuseCall(1);
      const input = await request();
      await expect(deliverCredentials({ kms: kmsClient(), ses: sesClient() }, input, settings(mode))).rejects.toMatchObject({ name: 'Throttling' });
      // Step Functions runs the step again with the same input.
      await deliverCredentials({ kms: kmsClient(), ses: sesClient() }, input, settings(mode));
      expect(sent().filter((s) => s.endsWith('[password]'))).toHaveLength(1);
    },
  );

  it('a step whose password message fails sent no password: the retry sends it once', async () => {
    refuseCall(2);
    const input = await request();
    await expect(deliverCredentials({ kms: kmsClient(), ses: sesClient() }, input, settings('split'))).rejects.toMatchObject({ name: 'Throttling' });
    await deliverCredentials({ kms: kmsClient(), ses: sesClient() }, input, settings('split'));
    // The failed call carried the password but SES refused it: delivered once, by the retry.
    expect(sent()).toEqual([
      'ada.lovelace@example.com',
      'charles.babbage@example.com [password]',
      'ada.lovelace@example.com',
      'charles.babbage@example.com [password]',
    ]);
  });
});
