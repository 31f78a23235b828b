/**
 * The trust boundary's settings, turned into what serverless.yml needs: the Lambdas'
 * environment (what the code allows) and the IAM policy parts (what IAM allows), from the same
 * stage params, so that the two cannot disagree. Used as `${file(deploy/trust-boundary.cjs):name}`;
 * each export receives the Framework's variable resolver. A bad or missing setting stops
 * `serverless package`/`deploy` with a message naming it.
 */
'use strict';

/** IAM user and group names: `[A-Za-z0-9+=,.@_-]`, at most 128 characters for a group. */
const IAM_NAME = /^[A-Za-z0-9+=,.@_-]{1,128}$/;
const DOMAIN = /^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$/;
const PRINCIPAL_ARN = /^arn:aws[a-z-]*:(iam::\d{12}:(root|role\/\S+|user\/\S+)|sts::\d{12}:assumed-role\/\S+)$/;

function fail(message) {
  throw new Error(`Invalid setting: ${message}`);
}

/** A comma-separated param as a list, blanks dropped. */
async function list(resolveVariable, name) {
  const raw = await resolveVariable(`param:${name}`);
  return String(raw ?? '')
    .split(',')
    .map((item) => item.trim())
    .filter((item) => item !== '');
}

/** The groups the workflow may ever assign: `assignableGroups` plus every `departmentGroups` value. */
async function allowedGroupList({ resolveVariable }) {
  const assignable = await list(resolveVariable, 'assignableGroups');
  let departments;
  try {
    departments = JSON.parse(String((await resolveVariable('param:departmentGroups')) || '{}'));
  } catch {
    fail('departmentGroups must be a JSON object of department to IAM group names');
  }
  if (departments === null || typeof departments !== 'object' || Array.isArray(departments)) {
    fail('departmentGroups must be a JSON object of department to IAM group names');
  }
  const mapped = Object.values(departments).flatMap((groups) => (Array.isArray(groups) ? groups : [groups]));
  const groups = [...new Set([...assignable, ...mapped])];
  const bad = groups.filter((group) => typeof group !== 'string' || !IAM_NAME.test(group));
  if (bad.length > 0) fail(`assignableGroups/departmentGroups: not IAM group names: ${bad.map((g) => JSON.stringify(g)).join(', ')}`);
  return groups.sort();
}

async function emailDomainList({ resolveVariable }) {
  const domains = (await list(resolveVariable, 'allowedEmailDomains')).map((domain) => domain.toLowerCase());
  if (domains.length === 0) {
    fail('allowedEmailDomains is required: the email domains that may receive credentials (--param "allowedEmailDomains=example.com")');
  }
  const bad = domains.filter((domain) => !DOMAIN.test(domain));
  if (bad.length > 0) fail(`allowedEmailDomains: not domain names: ${bad.join(', ')}`);
  return domains;
}

async function publisherList({ resolveVariable }) {
  const publishers = await list(resolveVariable, 'hrPublisherArns');
  const bad = publishers.filter((arn) => !PRINCIPAL_ARN.test(arn));
  if (bad.length > 0) fail(`hrPublisherArns: not IAM principal ARNs: ${bad.join(', ')}`);
  return publishers;
}

/** The users under the managed path, as an IAM ARN pattern. */
async function managedUsers({ resolveVariable }) {
  const managedPath = await resolveVariable('param:managedPath');
  return { 'Fn::Sub': `arn:\${AWS::Partition}:iam::\${AWS::AccountId}:user${managedPath}*` };
}

/** A group in IAM ARNs: at any path (`group/x`, `group/a/b/x`), its name exact. */
const groupArns = (group) => [
  { 'Fn::Sub': `arn:\${AWS::Partition}:iam::\${AWS::AccountId}:group/${group}` },
  { 'Fn::Sub': `arn:\${AWS::Partition}:iam::\${AWS::AccountId}:group/*/${group}` },
];

