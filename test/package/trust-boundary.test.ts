/**
 * The trust boundary as IAM would enforce it: the packaged template's policies, with their
 * CloudFormation values resolved for one account, evaluated by an IAM policy simulator
 * (@cloud-copilot/iam-simulate, a dev dependency: its licence is AGPL-3.0 and nothing of it is
 * deployed). Even if the Lambdas' own checks were wrong, these are the limits AWS applies.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { runSimulation, type Simulation } from '@cloud-copilot/iam-simulate';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { packageService } from '../../scripts/package-service.ts';
import { asList, functionEnvironment, functionStatements, readTemplate, type PolicyStatement, type Template } from '../support/template.ts';

const ACCOUNT = '123456789012';
const BOUNDARY_ARN = `arn:aws:iam::${ACCOUNT}:policy/iam-onboarding-dev-user-boundary`;
const PUBLISHERS = [`arn:aws:iam::${ACCOUNT}:role/hr-integration`, 'arn:aws:iam::210987654321:role/workday-bridge'];
const PARAMS = {
  departmentGroups: '{"engineering":["developers"]}',
  assignableGroups: 'readers, on-call',
  allowedEmailDomains: 'Example.com, corp.example.org',
  hrPublisherArns: PUBLISHERS.join(','),
  hrEventSource: 'hr.workday',
};
const ALLOWED_GROUPS = ['developers', 'on-call', 'readers'];

let workDir: string;
let plain: Template;
let bounded: Template;

beforeAll(async () => {
  workDir = await mkdtemp(path.join(os.tmpdir(), 'iam-onboarding-trust-'));
  const pack = async (name: string, params: Record<string, string>) =>
    readTemplate((await packageService({ outDir: path.join(workDir, name), home: path.join(workDir, 'home'), params })).templatePath);
  plain = await pack('plain', PARAMS);
  bounded = await pack('bounded', { ...PARAMS, userPermissionsBoundary: 'stack' });
}, 300_000);

afterAll(async () => {
  if (workDir) await rm(workDir, { recursive: true, force: true });
});

/** A CloudFormation value as it would be deployed in ACCOUNT, us-east-1. */
function resolve(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(resolve);
  if (!value || typeof value !== 'object') return value;
  const v = value as Record<string, unknown>;
  if ('Fn::Sub' in v) {
    const text = String(Array.isArray(v['Fn::Sub']) ? v['Fn::Sub'][0] : v['Fn::Sub']);
    return text
      .replace(/\$\{AWS::Partition\}/g, 'aws')
      .replace(/\$\{AWS::AccountId\}/g, ACCOUNT)
      .replace(/\$\{AWS::Region\}/g, 'us-east-1');
  }
  if ('Fn::Join' in v) {
    const [separator, parts] = v['Fn::Join'] as [string, unknown[]];
    return parts.map(resolve).join(separator);
  }
  if ('Ref' in v) {
    if (v.Ref === 'AWS::Partition') return 'aws';
    if (v.Ref === 'AWS::AccountId') return ACCOUNT;
    if (v.Ref === 'UserPermissionsBoundary') return BOUNDARY_ARN;
    return `ref:${String(v.Ref)}`;
  }
  if ('Fn::GetAtt' in v) return `arn:aws:getatt:${asList(v['Fn::GetAtt'] as string[]).join('.')}`;
  return Object.fromEntries(Object.entries(v).map(([key, inner]) => [key, resolve(inner)]));
}

const policy = (statements: PolicyStatement[]) => ({ Version: '2012-10-17', Statement: resolve(statements) });

async function decide(
  request: { principal: string; action: string; resource: string; context?: Record<string, string | string[]> },
  policies: { identity: PolicyStatement[]; resource?: PolicyStatement[]; boundary?: PolicyStatement[] },
): Promise<string> {
  const simulation: Simulation = {
    request: {
      principal: request.principal,
      action: request.action,
      resource: { resource: request.resource, accountId: request.resource.split(':')[4] || ACCOUNT },
      contextVariables: request.context ?? {},
    },
    identityPolicies: [{ name: 'identity', policy: policy(policies.identity) }],
    serviceControlPolicies: [],
    resourceControlPolicies: [],
    ...(policies.resource && { resourcePolicy: policy(policies.resource) }),
    ...(policies.boundary && { permissionBoundaryPolicies: [{ name: 'boundary', policy: policy(policies.boundary) }] }),
  };
  const response = await runSimulation(simulation, {});
  if (response.resultType === 'error') throw new Error(`simulation refused: ${JSON.stringify(response.errors)}`);
  return response.overallResult;
}

