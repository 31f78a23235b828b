/**
 * The Lambda handlers as the runtime calls them (event + context), with AWS faked: what they
 * log, with which correlation id, and what they throw.
 */
import {
  CreateLoginProfileCommand,
  EntityTemporarilyUnmodifiableException,
  GetUserCommand,
  PasswordPolicyViolationException,
} from '@aws-sdk/client-iam';
import type { Context } from 'aws-lambda';
import { describe, expect, it, vi } from 'vitest';

// The worst case for leaks: the setting that makes Powertools log every event whole is on.
// Set before the handlers' logger is created (at import).
vi.hoisted(() => {
  process.env.POWERTOOLS_LOGGER_LOG_EVENT = 'true';
  process.env.POWERTOOLS_LOG_LEVEL = 'DEBUG';
});

import { handler as createLoginProfile } from '../../functions/create-login-profile/handler.ts';
import { AWS_DEFAULT_RULES, type PasswordRules } from '../../functions/lib/password.ts';
import { handler as createUser } from '../../functions/create-user/handler.ts';
import { resetConfigCache } from '../../functions/lib/config.ts';
import type { Hire } from '../../functions/lib/hire.ts';
import { accountIdOf } from '../../functions/lib/lambda.ts';
import { handler as markComplete } from '../../functions/mark-complete/handler.ts';
import { handler as notifyOps } from '../../functions/notify-ops/handler.ts';
import { handler as recordFailure } from '../../functions/record-failure/handler.ts';
import { handler as sendCredentials } from '../../functions/send-credentials/handler.ts';
import { handler as validateHire } from '../../functions/validate-hire/handler.ts';
import { lambdaContext } from '../../local/workflow.ts';
import { managedUser } from '../../testing/aws-fakes.ts';
import { useFakeAws } from '../support/in-process.ts';
import { expectNoSecrets, passwordsSent } from '../support/secrets.ts';

type Handler = (event: never, context: Context) => Promise<unknown>;

const executionId = 'arn:aws:states:us-east-1:123456789012:execution:onboarding:run-7';
const input = { employeeId: 'E-1001', firstName: 'Bob', lastName: 'Builder', email: 'bob.builder@example.com', department: 'engineering' };

const fake = useFakeAws();

interface Invocation<T> {
  result?: T;
  error?: Error;
  context: Context;
  /** The structured log lines this invocation wrote (metrics, in the embedded metric format, are not log lines). */
  records: Array<Record<string, unknown>>;
}

/** Calls a handler as the Lambda runtime would and collects what it logged. */
async function invoke<T>(handler: Handler, functionKey: string, event: unknown): Promise<Invocation<T>> {
  const context = lambdaContext(functionKey);
  const before = fake.output.records().length;
  const invocation: Invocation<T> = { context, records: [] };
  try {
    invocation.result = (await handler(event as never, context)) as T;
  } catch (error) {
    invocation.error = error as Error;
  }
  invocation.records = fake.output.records().slice(before).filter((record) => !('_aws' in record));
  return invocation;
}

/** Every log line of the invocation carries the correlation id, and there is at least one. */
function expectCorrelated(invocation: Invocation<unknown>, correlationId: string, what: string): void {
  expect(invocation.records.length, `${what} logged nothing`).toBeGreaterThan(0);
  expect(invocation.records.map((r) => r.correlation_id), what).toEqual(invocation.records.map(() => correlationId));
}

/** Runs the happy path through every step's handler, as the state machine would chain them. */
async function onboard() {
  const validated = await invoke<{ hire: Hire }>(validateHire as Handler, 'validateHire', input);
  const hire = validated.result!.hire;
  const user = await invoke<{ arn: string; path: string; passwordRules: PasswordRules }>(createUser as Handler, 'createUser', { hire, executionId });
  const profile = await invoke<{ status: string; sealedPassword: string }>(createLoginProfile as Handler, 'createLoginProfile', {
    userName: hire.userName,
    executionId,
    passwordRules: user.result!.passwordRules,
  });
  const delivery = await invoke<{ messageIds: string[]; sentAt: string; signInUrl: string }>(sendCredentials as Handler, 'sendCredentials', {
    hire,
    sealedPassword: profile.result!.sealedPassword,
    executionId,
  });
  const complete = await invoke(markComplete as Handler, 'markComplete', {
    hire,
    user: user.result,
    delivery: delivery.result,
    executionId,
  });
  return { validated, user, profile, delivery, complete };
}

