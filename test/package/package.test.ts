/**
 * What `serverless package` produces, checked as CI would before a deploy: the template lints
 * clean, the bundles are small and on a current runtime, and the IAM it grants is least
 * privilege. Stage params are given explicitly, so the test also proves they reach the template.
 */
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cfnLint } from '../../scripts/cfn-lint.ts';
import { packageService, type PackageResult } from '../../scripts/package-service.ts';
import {
  actionsOf,
  allowStatements,
  ANY_GROUP,
  asList,
  functionActions,
  functionEnvironment,
  iamWriteFindings,
  isIamWrite,
  lambdaFunctions,
  policyDocuments,
  readTemplate,
  resourcesOf,
  resourcesOfType,
  type PolicyStatement,
  type Template,
} from '../support/template.ts';

const PARAMS = {
  senderEmail: 'onboarding-sender@example.org',
  hrBusName: 'hr-events',
  hrEventSource: 'hr.workday-test',
  hrDetailType: 'Worker Hired (test)',
  hrChangedDetailType: 'Worker Changed (test)',
  hrTerminatedDetailType: 'Worker Terminated (test)',
};
const MAX_ZIP_BYTES = 200 * 1024;
let workDir: string;
let packaged: PackageResult;
let template: Template;

beforeAll(async () => {
  workDir = await mkdtemp(path.join(os.tmpdir(), 'iam-onboarding-package-'));
  packaged = await packageService({ outDir: path.join(workDir, 'out'), home: path.join(workDir, 'home'), params: PARAMS });
  template = readTemplate(packaged.templatePath);
  console.info(`serverless package: ${packaged.seconds.toFixed(1)} s`);
}, 300_000);

afterAll(async () => {
  if (workDir) await rm(workDir, { recursive: true, force: true });
});

/** Each check returns what it found wrong; an empty list means the template passes. */
const checks = {
  wildcards(t: Template): string[] {
    // What grants: a permissions boundary allows "*" but grants nothing by itself
    // (test/package/trust-boundary.test.ts evaluates it).
    return allowStatements(t, 'any').flatMap(({ where, statement }) => [
      ...actionsOf(statement)
        .filter((action) => action === '*' || /^iam:.*\*/.test(action))
        .map((action) => `${where} allows ${action}`),
      ...(statement.NotAction ? [`${where} uses NotAction`] : []),
    ]);
  },

  iamWrites: iamWriteFindings,

  attachedPolicies(t: Template): string[] {
    return allowStatements(t)
      .filter(({ statement }) => actionsOf(statement).includes('iam:AttachUserPolicy'))
      .filter(({ statement }) => statement.Condition?.ArnEquals?.['iam:PolicyARN'] === undefined ||
        !JSON.stringify(statement.Condition.ArnEquals['iam:PolicyARN']).includes('arn:${AWS::Partition}:iam::aws:policy/IAMUserChangePassword'))
      .map(({ where }) => `${where} may attach any policy`);
  },

  sender(t: Template, sender: string): string[] {
    return allowStatements(t)
      .filter(({ statement }) => actionsOf(statement).some((a) => /^ses:Send/.test(a)))
      .filter(({ statement }) => statement.Condition?.StringEquals?.['ses:FromAddress'] !== sender)
      .map(({ where }) => `${where} may send from any address`);
  },

  kms(t: Template, keyId: string): string[] {
    return allowStatements(t)
      .filter(({ statement }) => actionsOf(statement).some((a) => a.startsWith('kms:')))
      .flatMap(({ where, statement }) => [
        ...resourcesOf(statement).filter((r) => r !== `!GetAtt ${keyId}.Arn`).map((r) => `${where} uses KMS on ${r}`),
        ...actionsOf(statement).filter((a) => a !== 'kms:Encrypt' && a !== 'kms:Decrypt').map((a) => `${where} allows ${a}`),
        ...(statement.Condition?.StringEquals?.['kms:EncryptionContext:purpose'] === 'onboarding-temporary-password'
          ? []
          : [`${where} is not limited to the onboarding password purpose`]),
      ]);
  },
};

/** A copy of the template with one more statement on the createUser role. */
function withExtraStatement(t: Template, statement: PolicyStatement): Template {
  const copy = structuredClone(t);
  const role = copy.Resources.CreateUserIamRoleLambdaExecution!.Properties!.Policies as Array<{ PolicyDocument: { Statement: PolicyStatement[] } }>;
  role[0]!.PolicyDocument.Statement.push(statement);
  return copy;
}

