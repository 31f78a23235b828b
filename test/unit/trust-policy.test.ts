import { createRequire } from 'node:module';
import { SendEmailCommand } from '@aws-sdk/client-ses';
import { describe, expect, it } from 'vitest';
import { kmsClient, sesClient } from '../../functions/lib/clients.ts';
import { sealSecret } from '../../functions/lib/envelope.ts';
import { EmailDomainNotAllowed, GroupNotAllowed, InvalidHrEvent } from '../../functions/lib/errors.ts';
import { deliverCredentials } from '../../functions/lib/credentials-delivery.ts';
import { assertHireAllowed, assertRecipientAllowed, credentialRecipients, emailDomainOf, type TrustPolicy } from '../../functions/lib/trust-policy.ts';
import { TEST_ENV, TEST_TRUST } from '../../testing/lambda-env.ts';
import { useFakeAws } from '../support/in-process.ts';

const policy: TrustPolicy = { allowedGroups: ['developers', 'on-call'], allowedEmailDomains: ['example.com', 'corp.example.org'], credentialsRecipient: 'hire' };

describe('assertHireAllowed', () => {
  it('passes a hire whose groups and address the stage allows', () => {
    expect(() => assertHireAllowed({ email: 'Ada@Example.COM', groups: ['developers', 'on-call'] }, policy)).not.toThrow();
    expect(() => assertHireAllowed({ email: 'ada@corp.example.org', groups: [] }, policy)).not.toThrow();
  });

  it('names every group it refuses, and what is allowed', () => {
    expect(() => assertHireAllowed({ email: 'ada@example.com', groups: ['developers', 'Admins', 'root'] }, policy)).toThrow(
      new GroupNotAllowed('groups: "Admins", "root" may not be assigned by this workflow (allowed: developers, on-call)'),
    );
  });

  it.each([
    ['ada@evil.test', 'evil.test'],
    ['ada@example.com.evil.test', 'example.com.evil.test'],
    ['ada@mail.example.com', 'mail.example.com'],
    ['example.com@evil.test', 'evil.test'],
  ])('refuses credentials to %s with EmailDomainNotAllowed, naming the field and domain', (email, domain) => {
    const refusal = () => assertHireAllowed({ email, groups: [] }, policy);
    expect(refusal).toThrow(EmailDomainNotAllowed);
    expect(refusal).toThrow(`email: the domain "${domain}" may not receive credentials (allowed: example.com, corp.example.org)`);
  });

  it('reads the domain after the last @, in lower case', () => {
    expect(emailDomainOf('"a@b"@Corp.Example.ORG')).toBe('corp.example.org');
    expect(() => assertRecipientAllowed('managerEmail', 'm@evil.test', policy)).toThrow('managerEmail: the domain "evil.test"');
  });
});

describe('credentialRecipients: who the credentials step mails, by credentialsRecipient', () => {
  const hire = { email: 'ada@example.com', managerEmail: 'charles@example.com' };
  const { managerEmail: _none, ...withoutManager } = hire;

  it.each([
    ['hire', hire, [['email', 'ada@example.com'], ['managerEmail', 'charles@example.com']]],
    ['hire', withoutManager, [['email', 'ada@example.com']]],
    ['manager', hire, [['managerEmail', 'charles@example.com']]],
    ['split', hire, [['email', 'ada@example.com'], ['managerEmail', 'charles@example.com']]],
  ] as const)('%s mode: %j', (mode, who, expected) => {
    expect(credentialRecipients(who, { credentialsRecipient: mode })).toEqual(expected);
  });

  it.each(['manager', 'split'] as const)('%s mode refuses a hire without managerEmail with InvalidHrEvent naming the field', (mode) => {
    const refusal = () => assertHireAllowed({ ...withoutManager, groups: [] }, { ...policy, credentialsRecipient: mode });
    expect(refusal).toThrow(InvalidHrEvent);
    expect(refusal).toThrow(`Invalid HR event: managerEmail: is required: this stage sends the temporary password to the manager (credentialsRecipient: ${mode})`);
  });

  it.each(['manager', 'split'] as const)("%s mode refuses a manager's address that is the hire's own, in any case", (mode) => {
    const refusal = () => assertHireAllowed({ email: 'ada@example.com', managerEmail: 'Ada@Example.com', groups: [] }, { ...policy, credentialsRecipient: mode });
    expect(refusal).toThrow(InvalidHrEvent);
    expect(refusal).toThrow("managerEmail: must not be the hire's own address");
    expect(() => assertHireAllowed({ email: 'ada@example.com', managerEmail: 'ada@example.com', groups: [] }, policy)).not.toThrow();
  });

  it('names the missing manager before a group it would refuse: the event itself is incomplete', () => {
    expect(() => assertHireAllowed({ ...withoutManager, groups: ['root'] }, { ...policy, credentialsRecipient: 'manager' })).toThrow(InvalidHrEvent);
  });

  it.each(['hire', 'manager', 'split'] as const)('%s mode refuses a manager outside the allowed domains, naming managerEmail', (mode) => {
    const refusal = () => assertHireAllowed({ email: 'ada@example.com', managerEmail: 'boss@evil.test', groups: [] }, { ...policy, credentialsRecipient: mode });
    expect(refusal).toThrow(EmailDomainNotAllowed);
    expect(refusal).toThrow('managerEmail: the domain "evil.test" may not receive credentials');
  });

  it("does not check the hire's own address in manager mode: nothing is mailed to it", () => {
    expect(() => assertHireAllowed({ email: 'ada@home.test', managerEmail: 'charles@example.com', groups: [] }, { ...policy, credentialsRecipient: 'manager' })).not.toThrow();
    expect(() => assertHireAllowed({ email: 'ada@home.test', managerEmail: 'charles@example.com', groups: [] }, { ...policy, credentialsRecipient: 'split' })).toThrow(
      'email: the domain "home.test"',
    );
  });
});