const CREATE_USER_ROLE = `arn:aws:iam::${ACCOUNT}:role/create-user`;
const SEND_ROLE = `arn:aws:iam::${ACCOUNT}:role/send-credentials`;

const MOVE_ROLE = `arn:aws:iam::${ACCOUNT}:role/move-user`;

describe('moveUser may change only the allowed groups, and write only the record of them', () => {
  const asMover = (action: string, resource: string, context?: Record<string, string | string[]>) =>
    decide({ principal: MOVE_ROLE, action, resource, ...(context && { context }) }, { identity: functionStatements(plain, 'moveUser') });
  const group = (name: string) => `arn:aws:iam::${ACCOUNT}:group/${name}`;
  const managed = `arn:aws:iam::${ACCOUNT}:user/onboarding/ann.lee`;

  it.each(['iam:AddUserToGroup', 'iam:RemoveUserFromGroup'])('%s: the allowed groups only', async (action) => {
    for (const allowed of ALLOWED_GROUPS) {
      expect(await asMover(action, group(allowed))).toBe('Allowed');
      expect(await asMover(action, group(`teams/${allowed}`))).toBe('Allowed');
    }
    for (const other of ['Admins', 'Developers', 'billing-admins']) expect(await asMover(action, group(other))).not.toBe('Allowed');
  });

  it.each(['iam:TagUser'])('%s: only onboarding:groups keys, only on managed users', async (action) => {
    expect(await asMover(action, managed, { 'aws:TagKeys': ['onboarding:groups', 'onboarding:groups-2'] })).toBe('Allowed');
    expect(await asMover(action, managed, { 'aws:TagKeys': ['onboarding:groups', 'onboarding:status'] })).not.toBe('Allowed');
    expect(await asMover(action, managed, { 'aws:TagKeys': ['onboarding:managed-by'] })).not.toBe('Allowed');
    expect(await asMover(action, `arn:aws:iam::${ACCOUNT}:user/admins/root-like`, { 'aws:TagKeys': ['onboarding:groups'] })).not.toBe('Allowed');
  });

  it('may not create, delete or give a password to anyone', async () => {
    for (const action of ['iam:UntagUser', 'iam:CreateUser', 'iam:DeleteUser', 'iam:CreateLoginProfile', 'iam:UpdateLoginProfile', 'iam:AttachUserPolicy', 'iam:CreateAccessKey']) {
      expect(await asMover(action, managed), action).not.toBe('Allowed');
    }
  });
});

describe('createUser may add users to the allowed groups only', () => {
  const addUserToGroup = (template: Template, group: string) =>
    decide(
      { principal: CREATE_USER_ROLE, action: 'iam:AddUserToGroup', resource: group },
      { identity: functionStatements(template, 'createUser') },
    );

  it.each(ALLOWED_GROUPS)('allows %s, at the root path and at any other', async (group) => {
    expect(await addUserToGroup(plain, `arn:aws:iam::${ACCOUNT}:group/${group}`)).toBe('Allowed');
    expect(await addUserToGroup(plain, `arn:aws:iam::${ACCOUNT}:group/teams/${group}`)).toBe('Allowed');
  });

  it.each(['Admins', 'Developers', 'developers-admin', 'AdministratorAccess'])('refuses %s', async (group) => {
    expect(await addUserToGroup(plain, `arn:aws:iam::${ACCOUNT}:group/${group}`)).not.toBe('Allowed');
  });

  it('names exactly the allowed groups (and the managed users) as AddUserToGroup resources', () => {
    const statements = functionStatements(plain, 'createUser').filter((s) => asList(s.Action).includes('iam:AddUserToGroup'));
    expect(statements).toHaveLength(1);
    expect((resolve(asList(statements[0]!.Resource)) as string[]).sort()).toEqual(
      [
        ...ALLOWED_GROUPS.flatMap((g) => [`arn:aws:iam::${ACCOUNT}:group/${g}`, `arn:aws:iam::${ACCOUNT}:group/*/${g}`]),
        `arn:aws:iam::${ACCOUNT}:user/onboarding/*`,
      ].sort(),
    );
  });

  it('gives the Lambdas the same groups to allow', () => {
    expect(JSON.parse(functionEnvironment(plain, 'validateHire').ALLOWED_GROUPS!)).toEqual(ALLOWED_GROUPS);
  });
});