describe('serverless package', () => {
  it('writes the Framework files to the HOME it was given, not the real one', async () => {
    expect(await readdir(path.join(workDir, 'home'))).toContain('.serverless');
  });

  it('produces a template that cfn-lint passes (warnings allowed, no errors)', async () => {
    // A missing cfn-lint fails here, saying how to install it.
    const result = await cfnLint(packaged.templatePath);
    if (result.output.trim()) console.info(`cfn-lint (exit ${result.code}):\n${result.output}`);
    // No fatal (1) or error (2) bit.
    expect(result.code & 0b11, result.output).toBe(0);
  });

  it(`bundles every function into a zip of at most ${MAX_ZIP_BYTES / 1024} KB`, () => {
    console.info(
      packaged.functions.map((fn) => `${fn.key.padEnd(22)} ${(fn.bytes / 1024).toFixed(1).padStart(7)} KB`).join('\n'),
    );
    expect(packaged.functions.map((fn) => fn.key).sort()).toEqual(Object.keys(lambdaFunctions(template)).sort());
    for (const fn of packaged.functions) expect(fn.bytes, `${fn.key}.zip`).toBeLessThanOrEqual(MAX_ZIP_BYTES);
  });

  it('runs every function on nodejs22.x or newer', () => {
    for (const [key, fn] of Object.entries(lambdaFunctions(template))) {
      const [, major] = /^nodejs(\d+)\.x$/.exec(String(fn.properties.Runtime)) ?? [];
      expect(Number(major), `${key}: ${String(fn.properties.Runtime)}`).toBeGreaterThanOrEqual(22);
    }
  });
});