describe('handlers: logging', () => {
  it('puts the execution id on every log line of every workflow step, and the Lambda context', async () => {
    const steps = await onboard();

    for (const [name, step] of Object.entries(steps)) {
      expect(step.error, name).toBeUndefined();
      expect(step.records.length, `${name} logged nothing`).toBeGreaterThan(0);
      for (const record of step.records) {
        // ValidateInput receives the raw HR input, which carries no execution id.
        const expected = name === 'validated' ? step.context.awsRequestId : executionId;
        expect(record.correlation_id, `${name}: ${JSON.stringify(record)}`).toBe(expected);
        expect(record.function_request_id).toBe(step.context.awsRequestId);
        expect(record.function_name).toBe(step.context.functionName);
      }
    }
  });

  it('gives each invocation its own correlation id (nothing carries over between warm invocations)', async () => {
    fake.aws.iam.on(GetUserCommand).resolves({ User: managedUser() });
    const hire = { ...input, userName: 'bob.builder', groups: [] };
    const first = await invoke(createUser as Handler, 'createUser', { hire, executionId: `${executionId}-a` });
    const second = await invoke(createUser as Handler, 'createUser', { hire, executionId: `${executionId}-b` });

    expectCorrelated(first, `${executionId}-a`, 'the first invocation');
    expectCorrelated(second, `${executionId}-b`, 'the second invocation');
  });

  it('never logs the password or the sealed password, even with event logging switched on', async () => {
    const steps = await onboard();
    const [password] = passwordsSent(fake.aws.iam);
    const sealed = steps.profile.result!.sealedPassword;

    expect(password).toBeDefined();
    expect(sealed).toBeTruthy();
    expectNoSecrets([password!, sealed], { logs: fake.output.text() });
    // The sealed password leaves only in the login-profile step's result, for the next state.
    expectNoSecrets([password!], { results: Object.values(steps).map((s) => s.result) });
  });

  it('logs nothing of the raw input when validation fails', async () => {
    const marker = 'MARKER-VALUE-0001';
    const rejected = await invoke(validateHire as Handler, 'validateHire', { ...input, firstName: `${marker}\r\n`, nickname: marker });

    expect(rejected.error?.name).toBe('InvalidHrEvent');
    expect(fake.output.text()).not.toContain(marker);
  });
});