describe('credentials mail goes only to allowed domains, over TLS', () => {
  const send = (recipients: string[], from = 'it-onboarding@example.com') =>
    decide(
      {
        principal: SEND_ROLE,
        action: 'ses:SendEmail',
        resource: `arn:aws:ses:us-east-1:${ACCOUNT}:identity/example.com`,
        context: { 'ses:Recipients': recipients, 'ses:FromAddress': from },
      },
      { identity: functionStatements(plain, 'sendCredentials') },
    );

  it('allows recipients at the allowed domains', async () => {
    expect(await send(['ada@example.com'])).toBe('Allowed');
    expect(await send(['ada@corp.example.org', 'bob@example.com'])).toBe('Allowed');
  });

  it.each([[['ada@evil.test']], [['ada@example.com', 'eve@evil.test']], [['ada@mail.example.com']], [['example.com@evil.test']]])(
    'refuses %j',
    async (recipients) => {
      expect(await send(recipients)).not.toBe('Allowed');
    },
  );

  it('refuses another sender', async () => {
    expect(await send(['ada@example.com'], 'ceo@example.com')).not.toBe('Allowed');
  });

  it('lets ops mail go to the ops address only', async () => {
    const notify = (recipients: string[]) =>
      decide(
        {
          principal: SEND_ROLE,
          action: 'ses:SendEmail',
          resource: `arn:aws:ses:us-east-1:${ACCOUNT}:identity/example.com`,
          context: { 'ses:Recipients': recipients, 'ses:FromAddress': 'it-onboarding@example.com' },
        },
        { identity: functionStatements(plain, 'notifyOps') },
      );
    expect(await notify(['platform-ops@example.com'])).toBe('Allowed');
    expect(await notify(['platform-ops@example.com', 'eve@example.com'])).not.toBe('Allowed');
  });

  it('sends through a configuration set that requires TLS', () => {
    const set = plain.Resources.CredentialsConfigurationSet;
    expect(set?.Type).toBe('AWS::SES::ConfigurationSet');
    expect(set?.Properties?.DeliveryOptions).toEqual({ TlsPolicy: 'REQUIRE' });
    expect(functionEnvironment(plain, 'sendCredentials').CREDENTIALS_CONFIGURATION_SET).toBe(set?.Properties?.Name);
    expect(functionEnvironment(plain, 'sendCredentials').ALLOWED_EMAIL_DOMAINS).toBe('example.com,corp.example.org');
  });
});

