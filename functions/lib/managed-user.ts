import { GetLoginProfileCommand, GetUserCommand, NoSuchEntityException, TagUserCommand, type IAMClient, type LoginProfile, type Tag, type User } from '@aws-sdk/client-iam';

/**
 * How this workflow marks the IAM users it owns, and what it records on them. The workflow
 * writes only to users under its managed path that carry its managed-by tag.
 */
export const TAG = {
  managedBy: 'onboarding:managed-by',
  employeeId: 'onboarding:employee-id',
  status: 'onboarding:status',
  updatedAt: 'onboarding:updated-at',
  failure: 'onboarding:failure',
  passwordIssuedAt: 'onboarding:password-issued-at',
  credentialsSentAt: 'onboarding:credentials-sent-at',
  // The execution that tagged the user complete: its own later failure must not undo that.
  completedBy: 'onboarding:completed-by',
  // What a later sweep needs to finish or repeat the onboarding without the HR event.
  // The execution that created the user: while it runs, it alone gives the user a password.
  createdBy: 'onboarding:created-by',
  // While a hire waits for its start date (status waiting): when its credentials go out.
  credentialsAt: 'onboarding:credentials-at',
  startDate: 'onboarding:start-date',
  // The name the hire would have had, when a user that is not theirs held it.
  requestedName: 'onboarding:requested-name',
  email: 'onboarding:email',
  // Where a resend goes when the stage mails the manager (credentialsRecipient manager or split).
  managerEmail: 'onboarding:manager-email',
  firstName: 'onboarding:first-name',
  lastName: 'onboarding:last-name',
  // How many times the reprovisioning sweep has reset the temporary password.
  passwordResets: 'onboarding:password-resets',
  // The leaver flow: when the user's access was removed, and by which execution
  // (offboarding.ts). The status says `offboarded` from the first write on; the time only once
  // every removal is done.
  offboardedAt: 'onboarding:offboarded-at',
  offboardedBy: 'onboarding:offboarded-by',
} as const;

/**
 * `waiting`: the user exists and the onboarding waits for the hire's start date to set the password.
 * `console-access-removed`: the sweep gave up on an unused password; only ops bring the user back.
 * `offboarded`: the employee left; the user is kept without access until the sweep deletes it.
 */
export type OnboardingStatus = 'waiting' | 'in-progress' | 'complete' | 'failed' | 'console-access-removed' | 'offboarded';

export interface Ownership {
  managedPath: string;
  managedBy: string;
}

export function tagValue(tags: Tag[] | undefined, key: string): string | undefined {
  return tags?.find((t) => t.Key === key)?.Value;
}

/** How many times the sweep has reset the user's password since its onboarding. */
export function passwordResetsOf(user: User): number {
  const count = Number.parseInt(tagValue(user.Tags, TAG.passwordResets) ?? '', 10);
  return Number.isFinite(count) && count > 0 ? count : 0;
}

/** True when the user is one this workflow created (managed path and managed-by tag). */
export function isManaged(user: User, ownership: Ownership): boolean {
  return (user.Path ?? '/').startsWith(ownership.managedPath) && tagValue(user.Tags, TAG.managedBy) === ownership.managedBy;
}

/** True when the user is managed by this workflow and was created for this employee. */
export function isManagedFor(user: User, ownership: Ownership, employeeId: string): boolean {
  return isManaged(user, ownership) && tagValue(user.Tags, TAG.employeeId) === employeeId;
}

/** GetUser, or undefined when there is no such user. */
export async function findUser(iam: IAMClient, userName: string): Promise<User | undefined> {
  try {
    const { User: user } = await iam.send(new GetUserCommand({ UserName: userName }));
    return user;
  } catch (error) {
    if (error instanceof NoSuchEntityException) return undefined;
    throw error;
  }
}

/** GetLoginProfile, or undefined when the user has no console password. */
export async function loginProfileOf(iam: IAMClient, userName: string): Promise<LoginProfile | undefined> {
  try {
    return (await iam.send(new GetLoginProfileCommand({ UserName: userName }))).LoginProfile;
  } catch (error) {
    if (error instanceof NoSuchEntityException) return undefined;
    throw error;
  }
}

/** Records the onboarding status (and any extra tags) on a managed user, with a timestamp. */
export async function tagStatus(
  iam: IAMClient,
  userName: string,
  status: OnboardingStatus,
  now: Date,
  extra: Record<string, string> = {},
): Promise<void> {
  const tags = { [TAG.status]: status, [TAG.updatedAt]: now.toISOString(), ...extra };
  await iam.send(
    new TagUserCommand({
      UserName: userName,
      Tags: Object.entries(tags).map(([Key, Value]) => ({ Key, Value })),
    }),
  );
}
