/**
 * Reading the CloudFormation template `serverless package` generates: resources, each
 * function's role and what it allows, and every policy document in the stack. Used by the
 * packaging tests (least privilege) and by suites that assert per-function permissions.
 */
import { readFileSync } from 'node:fs';

export interface TemplateResource {
  Type: string;
  Properties?: Record<string, unknown>;
  DependsOn?: string | string[];
  /** The name of the template condition the resource is created under. */
  Condition?: string;
}

export interface Template {
  Resources: Record<string, TemplateResource>;
  Outputs?: Record<string, unknown>;
  Conditions?: Record<string, unknown>;
}

export interface PolicyStatement {
  Sid?: string;
  Effect: 'Allow' | 'Deny';
  Principal?: unknown;
  Action?: string | string[];
  NotAction?: string | string[];
  Resource?: unknown;
  NotResource?: unknown;
  Condition?: Record<string, Record<string, unknown>>;
}

export interface PolicyDocumentRef {
  /** Where the document is: `<logical id>` or `<logical id>/<policy name>`. */
  where: string;
  /**
   * Identity policies (roles, IAM policies), resource policies (key, bucket policies), or
   * boundaries: managed policies attached to no role, user or group, which grant nothing by
   * themselves (a permissions boundary only caps what other policies grant).
   */
  kind: PolicyKind;
  statements: PolicyStatement[];
}

export type PolicyKind = 'identity' | 'resource' | 'boundary';

/** A managed policy no role, user or group of the stack is given: a permissions boundary, at most. */
function isUnattached(template: Template, logicalId: string, properties: Record<string, unknown>): boolean {
  const attachedHere = ['Roles', 'Users', 'Groups'].some((key) => asList(properties[key] as unknown[]).length > 0);
  const reference = JSON.stringify({ Ref: logicalId });
  const attachedThere = Object.values(template.Resources).some((resource) =>
    asList(resource.Properties?.ManagedPolicyArns as unknown[]).some((arn) => JSON.stringify(arn) === reference),
  );
  return !attachedHere && !attachedThere;
}

export function readTemplate(file: string): Template {
  return JSON.parse(readFileSync(file, 'utf8')) as Template;
}

export function asList<T>(value: T | T[] | undefined): T[] {
  return value === undefined ? [] : Array.isArray(value) ? value : [value];
}

/** The resources of one type, by logical id. */
export function resourcesOfType(template: Template, type: string): Array<[string, TemplateResource]> {
  return Object.entries(template.Resources).filter(([, resource]) => resource.Type === type);
}

/**
 * A CloudFormation value as readable text: `Fn::Sub` templates as written, `!GetAtt X.Arn`,
 * `!Ref X`, `Fn::Join` joined. Enough to compare ARNs without deploying.
 */
export function render(value: unknown): string {
  if (typeof value === 'string') return value;
  if (value && typeof value === 'object') {
    const v = value as Record<string, unknown>;
    if ('Fn::Sub' in v) return render(Array.isArray(v['Fn::Sub']) ? v['Fn::Sub'][0] : v['Fn::Sub']);
    if ('Fn::GetAtt' in v) return `!GetAtt ${asList(v['Fn::GetAtt'] as string | string[]).join('.')}`;
    if ('Ref' in v) return `!Ref ${String(v.Ref)}`;
    if ('Fn::Join' in v) {
      const [separator, parts] = v['Fn::Join'] as [string, unknown[]];
      return parts.map(render).join(separator);
    }
  }
  return JSON.stringify(value);
}

export function actionsOf(statement: PolicyStatement): string[] {
  return asList(statement.Action);
}

/** The statement's resources, rendered (see {@link render}). */
export function resourcesOf(statement: PolicyStatement): string[] {
  return asList(statement.Resource).map(render);
}

function inlinePolicies(logicalId: string, resource: TemplateResource): PolicyDocumentRef[] {
  const policies = asList(resource.Properties?.Policies as Array<{ PolicyName: unknown; PolicyDocument: { Statement: unknown } }>);
  return policies.map((policy) => ({
    where: `${logicalId}/${render(policy.PolicyName)}`,
    kind: 'identity',
    statements: asList(policy.PolicyDocument.Statement as PolicyStatement | PolicyStatement[]),
  }));
}

