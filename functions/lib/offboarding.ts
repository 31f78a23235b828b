import {
  DeactivateMFADeviceCommand,
  DeleteLoginProfileCommand,
  NoSuchEntityException,
  paginateListAccessKeys,
  paginateListMFADevices,
  RemoveUserFromGroupCommand,
  TagUserCommand,
  UpdateAccessKeyCommand,
  type IAMClient,
  type User,
} from '@aws-sdk/client-iam';
import type { SSMClient } from '@aws-sdk/client-ssm';
import { hasGroupsRecord, recordedGroups } from './assigned-groups.ts';
import { groupNamesOf } from './groups.ts';
import { checkGuard, heldError, managedUsersWithTags, type GuardVerdict } from './offboarding-guard.ts';
import type { GuardSettings } from './offboarding-settings.ts';
import { findUser, isManagedFor, loginProfileOf, tagStatus, tagValue, TAG, type Ownership } from './managed-user.ts';
import type { Termination } from './termination.ts';

/**
 * The leaver flow's work on IAM: find the managed user created for the employee, and take its
 * access away while keeping the user (for audit, and a rehire): the console password goes, access
 * keys and MFA devices are deactivated, the groups this workflow assigned are left. The user is
 * tagged `offboarded`; the sweep deletes it once the retention period has passed
 * (offboarding-deletion.ts). Nothing here ever writes to a user that is not ours for the employee.
 */

export type LeaverStatus = 'FOUND' | 'NOT_FOUND' | 'NOT_MANAGED' | 'ALREADY_OFFBOARDED';

export interface Leaver {
  status: LeaverStatus;
  employeeId: string;
  userName?: string;
}

/** Offboarded, and every removal done (the offboarded-at tag is written last). */
export function isOffboarded(user: User): boolean {
  return tagValue(user.Tags, TAG.status) === 'offboarded' && tagValue(user.Tags, TAG.offboardedAt) !== undefined;
}

function lookup(user: User | undefined, employeeId: string, ownership: Ownership, userName?: string): Leaver {
  if (!user) return { status: 'NOT_FOUND', employeeId, ...(userName && { userName }) };
  const name = user.UserName ?? userName ?? '';
  if (!isManagedFor(user, ownership, employeeId)) return { status: 'NOT_MANAGED', employeeId, userName: name };
  return { status: isOffboarded(user) ? 'ALREADY_OFFBOARDED' : 'FOUND', employeeId, userName: name };
}

/**
 * The user to offboard. With a user name: that user, if it is ours for this employee. Without:
 * the managed user tagged with the employee id, found in one paginated read of every user's tags
 * (offboarding-guard.ts: at most 5 calls at IAM's quota of 5,000 users) rather than a GetUser per
 * user. Of several (never made by this workflow, but tags can be edited) one not yet offboarded
 * is taken; a second termination finds the next.
 */
export async function findLeaver(iam: IAMClient, termination: Pick<Termination, 'employeeId' | 'userName'>, ownership: Ownership): Promise<Leaver> {
  const { employeeId, userName } = termination;
  if (userName !== undefined) return lookup(await findUser(iam, userName), employeeId, ownership, userName);
  const mine = (await managedUsersWithTags(iam, ownership)).filter((u) => tagValue(u.Tags, TAG.employeeId) === employeeId);
  return lookup(mine.find((u) => !isOffboarded(u)) ?? mine[0], employeeId, ownership);
}

// --- what is removed ----------------------------------------------------------------------

export interface RemovalPlan {
  loginProfile: boolean;
  /** Ids of the active access keys, to deactivate. */
  accessKeys: string[];
  /** The groups this workflow assigned that the user is still in. */
  groups: string[];
  /** Serial numbers of the MFA devices, to deactivate. */
  mfaDevices: string[];
}

async function collect<T>(pages: AsyncIterable<T>): Promise<T[]> {
  const all: T[] = [];
  for await (const page of pages) all.push(page);
  return all;
}

/**
 * The groups to leave: those the user's record says this workflow assigned (assigned-groups.ts),
 * or with no record (a user onboarded before the record existed) the groups the stage may assign
 * at all. Never a group outside `allowedGroups`: IAM lets the role remove no other.
 */
function groupsToLeave(user: User, current: string[], allowedGroups: readonly string[]): string[] {
  const assigned = hasGroupsRecord(user.Tags) ? recordedGroups(user.Tags) : allowedGroups;
  return current.filter((group) => assigned.includes(group) && allowedGroups.includes(group));
}

