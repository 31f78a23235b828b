/**
 * Who receives what, under each `credentialsRecipient` setting, through the real onboarding and
 * reprovision definitions with the real handlers: every SendEmail is accounted for, by address,
 * and the password is only in the messages that should carry it. (useStateMachines also scans
 * every execution's history, output, logs and tags for the password after each test.)
 */
import { CreateUserCommand, UpdateLoginProfileCommand } from '@aws-sdk/client-iam';
import { SendEmailCommand } from '@aws-sdk/client-ses';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { resetConfigCache } from '../../functions/lib/config.ts';
import { escapeHtml } from '../../functions/lib/email.ts';
import type { CredentialsRecipient } from '../../functions/lib/trust-policy.ts';
import { iamWrites } from '../../testing/aws-fakes.ts';
import { TEST_ENV } from '../../testing/lambda-env.ts';
import { fakeDirectory, onboardedUser } from '../support/iam-directory.ts';
import { entered, useStateMachines } from '../support/in-process.ts';
import { passwordsSent } from '../support/secrets.ts';

const HIRE = 'ada.lovelace@example.com';
const MANAGER = 'charles.babbage@example.com';
const SIGN_IN = 'https://123456789012.signin.aws.amazon.com/console';
const hire = { employeeId: 'E-1815', firstName: 'Ada', lastName: 'Lovelace', email: HIRE, department: 'engineering' };
const withManager = { ...hire, managerEmail: MANAGER };

const workflow = useStateMachines(['onboarding', 'reprovision']);

/** Runs the describe block's tests with the stage's credentialsRecipient set to `mode`. */
function inMode(mode: CredentialsRecipient): void {
  beforeEach(() => {
    process.env.CREDENTIALS_RECIPIENT = mode;
    resetConfigCache();
  });
  afterEach(() => {
    process.env.CREDENTIALS_RECIPIENT = TEST_ENV.CREDENTIALS_RECIPIENT;
    resetConfigCache();
  });
}

interface Mail {
  to: string;
  subject: string;
  text: string;
  html: string;
}

const mails = (): Mail[] =>
  workflow.aws.ses.commandCalls(SendEmailCommand).map((c) => {
    const { Destination, Message } = c.args[0].input;
    return {
      to: (Destination?.ToAddresses ?? []).join(','),
      subject: Message?.Subject?.Data ?? '',
      text: Message?.Body?.Text?.Data ?? '',
      html: Message?.Body?.Html?.Data ?? '',
    };
  });

/** `address: subject`, with `[password]` when the message holds the password IAM was given, in either part. */
function delivered(): string[] {
  const passwords = passwordsSent(workflow.aws.iam);
  expect(passwords).toHaveLength(1);
  const [password] = passwords as [string];
  return mails().map((m) => {
    const inText = m.text.includes(password);
    // Both parts, or neither: a part that carries it alone would be a bug of its own.
    expect(m.html.includes(escapeHtml(password)), `${m.to}: ${m.subject}`).toBe(inText);
    return `${m.to}: ${m.subject}${inText ? ' [password]' : ''}`;
  });
}

const to = (address: string) => mails().filter((m) => m.to === address);

describe('credentialsRecipient: hire (the default)', () => {
  inMode('hire');

  it('without a manager: the hire gets the credentials, nobody else gets anything', async () => {
    const result = await workflow.execute('onboarding', hire);
    expect(result.status).toBe('SUCCEEDED');
    expect(result.output).toMatchObject({ status: 'ONBOARDED', emailsSent: 1 });
    expect(delivered()).toEqual([`${HIRE}: Your AWS console access [password]`]);
  });

  it('with a manager: the hire gets the credentials, the manager a notice with user name and sign-in page, never the password', async () => {
    const result = await workflow.execute('onboarding', withManager);
    expect(result.status).toBe('SUCCEEDED');
    expect(result.output).toMatchObject({ status: 'ONBOARDED', emailsSent: 2 });
    expect(delivered()).toEqual([`${MANAGER}: AWS console access for Ada Lovelace is ready`, `${HIRE}: Your AWS console access [password]`]);
    const [notice] = to(MANAGER);
    expect(notice!.text).toContain('User name: ada.lovelace');
    expect(notice!.text).toContain(SIGN_IN);
    expect(notice!.text).toContain(`Ada receives the temporary password by email at ${HIRE}`);
    // The manager's address is kept on the user, for the sweep's resends.
    const tags = workflow.aws.iam.commandCalls(CreateUserCommand)[0]!.args[0].input.Tags;
    expect(tags).toContainEqual({ Key: 'onboarding:manager-email', Value: MANAGER });
  });

  it('refuses a manager at an outside domain: EmailDomainNotAllowed, no AWS write, only ops hear', async () => {
    const result = await workflow.execute('onboarding', { ...hire, managerEmail: 'charles@evil.example.net' });
    expect(result).toMatchObject({ status: 'FAILED', error: 'EmailDomainNotAllowed' });
    expect(result.cause).toContain('managerEmail: the domain "evil.example.net" may not receive credentials');
    expect(workflow.aws.iam.calls()).toHaveLength(0);
    expect(workflow.aws.kms.calls()).toHaveLength(0);
    expect(mails().map((m) => m.to)).toEqual([TEST_ENV.OPS_EMAIL]);
  });
});