describe('deliverCredentials: the last check before mail', () => {
  const fake = useFakeAws();
  const executionId = 'arn:aws:states:us-east-1:123456789012:execution:onboarding:run-1';
  const settings = { kmsKeyId: TEST_ENV.KMS_KEY_ID, sender: TEST_ENV.SENDER_EMAIL, account: '123456789012', separatePasswordEmail: false, trust: TEST_TRUST };
  const request = async (email: string, managerEmail?: string) => ({
    hire: { firstName: 'Ada', lastName: 'Lovelace', email, userName: 'ada', ...(managerEmail && { managerEmail }) },
    sealedPassword: await sealSecret(kmsClient(), TEST_ENV.KMS_KEY_ID, 'Tq7#mZ2!pX9@wL4$kR8', { userName: 'ada', executionId }),
    executionId,
  });

  it('refuses an address outside the allowed domains without opening the password or sending anything', async () => {
    const sealed = await request('ada@evil.test');
    fake.aws.kms.resetHistory();
    await expect(deliverCredentials({ kms: kmsClient(), ses: sesClient() }, sealed, settings)).rejects.toBeInstanceOf(EmailDomainNotAllowed);
    expect(fake.aws.kms.calls()).toHaveLength(0);
    expect(fake.aws.ses.calls()).toHaveLength(0);
  });

  it.each(['hire', 'manager', 'split'] as const)("%s mode: refuses a manager's address outside the allowed domains before opening the password", async (mode) => {
    const sealed = await request('ada@example.com', 'boss@evil.test');
    fake.aws.kms.resetHistory();
    const trust = { ...TEST_TRUST, credentialsRecipient: mode };
    await expect(deliverCredentials({ kms: kmsClient(), ses: sesClient() }, sealed, { ...settings, trust })).rejects.toThrow(
      new EmailDomainNotAllowed('managerEmail: the domain "evil.test" may not receive credentials (allowed: example.com)'),
    );
    expect(fake.aws.kms.calls()).toHaveLength(0);
    expect(fake.aws.ses.calls()).toHaveLength(0);
  });

  it('sends every credentials message through the TLS-only configuration set', async () => {
    await deliverCredentials({ kms: kmsClient(), ses: sesClient() }, await request('ada@example.com'), {
      ...settings,
      separatePasswordEmail: true,
      configurationSet: 'iam-onboarding-prod-credentials',
    });
    const sent = fake.aws.ses.commandCalls(SendEmailCommand).map((c) => c.args[0].input.ConfigurationSetName);
    expect(sent).toEqual(['iam-onboarding-prod-credentials', 'iam-onboarding-prod-credentials']);
  });
});

describe('deploy/trust-boundary.cjs: the settings the template and the Lambdas are built from', () => {
  type Resolver = (context: { resolveVariable: (name: string) => Promise<unknown> }) => Promise<unknown>;
  const settings = createRequire(import.meta.url)('../../deploy/trust-boundary.cjs') as Record<string, Resolver>;
  const params = (values: Record<string, string>) => ({
    resolveVariable: async (name: string) => ({ managedPath: '/onboarding/', createHrBus: 'true', ...values })[name.replace(/^param:/, '')] ?? '',
  });

  it('allows the assignable groups and every department group, once each', async () => {
    const context = params({ assignableGroups: ' readers,developers ', departmentGroups: '{"eng":["developers","on-call"],"ops":["on-call"]}' });
    expect(await settings.allowedGroups!(context)).toBe('["developers","on-call","readers"]');
  });

  it('denies AddUserToGroup outright when no group is allowed', async () => {
    expect(await settings.addUserToGroupStatement!(params({ departmentGroups: '{}' }))).toEqual({
      Effect: 'Deny',
      Action: ['iam:AddUserToGroup'],
      Resource: '*',
    });
  });

  it.each([
    ['allowedEmailDomains', {}, 'allowedEmailDomains is required'],
    ['allowedEmailDomains', { allowedEmailDomains: '@example.com' }, 'allowedEmailDomains: not domain names: @example.com'],
    ['hrPublishers', { allowedEmailDomains: 'example.com' }, 'hrPublisherArns is required'],
    ['hrPublishers', { hrPublisherArns: 'hr-role' }, 'hrPublisherArns: not IAM principal ARNs: hr-role'],
    ['allowedGroups', { assignableGroups: 'dev ops' }, 'assignableGroups/departmentGroups: not IAM group names: "dev ops"'],
    ['allowedGroups', { departmentGroups: '["developers"]' }, 'departmentGroups must be a JSON object'],
    ['permissionsBoundaryArn', { userPermissionsBoundary: 'yes' }, 'userPermissionsBoundary must be "none", "stack" or an IAM policy ARN'],
  ])('%s refuses %j: %s', async (name, values, message) => {
    await expect(settings[name]!(params(values))).rejects.toThrow(`Invalid setting: ${message}`);
  });
});