describe('least privilege', () => {
  const managedUsers = () => `arn:\${AWS::Partition}:iam::\${AWS::AccountId}:user${functionEnvironment(template, 'createUser').MANAGED_PATH}*`;

  it('never allows "*" or iam:* (or any wildcard over IAM) anywhere', () => {
    expect(checks.wildcards(template)).toEqual([]);
    expect(checks.wildcards(withExtraStatement(template, { Effect: 'Allow', Action: 'iam:*User*', Resource: '*' }))).toHaveLength(1);
  });

  it('writes to IAM users only under the managed path, and only the user actions it needs', () => {
    expect(managedUsers()).toBe('arn:${AWS::Partition}:iam::${AWS::AccountId}:user/onboarding/*');
    expect(allowStatements(template).filter(({ statement }) => actionsOf(statement).some(isIamWrite)).length).toBeGreaterThan(0);
    expect(checks.iamWrites(template, managedUsers())).toEqual([]);

    const anyUser = { Effect: 'Allow' as const, Action: ['iam:CreateLoginProfile'], Resource: { 'Fn::Sub': 'arn:${AWS::Partition}:iam::${AWS::AccountId}:user/*' } };
    expect(checks.iamWrites(withExtraStatement(template, anyUser), managedUsers())).toEqual([
      expect.stringContaining('lets iam:CreateLoginProfile act on arn:${AWS::Partition}:iam::${AWS::AccountId}:user/*'),
      expect.stringContaining('does not name the managed users'),
    ]);
    const onGroups = { Effect: 'Allow' as const, Action: ['iam:AddUserToGroup', 'iam:TagUser'], Resource: [{ 'Fn::Sub': managedUsers() }, { 'Fn::Sub': ANY_GROUP }] };
    expect(checks.iamWrites(withExtraStatement(template, onGroups), managedUsers())).toHaveLength(1);
    const role = { Effect: 'Allow' as const, Action: ['iam:PassRole'], Resource: { 'Fn::Sub': managedUsers() } };
    expect(checks.iamWrites(withExtraStatement(template, role), managedUsers())).toEqual([expect.stringContaining('iam:PassRole, which is not a user write')]);
  });

  it('attaches no policy to a user but IAMUserChangePassword', () => {
    expect(allowStatements(template).some(({ statement }) => actionsOf(statement).includes('iam:AttachUserPolicy'))).toBe(true);
    expect(checks.attachedPolicies(template)).toEqual([]);
    const unconditioned = { Effect: 'Allow' as const, Action: ['iam:AttachUserPolicy'], Resource: { 'Fn::Sub': managedUsers() } };
    expect(checks.attachedPolicies(withExtraStatement(template, unconditioned))).toHaveLength(1);
  });

  it('sends email only from the configured sender (ses:FromAddress)', () => {
    const sending = allowStatements(template).filter(({ statement }) => actionsOf(statement).some((a) => /^ses:Send/.test(a)));
    expect(sending.map(({ where }) => where.split('/')[0]).sort()).toEqual(
      ['NotifyOpsIamRoleLambdaExecution', 'NotifyOffboardingIamRoleLambdaExecution', 'SendCredentialsIamRoleLambdaExecution'].sort(),
    );
    expect(checks.sender(template, PARAMS.senderEmail)).toEqual([]);
    expect(checks.sender(withExtraStatement(template, { Effect: 'Allow', Action: 'ses:SendRawEmail', Resource: '*' }), PARAMS.senderEmail)).toHaveLength(1);
  });

  it("uses KMS only on the stack's own key, for the onboarding password purpose", () => {
    expect(resourcesOfType(template, 'AWS::KMS::Key').map(([logicalId]) => logicalId)).toEqual(['CredentialsKey']);
    expect(allowStatements(template).some(({ statement }) => actionsOf(statement).some((a) => a.startsWith('kms:')))).toBe(true);
    expect(checks.kms(template, 'CredentialsKey')).toEqual([]);
    expect(checks.kms(withExtraStatement(template, { Effect: 'Allow', Action: 'kms:Decrypt', Resource: '*' }), 'CredentialsKey')).toEqual([
      expect.stringContaining('uses KMS on *'),
      expect.stringContaining('not limited to the onboarding password purpose'),
    ]);
  });

  it('gives the onboarding functions only the actions they call', () => {
    expect(functionActions(template, 'validateHire')).toEqual([]);
    expect(functionActions(template, 'sendCredentials')).toEqual(['kms:Decrypt', 'ses:SendEmail']);
    expect(functionActions(template, 'notifyOps')).toEqual(['ses:SendEmail']);
    expect(functionActions(template, 'markComplete')).toEqual(['iam:TagUser']);
    expect(functionActions(template, 'recordFailure')).toEqual(['iam:GetUser', 'iam:TagUser']);
    // GetUser, TagUser and the password policy: after waiting for a start date (README "Start dates").
    expect(functionActions(template, 'createLoginProfile')).toEqual([
      'iam:CreateLoginProfile',
      'iam:GetAccountPasswordPolicy',
      'iam:GetUser',
      'iam:TagUser',
      'iam:UpdateLoginProfile',
      'kms:Encrypt',
    ]);

  });

  it('gives the move functions only the actions they call, and the mover tags only the record of groups', () => {
    expect(functionActions(template, 'validateChange')).toEqual([]);
    // This stage allows no group: group membership is denied outright (test/package/trust-boundary.test.ts has groups).
    expect(functionActions(template, 'moveUser')).toEqual(['iam:GetAccountAuthorizationDetails', 'iam:GetGroup', 'iam:GetUser', 'iam:ListGroupsForUser', 'iam:TagUser']);
    const denied = policyDocuments(template)
      .filter((d) => d.where.startsWith('MoveUserIamRole'))
      .flatMap((d) => d.statements.filter((s) => s.Effect === 'Deny').flatMap((s) => actionsOf(s)));
    expect(denied.sort()).toEqual(['iam:AddUserToGroup', 'iam:RemoveUserFromGroup']);
    const tagging = allowStatements(template).filter(({ where, statement }) => where.startsWith('MoveUserIamRole') && actionsOf(statement).includes('iam:TagUser'));
    expect(tagging.map(({ statement }) => statement.Condition)).toEqual([{ 'ForAllValues:StringLike': { 'aws:TagKeys': 'onboarding:groups*' } }]);
  });

  it('gives the leaver functions only the actions they call, reading the guard\'s confirmation and nothing else in SSM', () => {
    expect(functionActions(template, 'validateTermination')).toEqual([]);
    expect(functionActions(template, 'findLeaver')).toEqual(['iam:GetAccountAuthorizationDetails', 'iam:GetUser']);
    // This stage allows no group: RemoveUserFromGroup is denied outright (test/package/trust-boundary.test.ts has groups).
    expect(functionActions(template, 'offboardUser')).toEqual([
      'iam:DeactivateMFADevice',
      'iam:DeleteLoginProfile',
      'iam:GetAccountAuthorizationDetails',
      'iam:GetLoginProfile',
      'iam:GetUser',
      'iam:ListAccessKeys',
      'iam:ListGroupsForUser',
      'iam:ListMFADevices',
      'iam:TagUser',
      'iam:UpdateAccessKey',
      'ssm:GetParameter',
    ]);
    expect(functionActions(template, 'notifyOffboarding')).toEqual(['ses:SendEmail']);
    expect(functionActions(template, 'deleteOffboardedUser')).toContain('iam:DeleteUser');
    const ssm = allowStatements(template).filter(({ statement }) => actionsOf(statement).some((a) => a.startsWith('ssm:')));
    expect(ssm.map(({ where }) => where.split('/')[0]).sort()).toEqual(['OffboardUserIamRoleLambdaExecution', 'ReprovisionSweepIamRoleLambdaExecution']);
    for (const { statement } of ssm) {
      expect(actionsOf(statement)).toEqual(['ssm:GetParameter']);
      expect(resourcesOf(statement)).toEqual(['arn:${AWS::Partition}:ssm:${AWS::Region}:${AWS::AccountId}:parameter/iam-onboarding/dev/offboarding-confirmation']);
    }
    expect(template.Resources.OffboardingConfirmation).toMatchObject({ Type: 'AWS::SSM::Parameter', Properties: { Name: '/iam-onboarding/dev/offboarding-confirmation', Value: 'none' } });
  });

  it('admits one CreateUser step at a time (README "Bursts"), and limits no other function', () => {
    const reserved = Object.entries(lambdaFunctions(template))
      .filter(([, fn]) => fn.properties.ReservedConcurrentExecutions !== undefined)
      .map(([key, fn]) => [key, fn.properties.ReservedConcurrentExecutions]);
    // And one offboarding at a time, so that each one's mass-change guard counts the ones before it.
    expect(reserved).toEqual([
      ['createUser', 1],
      ['offboardUser', 1],
    ]);
  });

  it('leaves the default shared Lambda role without any AWS permission but logs', () => {
    const shared = policyDocuments(template).filter((d) => d.where.startsWith('IamRoleLambdaExecution/'));
    const actions = shared.flatMap((d) => d.statements.flatMap((s) => actionsOf(s)));
    expect(actions.every((action) => action.startsWith('logs:'))).toBe(true);
  });
});

