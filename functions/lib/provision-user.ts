import {
  AddUserToGroupCommand,
  AttachUserPolicyCommand,
  CreateUserCommand,
  EntityAlreadyExistsException,
  TagUserCommand,
  type IAMClient,
  type Tag,
  type User,
} from '@aws-sdk/client-iam';
import { UserNameConflict } from './errors.ts';
import { assertGroupsExist } from './groups.ts';
import { userNameCandidates, type Hire } from './hire.ts';
import { claimFor } from './onboarding-claim.ts';
import { assertGroupsAllowed, type TrustPolicy } from './trust-policy.ts';
import { exactTagValue, toTagValue } from './iam-names.ts';
import { assignedGroupsTags, hasGroupsRecord, recordedGroups, writeAssignedGroups } from './assigned-groups.ts';
import { findUser, isManagedFor, tagValue, TAG, type Ownership } from './managed-user.ts';
import { cachedPasswordRules, type PasswordRules } from './password.ts';

export interface ProvisionSettings extends Ownership {
  /** The groups the stage allows: checked again here, before any IAM call. */
  trust: TrustPolicy;
  permissionsBoundaryArn?: string;
  /** The running execution, recorded on a user it creates. */
  executionId?: string;
}

export interface ProvisionedUser {
  /**
   * The user's name as IAM holds it. IAM names are unique ignoring case, so a user found under
   * the hire's name may spell it differently; every later step uses this spelling.
   */
  userName: string;
  arn: string;
  path: string;
  groups: string[];
  /** False when the user already existed (a repeated event or a re-run). */
  created: boolean;
  /**
   * This execution holds the claim to give the user its password (functions/lib/onboarding-claim.ts):
   * it created the user (in this attempt or one whose answer was lost), or took the claim over.
   */
  createdByThisExecution: boolean;
  /**
   * Another execution holds the claim: it is onboarding the user now, or waiting for the start
   * date. This one must not touch the login profile (two executions racing for it would send two
   * passwords).
   */
  busyElsewhere: boolean;
  /** The account password policy as read here, for the login-profile step (not read again there). */
  passwordRules: PasswordRules;
  /**
   * When this execution sets the password: a start date ahead (the state machine waits for it),
   * or null for now. Null, not absent: the state machine reads it.
   */
  waitUntil: string | null;
  /** The hire's first-choice name, when a user that is not theirs held it and another was taken. */
  requestedUserName?: string;
  /** The execution that waited for the start date HR has since moved: this one took its claim over. */
  supersedes?: string;
}

function conflict(candidates: string[], inTheWay: User | undefined): UserNameConflict {
  const [first] = candidates;
  if (candidates.length > 1) {
    return new UserNameConflict(
      `User names ${candidates.map((name) => `"${name}"`).join(', ')} are all taken by users this workflow does not manage for this employee; set userName`,
    );
  }
  // IAM names are unique ignoring case: say so when the user in the way is spelt differently.
  const spelt = inTheWay?.UserName && inTheWay.UserName !== first ? ` (as "${inTheWay.UserName}")` : '';
  return new UserNameConflict(
    `User "${first}" already exists${spelt} and is not managed by this workflow for this employee; it was left unchanged`,
  );
}

/** The tags a new user is created with: ours, whose, its onboarding's state and what a sweep needs. */
function creationTags(hire: Hire, settings: ProvisionSettings, requestedName: string | undefined, now: Date): Tag[] {
  return [
    { Key: TAG.managedBy, Value: settings.managedBy },
    { Key: TAG.employeeId, Value: hire.employeeId },
    { Key: TAG.status, Value: hire.credentialsAt === undefined ? 'in-progress' : 'waiting' },
    { Key: TAG.updatedAt, Value: now.toISOString() },
    ...(settings.executionId ? [{ Key: TAG.createdBy, Value: toTagValue(settings.executionId) }] : []),
    ...(hire.credentialsAt ? [{ Key: TAG.credentialsAt, Value: hire.credentialsAt }] : []),
    ...(hire.credentialsAt && hire.startDate ? [{ Key: TAG.startDate, Value: hire.startDate }] : []),
    ...(requestedName ? [{ Key: TAG.requestedName, Value: requestedName }] : []),
    // Names are for greetings only, so a lossy tag value is fine; an address that
    // would not survive as a tag value is left out rather than stored wrong.
    { Key: TAG.firstName, Value: toTagValue(hire.firstName) },
    { Key: TAG.lastName, Value: toTagValue(hire.lastName) },
    ...(exactTagValue(hire.email) ? [{ Key: TAG.email, Value: hire.email }] : []),
    ...(hire.managerEmail && exactTagValue(hire.managerEmail) ? [{ Key: TAG.managerEmail, Value: hire.managerEmail }] : []),
    ...assignedGroupsTags(hire.groups),
  ];
}

/**
 * The groups this workflow has assigned to an existing user once the hire's are added: the
 * recorded ones and the hire's, or, for a rehire (the leaver flow took the old ones away),
 * the hire's alone. Undefined when the record already says so.
 */
