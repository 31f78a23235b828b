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
  GetAccountAuthorizationDetailsCommand,
  ListAccessKeysCommand,
  ListAttachedUserPoliciesCommand,
  ListMFADevicesCommand,
  ListServiceSpecificCredentialsCommand,
  ListSigningCertificatesCommand,
  ListSSHPublicKeysCommand,
  ListUserPoliciesCommand,
  RemoveUserFromGroupCommand,
  UpdateAccessKeyCommand,
  type IAMClientResolvedConfig,
  type ServiceInputTypes,
  type ServiceOutputTypes,
} from '@aws-sdk/client-iam';
import { GetParameterCommand, ParameterNotFound, SSMClient } from '@aws-sdk/client-ssm';
import { mockClient, type AwsStub } from 'aws-sdk-client-mock';
import { noSuchEntity } from '../../testing/aws-fakes.ts';
import { TEST_ENV } from '../../testing/lambda-env.ts';
import { fakeDirectory, onboardedUser, type DirectoryUser } from './iam-directory.ts';

type IamStub = AwsStub<ServiceInputTypes, ServiceOutputTypes, IAMClientResolvedConfig>;

/** What else a user of the fake directory may have: everything a leaver loses, and a deletion detaches. */
export interface Credentials {
  accessKeys: Array<{ id: string; status: 'Active' | 'Inactive' }>;
  mfaDevices: Array<{ serial: string; active: boolean }>;
  signingCertificates: string[];
  sshKeys: string[];
  serviceCredentials: string[];
  attachedPolicies: string[];
  inlinePolicies: string[];
}

export type LeaverUser = DirectoryUser & { credentials: Credentials };

const none = (): Credentials => ({
  accessKeys: [],
  mfaDevices: [],
  signingCertificates: [],
  sshKeys: [],
  serviceCredentials: [],
  attachedPolicies: [],
  inlinePolicies: [],
});

/** An onboarded user with access to lose: a password, an access key, an MFA device, its groups. */
export function employee(userName: string, options: Parameters<typeof onboardedUser>[1] & { credentials?: Partial<Credentials> }): LeaverUser {
  return {
    ...onboardedUser(userName, options),
    credentials: {
      ...none(),
      accessKeys: [{ id: `AKIA${userName.length}`, status: 'Active' }],
      mfaDevices: [{ serial: `arn:aws:iam::123456789012:mfa/${userName}`, active: true }],
      attachedPolicies: ['arn:aws:iam::aws:policy/IAMUserChangePassword'],
      ...options.credentials,
    },
  };
}

/**
 * The IAM directory of iam-directory.ts (users, tags, login profiles, groups) and on top of it
 * what offboarding and deletion read and write, applied to the users: a test looks at the
 * directory afterwards as it would look at IAM. GetAccountAuthorizationDetails lists every user
 * with its tags, as IAM does.
 */