describe('only the configured publishers put hires on the stack\'s own HR bus', () => {
  const bus = () => plain.Resources.HrEventBus!;
  const busArn = `arn:aws:events:us-east-1:${ACCOUNT}:event-bus/iam-onboarding-dev-hr`;
  const everything: PolicyStatement[] = [{ Effect: 'Allow', Action: '*', Resource: '*' }];
  // events:source holds every entry's source: one PutEvents call may carry several.
  const put = (principal: string, source: string | string[]) =>
    decide(
      { principal, action: 'events:PutEvents', resource: busArn, context: { 'events:source': source, 'aws:PrincipalArn': principal } },
      { identity: everything, resource: (bus().Properties!.Policy as { Statement: PolicyStatement[] }).Statement },
    );

  it('creates the bus, and the rule listens on it', () => {
    expect(bus()).toMatchObject({ Type: 'AWS::Events::EventBus', Properties: { Name: 'iam-onboarding-dev-hr' } });
    expect(plain.Resources.OnboardingEventsRuleCloudWatchEvent1?.Properties?.EventBusName).toBe('iam-onboarding-dev-hr');
  });

  it.each(PUBLISHERS)('lets %s publish with the HR source', async (publisher) => {
    expect(await put(publisher, 'hr.workday')).toBe('Allowed');
  });

  it('refuses a publisher with another source (a spoofed source), alone or among HR entries', async () => {
    expect(await put(PUBLISHERS[0]!, ['hr.other'])).toBe('ExplicitlyDenied');
    expect(await put(PUBLISHERS[0]!, ['hr.workday', 'hr.other'])).toBe('ExplicitlyDenied');
    expect(await put(PUBLISHERS[1]!, ['hr.other'])).not.toBe('Allowed');
  });

  it('refuses everybody else in the account, even with an identity policy that allows everything', async () => {
    expect(await put(`arn:aws:iam::${ACCOUNT}:role/some-admin`, 'hr.workday')).toBe('ExplicitlyDenied');
    expect(await put(`arn:aws:iam::${ACCOUNT}:user/intern`, 'hr.workday')).toBe('ExplicitlyDenied');
  });
});

describe('an event that cannot start an onboarding is kept', () => {
  it('gives the rule an explicit retry policy and an encrypted dead-letter queue that keeps messages 14 days', () => {
    const rule = plain.Resources.OnboardingEventsRuleCloudWatchEvent1!;
    const [target] = rule.Properties!.Targets as Array<Record<string, unknown>>;
    expect(target).toMatchObject({
      DeadLetterConfig: { Arn: { 'Fn::GetAtt': ['HrEventsDeadLetterQueue', 'Arn'] } },
      RetryPolicy: { MaximumEventAgeInSeconds: 14400, MaximumRetryAttempts: 50 },
    });
    expect(plain.Resources.HrEventsDeadLetterQueue?.Properties).toEqual({ SqsManagedSseEnabled: true, MessageRetentionPeriod: 1_209_600 });
    expect(asList(rule.DependsOn)).toContain('HrEventBusReady');
  });

  it('lets only EventBridge, for the HR rules (hired, changed), put messages in the queue', async () => {
    const queuePolicy = (plain.Resources.HrEventsDeadLetterQueuePolicy!.Properties!.PolicyDocument as { Statement: PolicyStatement[] }).Statement;
    const queue = 'arn:aws:getatt:HrEventsDeadLetterQueue.Arn';
    expect(queuePolicy[0]).toMatchObject({ Principal: { Service: 'events.amazonaws.com' }, Action: 'sqs:SendMessage', Resource: { 'Fn::GetAtt': ['HrEventsDeadLetterQueue', 'Arn'] } });
    const sources = (resolve(queuePolicy[0]!.Condition) as { ArnEquals: { 'aws:SourceArn': string[] } }).ArnEquals['aws:SourceArn'];
    expect(sources).toEqual(expect.arrayContaining(['arn:aws:getatt:OnboardingEventsRuleCloudWatchEvent1.Arn', 'arn:aws:getatt:MoveEventsRuleCloudWatchEvent1.Arn']));
    // Only the stack's own HR rules.
    const rules = Object.entries(plain.Resources).filter(([, r]) => r.Type === 'AWS::Events::Rule' && r.Properties?.EventPattern).map(([id]) => `arn:aws:getatt:${id}.Arn`);
    expect([...sources].sort()).toEqual(rules.sort());
    expect(queue).toBeTruthy();
  });
});

