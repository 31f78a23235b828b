/**
 * Least privilege, proven against evidence. The template is what `serverless package` builds
 * for a deploy (offline, throwaway HOME). What each function needs is not written down here: it
 * is observed. The real handlers run, through the real state machine definitions and the sweep
 * handler, against the local stack's IAM/KMS/SES, over the happy paths and the failure paths;
 * every AWS call each one makes is recorded (SDK middleware on the shared clients, attributed
 * to the running function), mapped to the IAM action it needs, and compared with the actions
 * the function's role allows: nothing missing, nothing extra.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import {
  AddUserToGroupCommand,
  CreateAccessKeyCommand,
  CreateGroupCommand,
  CreateUserCommand,
  CreateVirtualMFADeviceCommand,
  DeleteAccountPasswordPolicyCommand,
  EnableMFADeviceCommand,
  PutUserPolicyCommand,
  TagUserCommand,
  UploadSigningCertificateCommand,
  UploadSSHPublicKeyCommand,
  type IAMClient,
} from '@aws-sdk/client-iam';
import { PutParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import type { Context } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { iamClient, kmsClient, sesClient, sfnClient, ssmClient } from '../../functions/lib/clients.ts';
import { resetConfigCache } from '../../functions/lib/config.ts';
import { confirmationFor } from '../../functions/lib/offboarding-guard.ts';
import { forgetPasswordRules } from '../../functions/lib/password.ts';
import { handler as sweepHandler } from '../../functions/reprovision/sweep/handler.ts';
import type { LocalStack } from '../../local/stack.ts';
import { lambdaContext } from '../../local/workflow.ts';
import { cfnLint } from '../../scripts/cfn-lint.ts';
import { packageService } from '../../scripts/package-service.ts';
import { inProcessStateMachine, type ExecutionResult, type InProcessStateMachine } from '../../testing/state-machine.ts';
import { captureOutput } from '../support/capture.ts';
import {
  actionsOf,
  allowStatements,
  asList,
  functionActions,
  iamWriteFindings,
  lambdaFunctions,
  policyDocuments,
  readTemplate,
  render,
  resourcesOf,
  type AllowStatement,
  type PolicyStatement,
  type Template,
} from '../support/template.ts';
import { recordFigure } from './figures.ts';
import { stackClients, startMarkedStack, stopMarkedStack } from './local-aws.ts';
import { scanForPasswords } from './password-scan.ts';

// --- evidence: the AWS calls each function makes ----------------------------------------

/** The IAM service prefix of each SDK client the functions use. */
const SERVICE_PREFIX: Record<string, string> = { IAMClient: 'iam', KMSClient: 'kms', SESClient: 'ses', SFNClient: 'states', SSMClient: 'ssm' };

/**
 * Actions IAM checks besides the operation's own, for the parameters given: creating a user
 * with tags also needs iam:TagUser, and with a permissions boundary iam:PutUserPermissionsBoundary
 * (IAM User Guide, "Permissions required to tag IAM entities" and "Permissions boundaries").
 */
function impliedActions(action: string, input: Record<string, unknown>): string[] {
  if (action !== 'iam:CreateUser') return [];
  return [
    ...(Array.isArray(input.Tags) && input.Tags.length > 0 ? ['iam:TagUser'] : []),
    ...(input.PermissionsBoundary ? ['iam:PutUserPermissionsBoundary'] : []),
  ];
}

const runningFunction = new AsyncLocalStorage<string>();
/** Function key -> the IAM actions its calls needed. */
const evidence = new Map<string, Set<string>>();
const invoked = new Set<string>();
const unknownClients = new Set<string>();

function observe(client: { middlewareStack: IAMClient['middlewareStack'] }): void {
  client.middlewareStack.add(
    (next, context) => async (args) => {
      const functionKey = runningFunction.getStore();
      // Calls made outside a recorded invocation (executions the sweep started, run by the
      // stack) are not attributed: their functions are exercised directly elsewhere.
      if (functionKey) {
        const prefix = SERVICE_PREFIX[context.clientName ?? ''];
        if (!prefix) unknownClients.add(String(context.clientName));
        const action = `${prefix}:${String(context.commandName).replace(/Command$/, '')}`;
        const actions = evidence.get(functionKey) ?? new Set<string>();
        for (const needed of [action, ...impliedActions(action, (args.input ?? {}) as Record<string, unknown>)]) actions.add(needed);
        evidence.set(functionKey, actions);
      }
      return next(args);
    },
    { step: 'initialize', name: 'leastPrivilegeEvidence', override: true },
  );
}