function groupsRecordAfter(user: User, hire: Hire): string[] | undefined {
  const recorded = recordedGroups(user.Tags);
  const record = tagValue(user.Tags, TAG.status) === 'offboarded' ? hire.groups : [...new Set([...recorded, ...hire.groups])];
  const unchanged = hasGroupsRecord(user.Tags) && record.length === recorded.length && record.every((group) => recorded.includes(group));
  return unchanged ? undefined : record;
}

/**
 * Creates the hire's user under the first of its candidate names that is free, or finds the
 * user this workflow created for the same employee under one of them. CreateUser itself says
 * that a name is taken (EntityAlreadyExists, which changes nothing); only then is the user read,
 * to adopt it if it is ours for this employee or to try the next name. A repeated event tries
 * the names in the same order, so it finds its own user, not a new name. IAM names are unique
 * ignoring case, and GetUser finds any spelling.
 */
async function createOrAdopt(
  iam: IAMClient,
  hire: Hire,
  settings: ProvisionSettings,
  now: Date,
): Promise<{ user: User; created: boolean; requestedName?: string }> {
  const candidates = userNameCandidates(hire);
  const [first] = candidates as [string];
  let inTheWay: User | undefined;
  for (const candidate of candidates) {
    const requestedName = candidate === first ? undefined : first;
    try {
      const { User: user } = await iam.send(
        new CreateUserCommand({
          UserName: candidate,
          Path: settings.managedPath,
          PermissionsBoundary: settings.permissionsBoundaryArn,
          Tags: creationTags(hire, settings, requestedName, now),
        }),
      );
      const created = user ?? { UserName: candidate, Path: settings.managedPath, Arn: '', UserId: '', CreateDate: now };
      return { user: created, created: true, ...(requestedName && { requestedName }) };
    } catch (error) {
      if (!(error instanceof EntityAlreadyExistsException)) throw error;
    }
    const existing = await findUser(iam, candidate);
    if (existing && isManagedFor(existing, settings, hire.employeeId)) {
      return { user: existing, created: false, ...(requestedName && { requestedName }) };
    }
    inTheWay ??= existing;
  }
  throw conflict(candidates, inTheWay);
}

function partitionOf(arn: string | undefined): string {
  return arn?.split(':')[1] ?? 'aws';
}

/**
 * Creates the hire's IAM user (or adopts the one this workflow already created for the same
 * employee), adds it to its groups and lets it change its own password.
 *
 * Nothing is written before the groups are checked. The user is not read first: CreateUser
 * says itself that the name is taken (EntityAlreadyExists, which changes nothing), and only
 * then is the user read, to adopt it if it is ours or to refuse it. So a rejected onboarding
 * leaves IAM as it was, and a new hire costs no read.
 */
export async function provisionUser(
  iam: IAMClient,
  hire: Hire,
  settings: ProvisionSettings,
  now: Date = new Date(),
): Promise<ProvisionedUser> {
  assertGroupsAllowed(hire.groups, settings.trust);
  await assertGroupsExist(iam, hire.groups);

  const { user, created, requestedName } = await createOrAdopt(iam, hire, settings, now);

  // IAM finds a user whatever the case of the name asked for (Dana.Scully is dana.scully).
  const userName = user.UserName ?? hire.userName;
  // The claim first: a rehired user is in progress again before it gets any access back, so
  // nothing (the sweep's deletion of leavers) takes it for a leaver meanwhile.
  const claim = claimFor(user, { created, credentialsAt: hire.credentialsAt, startDate: hire.startDate, executionId: settings.executionId, now });
  if (claim.tags) await iam.send(new TagUserCommand({ UserName: userName, Tags: claim.tags }));
  const record = created ? undefined : groupsRecordAfter(user, hire);
  if (record) await writeAssignedGroups(iam, userName, record, user.Tags);
  for (const group of hire.groups) {
    await iam.send(new AddUserToGroupCommand({ GroupName: group, UserName: userName }));
  }

  // "Password reset required" only works if the user may change its own password. A warm
  // Lambda remembers the account policy for a few minutes (a retry does not read it again).
  const rules = await cachedPasswordRules(iam);
  if (!rules.allowUsersToChangePassword) {
    await iam.send(
      new AttachUserPolicyCommand({
        UserName: userName,
        PolicyArn: `arn:${partitionOf(user.Arn)}:iam::aws:policy/IAMUserChangePassword`,
      }),
    );
  }


  return {
    userName,
    arn: user.Arn ?? '',
    path: user.Path ?? settings.managedPath,
    groups: hire.groups,
    created,
    createdByThisExecution: claim.mine,
    busyElsewhere: claim.busyElsewhere,
    passwordRules: rules,
    waitUntil: claim.waitUntil ?? null,
    ...(requestedName && { requestedUserName: requestedName }),
    ...(claim.supersedes && { supersedes: claim.supersedes }),
  };
}
