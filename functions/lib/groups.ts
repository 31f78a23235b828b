import { GetGroupCommand, NoSuchEntityException, paginateListGroupsForUser, type IAMClient } from '@aws-sdk/client-iam';
import { GroupNotFound } from './errors.ts';

/** IAM groups as the workflow reads them: that those it is about to assign exist, and a user's. */

/** Throws {@link GroupNotFound} for the first of `groups` that does not exist; reads one GetGroup each. */
export async function assertGroupsExist(iam: IAMClient, groups: readonly string[]): Promise<void> {
  for (const group of groups) {
    try {
      await iam.send(new GetGroupCommand({ GroupName: group, MaxItems: 1 }));
    } catch (error) {
      if (error instanceof NoSuchEntityException) throw new GroupNotFound(`Group "${group}" does not exist`);
      throw error;
    }
  }
}

/** The names of the groups the user is in (every page of ListGroupsForUser). */
export async function groupNamesOf(iam: IAMClient, userName: string): Promise<string[]> {
  const names: string[] = [];
  for await (const page of paginateListGroupsForUser({ client: iam }, { UserName: userName })) {
    names.push(...(page.Groups ?? []).flatMap((g) => (g.GroupName ? [g.GroupName] : [])));
  }
  return names;
}