/** What offboarding `user` would remove, from reads only. */
export async function planRemoval(iam: IAMClient, user: User, allowedGroups: readonly string[]): Promise<RemovalPlan> {
  const UserName = user.UserName ?? '';
  const [profile, keyPages, current, mfaPages] = await Promise.all([
    loginProfileOf(iam, UserName),
    collect(paginateListAccessKeys({ client: iam }, { UserName })),
    groupNamesOf(iam, UserName),
    collect(paginateListMFADevices({ client: iam }, { UserName })),
  ]);
  return {
    loginProfile: profile !== undefined,
    accessKeys: keyPages.flatMap((p) => p.AccessKeyMetadata ?? []).filter((k) => k.Status === 'Active').map((k) => k.AccessKeyId ?? ''),
    groups: groupsToLeave(user, current, allowedGroups),
    mfaDevices: mfaPages.flatMap((p) => p.MFADevices ?? []).map((d) => d.SerialNumber ?? ''),
  };
}

/**
 * Runs `call`; an entity already gone is the same outcome: an earlier attempt of this step got
 * that far, or the SDK's own retry of a call whose answer was lost.
 */
export async function unlessGone(call: () => Promise<unknown>): Promise<void> {
  try {
    await call();
  } catch (error) {
    if (!(error instanceof NoSuchEntityException)) throw error;
  }
}

async function applyRemoval(iam: IAMClient, UserName: string, plan: RemovalPlan): Promise<void> {
  if (plan.loginProfile) await unlessGone(() => iam.send(new DeleteLoginProfileCommand({ UserName })));
  for (const AccessKeyId of plan.accessKeys) await unlessGone(() => iam.send(new UpdateAccessKeyCommand({ UserName, AccessKeyId, Status: 'Inactive' })));
  for (const GroupName of plan.groups) await unlessGone(() => iam.send(new RemoveUserFromGroupCommand({ UserName, GroupName })));
  for (const SerialNumber of plan.mfaDevices) await unlessGone(() => iam.send(new DeactivateMFADeviceCommand({ UserName, SerialNumber })));
}

// --- the offboarding ----------------------------------------------------------------------

export interface OffboardRequest {
  employeeId: string;
  userName: string;
  executionId: string;
  /** Read and report; write nothing. */
  dryRun?: boolean;
}

export interface OffboardSettings {
  ownership: Ownership;
  guard: GuardSettings;
  confirmationParameter: string;
  allowedGroups: readonly string[];
}

export type OffboardResult =
  | { status: 'OFFBOARDED'; employeeId: string; userName: string; offboardedAt: string; removed: RemovalPlan; resumed: boolean }
  | { status: 'PLANNED'; employeeId: string; userName: string; wouldRemove: RemovalPlan; guard: Pick<GuardVerdict, 'holds' | 'wouldBe' | 'allowance'> }
  | { status: Exclude<LeaverStatus, 'FOUND'>; employeeId: string; userName: string };

/**
 * Offboards one user, re-checked right before writing (the user may have changed since it was
 * found, or since the last day's wait began). A first offboarding passes the mass-change guard,
 * which throws {@link MassOffboardingHeld} before any write; one that an earlier attempt began
 * (status offboarded, no offboarded-at yet) is finished without counting twice.
 *
 * The status is written first, so that a sweep meanwhile never sees a managed user without a
 * password and onboards it again; the time last, so that an offboarding cut short is finished
 * by the next termination rather than reported done.
 */
export async function offboardUser(
  clients: { iam: IAMClient; ssm: SSMClient },
  request: OffboardRequest,
  settings: OffboardSettings,
  now: Date = new Date(),
): Promise<OffboardResult> {
  const { iam } = clients;
  const { employeeId, userName } = request;
  const user = await findUser(iam, userName);
  const found = lookup(user, employeeId, settings.ownership, userName);
  if (found.status !== 'FOUND' || !user) return { status: found.status === 'FOUND' ? 'NOT_FOUND' : found.status, employeeId, userName };

  const resumed = tagValue(user.Tags, TAG.status) === 'offboarded';
  const plan = await planRemoval(iam, user, settings.allowedGroups);
  const guard = resumed ? undefined : await checkGuard(clients, settings, 1, now);
  if (request.dryRun) {
    return { status: 'PLANNED', employeeId, userName, wouldRemove: plan, guard: { holds: guard?.holds ?? false, wouldBe: guard?.wouldBe ?? 0, allowance: guard?.allowance ?? 0 } };
  }
  if (guard?.holds) throw heldError(guard, `Offboarding of user "${userName}"`);

  await tagStatus(iam, userName, 'offboarded', now, { [TAG.offboardedBy]: request.executionId });
  await applyRemoval(iam, userName, plan);
  const offboardedAt = now.toISOString();
  await iam.send(new TagUserCommand({ UserName: userName, Tags: [{ Key: TAG.offboardedAt, Value: offboardedAt }] }));
  return { status: 'OFFBOARDED', employeeId, userName, offboardedAt, removed: plan, resumed };
}