/** Every policy document in the stack: role and IAM policies, key and bucket policies. */
export function policyDocuments(template: Template): PolicyDocumentRef[] {
  const documents: PolicyDocumentRef[] = [];
  for (const [logicalId, resource] of Object.entries(template.Resources)) {
    const properties = resource.Properties ?? {};
    switch (resource.Type) {
      case 'AWS::IAM::Role':
        documents.push(...inlinePolicies(logicalId, resource));
        break;
      case 'AWS::IAM::Policy':
      case 'AWS::IAM::ManagedPolicy':
        documents.push({
          where: logicalId,
          kind: resource.Type === 'AWS::IAM::ManagedPolicy' && isUnattached(template, logicalId, properties) ? 'boundary' : 'identity',
          statements: asList((properties.PolicyDocument as { Statement: PolicyStatement | PolicyStatement[] }).Statement),
        });
        break;
      case 'AWS::KMS::Key':
        documents.push({ where: logicalId, kind: 'resource', statements: asList((properties.KeyPolicy as { Statement: PolicyStatement[] }).Statement) });
        break;
      case 'AWS::S3::BucketPolicy':
      case 'AWS::SQS::QueuePolicy':
      case 'AWS::SNS::TopicPolicy':
        documents.push({
          where: logicalId,
          kind: 'resource',
          statements: asList((properties.PolicyDocument as { Statement: PolicyStatement[] }).Statement),
        });
        break;
      default:
    }
  }
  return documents;
}

/** An Allow statement with the document it is in. */
export interface AllowStatement {
  where: string;
  kind: PolicyKind;
  statement: PolicyStatement;
}

/**
 * Every Allow statement, of identity policies (default), resource policies, boundaries, or
 * `any` that grants: identity and resource policies (a boundary grants nothing).
 */
export function allowStatements(template: Template, kind: PolicyKind | 'any' = 'identity'): AllowStatement[] {
  return policyDocuments(template)
    .filter((document) => (kind === 'any' ? document.kind !== 'boundary' : document.kind === kind))
    .flatMap((document) => document.statements.map((statement) => ({ where: document.where, kind: document.kind, statement })))
    .filter(({ statement }) => statement.Effect === 'Allow');
}

export const isIamWrite = (action: string): boolean => action.startsWith('iam:') && !/^iam:(Get|List)/.test(action);

// IAM's actions that change a user (or what it may do). The workflow writes nothing else in IAM.
const USER_WRITE_ACTIONS = new Set([
  'iam:CreateUser',
  'iam:DeleteUser',
  'iam:UpdateUser',
  'iam:TagUser',
  'iam:UntagUser',
  'iam:CreateLoginProfile',
  'iam:UpdateLoginProfile',
  'iam:DeleteLoginProfile',
  'iam:AttachUserPolicy',
  'iam:DetachUserPolicy',
  'iam:PutUserPolicy',
  'iam:DeleteUserPolicy',
  'iam:PutUserPermissionsBoundary',
  'iam:DeleteUserPermissionsBoundary',
  'iam:AddUserToGroup',
  'iam:RemoveUserFromGroup',
  // A leaver's credentials (offboarding and deletion), authorized on the user.
  'iam:UpdateAccessKey',
  'iam:DeleteAccessKey',
  'iam:DeactivateMFADevice',
  'iam:DeleteSigningCertificate',
  'iam:DeleteSSHPublicKey',
  'iam:DeleteServiceSpecificCredential',
  'iam:DeleteVirtualMFADevice',
]);
// Group membership is authorized on the group as well as the user.
const GROUP_MEMBERSHIP_ACTIONS = new Set(['iam:AddUserToGroup', 'iam:RemoveUserFromGroup']);
const GROUP_PREFIX = 'arn:${AWS::Partition}:iam::${AWS::AccountId}:group/';
// A virtual MFA device is a resource of its own (mfa/<name>, wherever its owner put it): deleting
// one is authorized on the device alone. The code deletes only a device it has just deactivated
// for a managed user (DeactivateMFADevice, on the managed users).
const MFA_DEVICE_ACTIONS = new Set(['iam:DeleteVirtualMFADevice']);
const ANY_MFA_DEVICE = 'arn:${AWS::Partition}:iam::${AWS::AccountId}:mfa/*';
export const ANY_GROUP = `${GROUP_PREFIX}*`;

