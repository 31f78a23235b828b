import { TagUserCommand, type IAMClient, type Tag } from '@aws-sdk/client-iam';

/**
 * The record of the groups this workflow assigned to a user, kept in the user's tags so a mover
 * or a leaver removes only those and never a group someone else added.
 *
 * Group names are space-separated in `onboarding:groups`, continued in `onboarding:groups-2`,
 * `-3`, ... when one value (at most 256 characters) is not enough; a name is never split. Tag
 * values cannot hold a comma and group names cannot hold a colon, so `,` is stored as `:`.
 * A user is in at most 10 groups, so at most 10 keys are ever needed.
 */
export const ASSIGNED_GROUPS_KEY = 'onboarding:groups';
const MAX_TAG_VALUE_LENGTH = 256;
const MAX_GROUPS_PER_USER = 10;

/** Every key the record may use, in order: `onboarding:groups`, `onboarding:groups-2`, ... */
export const ASSIGNED_GROUPS_KEYS: readonly string[] = Array.from({ length: MAX_GROUPS_PER_USER }, (_, i) =>
  i === 0 ? ASSIGNED_GROUPS_KEY : `${ASSIGNED_GROUPS_KEY}-${i + 1}`,
);

const toStored = (group: string): string => group.replaceAll(',', ':');
const fromStored = (stored: string): string => stored.replaceAll(':', ',');

/** Group names packed into tag values of at most 256 characters, whole names only. */
function packed(groups: readonly string[]): string[] {
  const values: string[] = [];
  let current = '';
  for (const name of groups.map(toStored)) {
    if (current === '') current = name;
    else if (current.length + 1 + name.length <= MAX_TAG_VALUE_LENGTH) current += ` ${name}`;
    else {
      values.push(current);
      current = name;
    }
  }
  return [...values, current];
}

function assertRecordable(groups: readonly string[]): void {
  const bad = groups.find((g) => g === '' || /[\s:]/.test(g) || g.length > MAX_TAG_VALUE_LENGTH);
  if (bad !== undefined) throw new RangeError(`Not an IAM group name: "${bad}"`);
  if (groups.length > MAX_GROUPS_PER_USER) throw new RangeError(`A user can be in at most ${MAX_GROUPS_PER_USER} groups`);
}

/**
 * The tags that record `groups` as the ones this workflow assigned. An empty record is
 * `onboarding:groups` with an empty value. A user that may hold a longer record must also lose
 * the continuations this one does not use ({@link staleAssignedGroupsKeys}: UntagUser them, or
 * write them empty as {@link writeAssignedGroups} does); a new user has none.
 */
export function assignedGroupsTags(groups: readonly string[]): Tag[] {
  assertRecordable(groups);
  return packed(groups).map((Value, i) => ({ Key: ASSIGNED_GROUPS_KEYS[i], Value }));
}

/** The record's keys that `tags` (from {@link assignedGroupsTags}) do not use: remove them, or write them empty. */
export function staleAssignedGroupsKeys(tags: readonly Tag[]): string[] {
  const used = new Set(tags.map((t) => t.Key));
  return ASSIGNED_GROUPS_KEYS.filter((key) => !used.has(key));
}

/** The groups recorded in a user's tags, in the order they were written; none when there is no record. */
export function recordedGroups(tags: readonly Tag[] | undefined): string[] {
  const values = new Map((tags ?? []).map((t) => [t.Key, t.Value ?? '']));
  return ASSIGNED_GROUPS_KEYS.flatMap((key) => (values.get(key) ?? '').split(' '))
    .filter((name) => name !== '')
    .map(fromStored);
}

/** True when the user's tags hold a record at all (an empty one counts). */
export function hasGroupsRecord(tags: readonly Tag[] | undefined): boolean {
  return (tags ?? []).some((t) => t.Key === ASSIGNED_GROUPS_KEY);
}

/**
 * Rewrites the record on a user in one TagUser: the new record, and an empty value for each
 * continuation the user has that the new record no longer uses (an empty continuation reads as
 * no groups), so the record is never seen half-written and no UntagUser is needed.
 */
export async function writeAssignedGroups(
  iam: IAMClient,
  userName: string,
  groups: readonly string[],
  currentTags: readonly Tag[] | undefined,
): Promise<void> {
  const tags = assignedGroupsTags(groups);
  const present = new Set((currentTags ?? []).filter((t) => t.Value !== '').map((t) => t.Key));
  const blanked = staleAssignedGroupsKeys(tags).filter((key) => present.has(key)).map((Key) => ({ Key, Value: '' }));
  await iam.send(new TagUserCommand({ UserName: userName, Tags: [...tags, ...blanked] }));
}