describe('handlers: errors', () => {
  it('logs a domain error once, with name and message, and rethrows it with the same name', async () => {
    fake.aws.iam.on(GetUserCommand).resolves({ User: managedUser({ path: '/', tags: [] }) });
    const hire = { ...input, userName: 'bob.builder', groups: [] };

    const failed = await invoke(createUser as Handler, 'createUser', { hire, executionId });

    expect(failed.error?.name).toBe('UserNameConflict');
    const errors = failed.records.filter((r) => r.level === 'ERROR');
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatchObject({
      message: 'step failed',
      errorName: 'UserNameConflict',
      errorMessage: failed.error!.message,
      correlation_id: executionId,
    });
  });

  it('rethrows an SDK error unchanged, so ErrorEquals matches its name', async () => {
    const etu = new EntityTemporarilyUnmodifiableException({
      message: 'Login Profile for User bob.builder cannot be modified while login profile is being created.',
      $metadata: { httpStatusCode: 409 },
    });
    fake.aws.iam.on(CreateLoginProfileCommand).rejects(etu);

    const failed = await invoke(createLoginProfile as Handler, 'createLoginProfile', { userName: 'bob.builder', executionId, passwordRules: AWS_DEFAULT_RULES });

    expect(failed.error).toBe(etu);
    expect(failed.error!.name).toBe('EntityTemporarilyUnmodifiableException');
    expect(failed.records.filter((r) => r.level === 'ERROR')).toEqual([
      expect.objectContaining({ errorName: 'EntityTemporarilyUnmodifiableException', correlation_id: executionId }),
    ]);
  });

  it('keeps an echoed password out of the log line and the error the runtime reports', async () => {
    fake.aws.iam.on(CreateLoginProfileCommand).callsFake(async (request: { Password: string }) => {
      const message = `Password ${request.Password} does not conform to the account password policy.`;
      throw Object.assign(new PasswordPolicyViolationException({ message, $metadata: { httpStatusCode: 400 } }), {
        Error: { Code: 'PasswordPolicyViolation', Message: message },
      });
    });

    const failed = await invoke(createLoginProfile as Handler, 'createLoginProfile', { userName: 'bob.builder', executionId, passwordRules: AWS_DEFAULT_RULES });

    expect(failed.error!.name).toBe('PasswordPolicyViolationException');
    expect(failed.error!.message).toContain('********');
    expectNoSecrets(passwordsSent(fake.aws.iam), {
      logs: fake.output.text(),
      message: failed.error!.message,
      stack: failed.error!.stack,
      fields: JSON.stringify(failed.error),
    });
  });

  it('fails with ConfigurationError, naming the variable, when the environment is incomplete', async () => {
    const saved = process.env.KMS_KEY_ID;
    delete process.env.KMS_KEY_ID;
    resetConfigCache();
    try {
      const failed = await invoke(createLoginProfile as Handler, 'createLoginProfile', { userName: 'bob.builder', executionId, passwordRules: AWS_DEFAULT_RULES });
      expect(failed.error!.name).toBe('ConfigurationError');
      expect(failed.error!.message).toContain('KMS_KEY_ID: is required');
      expect(fake.aws.iam.calls()).toHaveLength(0);
    } finally {
      process.env.KMS_KEY_ID = saved;
      resetConfigCache();
    }
  });
});

describe('handlers: the failure path', () => {
  const hire = { ...input, userName: 'bob.builder', groups: ['developers'] } as Hire;
  const error = { Error: 'UserNameConflict', Cause: '{"errorType":"UserNameConflict","errorMessage":"User \\"bob.builder\\" already exists"}' };

  it('records the failure on our user and notifies ops, every line carrying the execution id', async () => {
    fake.aws.iam.on(GetUserCommand).resolves({ User: managedUser() });

    const recorded = await invoke(recordFailure as Handler, 'recordFailure', { hire, error, executionId });
    const notified = await invoke(notifyOps as Handler, 'notifyOps', { executionId, state: { hire, error } });

    expect(recorded.result).toEqual({ recorded: true });
    expect(notified.result).toEqual({ messageId: 'message-1' });
    expectCorrelated(recorded, executionId, 'recordFailure');
    expectCorrelated(notified, executionId, 'notifyOps');
    expect(recorded.records.find((r) => r.level === 'WARN')).toMatchObject({ errorName: 'UserNameConflict', recorded: true });
  });

  it('notifies ops of a validation failure, when the state holds only the error', async () => {
    const notified = await invoke(notifyOps as Handler, 'notifyOps', {
      executionId,
      state: { error: { Error: 'InvalidHrEvent', Cause: 'Invalid HR event: email: is required' } },
    });
    expect(notified.error).toBeUndefined();
    expectCorrelated(notified, executionId, 'notifyOps');
  });

  it('uses the account of the Lambda for the sign-in URL when none is configured', async () => {
    const context = lambdaContext('sendCredentials');
    expect(accountIdOf(context)).toBe('123456789012');
    const steps = await onboard();
    expect(steps.delivery.result!.signInUrl).toBe('https://123456789012.signin.aws.amazon.com/console');
  });
});