export function fakeLeaverDirectory(iam: IamStub, users: LeaverUser[]) {
  const directory = fakeDirectory(iam, users) as Map<string, LeaverUser>;
  const find = (userName: string | undefined) => {
    const user = directory.get(userName ?? '');
    if (!user) throw noSuchEntity(`The user with name ${userName} cannot be found.`);
    return user;
  };
  const listOf = <T extends object>(page: T) => ({ ...page, IsTruncated: false });

  iam.on(GetAccountAuthorizationDetailsCommand).callsFake(async () => ({
    UserDetailList: [...directory.values()].map((u) => ({
      UserName: u.userName,
      Path: u.path,
      Arn: `arn:aws:iam::123456789012:user${u.path}${u.userName}`,
      UserId: `AIDA${u.userName.length}`,
      CreateDate: new Date('2024-01-01T00:00:00Z'),
      Tags: Object.entries(u.tags).map(([Key, Value]) => ({ Key, Value })),
      GroupList: u.groups,
    })),
    IsTruncated: false,
  }));
  iam.on(ListAccessKeysCommand).callsFake(async (input: { UserName: string }) =>
    listOf({ AccessKeyMetadata: find(input.UserName).credentials.accessKeys.map((k) => ({ UserName: input.UserName, AccessKeyId: k.id, Status: k.status })) }),
  );
  iam.on(UpdateAccessKeyCommand).callsFake(async (input: { UserName: string; AccessKeyId: string; Status: 'Active' | 'Inactive' }) => {
    const key = find(input.UserName).credentials.accessKeys.find((k) => k.id === input.AccessKeyId);
    if (!key) throw noSuchEntity(`The Access Key with id ${input.AccessKeyId} cannot be found.`);
    key.status = input.Status;
    return {};
  });
  iam.on(DeleteAccessKeyCommand).callsFake(async (input: { UserName: string; AccessKeyId: string }) => {
    const user = find(input.UserName);
    user.credentials.accessKeys = user.credentials.accessKeys.filter((k) => k.id !== input.AccessKeyId);
    return {};
  });
  iam.on(ListMFADevicesCommand).callsFake(async (input: { UserName: string }) =>
    listOf({ MFADevices: find(input.UserName).credentials.mfaDevices.filter((d) => d.active).map((d) => ({ UserName: input.UserName, SerialNumber: d.serial, EnableDate: new Date() })) }),
  );
  iam.on(DeactivateMFADeviceCommand).callsFake(async (input: { UserName: string; SerialNumber: string }) => {
    const device = find(input.UserName).credentials.mfaDevices.find((d) => d.serial === input.SerialNumber && d.active);
    if (!device) throw noSuchEntity(`MFA device ${input.SerialNumber} is not enabled.`);
    device.active = false;
    return {};
  });
  iam.on(DeleteVirtualMFADeviceCommand).callsFake(async (input: { SerialNumber: string }) => {
    for (const user of directory.values()) user.credentials.mfaDevices = user.credentials.mfaDevices.filter((d) => d.serial !== input.SerialNumber);
    return {};
  });
  iam.on(RemoveUserFromGroupCommand).callsFake(async (input: { UserName: string; GroupName: string }) => {
    const user = find(input.UserName);
    user.groups = user.groups.filter((g) => g !== input.GroupName);
    return {};
  });
  const simple = [
    [ListSigningCertificatesCommand, DeleteSigningCertificateCommand, 'signingCertificates', 'Certificates', 'CertificateId'],
    [ListSSHPublicKeysCommand, DeleteSSHPublicKeyCommand, 'sshKeys', 'SSHPublicKeys', 'SSHPublicKeyId'],
    [ListServiceSpecificCredentialsCommand, DeleteServiceSpecificCredentialCommand, 'serviceCredentials', 'ServiceSpecificCredentials', 'ServiceSpecificCredentialId'],
    [ListAttachedUserPoliciesCommand, DetachUserPolicyCommand, 'attachedPolicies', 'AttachedPolicies', 'PolicyArn'],
  ] as const;
  for (const [list, remove, field, listKey, idKey] of simple) {
    iam.on(list as never).callsFake(async (input: { UserName: string }) => listOf({ [listKey]: find(input.UserName).credentials[field].map((id) => ({ [idKey]: id })) }));
    iam.on(remove as never).callsFake(async (input: Record<string, string>) => {
      const user = find(input.UserName);
      user.credentials[field] = user.credentials[field].filter((id) => id !== input[idKey]);
      return {};
    });
  }
  iam.on(ListUserPoliciesCommand).callsFake(async (input: { UserName: string }) => listOf({ PolicyNames: [...find(input.UserName).credentials.inlinePolicies] }));
  iam.on(DeleteUserPolicyCommand).callsFake(async (input: { UserName: string; PolicyName: string }) => {
    const user = find(input.UserName);
    user.credentials.inlinePolicies = user.credentials.inlinePolicies.filter((p) => p !== input.PolicyName);
    return {};
  });
  iam.on(DeleteUserCommand).callsFake(async (input: { UserName: string }) => {
    const user = find(input.UserName);
    const c = user.credentials;
    const attached = [c.accessKeys, c.signingCertificates, c.sshKeys, c.serviceCredentials, c.attachedPolicies, c.inlinePolicies, c.mfaDevices.filter((d) => d.active), user.groups].some((l) => l.length > 0);
    if (attached || user.loginProfile) {
      const error = new Error('Cannot delete entity, must remove referenced objects first.');
      error.name = 'DeleteConflictException';
      throw Object.assign(error, { $metadata: { httpStatusCode: 409 } });
    }
    directory.delete(input.UserName);
    return {};
  });
  // Removing a login profile that is gone, as IAM answers.
  iam.on(DeleteLoginProfileCommand).callsFake(async (input: { UserName: string }) => {
    const user = find(input.UserName);
    if (!user.loginProfile) throw noSuchEntity(`Login Profile for User ${input.UserName} cannot be found.`);
    delete user.loginProfile;
    return {};
  });
  return directory;
}

/** SSM with no confirmation parameter, or with the value given. */
export function fakeConfirmation(value?: string) {
  const ssm = mockClient(SSMClient);
  if (value === undefined) ssm.on(GetParameterCommand).rejects(new ParameterNotFound({ message: 'not found', $metadata: { httpStatusCode: 400 } }));
  else ssm.on(GetParameterCommand, { Name: TEST_ENV.OFFBOARDING_CONFIRMATION_PARAMETER }).resolves({ Parameter: { Name: TEST_ENV.OFFBOARDING_CONFIRMATION_PARAMETER, Value: value } });
  return ssm;
}
