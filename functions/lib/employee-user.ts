import type { IAMClient, User } from '@aws-sdk/client-iam';
import { findUser, isManagedFor, tagValue, TAG, type Ownership } from './managed-user.ts';
import { managedUsersWithTags } from './offboarding-guard.ts';

/**
 * The managed user of one employee, as an HR event names it: what a mover acts on.
 * `NOT_MANAGED` is a user that exists but is not this workflow's for this employee, which
 * nothing may touch.
 */
export type EmployeeUser =
  | { status: 'FOUND'; user: User & { UserName: string } }
  | { status: 'NOT_FOUND' }
  | { status: 'NOT_MANAGED'; userName: string };

/**
 * With the user name, one GetUser. Without it, the employee id is only in a tag, and IAM cannot
 * search tags: the managed users with their tags are read in pages of 1,000
 * (GetAccountAuthorizationDetails, as the leaver flow does: at most 5 calls at IAM's quota of
 * 5,000 users), and the one tagged with the employee id is taken. A user that is not ours is
 * never among them, so without a user name it is simply not found.
 */
export async function findEmployeeUser(
  iam: IAMClient,
  who: { employeeId: string; userName?: string },
  ownership: Ownership,
): Promise<EmployeeUser> {
  if (who.userName !== undefined) {
    const user = await findUser(iam, who.userName);
    if (!user?.UserName) return { status: 'NOT_FOUND' };
    if (!isManagedFor(user, ownership, who.employeeId)) return { status: 'NOT_MANAGED', userName: user.UserName };
    return { status: 'FOUND', user: { ...user, UserName: user.UserName } };
  }
  const user = (await managedUsersWithTags(iam, ownership)).find((u) => tagValue(u.Tags, TAG.employeeId) === who.employeeId);
  return user?.UserName ? { status: 'FOUND', user: { ...user, UserName: user.UserName } } : { status: 'NOT_FOUND' };
}
