import {
  AddUserToGroupCommand,
  CreateLoginProfileCommand,
  GetAccountAuthorizationDetailsCommand,
  DeleteLoginProfileCommand,
  EntityAlreadyExistsException,
  GetLoginProfileCommand,
  GetUserCommand,
  ListGroupsForUserCommand,
  ListUserTagsCommand,
  ListUsersCommand,
  RemoveUserFromGroupCommand,
  TagUserCommand,
  UntagUserCommand,
  UpdateLoginProfileCommand,
  type IAMClientResolvedConfig,
  type ServiceInputTypes,
  type ServiceOutputTypes,
  type Tag,
} from '@aws-sdk/client-iam';
import { ExecutionAlreadyExists, SFNClient, StartExecutionCommand } from '@aws-sdk/client-sfn';
import { mockClient, type AwsStub } from 'aws-sdk-client-mock';
import { executionArnFor } from '../../cli/execution-rules.ts';
import { noSuchEntity } from '../../testing/aws-fakes.ts';
import { TEST_ENV } from '../../testing/lambda-env.ts';

type IamStub = AwsStub<ServiceInputTypes, ServiceOutputTypes, IAMClientResolvedConfig>;

/** One IAM user as the fake directory keeps it: what GetUser, GetLoginProfile and ListGroupsForUser answer. */
export interface DirectoryUser {
  userName: string;
  path: string;
  tags: Record<string, string>;
  groups: string[];
  passwordLastUsed?: Date;
  /** Absent: the user has no console password. */
  loginProfile?: { createDate: Date };
}

export const DAY = 86_400_000;

/**
 * A user the onboarding created for a hire and finished: managed path and tag, the tags
 * CreateUser writes, a login profile, credentials sent right after the password was issued.
 * `issuedDaysAgo` dates the password (and the email) before `now`.
 */
export function onboardedUser(
  userName: string,
  options: { now: Date; issuedDaysAgo?: number; employeeId?: string; tags?: Record<string, string | undefined>; groups?: string[] },
): DirectoryUser {
  const issued = new Date(options.now.getTime() - (options.issuedDaysAgo ?? 1) * DAY);
  const sent = new Date(issued.getTime() + 60_000);
  const tags: Record<string, string | undefined> = {
    'onboarding:managed-by': TEST_ENV.MANAGED_BY,
    'onboarding:employee-id': options.employeeId ?? `E-${userName}`,
    'onboarding:first-name': 'Bob',
    'onboarding:last-name': 'Builder',
    'onboarding:email': `${userName}@example.com`,
    'onboarding:status': 'complete',
    'onboarding:updated-at': sent.toISOString(),
    'onboarding:password-issued-at': issued.toISOString(),
    'onboarding:credentials-sent-at': sent.toISOString(),
    ...options.tags,
  };
  return {
    userName,
    path: TEST_ENV.MANAGED_PATH,
    tags: Object.fromEntries(Object.entries(tags).filter((e): e is [string, string] => e[1] !== undefined)),
    groups: options.groups ?? ['developers'],
    loginProfile: { createDate: issued },
  };
}

const toTags = (tags: Record<string, string>): Tag[] => Object.entries(tags).map(([Key, Value]) => ({ Key, Value }));

/**
 * Serves IAM's user reads (ListUsers by path prefix, paginated; GetUser; GetLoginProfile;
 * ListGroupsForUser, ListUserTags, GetAccountAuthorizationDetails) from a set of users, and applies the login-profile, tag and
 * group writes (CreateLoginProfile, UpdateLoginProfile, DeleteLoginProfile, TagUser, UntagUser,
 * AddUserToGroup, RemoveUserFromGroup) to them, so a test can look at the directory afterwards
 * as it would look at IAM.
 */