// --- template checks ----------------------------------------------------------------------

/** Actions AWS authorizes only on "*" (no resource type): the only ones a role may grant on "*". */
const NO_RESOURCE_TYPE = new Set([
  'iam:GetAccountPasswordPolicy',
  'iam:GetAccountAuthorizationDetails',
  'iam:ListUsers',
  // Vended log delivery for state machine logging (Step Functions developer guide).
  'logs:CreateLogDelivery',
  'logs:GetLogDelivery',
  'logs:UpdateLogDelivery',
  'logs:DeleteLogDelivery',
  'logs:ListLogDeliveries',
  'logs:PutResourcePolicy',
  'logs:DescribeResourcePolicies',
  'logs:DescribeLogGroups',
]);
/**
 * The standard KMS key policy statement that hands the key's use to IAM policies (principal: this
 * account's root): `kms:*` there grants nothing by itself. The only wildcard tolerated.
 */
function isKeyPolicyDelegation(t: Template, located: AllowStatement): boolean {
  const resource = t.Resources[located.where];
  const principal = render((located.statement.Principal as { AWS?: unknown } | undefined)?.AWS);
  return resource?.Type === 'AWS::KMS::Key' && principal === 'arn:${AWS::Partition}:iam::${AWS::AccountId}:root' && actionsOf(located.statement).every((a) => a === 'kms:*');
}

function wildcardFindings(t: Template): string[] {
  return allowStatements(t, 'any')
    .filter((located) => !isKeyPolicyDelegation(t, located))
    .flatMap(({ where, statement }) => [
      ...actionsOf(statement).filter((a) => a.includes('*')).map((a) => `${where} allows ${a}`),
      ...(statement.NotAction ? [`${where} uses NotAction`] : []),
      ...(statement.NotResource ? [`${where} uses NotResource`] : []),
    ]);
}

/** Grants on "*" only for actions that have no resource type. */
function resourceFindings(t: Template): string[] {
  return allowStatements(t)
    .filter(({ statement }) => resourcesOf(statement).includes('*'))
    .flatMap(({ where, statement }) => actionsOf(statement).filter((a) => !NO_RESOURCE_TYPE.has(a)).map((a) => `${where} allows ${a} on "*"`));
}

/** A state machine's role invokes exactly the functions its definition names; a rule's role starts exactly its target. */
function invocationFindings(t: Template): string[] {
  const findings: string[] = [];
  const roleStatements = (roleArn: unknown) => {
    const roleId = (roleArn as { 'Fn::GetAtt': [string, string] })['Fn::GetAtt'][0];
    return policyDocuments(t).filter((d) => d.where.startsWith(`${roleId}/`)).flatMap((d) => d.statements);
  };
  for (const [id, machine] of Object.entries(t.Resources).filter(([, r]) => r.Type === 'AWS::StepFunctions::StateMachine')) {
    const [, substitutions] = (machine.Properties?.DefinitionString as { 'Fn::Sub': [string, Record<string, unknown>] })['Fn::Sub'];
    const used = new Set(Object.values(substitutions).map((v) => render(v).replace(/^!GetAtt (\w+)\.Arn$/, '$1')));
    const granted = new Set(
      roleStatements(machine.Properties?.RoleArn)
        .filter((s) => actionsOf(s).includes('lambda:InvokeFunction'))
        .flatMap((s) => asList(s.Resource))
        .map((r) => JSON.stringify(r).match(/"(\w+LambdaFunction)"/)?.[1] ?? render(r)),
    );
    findings.push(...[...granted].filter((fn) => !used.has(fn)).map((fn) => `${id} may invoke ${fn}, which it never calls`));
    findings.push(...[...used].filter((fn) => !granted.has(fn)).map((fn) => `${id} calls ${fn} but may not invoke it`));
  }
  for (const [id, rule] of Object.entries(t.Resources).filter(([, r]) => r.Type === 'AWS::Events::Rule')) {
    for (const target of asList(rule.Properties?.Targets as Array<{ Arn: unknown; RoleArn?: unknown }>)) {
      if (!target.RoleArn) continue;
      const starts = roleStatements(target.RoleArn).filter((s) => actionsOf(s).includes('states:StartExecution')).flatMap(resourcesOf);
      if (JSON.stringify(starts) !== JSON.stringify([render(target.Arn)])) findings.push(`${id}'s role may start ${starts.join(', ')}, not just ${render(target.Arn)}`);
    }
  }
  return findings;
}

