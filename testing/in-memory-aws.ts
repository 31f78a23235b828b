/**
 * IAM, SES and KMS in memory, answered on the wire: each is an SDK `requestHandler`, so the
 * clients the handlers make serialize, sign, retry (the SDK's own retry strategy) and parse
 * errors exactly as they do against AWS. IAM sits behind an account-wide token bucket and
 * answers `Throttling` (status 400, "Rate exceeded") when it is empty, as IAM does; SES sends
 * at most its per-second rate and answers `Throttling` ("Maximum sending rate exceeded.")
 * beyond it. Time is `Date.now()` and `setTimeout`, so a fake clock drives it.
 *
 * Step Functions' StartExecution is served too (the sweep's), recording what was started.
 *
 * What the burst benchmark (scripts/bench-burst.ts) runs against. Only what the workflow
 * calls is served.
 */
import { createHash, randomUUID } from 'node:crypto';

/** A token bucket: `rate` tokens a second, holding at most `burst`. Full at the first request. */
export class TokenBucket {
  private tokens: number;
  private last: number | undefined;

  constructor(
    readonly rate: number,
    readonly burst: number,
  ) {
    this.tokens = burst;
  }

  /** Takes a token if there is one; a refused request takes none. */
  take(): boolean {
    const now = Date.now();
    this.tokens = Math.min(this.burst, this.tokens + ((now - (this.last ?? now)) * this.rate) / 1000);
    this.last = now;
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }
}

export interface InMemoryAwsOptions {
  /** IAM's account-wide rate, calls a second, and its bucket's size. */
  iam: { rate: number; burst: number };
  /** SES's maximum send rate, emails a second. */
  ses: { rate: number };
  /** How long each call takes, in ms, by service. */
  latencyMs?: Partial<Record<Service, number>>;
  /** The IAM groups that exist. */
  groups: string[];
  account?: string;
}

export type Service = 'iam' | 'ses' | 'kms' | 'states';

/** One call as the fake answered it. */
export interface Call {
  service: Service;
  operation: string;
  /** The error code answered, if any (`Throttling` for a refused call). */
  error?: string;
  /** The user the call named, if any. */
  userName?: string;
}

export interface FakeUser {
  userName: string;
  path: string;
  userId: string;
  arn: string;
  createDate: Date;
  tags: Map<string, string>;
  groups: Set<string>;
  policies: Set<string>;
  loginProfile?: { createDate: Date; passwordResetRequired: boolean };
  passwordLastUsed?: Date;
}

export interface SentMail {
  to: string[];
  subject: string;
  /** When it was sent (`Date.now()`). */
  at: number;
}

export interface StartedExecution {
  stateMachineArn: string;
  name: string;
  input: unknown;
  startedAt: number;
}

/** The SDK's view of an HTTP exchange: just what a `requestHandler` sees and answers. */
interface WireRequest {
  headers: Record<string, string>;
  body?: unknown;
}
interface WireResponse {
  response: { statusCode: number; headers: Record<string, string>; body: Uint8Array };
}
export interface RequestHandler {
  handle(request: WireRequest): Promise<WireResponse>;
  updateHttpClientConfig(): void;
  httpHandlerConfigs(): Record<string, never>;
  destroy(): void;
}

