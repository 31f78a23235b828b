import type { IAMClient, User } from '@aws-sdk/client-iam';
import * as z from 'zod/mini';
import { HireNotRebuildable, InvalidHrEvent } from './errors.ts';
import { groupNamesOf } from './groups.ts';
import { employeeIdSchema, parseHire, type Hire } from './hire.ts';
import { iamUserName } from './iam-names.ts';
import { tagValue, TAG } from './managed-user.ts';
import { assertRecipientsAllowed, type TrustPolicy } from './trust-policy.ts';
import { describeIssues, validate, type ValidationIssue } from './validation.ts';

/** The hire's fields that CreateUser records as tags, by the tag that holds each. */
const TAG_OF = {
  employeeId: TAG.employeeId,
  firstName: TAG.firstName,
  lastName: TAG.lastName,
  email: TAG.email,
  managerEmail: TAG.managerEmail,
} as const;

/** The fields every managed user's tags hold; the manager's address only when HR gave one. */
const REQUIRED_FIELDS = ['employeeId', 'firstName', 'lastName', 'email'] as const;

/**
 * Which hire a managed user was created for: what a reprovision request names, and all that
 * removing console access needs. Only these two, so that a request cannot say where to send a
 * password: that is read from the user itself.
 */
export const hireIdentitySchema = z.strictObject({
  userName: iamUserName('must be an IAM user name'),
  employeeId: employeeIdSchema('must be an employee id'),
});

export type HireIdentity = z.output<typeof hireIdentitySchema>;

function notRebuildable(user: User, what: string, problems: string): HireNotRebuildable {
  return new HireNotRebuildable(`User "${user.UserName ?? ''}" cannot be ${what} from its tags: ${problems}`);
}

/** The problems, each under the tag that holds its field. */
function asTags(issues: readonly ValidationIssue[]): string {
  const tagOf = new Map<string, string>(Object.entries(TAG_OF));
  return describeIssues(issues.map((issue) => ({ ...issue, field: tagOf.get(issue.field) ?? issue.field })));
}

function missingTags(user: User, fields: ReadonlyArray<keyof typeof TAG_OF>): string | undefined {
  const missing = fields.filter((field) => !tagValue(user.Tags, TAG_OF[field])).map((field) => TAG_OF[field]);
  return missing.length > 0 ? `missing ${missing.join(', ')}` : undefined;
}

/**
 * The user's name and the employee it was created for, from its tags. The same rule holds for
 * every action the sweep may take: a user whose tags do not say whose it is gets none.
 *
 * Throws {@link HireNotRebuildable} naming the missing or invalid tag; never echoes tag values.
 */
export function identityFromUser(user: User): HireIdentity {
  const missing = missingTags(user, ['employeeId']);
  if (missing) throw notRebuildable(user, 'identified', missing);
  const result = validate(hireIdentitySchema, { userName: user.UserName, employeeId: tagValue(user.Tags, TAG.employeeId) }, '(user)');
  if (!result.success) throw notRebuildable(user, 'identified', asTags(result.issues));
  return result.data;
}

/**
 * The hire a managed user was created for, rebuilt from what CreateUser recorded on it (tags)
 * and the groups it is in now: enough to run its onboarding again or re-send its credentials
 * without the original HR event. The result passes the same validation as an HR event.
 *
 * Throws {@link HireNotRebuildable} naming the missing or invalid tags; never echoes tag values.
 */
export async function hireFromUser(iam: IAMClient, user: User): Promise<Hire> {
  const userName = user.UserName ?? '';
  const missing = missingTags(user, REQUIRED_FIELDS);
  if (missing) throw notRebuildable(user, 're-onboarded', missing);

  const groups = await groupNamesOf(iam, userName);

  const fields = Object.keys(TAG_OF) as Array<keyof typeof TAG_OF>;
  const tagged = fields.flatMap((field) => {
    const value = tagValue(user.Tags, TAG_OF[field]);
    return value === undefined ? [] : [[field, value]];
  });
  const input = { ...Object.fromEntries(tagged), userName, groups };
  try {
    return parseHire(input, {});
  } catch (error) {
    if (!(error instanceof InvalidHrEvent)) throw error;
    throw notRebuildable(user, 're-onboarded', asTags(error.issues));
  }
}

/**
 * Before a resend: the addresses it would mail, read from the user's tags, pass the same checks
 * as an HR event's (functions/lib/trust-policy.ts), so the password is reset only when it can be
 * delivered. A mode that mails the manager needs the manager's address on the user: without it
 * the resend is refused with {@link HireNotRebuildable} naming the tag, before any write.
 */
export function assertRecipientsOnUser(user: User, hire: Pick<Hire, 'email' | 'managerEmail'>, policy: TrustPolicy): void {
  try {
    assertRecipientsAllowed(hire, policy);
  } catch (error) {
    if (!(error instanceof InvalidHrEvent)) throw error;
    throw notRebuildable(user, 'sent credentials', asTags(error.issues));
  }
}
