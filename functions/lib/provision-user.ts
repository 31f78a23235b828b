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
import { exactTagValue, findUser, isManagedFor, toTagValue, TAG, type Ownership } from './managed-user.ts';
import { passwordRules } from './password.ts';

export interface ProvisionSettings extends Ownership {
  permissionsBoundaryArn?: string;
}

export interface ProvisionedUser {
  userName: string;
  arn: string;
  path: string;
  groups: string[];
  /** False when the user already existed (a repeated event or a re-run). */
  created: boolean;
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

function conflict(userName: string): UserNameConflict {
  return new UserNameConflict(
    `User "${userName}" already exists and is not managed by this workflow for this employee; it was left unchanged`,
  );
}

function partitionOf(arn: string | undefined): string {
  return arn?.split(':')[1] ?? 'aws';
}

/**
 * Creates the hire's IAM user (or adopts the one this workflow already created for the same
 * employee), adds it to its groups and lets it change its own password.
 *
 * Nothing is written before every check has passed: missing groups and foreign users fail
 * first, so a rejected onboarding leaves IAM as it was.
 */
export async function provisionUser(
  iam: IAMClient,
  hire: Hire,
  settings: ProvisionSettings,
  now: Date = new Date(),
): Promise<ProvisionedUser> {
  await assertGroupsExist(iam, hire.groups);

  let user: User | undefined = await findUser(iam, hire.userName);
  let created = false;
  if (user && !isManagedFor(user, settings, hire.employeeId)) throw conflict(hire.userName);

  if (!user) {
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
            // Names are for greetings only, so a lossy tag value is fine; an address that
            // would not survive as a tag value is left out rather than stored wrong.
            { Key: TAG.firstName, Value: toTagValue(hire.firstName) },
            { Key: TAG.lastName, Value: toTagValue(hire.lastName) },
            ...(exactTagValue(hire.email) ? [{ Key: TAG.email, Value: hire.email }] : []),
          ],
        }),
      );
      user = result.User;
      created = true;
    } catch (error) {
      if (!(error instanceof EntityAlreadyExistsException)) throw error;
      // Another delivery of the same event won the race: adopt the user if it is ours.
      user = await findUser(iam, hire.userName);
      if (!user || !isManagedFor(user, settings, hire.employeeId)) throw conflict(hire.userName);
    }
  }

  for (const group of hire.groups) {
    await iam.send(new AddUserToGroupCommand({ GroupName: group, UserName: hire.userName }));
  }

  // "Password reset required" only works if the user may change its own password.
  const rules = await passwordRules(iam);
  if (!rules.allowUsersToChangePassword) {
    await iam.send(
      new AttachUserPolicyCommand({
        UserName: hire.userName,
        PolicyArn: `arn:${partitionOf(user?.Arn)}:iam::aws:policy/IAMUserChangePassword`,
      }),
    );
  }

  return {
    userName: hire.userName,
    arn: user?.Arn ?? '',
    path: user?.Path ?? settings.managedPath,
    groups: hire.groups,
    created,
  };
}
