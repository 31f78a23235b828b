/**
 * AWS's real faults, answered the way AWS answers them, chosen by rules. A rule selects calls
 * by service and operation (an API call forwarded to moto or served by the stack, or a Lambda
 * function by its serverless.yml key) and limits itself by count, probability, time, or (for
 * IAM's eventual consistency) by how recently the same user was created.
 */
import { randomUUID } from 'node:crypto';
import * as z from 'zod';
import { describeIssues, validate } from '../functions/lib/validation.ts';

/** Errors with their AWS status and message, as the services answer them. */
const KNOWN_ERRORS: Record<string, { status: number; message: (params: Record<string, string>) => string }> = {
  // IAM (awsQuery)
  EntityTemporarilyUnmodifiable: {
    status: 409,
    message: (p) => `Login Profile for User ${p.UserName ?? ''} cannot be modified while login profile is being created.`,
  },
  NoSuchEntity: { status: 404, message: (p) => `The user with name ${p.UserName ?? ''} cannot be found.` },
  EntityAlreadyExists: { status: 409, message: (p) => `User with name ${p.UserName ?? ''} already exists.` },
  LimitExceeded: { status: 409, message: () => 'Cannot exceed quota for UsersPerAccount: 5000.' },
  ServiceFailure: { status: 500, message: () => 'Request processing has failed due to an unknown error, exception or failure.' },
  Throttling: { status: 400, message: (p) => (p.Action === 'SendEmail' ? 'Maximum sending rate exceeded.' : 'Rate exceeded') },
  // SES (awsQuery)
  MessageRejected: {
    status: 400,
    message: (p) =>
      `Email address is not verified. The following identities failed the check in region US-EAST-1: ${p.Source ?? ''}`,
  },
  // awsJson services (KMS, Step Functions, EventBridge, STS via query)
  ThrottlingException: { status: 400, message: () => 'Rate exceeded' },
  KMSInternalException: { status: 500, message: () => 'An internal error occurred.' },
  InternalFailure: { status: 500, message: () => 'The request processing has failed because of an unknown error, exception or failure.' },
  ServiceUnavailable: { status: 503, message: () => 'Service is unable to handle request.' },
};

/** Lambda failures, reported by Step Functions with these names (no HTTP shape). */
const LAMBDA_ERRORS: Record<string, string> = {
  'Lambda.Unknown':
    'The cause could not be determined because Lambda did not return an error type. Returned payload: {"errorMessage":"Runtime exited without providing a reason"}',
  'Lambda.ServiceException': 'Lambda was unable to process the request (Service: Lambda, Status Code: 500).',
  'Lambda.TooManyRequestsException': 'Rate Exceeded. (Service: Lambda, Status Code: 429)',
  'Lambda.AWSLambdaException': 'Lambda returned an unexpected error (Service: Lambda, Status Code: 502).',
};

export const faultRuleSchema = z
  .strictObject({
    /** Credential-scope service name (`iam`, `ses`, `kms`, `sts`, `states`, `events`, ...) or `lambda`. */
    service: z.string().min(1),
    /** API operation (`CreateLoginProfile`), or for `lambda` a serverless.yml function key; `*` for any. */
    operation: z.string().min(1),
    /** AWS error code (`Throttling`, `EntityTemporarilyUnmodifiable`, `Lambda.Unknown`...). Optional with `delayMs`. */
    error: z.string().min(1).optional(),
    /** Overrides for an error the stack does not know, or to change what AWS would say. */
    status: z.number().int().min(400).max(599).optional(),
    message: z.string().optional(),
    /** Answer at most this many matching calls. */
    count: z.number().int().positive().optional(),
    /** Answer each matching call with this probability (default 1). */
    probability: z.number().min(0).max(1).optional(),
    /** The rule expires this many milliseconds after it is added. */
    durationMs: z.number().int().positive().optional(),
    /** IAM eventual consistency: only for calls naming a user created less than this many ms ago. */
    afterCreateUserMs: z.number().int().positive().optional(),
    /** IAM eventual consistency counted in attempts: the first this many calls naming a newly created user. */
    afterCreateUserCalls: z.number().int().positive().optional(),
    /** Hold the call this long first (slow AWS). With no `error`, the call then proceeds. */
    delayMs: z.number().int().positive().max(600_000).optional(),
    /**
     * `before` (default): the call never reaches the service. `after`: the service (or the
     * Lambda handler) does the work, then the caller gets the error, as when a response is
     * lost or a Lambda dies after its AWS calls succeeded.
     */
    when: z.enum(['before', 'after']).optional(),
  })
  .refine((r) => r.error !== undefined || r.delayMs !== undefined, { message: 'needs "error" or "delayMs"', path: ['error'] })
  .refine((r) => r.error === undefined || r.service === 'lambda' || r.error in KNOWN_ERRORS || r.status !== undefined, {
    message: `is not an error the stack knows (${Object.keys(KNOWN_ERRORS).join(', ')}); give "status" for another`,
    path: ['error'],
  })
  .refine((r) => r.service !== 'lambda' || r.error === undefined || r.error in LAMBDA_ERRORS || r.message !== undefined, {
    message: `is not a Lambda error the stack knows (${Object.keys(LAMBDA_ERRORS).join(', ')}); give "message" for another`,
    path: ['error'],
  });