describe('credentialsRecipient: manager', () => {
  inMode('manager');

  it('the manager gets the credentials with whose they are and what to do; the hire gets nothing', async () => {
    const result = await workflow.execute('onboarding', withManager);
    expect(result.status).toBe('SUCCEEDED');
    expect(result.output).toMatchObject({ status: 'ONBOARDED', userName: 'ada.lovelace', emailsSent: 1 });
    expect(delivered()).toEqual([`${MANAGER}: AWS console access for Ada Lovelace [password]`]);
    const [message] = to(MANAGER);
    expect(message!.text).toContain('These are the AWS console sign-in details of Ada Lovelace.');
    expect(message!.text).toContain('User name: ada.lovelace');
    expect(message!.text).toContain('Give these to Ada in person on their first day. Do not forward this email');
  });

  it('refuses a hire without managerEmail: InvalidHrEvent naming the field, no AWS write, only ops hear', async () => {
    const result = await workflow.execute('onboarding', hire);
    expect(result).toMatchObject({ status: 'FAILED', error: 'InvalidHrEvent' });
    expect(result.cause).toContain('managerEmail: is required: this stage sends the temporary password to the manager (credentialsRecipient: manager)');
    expect(entered(result)).toEqual(['ValidateInput', 'ValidationFailed', 'NotifyOps', 'OnboardingFailed']);
    expect(workflow.aws.iam.calls()).toHaveLength(0);
    expect(workflow.aws.kms.calls()).toHaveLength(0);
    expect(mails().map((m) => m.to)).toEqual([TEST_ENV.OPS_EMAIL]);
  });

  it('refuses a manager at an outside domain: EmailDomainNotAllowed, no AWS write', async () => {
    const result = await workflow.execute('onboarding', { ...hire, managerEmail: 'charles@evil.example.net' });
    expect(result).toMatchObject({ status: 'FAILED', error: 'EmailDomainNotAllowed' });
    expect(result.cause).toContain('managerEmail: the domain "evil.example.net"');
    expect(workflow.aws.iam.calls()).toHaveLength(0);
    expect(mails().map((m) => m.to)).toEqual([TEST_ENV.OPS_EMAIL]);
  });
});

describe('credentialsRecipient: split', () => {
  inMode('split');

  it('the hire gets the user name and sign-in page, the manager the password', async () => {
    const result = await workflow.execute('onboarding', withManager);
    expect(result.status).toBe('SUCCEEDED');
    expect(result.output).toMatchObject({ status: 'ONBOARDED', emailsSent: 2 });
    expect(delivered()).toEqual([`${HIRE}: Your AWS console access`, `${MANAGER}: AWS console access for Ada Lovelace [password]`]);
    const [toHire] = to(HIRE);
    expect(toHire!.text).toContain(`Sign in at ${SIGN_IN} with the user name ada.lovelace.`);
    expect(toHire!.text).toContain('Your manager will give you your temporary password in person on your first day.');
    expect(to(MANAGER)[0]!.text).toContain('only the password comes from you');
  });

  it('refuses a hire without managerEmail: InvalidHrEvent, no AWS write', async () => {
    const result = await workflow.execute('onboarding', hire);
    expect(result).toMatchObject({ status: 'FAILED', error: 'InvalidHrEvent' });
    expect(result.cause).toContain('managerEmail: is required');
    expect(workflow.aws.iam.calls()).toHaveLength(0);
  });
});

describe("the sweep's resend follows the setting", () => {
  const resend = { action: 'RESET_PASSWORD', hire: { userName: 'ada.lovelace', employeeId: 'E-1815' }, reason: 'password-unused' };
  const ada = (tags: Record<string, string> = {}) =>
    fakeDirectory(workflow.aws.iam, [
      onboardedUser('ada.lovelace', {
        now: new Date(),
        issuedDaysAgo: 9,
        employeeId: 'E-1815',
        tags: { 'onboarding:first-name': 'Ada', 'onboarding:last-name': 'Lovelace', 'onboarding:email': HIRE, ...tags },
      }),
    ]);

  describe('split', () => {
    inMode('split');

    it('resets the password and mails it to the manager on the user tag; the hire gets the user name', async () => {
      ada({ 'onboarding:manager-email': MANAGER });
      const result = await workflow.execute('reprovision', resend);
      expect(result.status).toBe('SUCCEEDED');
      expect(result.output).toMatchObject({ status: 'PASSWORD_RESET', emailsSent: 2 });
      expect(delivered()).toEqual([`${HIRE}: Your AWS console access`, `${MANAGER}: AWS console access for Ada Lovelace [password]`]);
    });

    it('fails HireNotRebuildable for a user without the manager tag, before resetting anything', async () => {
      ada();
      const result = await workflow.execute('reprovision', resend);
      expect(result).toMatchObject({ status: 'FAILED', error: 'HireNotRebuildable' });
      expect(result.cause).toContain('onboarding:manager-email: is required');
      expect(workflow.aws.iam).toHaveReceivedCommandTimes(UpdateLoginProfileCommand, 0);
      expect(iamWrites(workflow.aws.iam).filter((w) => w !== 'TagUserCommand')).toEqual([]);
      expect(mails().map((m) => m.to)).toEqual([TEST_ENV.OPS_EMAIL]);
    });
  });

  describe('manager', () => {
    inMode('manager');

    it('mails the new password to the manager only', async () => {
      ada({ 'onboarding:manager-email': MANAGER });
      const result = await workflow.execute('reprovision', resend);
      expect(result.status).toBe('SUCCEEDED');
      expect(delivered()).toEqual([`${MANAGER}: AWS console access for Ada Lovelace [password]`]);
    });
  });

  describe('hire', () => {
    inMode('hire');

    it('mails the new password to the hire, and the manager on the tag a notice without it', async () => {
      ada({ 'onboarding:manager-email': MANAGER });
      const result = await workflow.execute('reprovision', resend);
      expect(result.status).toBe('SUCCEEDED');
      expect(delivered()).toEqual([`${MANAGER}: AWS console access for Ada Lovelace is ready`, `${HIRE}: Your AWS console access [password]`]);
    });
  });
});
