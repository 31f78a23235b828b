import {
  AddUserToGroupCommand,
  NoSuchEntityException,
  RemoveUserFromGroupCommand,
  type IAMClient,
  type Tag,
} from '@aws-sdk/client-iam';
import { assignedGroupsTags, recordedGroups, writeAssignedGroups } from './assigned-groups.ts';
import type { EmployeeChange } from './employee-change.ts';
import { findEmployeeUser } from './employee-user.ts';
import { assertGroupsExist, groupNamesOf } from './groups.ts';
import { findUser, tagValue, TAG, type Ownership } from './managed-user.ts';
import { assertGroupsAllowed, type TrustPolicy } from './trust-policy.ts';

export interface MoveSettings extends Ownership {
  /** The groups the stage allows: checked again here, before any IAM call. */
  trust: Pick<TrustPolicy, 'allowedGroups'>;
}

/** What a move changes, from what the user is in, what the workflow recorded and what it should assign now. */
export interface GroupPlan {
  add: string[];
  remove: string[];
  /** Recorded groups that no longer apply but that the stage no longer allows either: left, and kept on the record. */
  keep: string[];
  /** The record once the move is done: only groups this workflow put the user in. */
  record: string[];
}

export type MoveOutcome =
  | { status: 'MOVED' | 'UNCHANGED'; employeeId: string; userName: string; groups: string[]; added: string[]; removed: string[]; kept: string[] }
  /** No user of this employee: nothing was changed. */
  | { status: 'NOT_FOUND'; employeeId: string }
  /** The user exists but is not this workflow's for this employee: nothing was changed. */
  | { status: 'NOT_MANAGED'; employeeId: string; userName: string }
  /** The employee has left: a move gives an offboarded user no groups. */
  | { status: 'OFFBOARDED'; employeeId: string; userName: string };

const OFFBOARDED = 'offboarded';

/**
 * The group diff of a move. Adds what the user should have and is not in; removes only the
 * groups this workflow recorded that no longer apply, and only while the stage allows them (so
 * IAM lets the role remove them); never touches a group it did not record: someone else put
 * the user there. A target group the user was already in, unrecorded, stays someone else's.
 */
export function planGroups(current: readonly string[], recorded: readonly string[], target: readonly string[], allowed: readonly string[]): GroupPlan {
  const isIn = new Set(current);
  const wanted = new Set(target);
  const stale = recorded.filter((g) => !wanted.has(g) && isIn.has(g));
  const add = target.filter((g) => !isIn.has(g));
  const ours = new Set([...recorded, ...add]);
  const keep = stale.filter((g) => !allowed.includes(g));
  return {
    add,
    remove: stale.filter((g) => allowed.includes(g)),
    keep,
    record: [...target.filter((g) => ours.has(g)), ...keep],
  };
}

/** RemoveUserFromGroup; a user already out of the group (a duplicate move got there first) is what was wanted. */
async function removeFromGroup(iam: IAMClient, userName: string, group: string): Promise<void> {
  try {
    await iam.send(new RemoveUserFromGroupCommand({ GroupName: group, UserName: userName }));
  } catch (error) {
    if (!(error instanceof NoSuchEntityException)) throw error;
  }
}

const sameList = (a: readonly string[], b: readonly string[]) => a.length === b.length && a.every((g, i) => g === b[i]);

/**
 * Moves an employee's managed user to the groups of its change. Nothing is written before the
 * groups are allowed and exist, and nothing at all to a user that is not ours, offboarded, or
 * already where the change puts it (a repeated event changes nothing).
 *
 * The record is widened to the groups about to be added before they are added, so a step that
 * dies halfway still knows them as its own when it runs again; it is narrowed after removals.
 * The tags are read again after the groups: a duplicate move running at the same time widens the
 * record before it adds a group, so a group seen here is seen in the record too, and is not
 * mistaken for someone else's.
 */
export async function moveUser(iam: IAMClient, change: EmployeeChange, settings: MoveSettings): Promise<MoveOutcome> {
  assertGroupsAllowed(change.groups, settings.trust);
  const { employeeId } = change;
  const found = await findEmployeeUser(iam, change, settings);
  if (found.status === 'NOT_FOUND') return { status: 'NOT_FOUND', employeeId };
  if (found.status === 'NOT_MANAGED') return { status: 'NOT_MANAGED', employeeId, userName: found.userName };
  const { UserName: userName } = found.user;
  if (tagValue(found.user.Tags, TAG.status) === OFFBOARDED) return { status: 'OFFBOARDED', employeeId, userName };

  const current = await groupNamesOf(iam, userName);
  const tags = (await findUser(iam, userName))?.Tags;
  const recorded = recordedGroups(tags);
  const plan = planGroups(current, recorded, change.groups, settings.trust.allowedGroups);
  await assertGroupsExist(iam, plan.add);

  const widened = [...new Set([...recorded, ...plan.add])];
  let written: readonly Tag[] | undefined = tags;
  if (!sameList(widened, recorded)) {
    await writeAssignedGroups(iam, userName, widened, written);
    written = assignedGroupsTags(widened);
  }
  for (const group of plan.add) await iam.send(new AddUserToGroupCommand({ GroupName: group, UserName: userName }));
  for (const group of plan.remove) await removeFromGroup(iam, userName, group);
  if (!sameList(plan.record, recordedGroups(written))) await writeAssignedGroups(iam, userName, plan.record, written);

  const changed = plan.add.length > 0 || plan.remove.length > 0;
  return {
    status: changed ? 'MOVED' : 'UNCHANGED',
    employeeId,
    userName,
    groups: change.groups,
    added: plan.add,
    removed: plan.remove,
    kept: plan.keep,
  };
}
