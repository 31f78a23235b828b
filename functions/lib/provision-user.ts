import {
  AddUserToGroupCommand,
  AttachUserPolicyCommand,
  CreateUserCommand,
  EntityAlreadyExistsException,
  GetGroupCommand,
  NoSuchEntityException,
  type IAMClient,
  type User,
} from '@aws-sdk/client-iam';
import { GroupNotFound, UserNameConflict } from './errors.ts';
import type { Hire } from './hire.ts';
import { assertGroupsAllowed, type TrustPolicy } from './trust-policy.ts';
import { exactTagValue, toTagValue } from './iam-names.ts';
import { findUser, isManagedFor, tagValue, TAG, type Ownership } from './managed-user.ts';
import { cachedPasswordRules, type PasswordRules } from './password.ts';

export interface ProvisionSettings extends Ownership {
  /** The groups the stage allows: checked again here, before any IAM call. */
  trust: TrustPolicy;
  permissionsBoundaryArn?: string;
  /** The running execution, recorded on a user it creates. */
  executionId?: string;
}

/**
 * How long the execution that created a user keeps the sole right to give it a password. An
 * onboarding takes seconds, or minutes while IAM settles (the login-profile retries give up
 * after about 7); past this, a stuck or lost execution no longer blocks a repeated event.
 */
export const CREATOR_CLAIM_MS = 15 * 60_000;

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
  /** This execution created the user (in this attempt or an earlier one whose answer was lost). */
  createdByThisExecution: boolean;
  /**
   * Another execution created the user moments ago and is still onboarding it: this one must
   * not touch the login profile (two executions racing for it would send two passwords).
   */
  busyElsewhere: boolean;
  /** The account password policy as read here, for the login-profile step (not read again there). */
  passwordRules: PasswordRules;
}

async function assertGroupsExist(iam: IAMClient, groups: string[]): Promise<void> {
  for (const group of groups) {
    try {
      await iam.send(new GetGroupCommand({ GroupName: group, MaxItems: 1 }));
    } catch (error) {
      if (error instanceof NoSuchEntityException) throw new GroupNotFound(`Group "${group}" does not exist`);
      throw error;
    }
  }
}

function conflict(userName: string, existing?: User): UserNameConflict {
  // IAM names are unique ignoring case: say so when the user in the way is spelt differently.
  const spelt = existing?.UserName && existing.UserName !== userName ? ` (as "${existing.UserName}")` : '';
  return new UserNameConflict(
    `User "${userName}" already exists${spelt} and is not managed by this workflow for this employee; it was left unchanged`,
  );
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

  let user: User | undefined;
  let created = false;
  try {
    const result = await iam.send(
      new CreateUserCommand({
        UserName: hire.userName,
        Path: settings.managedPath,
        PermissionsBoundary: settings.permissionsBoundaryArn,
        Tags: [
          { Key: TAG.managedBy, Value: settings.managedBy },
          { Key: TAG.employeeId, Value: hire.employeeId },
          { Key: TAG.status, Value: 'in-progress' },
          { Key: TAG.updatedAt, Value: now.toISOString() },
          ...(settings.executionId ? [{ Key: TAG.createdBy, Value: toTagValue(settings.executionId) }] : []),
          // Names are for greetings only, so a lossy tag value is fine; an address that
          // would not survive as a tag value is left out rather than stored wrong.
          { Key: TAG.firstName, Value: toTagValue(hire.firstName) },
          { Key: TAG.lastName, Value: toTagValue(hire.lastName) },
          ...(exactTagValue(hire.email) ? [{ Key: TAG.email, Value: hire.email }] : []),
          ...(hire.managerEmail && exactTagValue(hire.managerEmail) ? [{ Key: TAG.managerEmail, Value: hire.managerEmail }] : []),
        ],
      }),
    );
    user = result.User;
    created = true;
  } catch (error) {
    if (!(error instanceof EntityAlreadyExistsException)) throw error;
    // A repeated event, a retry whose first answer was lost, or a name that is someone else's
    // (IAM names are unique ignoring case, and GetUser finds any spelling): adopt the user only
    // if it is ours for this employee.
    user = await findUser(iam, hire.userName);
    if (!user || !isManagedFor(user, settings, hire.employeeId)) throw conflict(hire.userName, user);
  }

  // IAM finds a user whatever the case of the name asked for (Dana.Scully is dana.scully).
  const userName = user?.UserName ?? hire.userName;
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
        PolicyArn: `arn:${partitionOf(user?.Arn)}:iam::aws:policy/IAMUserChangePassword`,
      }),
    );
  }

  const createdBy = tagValue(user?.Tags, TAG.createdBy);
  const createdByThisExecution =
    created || (settings.executionId !== undefined && createdBy === toTagValue(settings.executionId));
  const updatedAt = Date.parse(tagValue(user?.Tags, TAG.updatedAt) ?? '');
  const busyElsewhere =
    !createdByThisExecution &&
    createdBy !== undefined &&
    tagValue(user?.Tags, TAG.status) === 'in-progress' &&
    now.getTime() - updatedAt < CREATOR_CLAIM_MS;

  return {
    userName,
    arn: user?.Arn ?? '',
    path: user?.Path ?? settings.managedPath,
    groups: hire.groups,
    created,
    createdByThisExecution,
    busyElsewhere,
    passwordRules: rules,
  };
}