describe('event routing and state machine logging', () => {
  it('routes the configured HR event to the onboarding state machine, passing only $.detail', () => {
    const rules = resourcesOfType(template, 'AWS::Events::Rule').filter(([, rule]) => rule.Properties?.EventPattern);
    const onboarding = rules.filter(([, rule]) =>
      asList(rule.Properties?.Targets as Array<{ Arn: unknown }>).some((t) => JSON.stringify(t.Arn) === '{"Ref":"OnboardingStateMachine"}'),
    );
    expect(onboarding).toHaveLength(1);
    const [, rule] = onboarding[0]!;
    expect(rule.Properties!.EventBusName).toBe(PARAMS.hrBusName);
    expect(rule.Properties!.EventPattern).toEqual({ source: [PARAMS.hrEventSource], 'detail-type': [PARAMS.hrDetailType] });
    const [target] = rule.Properties!.Targets as Array<{ InputPath?: string; Input?: unknown; InputTransformer?: unknown }>;
    expect(target!.InputPath).toBe('$.detail');
    expect(target!.Input).toBeUndefined();
    expect(target!.InputTransformer).toBeUndefined();
  });

  it.each([
    ['"employee changed"', 'MoveStateMachine', PARAMS.hrChangedDetailType],
    ['"employee terminated"', 'OffboardingStateMachine', PARAMS.hrTerminatedDetailType],
  ])('routes the configured %s event to %s, retried and dead-lettered like the hires', (_event, machine, detailType) => {
    const rules = resourcesOfType(template, 'AWS::Events::Rule').filter(([, rule]) => rule.Properties?.EventPattern);
    const targetOf = (name: string) =>
      rules.filter(([, rule]) => asList(rule.Properties?.Targets as Array<{ Arn: unknown }>).some((t) => JSON.stringify(t.Arn) === `{"Ref":"${name}"}`));
    const routed = targetOf(machine);
    expect(routed).toHaveLength(1);
    const [ruleId, rule] = routed[0]!;
    expect(rule.Properties!.EventBusName).toBe(PARAMS.hrBusName);
    expect(rule.Properties!.EventPattern).toEqual({ source: [PARAMS.hrEventSource], 'detail-type': [detailType] });
    expect(rule.DependsOn).toEqual(['HrEventBusReady']);
    type Target = { InputPath?: string; RetryPolicy?: unknown; DeadLetterConfig?: unknown };
    const [target] = rule.Properties!.Targets as Target[];
    const [hiredTarget] = targetOf('OnboardingStateMachine')[0]![1].Properties!.Targets as Target[];
    expect(target!.InputPath).toBe('$.detail');
    expect(target!.RetryPolicy).toEqual(hiredTarget!.RetryPolicy);
    expect(target!.DeadLetterConfig).toEqual({ Arn: { 'Fn::GetAtt': ['HrEventsDeadLetterQueue', 'Arn'] } });
    // The dead-letter queue takes messages from every rule.
    const [queuePolicy] = policyDocuments(template).filter((d) => d.where === 'HrEventsDeadLetterQueuePolicy');
    const sendMessage = queuePolicy!.statements.find((s) => s.Effect === 'Allow')!;
    expect(JSON.stringify(sendMessage.Condition)).toContain(`"${ruleId}","Arn"`);
  });

  it('keeps execution data out of every state machine log', () => {
    const machines = resourcesOfType(template, 'AWS::StepFunctions::StateMachine');
    expect(machines.length).toBeGreaterThan(0);
    for (const [logicalId, machine] of machines) {
      const logging = machine.Properties?.LoggingConfiguration as { IncludeExecutionData?: boolean; Level?: string } | undefined;
      expect(logging, logicalId).toBeDefined();
      expect(logging!.IncludeExecutionData, logicalId).toBe(false);
    }
  });
});
