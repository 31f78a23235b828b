import {
  DeactivateMFADeviceCommand,
  DeleteAccessKeyCommand,
  DeleteLoginProfileCommand,
  DeleteServiceSpecificCredentialCommand,
  DeleteSigningCertificateCommand,
  DeleteSSHPublicKeyCommand,
  DeleteUserCommand,
  DeleteUserPolicyCommand,
  DeleteVirtualMFADeviceCommand,
  DetachUserPolicyCommand,
  ListServiceSpecificCredentialsCommand,
  NoSuchEntityException,
  paginateListAccessKeys,
  paginateListAttachedUserPolicies,
  paginateListGroupsForUser,
  paginateListMFADevices,
  paginateListSigningCertificates,
  paginateListSSHPublicKeys,
  paginateListUserPolicies,
  RemoveUserFromGroupCommand,
  type IAMClient,
  type User,
} from '@aws-sdk/client-iam';
import * as z from 'zod/mini';
import { InvalidReprovisionRequest } from './errors.ts';
import { findUser, isManagedFor, tagValue, TAG, type Ownership } from './managed-user.ts';
import { isOffboarded, unlessGone } from './offboarding.ts';
import { hireIdentitySchema } from './user-hire.ts';
import { describeIssues, validate } from './validation.ts';

/**
 * Deletes an offboarded user once its retention period has passed: the sweep decides, the
 * reprovision state machine's DELETE_USER does it, with this. IAM refuses DeleteUser while
 * anything is attached to the user, so everything is detached and deleted first, in the order
 * the IAM User Guide gives ("Deleting an IAM user"). Each step lists what is left, so a repeated
 * attempt picks up where an earlier one stopped.
 */

const requestSchema = z.strictObject({
  action: z.literal('DELETE_USER'),
  hire: hireIdentitySchema,
  reason: z._default(z.literal('retention-ended'), 'retention-ended'),
});

export type DeletionRequest = z.output<typeof requestSchema>;
export type DeletionInput = z.input<typeof requestSchema>;

export function parseDeletionRequest(input: unknown): DeletionRequest {
  const result = validate(requestSchema, input, '(request)');
  if (result.success) return result.data;
  throw new InvalidReprovisionRequest(`Invalid deletion request: ${describeIssues(result.issues)}`);
}

const DAY_MS = 86_400_000;

export type DeletionSkip = 'no-such-user' | 'not-managed' | 'not-offboarded' | 'retention-not-ended';

/** Whether `user` may be deleted now: ours for the employee, offboarded, and kept `retentionDays` since. */
export function deletionBlocker(user: User | undefined, employeeId: string, settings: { ownership: Ownership; retentionDays: number }, now: Date): DeletionSkip | undefined {
  if (!user) return 'no-such-user';
  if (!isManagedFor(user, settings.ownership, employeeId)) return 'not-managed';
  if (!isOffboarded(user)) return 'not-offboarded';
  const offboardedAt = Date.parse(tagValue(user.Tags, TAG.offboardedAt) ?? '');
  if (Number.isNaN(offboardedAt) || now.getTime() - offboardedAt < settings.retentionDays * DAY_MS) return 'retention-not-ended';
  return undefined;
}

/** One kind of thing attached to a user: how to list what is left, and how to remove one. */
interface Attachment {
  kind: string;
  list: (iam: IAMClient, UserName: string) => Promise<string[]>;
  remove: (iam: IAMClient, UserName: string, id: string) => Promise<unknown>;
}

async function collect<P>(pages: AsyncIterable<P>, pick: (page: P) => Array<string | undefined> | undefined): Promise<string[]> {
  const ids: string[] = [];
  for await (const page of pages) ids.push(...(pick(page) ?? []).filter((id): id is string => id !== undefined));
  return ids;
}

/** A virtual MFA device's serial number is its ARN; a hardware one's is not. */
const isVirtual = (serial: string) => serial.startsWith('arn:');

