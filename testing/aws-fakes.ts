import { randomBytes } from 'node:crypto';
import {
  AddUserToGroupCommand,
  AttachUserPolicyCommand,
  CreateLoginProfileCommand,
  CreateUserCommand,
  EntityAlreadyExistsException,
  GetAccountAuthorizationDetailsCommand,
  GetAccountPasswordPolicyCommand,
  GetGroupCommand,
  GetUserCommand,
  IAMClient,
  NoSuchEntityException,
  TagUserCommand,
  type IAMClientResolvedConfig,
  type ServiceInputTypes,
  type ServiceOutputTypes,
  type Tag,
  type User,
} from '@aws-sdk/client-iam';
import { DecryptCommand, EncryptCommand, InvalidCiphertextException, KMSClient } from '@aws-sdk/client-kms';
import { SendEmailCommand, SESClient } from '@aws-sdk/client-ses';
import { mockClient, type AwsStub } from 'aws-sdk-client-mock';
import { TEST_ENV } from './lambda-env.ts';

export const noSuchEntity = (message = 'The user with name bob cannot be found.') =>
  new NoSuchEntityException({ message, $metadata: { httpStatusCode: 404 } });

/**
 * aws-sdk-client-mock stubs for IAM, KMS and SES with a fresh-account default: no users, no
 * password policy, the groups named exist. KMS is a real-enough fake: ciphertext is random
 * bytes, and Decrypt only succeeds with the encryption context Encrypt was given.
 */
export function fakeAws(options: { groups?: string[] } = {}) {
  const iam = mockClient(IAMClient);
  const kms = mockClient(KMSClient);
  const ses = mockClient(SESClient);
  const groups = new Set(options.groups ?? ['developers']);

  iam.on(GetGroupCommand).callsFake(async (input: { GroupName: string }) => {
    if (!groups.has(input.GroupName)) throw noSuchEntity(`The group with name ${input.GroupName} cannot be found.`);
    return { Group: { GroupName: input.GroupName, Path: '/', GroupId: 'G', Arn: 'arn', CreateDate: new Date() }, Users: [] };
  });
  iam.on(GetUserCommand).rejects(noSuchEntity());
  // An account with no users, as the census of the mass-change guard reads it (offboarding-guard.ts).
  iam.on(GetAccountAuthorizationDetailsCommand).resolves({ UserDetailList: [], IsTruncated: false });
  // As in IAM, a name that is taken (GetUser finds it, in whatever case) cannot be created again.
  iam.on(CreateUserCommand).callsFake(async (input: { UserName: string; Path: string; Tags: Tag[] }) => {
    if (await userNamed(iam, input.UserName)) {
      throw new EntityAlreadyExistsException({ message: `User with name ${input.UserName} already exists.`, $metadata: { httpStatusCode: 409 } });
    }
    return {
      User: {
        UserName: input.UserName,
        Path: input.Path,
        Arn: `arn:aws:iam::123456789012:user${input.Path}${input.UserName}`,
        UserId: 'AIDAEXAMPLE',
        CreateDate: new Date(),
        Tags: input.Tags,
      },
    };
  });
  iam.on(AddUserToGroupCommand).resolves({});
  iam.on(AttachUserPolicyCommand).resolves({});
  iam.on(GetAccountPasswordPolicyCommand).rejects(noSuchEntity('The Password Policy with domain name 123456789012 cannot be found.'));
  iam.on(CreateLoginProfileCommand).resolves({});
  iam.on(TagUserCommand).resolves({});

  const sealed = new Map<string, { plaintext: Uint8Array; context: string }>();
  kms.on(EncryptCommand).callsFake(async (input: { Plaintext: Uint8Array; EncryptionContext: Record<string, string> }) => {
    const blob = randomBytes(48);
    sealed.set(blob.toString('base64'), { plaintext: input.Plaintext, context: JSON.stringify(input.EncryptionContext) });
    return { CiphertextBlob: new Uint8Array(blob), KeyId: 'key' };
  });
  kms.on(DecryptCommand).callsFake(async (input: { CiphertextBlob: Uint8Array; EncryptionContext: Record<string, string> }) => {
    const entry = sealed.get(Buffer.from(input.CiphertextBlob).toString('base64'));
    if (!entry || entry.context !== JSON.stringify(input.EncryptionContext)) {
      throw new InvalidCiphertextException({ message: 'Invalid ciphertext', $metadata: { httpStatusCode: 400 } });
    }
    return { Plaintext: entry.plaintext, KeyId: 'key' };
  });

  let messages = 0;
  ses.on(SendEmailCommand).callsFake(async () => ({ MessageId: `message-${++messages}` }));

  return {
    iam,
    kms,
    ses,
    reset: () => {
      iam.restore();
      kms.restore();
      ses.restore();
    },
  };
}

export type FakeAws = ReturnType<typeof fakeAws>;

type IamStub = AwsStub<ServiceInputTypes, ServiceOutputTypes, IAMClientResolvedConfig>;

/**
 * The user GetUser would answer for `userName` as the test has set it up, asked of the stub's
 * behaviour directly so that it is not counted as a call.
 */
async function userNamed(iam: IamStub, userName: string): Promise<User | undefined> {
  const command = new GetUserCommand({ UserName: userName });
  const send = iam.send as unknown as { matchingFakes(args: unknown[]): Array<(command: unknown) => unknown> };
  const behaviour = send.matchingFakes([command]).at(-1);
  try {
    return ((await behaviour?.(command)) as { User?: User } | undefined)?.User;
  } catch {
    return undefined;
  }
}

/**
 * A user as GetUser returns it: by default one this workflow created (managed path, managed-by
 * tag of TEST_ENV) for `employeeId`. Override `path`, `managedBy` or `tags` for someone else's user.
 */
export function managedUser(
  options: { userName?: string; employeeId?: string; path?: string; managedBy?: string; tags?: Tag[]; partition?: string } = {},
): User {
  const userName = options.userName ?? 'bob.builder';
  const path = options.path ?? TEST_ENV.MANAGED_PATH;
  return {
    UserName: userName,
    Path: path,
    Arn: `arn:${options.partition ?? 'aws'}:iam::123456789012:user${path}${userName}`,
    UserId: 'AIDAEXISTING',
    CreateDate: new Date('2024-01-01T00:00:00Z'),
    Tags: options.tags ?? [
      { Key: 'onboarding:managed-by', Value: options.managedBy ?? TEST_ENV.MANAGED_BY },
      { Key: 'onboarding:employee-id', Value: options.employeeId ?? 'E-1001' },
    ],
  };
}

/** The IAM calls that change something (everything but Get* and List*), as command names. */
export function iamWrites(iam: IamStub): string[] {
  return iam
    .calls()
    .map((call) => (call.args[0] as object).constructor.name)
    .filter((name) => !/^(Get|List)/.test(name));
}