class AwsError extends Error {
  constructor(
    readonly code: string,
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

const NAMESPACE = { iam: 'https://iam.amazonaws.com/doc/2010-05-08/', ses: 'http://ses.amazonaws.com/doc/2010-12-01/' } as const;

function escapeXml(text: string): string {
  return text.replace(/[<>&'"]/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** awsQuery XML: objects become elements, arrays `member` lists, dates ISO 8601. */
function toXml(value: unknown): string {
  if (value === undefined || value === null) return '';
  if (value instanceof Date) return value.toISOString();
  if (Array.isArray(value)) return value.map((item) => `<member>${toXml(item)}</member>`).join('');
  if (typeof value === 'object') {
    return Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .map(([k, v]) => `<${k}>${toXml(v)}</${k}>`)
      .join('');
  }
  return escapeXml(String(value));
}

/** `Prefix.member.N[.Field]` form parameters, in order. */
function members(params: URLSearchParams, prefix: string): Array<Record<string, string>> {
  const found: Array<Record<string, string>> = [];
  for (let n = 1; ; n++) {
    const base = `${prefix}.member.${n}`;
    const keys = [...params.keys()].filter((k) => k === base || k.startsWith(`${base}.`));
    if (keys.length === 0) return found;
    found.push(Object.fromEntries(keys.map((k) => [k === base ? '' : k.slice(base.length + 1), params.get(k) ?? ''])));
  }
}

const encoder = new TextEncoder();

export class InMemoryAws {
  readonly users = new Map<string, FakeUser>();
  readonly groups: Set<string>;
  readonly mail: SentMail[] = [];
  /** Step Functions executions started (they are not run). */
  readonly executions = new Map<string, StartedExecution>();
  readonly calls: Call[] = [];
  readonly iamBucket: TokenBucket;
  readonly sesBucket: TokenBucket;
  readonly account: string;
  private readonly sealed = new Map<string, { plaintext: string; context: string }>();
  private readonly latency: Record<Service, number>;

  constructor(readonly options: InMemoryAwsOptions) {
    this.groups = new Set(options.groups);
    this.iamBucket = new TokenBucket(options.iam.rate, options.iam.burst);
    this.sesBucket = new TokenBucket(options.ses.rate, Math.max(1, options.ses.rate));
    this.account = options.account ?? '123456789012';
    this.latency = { iam: 0, ses: 0, kms: 0, states: 0, ...options.latencyMs };
  }

  /** The user IAM holds under this name, whatever its case (names are unique ignoring case). */
  user(userName: string): FakeUser | undefined {
    return this.users.get(userName.toLowerCase());
  }

  /** Adds a user as the onboarding would have left it (for the sweep). */
  addUser(user: Omit<FakeUser, 'userId' | 'arn'>): FakeUser {
    const full = { ...user, userId: `AIDA${createHash('sha1').update(user.userName).digest('hex').slice(0, 16).toUpperCase()}`, arn: this.userArn(user.path, user.userName) };
    this.users.set(user.userName.toLowerCase(), full);
    return full;
  }

  /**
   * The SDK request handler of one client of `service`. `observe` hears every call it answers,
   * before the answer goes back (the caller attributes calls to Lambda invocations with it);
   * it may throw to refuse the call (a Lambda that was stopped makes no more calls).
   */
  requestHandler(service: Service, observe?: (call: Call) => void): RequestHandler {
    return {
      handle: async (request) => {
        const body = typeof request.body === 'string' ? request.body : new TextDecoder().decode(request.body as Uint8Array);
        const target = request.headers['x-amz-target'] ?? '';
        const params = new URLSearchParams(target ? '' : body);
        const operation = target ? (target.split('.')[1] ?? '') : (params.get('Action') ?? '');
        const call: Call = { service, operation, ...(params.get('UserName') && { userName: params.get('UserName')! }) };
        observe?.(call);
        if (this.latency[service] > 0) await new Promise((resolve) => setTimeout(resolve, this.latency[service]));
        let answer: WireResponse['response'];
        try {
          if (service === 'kms') answer = this.json(this.kms(operation, JSON.parse(body) as Record<string, string>));
          else if (service === 'states') answer = this.json(this.states(operation, JSON.parse(body) as Record<string, unknown>));
          else answer = this.query(service, operation, service === 'iam' ? this.iam(operation, params) : this.ses(operation, params));
        } catch (error) {
          if (!(error instanceof AwsError)) throw error;
          call.error = error.code;
          answer = service === 'kms' || service === 'states' ? this.jsonError(error) : this.queryError(service, error);
        }
        this.calls.push(call);
        return { response: answer };
      },
      updateHttpClientConfig: () => undefined,
      httpHandlerConfigs: () => ({}),
      destroy: () => undefined,
    };
  }

  private query(service: 'iam' | 'ses', operation: string, result: unknown): WireResponse['response'] {
    const inner = result === undefined ? '' : `<${operation}Result>${toXml(result)}</${operation}Result>`;
    const xml =
      `<${operation}Response xmlns="${NAMESPACE[service]}">${inner}` +
      `<ResponseMetadata><RequestId>${randomUUID()}</RequestId></ResponseMetadata></${operation}Response>`;
    return { statusCode: 200, headers: { 'content-type': 'text/xml' }, body: encoder.encode(xml) };
  }

  private queryError(service: 'iam' | 'ses', error: AwsError): WireResponse['response'] {
    const xml =
      `<ErrorResponse xmlns="${NAMESPACE[service]}"><Error><Type>Sender</Type><Code>${error.code}</Code>` +
      `<Message>${escapeXml(error.message)}</Message></Error><RequestId>${randomUUID()}</RequestId></ErrorResponse>`;
    return { statusCode: error.status, headers: { 'content-type': 'text/xml' }, body: encoder.encode(xml) };
  }

  private json(result: unknown): WireResponse['response'] {
    return { statusCode: 200, headers: { 'content-type': 'application/x-amz-json-1.1' }, body: encoder.encode(JSON.stringify(result)) };
  }

  private jsonError(error: AwsError): WireResponse['response'] {
    const body = JSON.stringify({ __type: error.code, message: error.message });
    return { statusCode: error.status, headers: { 'content-type': 'application/x-amz-json-1.1' }, body: encoder.encode(body) };
  }

  private userArn(path: string, userName: string): string {
    return `arn:aws:iam::${this.account}:user${path}${userName}`;
  }

  private userOrThrow(userName: string): FakeUser {
    const user = this.user(userName);
    if (!user) throw new AwsError('NoSuchEntity', 404, `The user with name ${userName} cannot be found.`);
    return user;
  }

  private static userXml(user: FakeUser, withTags: boolean) {
    return {
      Path: user.path,
      UserName: user.userName,
      UserId: user.userId,
      Arn: user.arn,
      CreateDate: user.createDate,
      PasswordLastUsed: user.passwordLastUsed,
      ...(withTags && user.tags.size > 0 && { Tags: [...user.tags].map(([Key, Value]) => ({ Key, Value })) }),
    };
  }

  private iam(operation: string, params: URLSearchParams): unknown {
    if (!this.iamBucket.take()) throw new AwsError('Throttling', 400, 'Rate exceeded');
    const userName = params.get('UserName') ?? '';
    switch (operation) {
      case 'GetGroup': {
        const name = params.get('GroupName') ?? '';
        if (!this.groups.has(name)) throw new AwsError('NoSuchEntity', 404, `The group with name ${name} cannot be found.`);
        const Group = { Path: '/', GroupName: name, GroupId: `AGPA${name.toUpperCase()}`, Arn: `arn:aws:iam::${this.account}:group/${name}`, CreateDate: new Date(0) };
        return { Group, Users: [], IsTruncated: false };
      }
      case 'GetUser':
        return { User: InMemoryAws.userXml(this.userOrThrow(userName), true) };
      case 'CreateUser': {
        const existing = this.user(userName);
        if (existing) throw new AwsError('EntityAlreadyExists', 409, `User with name ${userName} already exists.`);
        const path = params.get('Path') ?? '/';
        const tags = new Map(members(params, 'Tags').map((t) => [t.Key ?? '', t.Value ?? '']));
        const user = this.addUser({ userName, path, createDate: new Date(), tags, groups: new Set(), policies: new Set() });
        return { User: InMemoryAws.userXml(user, true) };
      }
      case 'AddUserToGroup': {
        const group = params.get('GroupName') ?? '';
        if (!this.groups.has(group)) throw new AwsError('NoSuchEntity', 404, `The group with name ${group} cannot be found.`);
        this.userOrThrow(userName).groups.add(group);
        return undefined;
      }
      case 'GetAccountPasswordPolicy':
        throw new AwsError('NoSuchEntity', 404, `The Password Policy with domain name ${this.account} cannot be found.`);
      case 'AttachUserPolicy':
        this.userOrThrow(userName).policies.add(params.get('PolicyArn') ?? '');
        return undefined;
      case 'CreateLoginProfile': {
        const user = this.userOrThrow(userName);
        if (user.loginProfile) throw new AwsError('EntityAlreadyExists', 409, `Login Profile for user ${user.userName} already exists.`);
        user.loginProfile = { createDate: new Date(), passwordResetRequired: params.get('PasswordResetRequired') === 'true' };
        return { LoginProfile: { UserName: user.userName, CreateDate: user.loginProfile.createDate, PasswordResetRequired: user.loginProfile.passwordResetRequired } };
      }
      case 'UpdateLoginProfile': {
        const user = this.userOrThrow(userName);
        if (!user.loginProfile) throw new AwsError('NoSuchEntity', 404, `Login Profile for User ${user.userName} cannot be found.`);
        user.loginProfile.passwordResetRequired = params.get('PasswordResetRequired') === 'true';
        return undefined;
      }
      case 'GetLoginProfile': {
        const user = this.userOrThrow(userName);
        if (!user.loginProfile) throw new AwsError('NoSuchEntity', 404, `Login Profile for User ${user.userName} cannot be found.`);
        return { LoginProfile: { UserName: user.userName, CreateDate: user.loginProfile.createDate, PasswordResetRequired: user.loginProfile.passwordResetRequired } };
      }
      case 'DeleteLoginProfile': {
        const user = this.userOrThrow(userName);
        if (!user.loginProfile) throw new AwsError('NoSuchEntity', 404, `Login Profile for User ${user.userName} cannot be found.`);
        delete user.loginProfile;
        return undefined;
      }
      case 'TagUser': {
        const user = this.userOrThrow(userName);
        for (const tag of members(params, 'Tags')) user.tags.set(tag.Key ?? '', tag.Value ?? '');
        return undefined;
      }
      case 'ListUserTags':
        return { Tags: [...this.userOrThrow(userName).tags].map(([Key, Value]) => ({ Key, Value })), IsTruncated: false };
      case 'ListGroupsForUser': {
        const user = this.userOrThrow(userName);
        const Groups = [...user.groups].map((name) => ({ Path: '/', GroupName: name, GroupId: `AGPA${name.toUpperCase()}`, Arn: `arn:aws:iam::${this.account}:group/${name}`, CreateDate: new Date(0) }));
        return { Groups, IsTruncated: false };
      }
      case 'ListUsers': {
        const prefix = params.get('PathPrefix') ?? '/';
        const max = Number(params.get('MaxItems') ?? 100);
        const all = [...this.users.values()].filter((u) => u.path.startsWith(prefix)).sort((a, b) => a.userName.localeCompare(b.userName));
        const start = Number(params.get('Marker') ?? 0);
        const page = all.slice(start, start + max);
        const truncated = start + max < all.length;
        // ListUsers answers no tags: those take GetUser or ListUserTags.
        return { Users: page.map((u) => InMemoryAws.userXml(u, false)), IsTruncated: truncated, ...(truncated && { Marker: String(start + max) }) };
      }
      case 'GetAccountAuthorizationDetails': {
        // Users only (the workflow asks for no other filter), with their tags and groups.
        const max = Number(params.get('MaxItems') ?? 100);
        const all = [...this.users.values()].sort((a, b) => a.userName.localeCompare(b.userName));
        const start = Number(params.get('Marker') ?? 0);
        const page = all.slice(start, start + max);
        const truncated = start + max < all.length;
        const UserDetailList = page.map((u) => ({ ...InMemoryAws.userXml(u, true), GroupList: [...u.groups] }));
        return { UserDetailList, IsTruncated: truncated, ...(truncated && { Marker: String(start + max) }) };
      }
      default:
        throw new AwsError('InvalidAction', 400, `IAM operation ${operation} is not served by the in-memory fake`);
    }
  }

  private ses(operation: string, params: URLSearchParams): unknown {
    if (operation !== 'SendEmail') throw new AwsError('InvalidAction', 400, `SES operation ${operation} is not served by the in-memory fake`);
    if (!this.sesBucket.take()) throw new AwsError('Throttling', 400, 'Maximum sending rate exceeded.');
    const to = members(params, 'Destination.ToAddresses').map((m) => m[''] ?? '');
    this.mail.push({ to, subject: params.get('Message.Subject.Data') ?? '', at: Date.now() });
    return { MessageId: randomUUID() };
  }

  /** Step Functions' StartExecution (a name is taken for good per state machine) and ListExecutions (newest first). */
  private states(operation: string, input: Record<string, unknown>): unknown {
    const stateMachineArn = String(input.stateMachineArn ?? '');
    const arnOf = (name: string) => `${stateMachineArn.replace(':stateMachine:', ':execution:')}:${name}`;
    if (operation === 'ListExecutions') {
      const all = [...this.executions.values()].filter((e) => e.stateMachineArn === stateMachineArn).reverse();
      const from = Number(input.nextToken ?? 0);
      const max = Number(input.maxResults ?? 100) || 100;
      const page = all.slice(from, from + max);
      const executions = page.map((e) => ({ executionArn: arnOf(e.name), stateMachineArn, name: e.name, status: 'RUNNING', startDate: e.startedAt / 1000 }));
      return { executions, ...(from + max < all.length && { nextToken: String(from + max) }) };
    }
    if (operation !== 'StartExecution') throw new AwsError('UnknownOperationException', 400, `Step Functions operation ${operation} is not served by the in-memory fake`);
    const name = String(input.name ?? '');
    const key = `${stateMachineArn}\0${name}`;
    if (this.executions.has(key)) throw new AwsError('ExecutionAlreadyExists', 400, `Execution Already Exists: '${name}'`);
    this.executions.set(key, { stateMachineArn, name, input: JSON.parse(String(input.input ?? 'null')) as unknown, startedAt: Date.now() });
    return { executionArn: arnOf(name), startDate: Date.now() / 1000 };
  }

  /** KMS Encrypt and Decrypt: ciphertext is random, and opens only with the context it was sealed under. */
  private kms(operation: string, input: Record<string, unknown>): unknown {
    const context = JSON.stringify(input.EncryptionContext ?? {});
    if (operation === 'Encrypt') {
      const blob = randomUUID();
      this.sealed.set(blob, { plaintext: String(input.Plaintext), context });
      return { CiphertextBlob: Buffer.from(blob).toString('base64'), KeyId: input.KeyId };
    }
    if (operation === 'Decrypt') {
      const entry = this.sealed.get(Buffer.from(String(input.CiphertextBlob), 'base64').toString());
      if (!entry || entry.context !== context) throw new AwsError('InvalidCiphertextException', 400, 'Invalid ciphertext');
      return { Plaintext: entry.plaintext, KeyId: 'key' };
    }
    throw new AwsError('UnknownOperationException', 400, `KMS operation ${operation} is not served by the in-memory fake`);
  }
}
