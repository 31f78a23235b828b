import { describe, expect, it } from 'vitest';
import { targetInput } from '../../local/eventbridge.ts';
import { eventBridgeRoutes, mergeEnvironment } from '../../local/service-config.ts';

describe('the functions environment', () => {
  it('merges the provider environment with each function environment', () => {
    const { environment, skipped } = mergeEnvironment(
      { LOG: 'INFO', KEY: { 'Fn::GetAtt': ['Key', 'Arn'] } },
      { a: { environment: { ONLY_A: '1' } }, b: {}, c: { environment: { ONLY_A: '1', LOG: 'INFO' } } },
    );
    expect(environment).toEqual({ LOG: 'INFO', KEY: { 'Fn::GetAtt': ['Key', 'Arn'] }, ONLY_A: '1' });
    expect(skipped).toEqual([]);
  });

  it('keeps one function SDK settings away from the others, and says so', () => {
    const { environment, skipped } = mergeEnvironment({ AWS_NODEJS_CONNECTION_REUSE_ENABLED: '1' }, {
      sweep: { environment: { AWS_MAX_ATTEMPTS: '6', AWS_NODEJS_CONNECTION_REUSE_ENABLED: '1' } },
    });
    expect(environment).toEqual({ AWS_NODEJS_CONNECTION_REUSE_ENABLED: '1' });
    expect(skipped).toEqual(['sweep.AWS_MAX_ATTEMPTS']);
  });

  it('refuses two functions that need different values of one variable', () => {
    expect(() => mergeEnvironment({}, { a: { environment: { X: '1' } }, b: { environment: { X: '2' } } })).toThrow(
      'Functions a and b set X differently; the local stack runs all functions in one process',
    );
  });
});

describe('EventBridge rules', () => {
  const event = { id: 'e1', source: 'hr.system', 'detail-type': 'Employee Hired', detail: { employeeId: 'E-1', nested: { a: [1, 2] } } };

  it('reads serverless-step-functions eventBridge events: bus, pattern, inputPath, disabled rules', () => {
    const routes = eventBridgeRoutes('onboarding', [
      { eventBridge: { eventBusName: 'hr', event: { source: ['hr.system'] }, inputPath: '$.detail' } },
      { eventBridge: { pattern: { source: ['x'] } } },
      { eventBridge: { event: { source: ['y'] }, enabled: false } },
      { schedule: 'rate(1 day)' },
    ]);
    expect(routes).toEqual([
      { eventBusName: 'hr', pattern: { source: ['hr.system'] }, inputPath: '$.detail' },
      { eventBusName: 'default', pattern: { source: ['x'] } },
    ]);
  });

  it('refuses what it cannot do as AWS would', () => {
    expect(() => eventBridgeRoutes('m', [{ eventBridge: { event: { source: ['x'] }, inputTransformer: {} } }])).toThrow(
      'm: eventBridge inputTransformer is not supported by the local stack',
    );
    expect(() => eventBridgeRoutes('m', [{ eventBridge: { eventBusName: 'hr' } }])).toThrow('m: an eventBridge event has no "event" pattern');
  });

  it('passes the target the whole event, the inputPath part, or the constant input', () => {
    expect(targetInput({}, event)).toBe(event);
    expect(targetInput({ inputPath: '$.detail' }, event)).toEqual(event.detail);
    expect(targetInput({ inputPath: '$.detail.nested.a' }, event)).toEqual([1, 2]);
    expect(targetInput({ input: '{"fixed":true}' }, event)).toEqual({ fixed: true });
    expect(targetInput({ input: { fixed: 1 } }, event)).toEqual({ fixed: 1 });
  });
});
