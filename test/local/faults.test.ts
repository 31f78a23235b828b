import { afterEach, describe, expect, it, vi } from 'vitest';
import { FaultInjector, iamEventualConsistency, InvalidFaultRule, parseFaultRules } from '../../local/faults.ts';

const call = (operation: string, params: Record<string, string> = {}, service = 'iam') => ({ service, operation, params });

afterEach(() => {
  vi.useRealTimers();
});

describe('fault rules', () => {
  it('answers with the AWS status and message of a known error, filled in from the request', () => {
    const faults = new FaultInjector();
    faults.add({ service: 'iam', operation: 'CreateLoginProfile', error: 'EntityTemporarilyUnmodifiable' });

    expect(faults.pick(call('CreateLoginProfile', { UserName: 'bob' }))?.error).toEqual({
      code: 'EntityTemporarilyUnmodifiable',
      status: 409,
      message: 'Login Profile for User bob cannot be modified while login profile is being created.',
    });
    expect(faults.pick(call('CreateUser', { UserName: 'bob' }))).toBeUndefined();
    expect(faults.pick(call('CreateLoginProfile', { UserName: 'bob' }, 'ses'))).toBeUndefined();
  });

  it('stops after count matches, and matches any operation with *', () => {
    const faults = new FaultInjector();
    const [rule] = faults.add({ service: 'ses', operation: '*', error: 'Throttling', count: 2 });

    expect(faults.pick(call('SendEmail', {}, 'ses'))?.error).toMatchObject({ code: 'Throttling', status: 400, message: 'Maximum sending rate exceeded.' });
    expect(faults.pick(call('GetSendQuota', {}, 'ses'))?.rule.id).toBe(rule?.id);
    expect(faults.pick(call('SendEmail', {}, 'ses'))).toBeUndefined();
    expect(faults.list()).toEqual([]);
  });

  it('fires with the given probability', () => {
    const draws = [0.1, 0.9, 0.29, 0.3];
    const faults = new FaultInjector(() => draws.shift() ?? 1);
    faults.add({ service: 'iam', operation: 'GetUser', error: 'Throttling', probability: 0.3 });

    const fired = [1, 2, 3, 4].map(() => faults.pick(call('GetUser')) !== undefined);

    expect(fired).toEqual([true, false, true, false]);
    expect(faults.list()[0]?.hits).toBe(2);
  });

  it('expires durationMs after it was added', () => {
    vi.useFakeTimers({ now: 1_000_000 });
    const faults = new FaultInjector();
    faults.add({ service: 'iam', operation: 'GetUser', error: 'ServiceFailure', durationMs: 500 });

    vi.setSystemTime(1_000_499);
    expect(faults.pick(call('GetUser'))?.error?.status).toBe(500);
    vi.setSystemTime(1_000_500);
    expect(faults.pick(call('GetUser'))).toBeUndefined();
    expect(faults.list()).toEqual([]);
  });

  it('models IAM eventual consistency per user, in time since CreateUser', () => {
    vi.useFakeTimers({ now: 5_000 });
    const faults = new FaultInjector();
    faults.add(iamEventualConsistency({ ms: 300 }));

    expect(faults.pick(call('CreateLoginProfile', { UserName: 'bob' }))).toBeUndefined();
    faults.userCreated('Bob');
    vi.setSystemTime(5_299);
    expect(faults.pick(call('CreateLoginProfile', { UserName: 'bob' }))?.error).toMatchObject({ code: 'NoSuchEntity', status: 404 });
    expect(faults.pick(call('CreateLoginProfile', { UserName: 'alice' }))).toBeUndefined();
    vi.setSystemTime(5_300);
    expect(faults.pick(call('CreateLoginProfile', { UserName: 'bob' }))).toBeUndefined();
  });

  it('models IAM eventual consistency per user, in attempts since CreateUser', () => {
    const faults = new FaultInjector();
    faults.add(iamEventualConsistency({ calls: 2 }, 'EntityTemporarilyUnmodifiable'));
    faults.userCreated('bob');
    faults.userCreated('alice');

    const bob = [1, 2, 3].map(() => faults.pick(call('CreateLoginProfile', { UserName: 'bob' }))?.error?.code);
    const alice = faults.pick(call('CreateLoginProfile', { UserName: 'alice' }))?.error?.code;

    expect(bob).toEqual(['EntityTemporarilyUnmodifiable', 'EntityTemporarilyUnmodifiable', undefined]);
    expect(alice).toBe('EntityTemporarilyUnmodifiable');
    // A new CreateUser of the same name starts settling again.
    faults.userCreated('bob');
    expect(faults.pick(call('CreateLoginProfile', { UserName: 'bob' }))).toBeDefined();
  });

  it('describes delays, failures after the work, and Lambda failures', () => {
    const faults = new FaultInjector();
    faults.add([
      { service: 'iam', operation: 'CreateUser', delayMs: 250 },
      { service: 'lambda', operation: 'createUser', error: 'Lambda.Unknown', when: 'after' },
    ]);

    expect(faults.pick(call('CreateUser'))).toMatchObject({ delayMs: 250, when: 'before' });
    expect(faults.pick(call('CreateUser'))?.error).toBeUndefined();
    expect(faults.pick(call('createUser', {}, 'lambda'))).toMatchObject({
      when: 'after',
      error: { code: 'Lambda.Unknown', message: expect.stringContaining('Lambda did not return an error type') },
    });
  });

  it('rejects bad rules naming the field, before any is added', () => {
    const faults = new FaultInjector();
    const attempt = (rules: unknown) => () => faults.add(rules);

    expect(attempt({ service: 'iam', operation: 'GetUser' })).toThrow('Invalid fault rule: error: needs "error" or "delayMs"');
    expect(attempt({ service: 'iam', operation: 'GetUser', error: 'Throtling' })).toThrow(/error: is not an error the stack knows/);
    expect(attempt({ service: 'lambda', operation: 'createUser', error: 'Lambda.Oops' })).toThrow(/error: is not a Lambda error/);
    expect(attempt({ service: 'iam', operation: 'GetUser', error: 'Throttling', when: 'later' })).toThrow(/when: /);
    expect(attempt([{ service: 'iam', operation: 'GetUser', error: 'Throttling' }, { service: 'iam' }])).toThrow(/^Invalid fault rule: rule 1: operation: /);
    expect(faults.list()).toEqual([]);
    expect(() => parseFaultRules({ service: 'iam', operation: 'X', error: 'Custom', status: 418 })).not.toThrow();
    expect(() => parseFaultRules({ service: 'iam', operation: 'X', error: 'Throttling', colour: 'red' })).toThrow(InvalidFaultRule);
  });
});
