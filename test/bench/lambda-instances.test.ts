/**
 * The burst benchmark's Lambda (testing/lambda-instances.ts): each execution environment is a
 * module instance of its own, reused while warm, and a function's reserved concurrency refuses
 * what is beyond it, as Lambda does.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InMemoryAws } from '../../testing/in-memory-aws.ts';
import { applyTestEnv } from '../../testing/lambda-env.ts';
import { LambdaFunctions } from '../../testing/lambda-instances.ts';

const saved = { ...process.env };
beforeAll(() => {
  applyTestEnv();
  Object.assign(process.env, { POWERTOOLS_LOG_LEVEL: 'SILENT', POWERTOOLS_METRICS_DISABLED: 'true' });
});
afterAll(() => {
  process.env = saved;
});

const hire = (n: number) => ({
  hire: { employeeId: `E-${n}`, firstName: 'Ada', lastName: 'Lovelace', email: `ada${n}@example.com`, userName: `ada${n}`, groups: ['developers'] },
  executionId: `arn:aws:states:us-east-1:123456789012:execution:onboarding:run-${n}`,
});

async function functions() {
  const aws = new InMemoryAws({ iam: { rate: 1000, burst: 1000 }, ses: { rate: 100 }, groups: ['developers'] });
  const lambdas = await LambdaFunctions.load(['createUser'], { requestHandler: (service, observe) => aws.requestHandler(service, observe) });
  const policyReads = () => aws.calls.filter((c) => c.operation === 'GetAccountPasswordPolicy').length;
  return { aws, lambdas, policyReads };
}

describe('execution environments', () => {
  it('are reused while warm, with what their modules remember (the account password policy, read once)', async () => {
    const { lambdas, policyReads } = await functions();

    await lambdas.invoke('createUser', hire(1));
    await lambdas.invoke('createUser', hire(2));

    expect(lambdas.stats).toMatchObject({ invocations: 2, coldStarts: 1 });
    expect(policyReads()).toBe(1);
  });

  it('are started anew for concurrent invocations, each a module instance of its own', async () => {
    const aws = new InMemoryAws({ iam: { rate: 1000, burst: 1000 }, ses: { rate: 100 }, groups: ['developers'] });
    const lambdas = await LambdaFunctions.load(['validateHire'], { requestHandler: (service, observe) => aws.requestHandler(service, observe) });
    const event = { employeeId: 'E-1', firstName: 'Ada', lastName: 'Lovelace', email: 'ada@example.com', department: 'engineering' };

    await Promise.all([lambdas.invoke('validateHire', event), lambdas.invoke('validateHire', event)]);
    await lambdas.invoke('validateHire', event);

    expect(lambdas.stats).toMatchObject({ invocations: 3, coldStarts: 2, peakConcurrency: 2 });
  });

  it("refuse what is beyond a function's reserved concurrency (createUser admits one at a time), as Lambda does", async () => {
    const { lambdas, policyReads } = await functions();

    const [a, b] = await Promise.allSettled([lambdas.invoke('createUser', hire(1)), lambdas.invoke('createUser', hire(2))]);

    expect([a.status, b.status]).toEqual(['fulfilled', 'rejected']);
    expect((b as PromiseRejectedResult).reason).toMatchObject({ name: 'Lambda.TooManyRequestsException' });
    expect(lambdas.stats).toMatchObject({ invocations: 1, throttled: 1, peakConcurrency: 1 });
    expect(policyReads()).toBe(1);
  });

  it('attribute every AWS call to the invocation that made it', async () => {
    const aws = new InMemoryAws({ iam: { rate: 1000, burst: 1000 }, ses: { rate: 100 }, groups: ['developers'] });
    const seen: string[][] = [];
    const lambdas = await LambdaFunctions.load(['createUser'], {
      requestHandler: (service, observe) => aws.requestHandler(service, observe),
      onInvocation: (invocation) => seen.push(invocation.calls.map((c) => c.operation)),
    });

    await lambdas.invoke('createUser', hire(1));
    await lambdas.invoke('createUser', hire(1));

    expect(seen).toEqual([
      ['GetGroup', 'CreateUser', 'AddUserToGroup', 'GetAccountPasswordPolicy', 'AttachUserPolicy'],
      ['GetGroup', 'CreateUser', 'GetUser', 'AddUserToGroup', 'AttachUserPolicy'],
    ]);
  });
});
