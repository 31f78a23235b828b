import { ListUserTagsCommand, paginateListUsers, type IAMClient, type User } from '@aws-sdk/client-iam';
import { findUser, isManagedFor, tagValue, TAG, type Ownership } from './managed-user.ts';

/**
 * The managed user of one employee, as an HR event names it: what a mover (and a leaver)
 * acts on. `NOT_MANAGED` is a user that exists but is not this workflow's for this employee,
 * which nothing may touch.
 */
export type EmployeeUser =
  | { status: 'FOUND'; user: User & { UserName: string } }
  | { status: 'NOT_FOUND' }
  | { status: 'NOT_MANAGED'; userName: string };

/**
 * With the user name, one GetUser. Without it, the employee id is only in a tag, and IAM cannot
 * search tags: ListUsers over the managed path (1,000 a page) and ListUserTags each, one at a
 * time, stopping at the first user of ours tagged with the employee id. That is one call per
 * managed user at worst, so an HR system that knows the user name should send it.
 */
export async function findEmployeeUser(
  iam: IAMClient,
  who: { employeeId: string; userName?: string },
  ownership: Ownership,
): Promise<EmployeeUser> {
  if (who.userName !== undefined) return byName(iam, who.userName, who.employeeId, ownership);

  let taggedElsewhere: string | undefined;
  for await (const page of paginateListUsers({ client: iam, pageSize: 1000 }, { PathPrefix: ownership.managedPath })) {
    for (const { UserName: userName } of page.Users ?? []) {
      if (!userName) continue;
      const { Tags = [] } = await iam.send(new ListUserTagsCommand({ UserName: userName }));
      if (tagValue(Tags, TAG.employeeId) !== who.employeeId) continue;
      if (tagValue(Tags, TAG.managedBy) === ownership.managedBy) return byName(iam, userName, who.employeeId, ownership);
      taggedElsewhere ??= userName;
    }
  }
  return taggedElsewhere === undefined ? { status: 'NOT_FOUND' } : { status: 'NOT_MANAGED', userName: taggedElsewhere };
}

async function byName(iam: IAMClient, userName: string, employeeId: string, ownership: Ownership): Promise<EmployeeUser> {
  const user = await findUser(iam, userName);
  if (!user?.UserName) return { status: 'NOT_FOUND' };
  if (!isManagedFor(user, ownership, employeeId)) return { status: 'NOT_MANAGED', userName: user.UserName };
  return { status: 'FOUND', user: { ...user, UserName: user.UserName } };
}
