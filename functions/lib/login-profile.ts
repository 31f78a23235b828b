import {
  CreateLoginProfileCommand,
  EntityAlreadyExistsException,
  TagUserCommand,
  UpdateLoginProfileCommand,
  type IAMClient,
} from '@aws-sdk/client-iam';
import type { KMSClient } from '@aws-sdk/client-kms';
import { sealSecret } from './envelope.ts';
import { toTagValue } from './iam-names.ts';
import { findUser, tagValue, TAG } from './managed-user.ts';
import { cachedPasswordRules, generatePassword, type PasswordRules } from './password.ts';

export type LoginProfileResult =
  | {
      status: 'CREATED';
      sealedPassword: string;
      /**
       * When the password was set. IAM keeps it as the login profile's CreateDate, which the
       * sweep reads (no tag is written for it; the reprovision state machine tags a reset's date).
       */
      passwordIssuedAt: string;
    }
  | { status: 'ALREADY_PROVISIONED' }
  | { status: 'IN_PROGRESS_ELSEWHERE' }
  /** The hire waited for a start date that HR changed meanwhile: another execution onboards it. */
  | { status: 'SUPERSEDED' }
  /** The hire left before the start date (the leaver flow offboarded the waiting user): no password. */
  | { status: 'WITHDRAWN' };

export interface LoginProfileRequest {
  userName: string;
  executionId: string;
}

/** Who may give the user a password now (from the CreateUser step; see provisionUser). */
export interface LoginProfileClaim {
  createdByThisExecution?: boolean;
  busyElsewhere?: boolean;
  /** The execution waited until this time for the hire's start date (null: it did not wait). */
  waitedUntil?: string | null;
}

/**
 * The error without the password, in case a service ever echoes it. Masking `message` alone is
 * not enough: the stack repeats it, and IAM errors from the SDK carry a copy in `Error.Message`,
 * which the Lambda runtime logs with every other enumerable field. So an error that mentions
 * the password anywhere is replaced by a plain one with the same `name` (what Step Functions
 * matches on) and masked message and stack.
 */
export function redact(error: unknown, secret: string): unknown {
  if (!(error instanceof Error) || secret === '') return error;
  let fields: string;
  try {
    fields = JSON.stringify(error) ?? '';
  } catch {
    fields = secret; // cannot be inspected: assume the worst
  }
  if (![error.message, error.stack ?? '', fields].some((text) => text.includes(secret))) return error;
  const mask = (text: string) => text.split(secret).join('********');
  const clean = new Error(mask(error.message));
  clean.name = error.name;
  clean.stack = mask(error.stack ?? `${error.name}: ${error.message}`);
  return clean;
}

type PasswordSettings = { kmsKeyId: string; passwordLength: number };

/** A new password for the account's policy, and its KMS seal for this user and execution. */
async function newSealedPassword(
  kms: KMSClient,
  rules: PasswordRules,
  request: LoginProfileRequest,
  settings: PasswordSettings,
): Promise<{ password: string; sealedPassword: string }> {
  const password = generatePassword(rules, settings.passwordLength);
  const sealedPassword = await sealSecret(kms, settings.kmsKeyId, password, request);
  return { password, sealedPassword };
}

/**
 * After the wait for a start date: `resume` if this execution still holds the claim (HR did not
 * move the date meanwhile) and the user still waits (the leaver flow did not offboard it), and
 * then the user is tagged in progress again, from now.
 */
async function resumeAfterWait(iam: IAMClient, request: LoginProfileRequest, now: Date): Promise<'resume' | 'SUPERSEDED' | 'WITHDRAWN'> {
  const user = await findUser(iam, request.userName);
  if (!user || tagValue(user.Tags, TAG.createdBy) !== toTagValue(request.executionId)) return 'SUPERSEDED';
  if (tagValue(user.Tags, TAG.status) !== 'waiting') return 'WITHDRAWN';
  await iam.send(
    new TagUserCommand({
      UserName: request.userName,
      Tags: [
        { Key: TAG.status, Value: 'in-progress' },
        { Key: TAG.updatedAt, Value: now.toISOString() },
      ],
    }),
  );
  return 'resume';
}

/**
 * Gives the user a console password that must be changed at first sign-in. The password is
 * sealed with KMS before IAM sees it, so a failure after CreateLoginProfile can never leave a
 * password that exists in IAM but nowhere we can deliver it from.
 *
 * An existing login profile means the user is already provisioned: nothing is reset. The one
 * exception is a profile this very execution created in an attempt whose answer was lost (a
 * 5xx after the write, a Lambda that died): only the execution that created the user may give
 * it a password while it runs, so the profile is provably its own, and its password died with
 * the lost answer. It is replaced, so the hire still gets working credentials in this run.
 */
export async function createLoginProfile(
  clients: { iam: IAMClient; kms: KMSClient },
  request: LoginProfileRequest & LoginProfileClaim & { passwordRules: PasswordRules },
  settings: PasswordSettings,
  now: Date = new Date(),
): Promise<LoginProfileResult> {
  if (request.busyElsewhere) return { status: 'IN_PROGRESS_ELSEWHERE' };
  let rules = request.passwordRules;
  if (request.waitedUntil) {
    const resumed = await resumeAfterWait(clients.iam, request, now);
    if (resumed !== 'resume') return { status: resumed };
    // Weeks may have passed since the CreateUser step read the account policy.
    rules = await cachedPasswordRules(clients.iam);
  }
  const envelope = { userName: request.userName, executionId: request.executionId };
  // The CreateUser step read the account policy: not read again here (unless it waited).
  const { password, sealedPassword } = await newSealedPassword(clients.kms, rules, envelope, settings);

  try {
    await clients.iam.send(
      new CreateLoginProfileCommand({ UserName: request.userName, Password: password, PasswordResetRequired: true }),
    );
  } catch (error) {
    if (!(error instanceof EntityAlreadyExistsException)) throw redact(error, password);
    if (!request.createdByThisExecution) return { status: 'ALREADY_PROVISIONED' };
    try {
      await clients.iam.send(
        new UpdateLoginProfileCommand({ UserName: request.userName, Password: password, PasswordResetRequired: true }),
      );
    } catch (updateError) {
      throw redact(updateError, password);
    }
  }

  // The issue date is the login profile's CreateDate. A profile this execution created in an
  // attempt whose answer was lost is moments older than the password it now holds, which the
  // sweep's day-long measures cannot tell apart: no TagUser for it, on any path.
  return { status: 'CREATED', sealedPassword, passwordIssuedAt: now.toISOString() };
}

/**
 * Replaces the console password of a user that has one with a new reset-required password,
 * sealed with KMS before IAM sees it (as {@link createLoginProfile} does). Recording the
 * issue date is left to the caller, which tags it together with its own bookkeeping.
 */
export async function resetLoginProfile(
  clients: { iam: IAMClient; kms: KMSClient },
  request: LoginProfileRequest,
  settings: PasswordSettings,
): Promise<{ sealedPassword: string }> {
  const rules = await cachedPasswordRules(clients.iam);
  const { password, sealedPassword } = await newSealedPassword(clients.kms, rules, request, settings);
  try {
    await clients.iam.send(
      new UpdateLoginProfileCommand({ UserName: request.userName, Password: password, PasswordResetRequired: true }),
    );
  } catch (error) {
    throw redact(error, password);
  }
  return { sealedPassword };
}