/** After the login profile, in the order IAM needs them gone; group memberships last, then DeleteUser. */
export const ATTACHMENTS: readonly Attachment[] = [
  {
    kind: 'access keys',
    list: (iam, UserName) => collect(paginateListAccessKeys({ client: iam }, { UserName }), (p) => p.AccessKeyMetadata?.map((k) => k.AccessKeyId)),
    remove: (iam, UserName, AccessKeyId) => iam.send(new DeleteAccessKeyCommand({ UserName, AccessKeyId })),
  },
  {
    kind: 'signing certificates',
    list: (iam, UserName) => collect(paginateListSigningCertificates({ client: iam }, { UserName }), (p) => p.Certificates?.map((c) => c.CertificateId)),
    remove: (iam, UserName, CertificateId) => iam.send(new DeleteSigningCertificateCommand({ UserName, CertificateId })),
  },
  {
    kind: 'SSH public keys',
    list: (iam, UserName) => collect(paginateListSSHPublicKeys({ client: iam }, { UserName }), (p) => p.SSHPublicKeys?.map((k) => k.SSHPublicKeyId)),
    remove: (iam, UserName, SSHPublicKeyId) => iam.send(new DeleteSSHPublicKeyCommand({ UserName, SSHPublicKeyId })),
  },
  {
    kind: 'service-specific credentials',
    // Not paginated: a user has at most a few (two per service).
    list: async (iam, UserName) =>
      ((await iam.send(new ListServiceSpecificCredentialsCommand({ UserName }))).ServiceSpecificCredentials ?? [])
        .map((c) => c.ServiceSpecificCredentialId)
        .filter((id): id is string => id !== undefined),
    remove: (iam, UserName, ServiceSpecificCredentialId) => iam.send(new DeleteServiceSpecificCredentialCommand({ UserName, ServiceSpecificCredentialId })),
  },
  {
    kind: 'MFA devices',
    list: (iam, UserName) => collect(paginateListMFADevices({ client: iam }, { UserName }), (p) => p.MFADevices?.map((d) => d.SerialNumber)),
    remove: async (iam, UserName, SerialNumber) => {
      await iam.send(new DeactivateMFADeviceCommand({ UserName, SerialNumber }));
      if (isVirtual(SerialNumber)) await iam.send(new DeleteVirtualMFADeviceCommand({ SerialNumber }));
    },
  },
  {
    kind: 'attached policies',
    list: (iam, UserName) => collect(paginateListAttachedUserPolicies({ client: iam }, { UserName }), (p) => p.AttachedPolicies?.map((a) => a.PolicyArn)),
    remove: (iam, UserName, PolicyArn) => iam.send(new DetachUserPolicyCommand({ UserName, PolicyArn })),
  },
  {
    kind: 'inline policies',
    list: (iam, UserName) => collect(paginateListUserPolicies({ client: iam }, { UserName }), (p) => p.PolicyNames),
    remove: (iam, UserName, PolicyName) => iam.send(new DeleteUserPolicyCommand({ UserName, PolicyName })),
  },
  {
    kind: 'group memberships',
    list: (iam, UserName) => collect(paginateListGroupsForUser({ client: iam }, { UserName }), (p) => p.Groups?.map((g) => g.GroupName)),
    remove: (iam, UserName, GroupName) => iam.send(new RemoveUserFromGroupCommand({ UserName, GroupName })),
  },
];

/** DeleteLoginProfile; false when there was none. */
async function deleteLoginProfile(iam: IAMClient, UserName: string): Promise<boolean> {
  try {
    await iam.send(new DeleteLoginProfileCommand({ UserName }));
    return true;
  } catch (error) {
    if (error instanceof NoSuchEntityException) return false;
    throw error;
  }
}

export type DeletionResult =
  | { status: 'DELETED'; userName: string; employeeId: string; offboardedAt: string; removed: Record<string, number> }
  | { status: 'SKIPPED'; userName: string; employeeId: string; reason: DeletionSkip };

/** Deletes the user if {@link deletionBlocker} allows, detaching everything first. */
export async function deleteOffboardedUser(
  iam: IAMClient,
  request: DeletionRequest,
  settings: { ownership: Ownership; retentionDays: number },
  now: Date = new Date(),
): Promise<DeletionResult> {
  const { userName, employeeId } = request.hire;
  const user = await findUser(iam, userName);
  const blocker = deletionBlocker(user, employeeId, settings, now);
  if (blocker) return { status: 'SKIPPED', userName, employeeId, reason: blocker };

  const removed: Record<string, number> = { 'login profile': (await deleteLoginProfile(iam, userName)) ? 1 : 0 };
  for (const attachment of ATTACHMENTS) {
    const ids = await attachment.list(iam, userName);
    for (const id of ids) await unlessGone(() => attachment.remove(iam, userName, id));
    removed[attachment.kind] = ids.length;
  }
  try {
    await iam.send(new DeleteUserCommand({ UserName: userName }));
  } catch (error) {
    if (!(error instanceof NoSuchEntityException)) throw error;
  }
  return { status: 'DELETED', userName, employeeId, offboardedAt: tagValue(user?.Tags, TAG.offboardedAt) ?? '', removed };
}
