import { paginateListGroupsForUser, type IAMClient, type User } from '@aws-sdk/client-iam';
import { HireNotRebuildable, InvalidHrEvent } from './errors.ts';
import { parseHire, type Hire } from './hire.ts';
import { tagValue, TAG } from './managed-user.ts';

const REQUIRED_TAGS = [
  ['employeeId', TAG.employeeId],
  ['firstName', TAG.firstName],
  ['lastName', TAG.lastName],
  ['email', TAG.email],
] as const;

/**
 * The hire a managed user was created for, rebuilt from what CreateUser recorded on it (tags)
 * and the groups it is in now: enough to run its onboarding again or re-send its credentials
 * without the original HR event. The result passes the same validation as an HR event.
 *
 * Throws {@link HireNotRebuildable} naming the missing or invalid tags; never echoes tag values.
 */
export async function hireFromUser(iam: IAMClient, user: User): Promise<Hire> {
  const userName = user.UserName ?? '';
  const missing = REQUIRED_TAGS.filter(([, key]) => !tagValue(user.Tags, key)).map(([, key]) => key);
  if (missing.length > 0) {
    throw new HireNotRebuildable(`User "${userName}" cannot be re-onboarded from its tags: missing ${missing.join(', ')}`);
  }

  const groups: string[] = [];
  for await (const page of paginateListGroupsForUser({ client: iam }, { UserName: userName })) {
    groups.push(...(page.Groups ?? []).map((g) => g.GroupName ?? '').filter((name) => name !== ''));
  }

  const input = {
    ...Object.fromEntries(REQUIRED_TAGS.map(([field, key]) => [field, tagValue(user.Tags, key)])),
    userName,
    groups,
  };
  try {
    return parseHire(input, {});
  } catch (error) {
    if (!(error instanceof InvalidHrEvent)) throw error;
    // Name the tag rather than the HR event field it stands for.
    const tagOf = new Map<string, string>(REQUIRED_TAGS);
    const problems = error.message
      .replace(/^Invalid HR event: /, '')
      .split('; ')
      .map((problem) => problem.replace(/^([^:.]+)(?=[:.])/, (field) => tagOf.get(field) ?? field))
      .join('; ');
    throw new HireNotRebuildable(`User "${userName}" cannot be re-onboarded from its tags: ${problems}`);
  }
}