/**
 * Granted actions no run here can call: moto implements no service-specific credentials, so no
 * user here has one to delete (test/unit/offboarding.test.ts shows the deletion calls it).
 */
const NOT_OBSERVABLE_LOCALLY: Record<string, string[]> = { deleteOffboardedUser: ['iam:DeleteServiceSpecificCredential'] };

/** Per function: actions its calls needed that its role lacks, and actions it is granted but never needed. */
function evidenceFindings(t: Template, observed: Map<string, Set<string>>): string[] {
  return Object.keys(lambdaFunctions(t)).flatMap((key) => {
    const granted = functionActions(t, key);
    const needed = [...(observed.get(key) ?? [])].sort();
    return [
      ...needed.filter((a) => !granted.includes(a)).map((a) => `${key} calls ${a}, which its role does not allow`),
      ...granted.filter((a) => !needed.includes(a) && !NOT_OBSERVABLE_LOCALLY[key]?.includes(a)).map((a) => `${key} is allowed ${a}, which it never calls`),
    ];
  });
}

// --- the runs ---------------------------------------------------------------------------

let workDir: string;
let template: Template;
let stack: LocalStack;
let mark: string;
let admin: IAMClient;
let output: ReturnType<typeof captureOutput>;
type MachineKey = 'onboarding' | 'reprovision' | 'move' | 'offboarding';
const machines = new Map<MachineKey, InProcessStateMachine>();
const BOUNDARY = 'arn:aws:iam::aws:policy/PowerUserAccess';

beforeAll(async () => {
  workDir = await mkdtemp(path.join(os.tmpdir(), 'iam-onboarding-least-privilege-'));
  const [packaged, started] = await Promise.all([
    // The stage the local stack runs (its groups and domains), with the boundary one run sets:
    // the roles granted for the settings the handlers run with.
    packageService({ outDir: path.join(workDir, 'out'), home: path.join(workDir, 'home'), stage: 'local', params: { userPermissionsBoundary: BOUNDARY } }),
    startMarkedStack({ quiet: true, retryIntervalMs: 10 }),
  ]);
  template = readTemplate(packaged.templatePath);
  ({ stack, mark } = started);
  admin = stackClients(stack).iam;
  // The shared clients the handlers use, made now that the stack's endpoint is set.
  for (const client of [iamClient(), kmsClient(), sesClient(), sfnClient(), ssmClient()]) observe(client as never);
  for (const key of ['onboarding', 'reprovision', 'move', 'offboarding'] satisfies MachineKey[]) {
    const machine = await inProcessStateMachine(key, {
      arn: stack.stateMachines.find((m) => m.key === key)?.arn ?? '',
      namePrefix: 'least-privilege',
      around: (_state, functionKey, invoke) => {
        invoked.add(functionKey);
        // Each function has its own execution environments: none sees another's cached policy.
        forgetPasswordRules();
        return runningFunction.run(functionKey, invoke);
      },
    });
    machines.set(key, machine);
  }
  output = captureOutput();
}, 300_000);

afterAll(async () => {
  output?.restore();
  admin?.destroy();
  await stack?.stop();
  if (workDir) await rm(workDir, { recursive: true, force: true });
});

async function execute(key: MachineKey, input: unknown): Promise<ExecutionResult> {
  const machine = machines.get(key);
  if (!machine) throw new Error(`State machine ${key} was not loaded`);
  return machine.run(input);
}

const hire = (n: number, extra: Record<string, unknown> = {}) => ({
  employeeId: `E-LP-${n}`,
  firstName: 'Alan',
  lastName: `Turing${n}`,
  email: `least.privilege.${n}@example.com`,
  userName: `least-privilege-${n}`,
  department: 'engineering',
  ...extra,
});

async function withEnvironment<T>(variables: Record<string, string>, body: () => Promise<T>): Promise<T> {
  const saved = Object.fromEntries(Object.keys(variables).map((name) => [name, process.env[name]]));
  Object.assign(process.env, variables);
  resetConfigCache();
  try {
    return await body();
  } finally {
    for (const [name, value] of Object.entries(saved)) {
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
    }
    resetConfigCache();
  }
}