/**
 * What is wrong with the IAM writes the roles allow (empty: nothing): each must be a user
 * write, on the managed users only (group membership also on groups), and name them.
 */
export function iamWriteFindings(template: Template, managedUsers: string): string[] {
  return allowStatements(template)
    .filter(({ statement }) => actionsOf(statement).some(isIamWrite))
    .flatMap(({ where, statement }) => {
      const actions = actionsOf(statement).filter(isIamWrite);
      const onGroups = actions.every((a) => GROUP_MEMBERSHIP_ACTIONS.has(a));
      const onDevices = actions.every((a) => MFA_DEVICE_ACTIONS.has(a));
      // Group membership: on the managed users and on groups (any, or only the allowed ones).
      const allowed = (r: string) => r === managedUsers || (onGroups && r.startsWith(GROUP_PREFIX)) || (onDevices && r === ANY_MFA_DEVICE);
      const resources = resourcesOf(statement);
      return [
        ...actions.filter((a) => !USER_WRITE_ACTIONS.has(a)).map((a) => `${where} allows ${a}, which is not a user write`),
        ...resources.filter((r) => !allowed(r)).map((r) => `${where} lets ${actions.join(', ')} act on ${r}`),
        ...(resources.includes(managedUsers) || onDevices ? [] : [`${where} does not name the managed users`]),
      ];
    });
}

export interface LambdaFunctionRef {
  logicalId: string;
  properties: Record<string, unknown>;
}

/**
 * The Lambda functions, by their serverless.yml key. The Framework names a function's resource
 * `<Key>LambdaFunction`, with the key's first letter upper-cased and `-`/`_` spelt `Dash`/`Underscore`.
 */
export function lambdaFunctions(template: Template): Record<string, LambdaFunctionRef> {
  const functions: Record<string, LambdaFunctionRef> = {};
  for (const [logicalId, resource] of resourcesOfType(template, 'AWS::Lambda::Function')) {
    const normalized = logicalId.replace(/LambdaFunction$/, '').replace(/Dash/g, '-').replace(/Underscore/g, '_');
    const key = normalized.charAt(0).toLowerCase() + normalized.slice(1);
    functions[key] = { logicalId, properties: resource.Properties ?? {} };
  }
  return functions;
}

function lambdaFunction(template: Template, functionKey: string): LambdaFunctionRef {
  const fn = lambdaFunctions(template)[functionKey];
  if (!fn) throw new Error(`The template has no function "${functionKey}"`);
  return fn;
}

/** The logical id of the role a function runs with. */
export function roleOf(template: Template, functionKey: string): string {
  const role = lambdaFunction(template, functionKey).properties.Role as { 'Fn::GetAtt': [string, string] };
  return role['Fn::GetAtt'][0];
}

/** The statements of the role a function runs with. */
export function functionStatements(template: Template, functionKey: string): PolicyStatement[] {
  const roleId = roleOf(template, functionKey);
  return inlinePolicies(roleId, template.Resources[roleId]!).flatMap((document) => document.statements);
}

/**
 * The actions a function's role allows, sorted; CloudWatch Logs actions (every function has
 * them, for its own log group) are left out unless asked for.
 */
export function functionActions(template: Template, functionKey: string, options: { includeLogs?: boolean } = {}): string[] {
  const actions = functionStatements(template, functionKey)
    .filter((statement) => statement.Effect === 'Allow')
    .flatMap(actionsOf)
    .filter((action) => options.includeLogs || !action.startsWith('logs:'));
  return [...new Set(actions)].sort();
}

/** A function's environment variables as deployed (CloudFormation values rendered). */
export function functionEnvironment(template: Template, functionKey: string): Record<string, string> {
  const variables = (lambdaFunction(template, functionKey).properties.Environment as { Variables?: Record<string, unknown> } | undefined)
    ?.Variables;
  return Object.fromEntries(Object.entries(variables ?? {}).map(([name, value]) => [name, render(value)]));
}