/** The permissions boundary every user gets: '' (none), the stack's own, or a policy ARN. */
async function boundary({ resolveVariable }) {
  const setting = String((await resolveVariable('param:userPermissionsBoundary')) ?? '').trim();
  if (setting === '' || setting === 'none') return { kind: 'none' };
  if (setting === 'stack') return { kind: 'stack' };
  if (/^arn:aws[a-z-]*:iam::(\d{12}|aws):policy\/\S+$/.test(setting)) return { kind: 'arn', arn: setting };
  return fail(`userPermissionsBoundary must be "none", "stack" or an IAM policy ARN, not ${JSON.stringify(setting)}`);
}

/** A group-membership action (authorized on the group and on the user) on the allowed groups and the managed users; denied outright with no allowed group. */
async function membershipStatement(action, context) {
  const groups = await allowedGroupList(context);
  if (groups.length === 0) return { Effect: 'Deny', Action: [action], Resource: '*' };
  return { Effect: 'Allow', Action: [action], Resource: [...groups.flatMap(groupArns), await managedUsers(context)] };
}

module.exports = {
  /** ALLOWED_GROUPS for the Lambdas: JSON array. */
  allowedGroups: async (context) => JSON.stringify(await allowedGroupList(context)),

  /** ALLOWED_EMAIL_DOMAINS for the Lambdas: comma-separated, lower case. */
  allowedEmailDomains: async (context) => (await emailDomainList(context)).join(','),

  /**
   * createUser's AddUserToGroup statement: exactly the allowed groups (at any group path) and
   * the managed users. With no allowed group, AddUserToGroup is denied outright.
   */
  addUserToGroupStatement: (context) => membershipStatement('iam:AddUserToGroup', context),

  /**
   * The mover's RemoveUserFromGroup statement: like AddUserToGroup, exactly the allowed groups
   * and the managed users, so no code path can take a user out of a group the stage never assigns.
   */
  removeUserFromGroupStatement: (context) => membershipStatement('iam:RemoveUserFromGroup', context),

  /** `ses:Recipients` for the credentials mail: every recipient at an allowed domain. */
  credentialRecipients: async (context) => (await emailDomainList(context)).map((domain) => `*@${domain}`),

  /** The publishers allowed on the stack's HR bus (required when the stack creates the bus). */
  hrPublishers: async (context) => {
    const publishers = await publisherList(context);
    const createBus = String(await context.resolveVariable('param:createHrBus')) === 'true';
    if (createBus && publishers.length === 0) {
      fail('hrPublisherArns is required: the IAM principals (role ARNs) that may publish hires on the HR bus');
    }
    return publishers.length > 0 ? publishers : ['arn:aws:iam::000000000000:root'];
  },

  /** PERMISSIONS_BOUNDARY_ARN for the Lambdas: '' or the boundary's ARN. */
  permissionsBoundaryArn: async (context) => {
    const setting = await boundary(context);
    if (setting.kind === 'stack') return { Ref: 'UserPermissionsBoundary' };
    return setting.kind === 'arn' ? setting.arn : '';
  },

  /** 'true' when the stack creates the users' permissions boundary (a CloudFormation condition). */
  stackBoundary: async (context) => String((await boundary(context)).kind === 'stack'),

  /**
   * createUser's CreateUser (and the PutUserPermissionsBoundary that CreateUser with a boundary
   * also needs): under the managed path, and with a boundary configured only with exactly it.
   */
  createUserStatement: async (context) => {
    const setting = await boundary(context);
    const resource = await managedUsers(context);
    if (setting.kind === 'none') return { Effect: 'Allow', Action: ['iam:CreateUser'], Resource: resource };
    return {
      Effect: 'Allow',
      Action: ['iam:CreateUser', 'iam:PutUserPermissionsBoundary'],
      Resource: resource,
      Condition: { StringEquals: { 'iam:PermissionsBoundary': setting.kind === 'stack' ? { Ref: 'UserPermissionsBoundary' } : setting.arn } },
    };
  },
};