describe('least privilege', () => {
  it('observes the AWS calls of every function over the happy and failure paths', async ({ task }) => {
    const rejectOnce = () => stack.faults.add({ service: 'ses', operation: 'SendEmail', error: 'MessageRejected', count: 1 });
    const outcomes: Array<[string, ExecutionResult]> = [];
    const onboard = async (what: string, input: unknown) => outcomes.push([what, await execute('onboarding', input)]);
    const reprovision = async (what: string, input: unknown) => outcomes.push([what, await execute('reprovision', input)]);

    await onboard('new hire', hire(1));
    await onboard('repeated event', hire(1));
    await withEnvironment({ PERMISSIONS_BOUNDARY_ARN: BOUNDARY }, () => onboard('with a permissions boundary', hire(2)));
    // A group the stage allows that the account does not have (only the department groups are seeded).
    await onboard('group missing', hire(3, { department: undefined, groups: ['readers'] }));
    await admin.send(new CreateUserCommand({ UserName: 'someone-else', Path: '/' }));
    await onboard('name taken by a user not ours', hire(4, { userName: 'someone-else' }));
    rejectOnce();
    await onboard('credentials email rejected', hire(5));
    stack.faults.add({ service: 'iam', operation: 'CreateLoginProfile', error: 'AccessDenied', status: 403, count: 1 });
    await onboard('login profile denied', hire(6));
    rejectOnce();
    await onboard('credentials email rejected (left for the sweep)', hire(7));
    await onboard('invalid input', { employeeId: 42 });
    await admin.send(new DeleteAccountPasswordPolicyCommand({}));
    await onboard('no account password policy', hire(8));
    // CreateLoginProfile lands but the answer is lost: the retry replaces the password (UpdateLoginProfile).
    stack.faults.add({ service: 'iam', operation: 'CreateLoginProfile', error: 'ServiceFailure', count: 1, when: 'after' });
    await onboard('login profile answer lost', hire(9));
    const day = (days: number) => new Date(Date.now() + days * 86_400_000).toISOString().slice(0, 10);
    await onboard('start date ahead (waits, then checks its claim)', hire(10, { startDate: day(7) }));
    await admin.send(new CreateUserCommand({ UserName: 'least.privilege.14', Path: '/' }));
    await onboard('derived name taken: the next candidate', hire(14, { userName: undefined }));
    // A hire waiting for its start date, as another execution left it; HR moves the date.
    await admin.send(
      new CreateUserCommand({
        UserName: 'least-privilege-13',
        Path: stack.functionEnv.MANAGED_PATH,
        Tags: Object.entries({
          'onboarding:managed-by': stack.functionEnv.MANAGED_BY ?? '',
          'onboarding:employee-id': 'E-LP-13',
          'onboarding:status': 'waiting',
          'onboarding:created-by': `${machines.get('onboarding')!.arn.replace(':stateMachine:', ':execution:')}:waiting-13`,
          'onboarding:credentials-at': `${day(7)}T08:00:00.000Z`,
          'onboarding:start-date': day(7),
        }).map(([Key, Value]) => ({ Key, Value })),
      }),
    );
    await onboard('start date moved (the claim taken over)', hire(13, { startDate: day(14) }));

    const target = (n: number, action: string, extra: Record<string, unknown> = {}) => ({
      action,
      hire: { userName: `least-privilege-${n}`, employeeId: `E-LP-${n}` },
      ...extra,
    });
    await reprovision('reset and re-send', target(5, 'RESET_PASSWORD', { reason: 'credentials-not-sent' }));
    rejectOnce();
    await reprovision('reset, email rejected', target(8, 'RESET_PASSWORD'));
    await reprovision('reset of a user that is gone', target(99, 'RESET_PASSWORD'));
    await reprovision('remove console access', target(1, 'REMOVE_CONSOLE_ACCESS', { reason: 'password-unused' }));
    await reprovision('invalid request', { action: 'RESET_PASSWORD', hire: {} });

    const move = async (what: string, input: unknown) => outcomes.push([what, await execute('move', input)]);
    // The stage's other assignable group, now that the onboarding has been refused it.
    await admin.send(new CreateGroupCommand({ GroupName: 'readers' }));
    await move('move to the groups named (user looked up)', { employeeId: 'E-LP-2', groups: ['readers'] });
    await move('move back by department', { employeeId: 'E-LP-2', userName: 'least-privilege-2', department: 'engineering' });
    await move('move again (a repeated event)', { employeeId: 'E-LP-2', userName: 'least-privilege-2', department: 'engineering' });
    await move('move of a user not ours', { employeeId: 'E-LP-4', userName: 'someone-else', groups: ['readers'] });
    await move('move to a group not allowed', { employeeId: 'E-LP-2', groups: ['admins'] });

    // Leavers: one with an access key and an MFA device, found by employee id; a duplicate; nobody;
    // someone else's user; a dry run; one held by a guard that allows nobody a day.
    const offboard = async (what: string, input: unknown) => outcomes.push([what, await execute('offboarding', input)]);
    await admin.send(new CreateAccessKeyCommand({ UserName: 'least-privilege-9' }));
    const { VirtualMFADevice: device } = await admin.send(new CreateVirtualMFADeviceCommand({ VirtualMFADeviceName: 'least-privilege-9' }));
    await admin.send(new EnableMFADeviceCommand({ UserName: 'least-privilege-9', SerialNumber: device!.SerialNumber!, AuthenticationCode1: '123456', AuthenticationCode2: '654321' }));
    await offboard('offboard by employee id', { employeeId: 'E-LP-9' });
    await offboard('offboard again (a duplicate termination)', { employeeId: 'E-LP-9', userName: 'least-privilege-9' });
    await offboard('offboard an unknown employee', { employeeId: 'E-LP-404' });
    await offboard('offboard a user not ours', { employeeId: 'E-LP-4', userName: 'someone-else' });
    await offboard('offboard, dry run', { employeeId: 'E-LP-8', dryRun: true });
    await withEnvironment({ OFFBOARDING_GUARD_SHARE: '0', OFFBOARDING_GUARD_FLOOR: '0' }, () => offboard('offboard held by the guard', { employeeId: 'E-LP-8' }));
    await offboard('invalid termination', { employeeId: 'E-LP-8', username: 'least-privilege-8' });
    await offboard('offboard one who comes back', { employeeId: 'E-LP-10' });
    await onboard('rehire of an offboarded user', hire(10));
    // Its retention over, the leaver is deleted with everything attached to it (more than a
    // leaver keeps: what else IAM refuses DeleteUser for).
    await admin.send(new UploadSSHPublicKeyCommand({ UserName: 'least-privilege-9', SSHPublicKeyBody: 'ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQC7 least-privilege' }));
    const certificate = execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', '/dev/null', '-subj', '/CN=least-privilege', '-days', '1'], { stdio: ['ignore', 'pipe', 'ignore'] }).toString();
    await admin.send(new UploadSigningCertificateCommand({ UserName: 'least-privilege-9', CertificateBody: certificate }));
    await admin.send(new PutUserPolicyCommand({ UserName: 'least-privilege-9', PolicyName: 'inline', PolicyDocument: JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Deny', Action: '*', Resource: '*' }] }) }));
    await admin.send(new AddUserToGroupCommand({ UserName: 'least-privilege-9', GroupName: 'readers' }));
    const { VirtualMFADevice: second } = await admin.send(new CreateVirtualMFADeviceCommand({ VirtualMFADeviceName: 'least-privilege-9-second' }));
    await admin.send(new EnableMFADeviceCommand({ UserName: 'least-privilege-9', SerialNumber: second!.SerialNumber!, AuthenticationCode1: '123456', AuthenticationCode2: '654321' }));
    await admin.send(new TagUserCommand({ UserName: 'least-privilege-9', Tags: [{ Key: 'onboarding:offboarded-at', Value: new Date(Date.now() - 40 * 86_400_000).toISOString() }] }));
    await reprovision('delete an offboarded user', { action: 'DELETE_USER', hire: { userName: 'least-privilege-9', employeeId: 'E-LP-9' } });
    // Offboarded long ago too, for the sweep to delete once an admin has confirmed past a guard that allows nobody.
    await execute('onboarding', hire(11));
    await offboard('offboard another', { employeeId: 'E-LP-11' });
    await admin.send(new TagUserCommand({ UserName: 'least-privilege-11', Tags: [{ Key: 'onboarding:offboarded-at', Value: new Date(Date.now() - 40 * 86_400_000).toISOString() }] }));
    await new SSMClient({ endpoint: stack.endpoint, region: stack.region, credentials: { accessKeyId: 'test', secretAccessKey: 'test' } }).send(
      new PutParameterCommand({ Name: stack.functionEnv.OFFBOARDING_CONFIRMATION_PARAMETER, Type: 'String', Overwrite: true, Value: JSON.stringify(confirmationFor('least-privilege', new Date(), 600_000)) }),
    );

    // The sweep finds the users left failed (6: no login profile; 7 and 8: credentials not sent) and
    // starts their executions; those run on the stack, outside the attribution.
    const context: Context = lambdaContext('reprovisionSweep');
    invoked.add('reprovisionSweep');
    const report = await withEnvironment({ OFFBOARDING_GUARD_SHARE: '0', OFFBOARDING_GUARD_FLOOR: '0' }, () =>
      runningFunction.run('reprovisionSweep', () => sweepHandler({ dryRun: false }, context)),
    );
    await stack.waitForIdle(60_000);

    const byOutcome = outcomes.map(([what, r]) => `${what}: ${r.status}${r.error ? ` ${r.error}` : ''}`);
    expect(byOutcome).toEqual([
      'new hire: SUCCEEDED',
      'repeated event: SUCCEEDED',
      'with a permissions boundary: SUCCEEDED',
      'group missing: FAILED GroupNotFound',
      'name taken by a user not ours: FAILED UserNameConflict',
      'credentials email rejected: FAILED MessageRejected',
      'login profile denied: FAILED AccessDenied',
      'credentials email rejected (left for the sweep): FAILED MessageRejected',
      'invalid input: FAILED InvalidHrEvent',
      'no account password policy: SUCCEEDED',
      'login profile answer lost: SUCCEEDED',
      'start date ahead (waits, then checks its claim): SUCCEEDED',
      'derived name taken: the next candidate: SUCCEEDED',
      'start date moved (the claim taken over): SUCCEEDED',
      'reset and re-send: SUCCEEDED',
      'reset, email rejected: FAILED MessageRejected',
      'reset of a user that is gone: SUCCEEDED',
      'remove console access: SUCCEEDED',
      'invalid request: FAILED InvalidReprovisionRequest',
      'move to the groups named (user looked up): SUCCEEDED',
      'move back by department: SUCCEEDED',
      'move again (a repeated event): SUCCEEDED',
      'move of a user not ours: SUCCEEDED',
      'move to a group not allowed: FAILED GroupNotAllowed',
      'offboard by employee id: SUCCEEDED',
      'offboard again (a duplicate termination): SUCCEEDED',
      'offboard an unknown employee: SUCCEEDED',
      'offboard a user not ours: SUCCEEDED',
      'offboard, dry run: SUCCEEDED',
      'offboard held by the guard: FAILED MassOffboardingHeld',
      'invalid termination: FAILED InvalidHrEvent',
      'offboard one who comes back: SUCCEEDED',
      'rehire of an offboarded user: SUCCEEDED',
      'delete an offboarded user: SUCCEEDED',
      'offboard another: SUCCEEDED',
    ]);
    const leavers = ['offboard by employee id', 'offboard again (a duplicate termination)', 'offboard an unknown employee', 'offboard a user not ours'];
    leavers.push('offboard, dry run', 'offboard held by the guard', 'delete an offboarded user', 'offboard another');
    expect(outcomes.filter(([what]) => leavers.includes(what)).map(([, r]) => (r.output as { status?: string } | undefined)?.status)).toEqual([
      'OFFBOARDED',
      'ALREADY_OFFBOARDED',
      'NOT_FOUND',
      'NOT_MANAGED',
      'DRY_RUN',
      undefined,
      'USER_DELETED',
      'OFFBOARDED',
    ]);
    expect(outcomes.filter(([what]) => what.startsWith('move')).map(([, r]) => (r.output as { status?: string } | undefined)?.status)).toEqual([
      'MOVED',
      'MOVED',
      'UNCHANGED',
      'NOT_MANAGED',
      undefined,
    ]);
    expect(report.users.filter((u) => u.outcome === 'started').map((u) => `${u.userName} ${u.action}`).sort()).toEqual([
      'least-privilege-11 delete-user',
      'least-privilege-6 restart-onboarding',
      'least-privilege-7 reset-password',
      'least-privilege-8 reset-password',
    ]);
    expect(unknownClients).toEqual(new Set());
    expect([...invoked].sort()).toEqual(Object.keys(lambdaFunctions(template)).sort());

    output.restore();
    const scan = scanForPasswords(stack.passwordsSent(), {
      'execution events': outcomes.flatMap(([, r]) => r.events),
      'execution outputs and errors': outcomes.map(([, r]) => ({ output: r.output, error: r.error, cause: r.cause })),
      'sweep report': [report],
      'request log': stack.requests(),
      'log lines': output.lines,
    });
    recordFigure(task, 'executions run with attribution', outcomes.length);
    recordFigure(task, 'functions exercised', invoked.size);
    recordFigure(task, 'actions observed', [...evidence.values()].reduce((n, s) => n + s.size, 0));
    recordFigure(task, 'places scanned for passwords', scan.places);
    recordFigure(task, 'password hits', scan.hits.length);
    expect(scan.hits).toEqual([]);
  });

  it("gives each function's role exactly the actions it was seen to call", ({ task }) => {
    expect(evidence.size).toBeGreaterThan(0);
    const findings = evidenceFindings(template, evidence);
    for (const key of Object.keys(lambdaFunctions(template)).sort()) {
      recordFigure(task, key, [...(evidence.get(key) ?? [])].sort().join(', ') || '(no AWS calls)');
    }
    recordFigure(task, 'violations', findings.length);
    expect(findings).toEqual([]);

    // The comparison notices both directions.
    const extra = structuredClone(template);
    const markComplete = extra.Resources.MarkCompleteIamRoleLambdaExecution!.Properties!.Policies as Array<{ PolicyDocument: { Statement: PolicyStatement[] } }>;
    markComplete[0]!.PolicyDocument.Statement.push({ Effect: 'Allow', Action: 'iam:DeleteUser', Resource: '*' });
    expect(evidenceFindings(extra, evidence)).toEqual(['markComplete is allowed iam:DeleteUser, which it never calls']);
    const needsMore = new Map(evidence);
    needsMore.set('notifyOps', new Set([...(evidence.get('notifyOps') ?? []), 'ses:SendRawEmail']));
    expect(evidenceFindings(template, needsMore)).toEqual(['notifyOps calls ses:SendRawEmail, which its role does not allow']);
  });

  it('allows no wildcard action, writes only to managed users, and scopes every grant', ({ task }) => {
    const managedUsers = `arn:\${AWS::Partition}:iam::\${AWS::AccountId}:user${stack.functionEnv.MANAGED_PATH ?? '/onboarding/'}*`;
    const statements = allowStatements(template, 'any');
    const delegations = statements.filter((s) => isKeyPolicyDelegation(template, s));
    const findings = [
      ...wildcardFindings(template),
      ...iamWriteFindings(template, managedUsers),
      ...resourceFindings(template),
      ...invocationFindings(template),
    ];

    recordFigure(task, 'policy statements checked', statements.length);
    recordFigure(task, 'key policy delegations to the account (kms:* for root, standard)', delegations.length);
    recordFigure(task, 'violations', findings.length);
    expect(delegations).toHaveLength(1);
    expect(findings).toEqual([]);

    // The checks notice what they are for.
    const loose = structuredClone(template);
    const createUser = loose.Resources.CreateUserIamRoleLambdaExecution!.Properties!.Policies as Array<{ PolicyDocument: { Statement: PolicyStatement[] } }>;
    createUser[0]!.PolicyDocument.Statement.push(
      { Effect: 'Allow', Action: 'ses:*', Resource: '*' },
      { Effect: 'Allow', Action: 'iam:CreateLoginProfile', Resource: { 'Fn::Sub': 'arn:${AWS::Partition}:iam::${AWS::AccountId}:user/*' } },
    );
    expect(wildcardFindings(loose)).toEqual([expect.stringContaining('allows ses:*')]);
    expect(resourceFindings(loose)).toEqual([expect.stringContaining('allows ses:* on "*"')]);
    expect(iamWriteFindings(loose, managedUsers)).toEqual([
      expect.stringContaining('lets iam:CreateLoginProfile act on arn:${AWS::Partition}:iam::${AWS::AccountId}:user/*'),
      expect.stringContaining('does not name the managed users'),
    ]);
  });

  it('passes cfn-lint with no findings', async ({ task }) => {
    const result = await cfnLint(path.join(workDir, 'out', 'cloudformation-template-update-stack.json'));
    recordFigure(task, 'cfn-lint findings', result.findings.length);
    expect(result.code, result.output).toBe(0);
  });

  it('stops the local stack and every process it started', async ({ task }) => {
    const left = await stopMarkedStack(stack, mark);
    recordFigure(task, 'processes left running', left.length);
    expect(left).toEqual([]);
  });
});