export function fakeDirectory(
  iam: IamStub,
  users: DirectoryUser[],
  options: {
    pageSize?: number;
    /** Awaited before a user is read or written (GetUser, TagUser, ...): to watch or slow calls. */
    onUserCall?: (userName: string) => Promise<void> | void;
  } = {},
) {
  const directory = new Map(users.map((u) => [u.userName, u]));
  const pageSize = options.pageSize ?? 100;
  const find = async (userName: string | undefined) => {
    await options.onUserCall?.(userName ?? '');
    const user = directory.get(userName ?? '');
    if (!user) throw noSuchEntity(`The user with name ${userName} cannot be found.`);
    return user;
  };
  const asUser = (u: DirectoryUser) => ({
    UserName: u.userName,
    Path: u.path,
    Arn: `arn:aws:iam::123456789012:user${u.path}${u.userName}`,
    UserId: `AIDA${u.userName.length}`,
    CreateDate: new Date('2024-01-01T00:00:00Z'),
    ...(u.passwordLastUsed && { PasswordLastUsed: u.passwordLastUsed }),
  });

  iam.on(ListUsersCommand).callsFake(async (input: { PathPrefix?: string; Marker?: string; MaxItems?: number }) => {
    const matching = [...directory.values()]
      .filter((u) => u.path.startsWith(input.PathPrefix ?? '/'))
      .sort((a, b) => a.userName.localeCompare(b.userName));
    const from = Number(input.Marker ?? 0);
    const page = matching.slice(from, from + Math.min(input.MaxItems ?? pageSize, pageSize));
    const next = from + page.length;
    // ListUsers leaves tags out, as AWS does.
    return { Users: page.map(asUser), IsTruncated: next < matching.length, ...(next < matching.length && { Marker: String(next) }) };
  });
  // Every user of the account with its tags and groups, in one page.
  iam.on(GetAccountAuthorizationDetailsCommand).callsFake(async () => ({
    UserDetailList: [...directory.values()].map((u) => ({ ...asUser(u), Tags: toTags(u.tags), GroupList: u.groups })),
    IsTruncated: false,
  }));
  iam.on(GetUserCommand).callsFake(async (input: { UserName?: string }) => {
    const user = await find(input.UserName);
    return { User: { ...asUser(user), Tags: toTags(user.tags) } };
  });
  iam.on(GetLoginProfileCommand).callsFake(async (input: { UserName: string }) => {
    const user = await find(input.UserName);
    if (!user.loginProfile) throw noSuchEntity(`Login Profile for User ${input.UserName} cannot be found.`);
    return { LoginProfile: { UserName: user.userName, CreateDate: user.loginProfile.createDate, PasswordResetRequired: true } };
  });
  iam.on(ListGroupsForUserCommand).callsFake(async (input: { UserName: string }) => {
    const user = await find(input.UserName);
    return {
      Groups: user.groups.map((GroupName) => ({ GroupName, Path: '/', GroupId: 'G', Arn: `arn:aws:iam::123456789012:group/${GroupName}`, CreateDate: new Date() })),
      IsTruncated: false,
    };
  });
  iam.on(TagUserCommand).callsFake(async (input: { UserName: string; Tags: Tag[] }) => {
    const user = await find(input.UserName);
    for (const tag of input.Tags) user.tags[tag.Key ?? ''] = tag.Value ?? '';
    return {};
  });
  iam.on(UntagUserCommand).callsFake(async (input: { UserName: string; TagKeys: string[] }) => {
    const user = await find(input.UserName);
    for (const key of input.TagKeys) delete user.tags[key];
    return {};
  });
  iam.on(ListUserTagsCommand).callsFake(async (input: { UserName: string }) => ({ Tags: toTags((await find(input.UserName)).tags), IsTruncated: false }));
  iam.on(AddUserToGroupCommand).callsFake(async (input: { UserName: string; GroupName: string }) => {
    const user = await find(input.UserName);
    if (!user.groups.includes(input.GroupName)) user.groups.push(input.GroupName);
    return {};
  });
  iam.on(RemoveUserFromGroupCommand).callsFake(async (input: { UserName: string; GroupName: string }) => {
    const user = await find(input.UserName);
    if (!user.groups.includes(input.GroupName)) throw noSuchEntity(`The user with name ${input.UserName} is not in group ${input.GroupName}.`);
    user.groups = user.groups.filter((g) => g !== input.GroupName);
    return {};
  });
  iam.on(CreateLoginProfileCommand).callsFake(async (input: { UserName: string }) => {
    const user = await find(input.UserName);
    if (user.loginProfile) {
      throw new EntityAlreadyExistsException({ message: `Login Profile for user ${input.UserName} already exists.`, $metadata: { httpStatusCode: 409 } });
    }
    user.loginProfile = { createDate: new Date() };
    return {};
  });
  iam.on(UpdateLoginProfileCommand).callsFake(async (input: { UserName: string }) => {
    const user = await find(input.UserName);
    if (!user.loginProfile) throw noSuchEntity(`Login Profile for User ${input.UserName} cannot be found.`);
    return {};
  });
  iam.on(DeleteLoginProfileCommand).callsFake(async (input: { UserName: string }) => {
    const user = await find(input.UserName);
    if (!user.loginProfile) throw noSuchEntity(`Login Profile for User ${input.UserName} cannot be found.`);
    delete user.loginProfile;
    return {};
  });
  return directory;
}

export interface StartedExecution {
  stateMachineArn: string;
  name: string;
  input: unknown;
  executionArn: string;
}

/**
 * Step Functions' StartExecution with its naming rule: a name is taken for good (90 days) per
 * state machine, and a second start with it fails with ExecutionAlreadyExists. `onStart` runs
 * the execution if the test wants it run.
 */
export function fakeStepFunctions(options: { onStart?: (execution: StartedExecution) => void | Promise<void> } = {}) {
  const sfn = mockClient(SFNClient);
  const executions = new Map<string, StartedExecution>();
  sfn.on(StartExecutionCommand).callsFake(async (input: { stateMachineArn: string; name: string; input: string }) => {
    const key = `${input.stateMachineArn}\0${input.name}`;
    if (executions.has(key)) {
      throw new ExecutionAlreadyExists({ message: `Execution Already Exists: '${input.name}'`, $metadata: { httpStatusCode: 400 } });
    }
    const execution = {
      stateMachineArn: input.stateMachineArn,
      name: input.name,
      input: JSON.parse(input.input) as unknown,
      executionArn: executionArnFor(input.stateMachineArn, input.name),
    };
    executions.set(key, execution);
    await options.onStart?.(execution);
    return { executionArn: execution.executionArn, startDate: new Date() };
  });
  return { sfn, executions: () => [...executions.values()], reset: () => sfn.restore() };
}