export type FaultRuleInput = z.input<typeof faultRuleSchema>;
export type FaultRule = z.output<typeof faultRuleSchema> & { id: string; addedAt: number; hits: number };

/** A call as the stack sees it: enough to pick a rule. */
export interface Call {
  service: string;
  operation: string;
  params: Record<string, string>;
}

export interface Fault {
  rule: FaultRule;
  delayMs: number;
  when: 'before' | 'after';
  /** Undefined for a pure delay. */
  error?: { code: string; status: number; message: string };
}

export class InvalidFaultRule extends Error {
  override readonly name = 'InvalidFaultRule';
}

/** Validates rules (from code or the admin API); the message names each bad field. */
export function parseFaultRules(input: unknown): Array<z.output<typeof faultRuleSchema>> {
  const list = Array.isArray(input) ? input : [input];
  return list.map((raw, index) => {
    const result = validate(faultRuleSchema, raw, '(rule)');
    if (!result.success) {
      const where = list.length > 1 ? `rule ${index}: ` : '';
      throw new InvalidFaultRule(`Invalid fault rule: ${where}${describeIssues(result.issues)}`);
    }
    return result.data;
  });
}

/**
 * Shorthand for IAM's eventual consistency right after CreateUser: CreateLoginProfile is
 * refused for `ms` milliseconds, or for the first `calls` attempts (exact, whatever the load).
 */
export function iamEventualConsistency(
  settle: { ms: number } | { calls: number },
  error: 'NoSuchEntity' | 'EntityTemporarilyUnmodifiable' = 'NoSuchEntity',
): FaultRuleInput {
  return {
    service: 'iam',
    operation: 'CreateLoginProfile',
    error,
    ...('ms' in settle ? { afterCreateUserMs: settle.ms } : { afterCreateUserCalls: settle.calls }),
  };
}

export class FaultInjector {
  private rules: FaultRule[] = [];
  /** When each user was last created (CreateUser that succeeded), and how often a rule refused it since. */
  private readonly createdUsers = new Map<string, { at: number; refused: Map<string, number> }>();

  constructor(private readonly random: () => number = Math.random) {}

  add(input: unknown): FaultRule[] {
    const added = parseFaultRules(input).map((rule) => ({ ...rule, id: randomUUID(), addedAt: Date.now(), hits: 0 }));
    this.rules.push(...added);
    return added;
  }

  list(): FaultRule[] {
    this.expire();
    return this.rules.map((rule) => ({ ...rule }));
  }

  /** Removes one rule by id, or every rule. Returns how many were removed. */
  clear(id?: string): number {
    const before = this.rules.length;
    this.rules = id === undefined ? [] : this.rules.filter((rule) => rule.id !== id);
    return before - this.rules.length;
  }

  reset(): void {
    this.rules = [];
    this.createdUsers.clear();
  }

  userCreated(userName: string): void {
    this.createdUsers.set(userName.toLowerCase(), { at: Date.now(), refused: new Map() });
  }

  /** The fault for this call, if a rule picks it (and counts the hit). */
  pick(call: Call): Fault | undefined {
    this.expire();
    const now = Date.now();
    for (const rule of this.rules) {
      if (rule.service !== call.service) continue;
      if (rule.operation !== '*' && rule.operation !== call.operation) continue;
      if (rule.afterCreateUserMs !== undefined || rule.afterCreateUserCalls !== undefined) {
        const created = call.params.UserName ? this.createdUsers.get(call.params.UserName.toLowerCase()) : undefined;
        if (created === undefined) continue;
        if (rule.afterCreateUserMs !== undefined && now - created.at >= rule.afterCreateUserMs) continue;
        const refused = created.refused.get(rule.id) ?? 0;
        if (rule.afterCreateUserCalls !== undefined && refused >= rule.afterCreateUserCalls) continue;
        created.refused.set(rule.id, refused + 1);
      }
      if (rule.probability !== undefined && this.random() >= rule.probability) continue;
      rule.hits += 1;
      if (rule.count !== undefined && rule.hits >= rule.count) this.rules = this.rules.filter((r) => r !== rule);
      return {
        rule: { ...rule },
        delayMs: rule.delayMs ?? 0,
        when: rule.when ?? 'before',
        ...(rule.error !== undefined && { error: injectedError(rule, call) }),
      };
    }
    return undefined;
  }

  private expire(): void {
    const now = Date.now();
    this.rules = this.rules.filter((rule) => rule.durationMs === undefined || now - rule.addedAt < rule.durationMs);
  }
}

/** The error a rule answers `call` with: its own status and message, else what AWS (or Lambda) would say. */
function injectedError(rule: FaultRule, call: Call): { code: string; status: number; message: string } {
  const code = rule.error as string;
  if (rule.service === 'lambda') return { code, status: 200, message: rule.message ?? LAMBDA_ERRORS[code] ?? code };
  const known = KNOWN_ERRORS[code];
  return {
    code,
    status: rule.status ?? known?.status ?? 400,
    message: rule.message ?? known?.message({ ...call.params, Action: call.operation }) ?? code,
  };
}
