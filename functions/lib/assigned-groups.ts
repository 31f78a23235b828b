import { TagUserCommand, UntagUserCommand, type IAMClient, type Tag } from '@aws-sdk/client-iam';

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
 * `onboarding:groups` with an empty value. Pass {@link staleAssignedGroupsKeys} of the result to
 * UntagUser so a shorter record leaves no old continuation behind.
 */
export function assignedGroupsTags(groups: readonly string[]): Tag[] {
  assertRecordable(groups);
  return packed(groups).map((Value, i) => ({ Key: ASSIGNED_GROUPS_KEYS[i], Value }));
}

/** The record's keys that `tags` (from {@link assignedGroupsTags}) do not use: remove them with UntagUser. */
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
 * Rewrites the record on a user: TagUser with the new record, then UntagUser of the
 * continuations it no longer uses (only those the user has, so an unchanged record is one call).
 */
export async function writeAssignedGroups(
  iam: IAMClient,
  userName: string,
  groups: readonly string[],
  currentTags: readonly Tag[] | undefined,
): Promise<void> {
  const tags = assignedGroupsTags(groups);
  await iam.send(new TagUserCommand({ UserName: userName, Tags: tags }));
  const present = new Set((currentTags ?? []).map((t) => t.Key));
  const stale = staleAssignedGroupsKeys(tags).filter((key) => present.has(key));
  if (stale.length > 0) await iam.send(new UntagUserCommand({ UserName: userName, TagKeys: stale }));
}