describe('a ceiling on every user (userPermissionsBoundary: stack)', () => {
  const boundary = () => (bounded.Resources.UserPermissionsBoundary!.Properties!.PolicyDocument as { Statement: PolicyStatement[] }).Statement;
  const USER = `arn:aws:iam::${ACCOUNT}:user/onboarding/ada`;
  const asAdmin = (action: string, resource: string) =>
    decide(
      { principal: USER, action, resource, context: { 'aws:username': 'ada' } },
      { identity: [{ Effect: 'Allow', Action: '*', Resource: '*' }], boundary: boundary() },
    );

  it('is created only when the setting asks for it', () => {
    expect(bounded.Resources.UserPermissionsBoundary?.Condition).toBe('StackBoundary');
    expect(resolve(bounded.Conditions?.StackBoundary)).toEqual({ 'Fn::Equals': ['true', 'true'] });
    expect(resolve(plain.Conditions?.StackBoundary)).toEqual({ 'Fn::Equals': ['false', 'true'] });
    expect(functionEnvironment(plain, 'createUser').PERMISSIONS_BOUNDARY_ARN).toBe('');
    expect(functionEnvironment(bounded, 'createUser').PERMISSIONS_BOUNDARY_ARN).toBe('!Ref UserPermissionsBoundary');
  });

  it('keeps what the groups grant and the user\'s own password and MFA', async () => {
    expect(await asAdmin('s3:GetObject', 'arn:aws:s3:::reports/q1.csv')).toBe('Allowed');
    expect(await asAdmin('iam:ChangePassword', USER)).toBe('Allowed');
    expect(await asAdmin('iam:CreateVirtualMFADevice', `arn:aws:iam::${ACCOUNT}:mfa/ada`)).toBe('Allowed');
    expect(await asAdmin('iam:CreateAccessKey', USER)).toBe('Allowed');
    expect(await asAdmin('iam:GetUser', `arn:aws:iam::${ACCOUNT}:user/onboarding/grace`)).toBe('Allowed');
  });

  it.each([
    ['iam:CreateUser', `arn:aws:iam::${ACCOUNT}:user/mallory`],
    ['iam:CreateAccessKey', `arn:aws:iam::${ACCOUNT}:user/onboarding/grace`],
    ['iam:CreateLoginProfile', `arn:aws:iam::${ACCOUNT}:user/onboarding/grace`],
    ['iam:AttachUserPolicy', USER],
    ['iam:PutUserPolicy', USER],
    ['iam:TagUser', USER],
    ['iam:DeleteUserPermissionsBoundary', USER],
    ['iam:AddUserToGroup', `arn:aws:iam::${ACCOUNT}:group/Admins`],
    ['iam:CreateRole', `arn:aws:iam::${ACCOUNT}:role/escape`],
    ['iam:PutRolePolicy', `arn:aws:iam::${ACCOUNT}:role/escape`],
    ['iam:UpdateAssumeRolePolicy', `arn:aws:iam::${ACCOUNT}:role/escape`],
    ['organizations:CreateAccount', '*'],
    ['organizations:LeaveOrganization', '*'],
    ['account:PutAlternateContact', `arn:aws:account::${ACCOUNT}:account`],
  ])('denies %s on %s, even to a user whose group allows everything', async (action, resource) => {
    expect(await asAdmin(action, resource)).toBe('ExplicitlyDenied');
  });

  it('makes IAM refuse CreateUser without exactly that boundary', async () => {
    const create = (context: Record<string, string>) =>
      decide(
        { principal: CREATE_USER_ROLE, action: 'iam:CreateUser', resource: `arn:aws:iam::${ACCOUNT}:user/onboarding/ada`, context },
        { identity: functionStatements(bounded, 'createUser') },
      );
    expect(await create({ 'iam:PermissionsBoundary': BOUNDARY_ARN })).toBe('Allowed');
    expect(await create({})).not.toBe('Allowed');
    expect(await create({ 'iam:PermissionsBoundary': `arn:aws:iam::${ACCOUNT}:policy/lenient` })).not.toBe('Allowed');
  });

  it('lets CreateUser under the managed path only, with or without a boundary', async () => {
    const create = (template: Template, user: string) =>
      decide(
        { principal: CREATE_USER_ROLE, action: 'iam:CreateUser', resource: `arn:aws:iam::${ACCOUNT}:user${user}`, context: { 'iam:PermissionsBoundary': BOUNDARY_ARN } },
        { identity: functionStatements(template, 'createUser') },
      );
    expect(await create(plain, '/onboarding/ada')).toBe('Allowed');
    expect(await create(plain, '/admins/ada')).not.toBe('Allowed');
    expect(await create(bounded, '/admins/ada')).not.toBe('Allowed');
  });
});
