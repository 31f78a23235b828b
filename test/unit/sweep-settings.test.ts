import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  parseSweepSettings,
  SWEEP_DEFAULTS,
  sweepNumberFromText,
  sweepSettingsFromEnv,
  type SweepNumber,
  type SweepSettings,
} from '../../functions/lib/sweep-settings.ts';

const ONBOARDING = 'arn:aws:states:us-east-1:123456789012:stateMachine:iam-onboarding-test-onboarding';
const REPROVISION = 'arn:aws:states:us-east-1:123456789012:stateMachine:iam-onboarding-test-reprovision';
const ARNS = { ONBOARDING_STATE_MACHINE_ARN: ONBOARDING, REPROVISION_STATE_MACHINE_ARN: REPROVISION };
const OWNERSHIP = { managedPath: '/onboarding/', managedBy: 'iam-onboarding-test' };
const SETTINGS: SweepSettings = { ...OWNERSHIP, onboardingStateMachineArn: ONBOARDING, reprovisionStateMachineArn: REPROVISION, ...SWEEP_DEFAULTS };

/** Each number setting, its environment variable and its range. */
const NUMBERS: Array<[SweepNumber, string, number, number]> = [
  ['unusedPasswordDays', 'UNUSED_PASSWORD_DAYS', 1, 365],
  ['maxPasswordResets', 'MAX_PASSWORD_RESETS', 0, 100],
  ['concurrency', 'REPROVISION_CONCURRENCY', 1, 50],
  ['inProgressGraceMinutes', 'IN_PROGRESS_GRACE_MINUTES', 0, 10_080],
];

const fromEnv = (env: Record<string, string | undefined>) => () => sweepSettingsFromEnv({ ...ARNS, ...env }, OWNERSHIP);

describe('sweepSettingsFromEnv', () => {
  it('takes an unset or empty number as its default', () => {
    expect(fromEnv({})()).toEqual(SETTINGS);
    expect(fromEnv({ UNUSED_PASSWORD_DAYS: '', MAX_PASSWORD_RESETS: ' ' })()).toEqual(SETTINGS);
  });

  it.each(NUMBERS)('reads %s from %s, its range being %i-%i', (key, variable, min, max) => {
    expect(fromEnv({ [variable]: String(min) })()[key]).toBe(min);
    expect(fromEnv({ [variable]: String(max) })()[key]).toBe(max);
    for (const bad of [String(min - 1), String(max + 1), '1.5', '1e1', '+5', '-0', 'seven', '0x10']) {
      expect(fromEnv({ [variable]: bad }), bad).toThrowError(`Invalid configuration: ${variable}: must be a whole number from ${min} to ${max}`);
    }
  });

  it('names each bad variable, and a missing state machine as required', () => {
    expect(() => sweepSettingsFromEnv({ REPROVISION_STATE_MACHINE_ARN: 'nope', REPROVISION_CONCURRENCY: '0' }, OWNERSHIP)).toThrowError(
      'Invalid configuration: ONBOARDING_STATE_MACHINE_ARN: is required; REPROVISION_STATE_MACHINE_ARN: must be a state machine ARN; ' +
        'REPROVISION_CONCURRENCY: must be a whole number from 1 to 50',
    );
  });

  it('checks the ownership it is given, under its variables\' names', () => {
    expect(() => sweepSettingsFromEnv(ARNS, { managedPath: 'onboarding', managedBy: '' })).toThrowError(
      'Invalid configuration: MANAGED_PATH: must start and end with "/" and use printable ASCII; MANAGED_BY: must not be empty',
    );
  });
});

describe('parseSweepSettings', () => {
  it('accepts settings within the rules', () => {
    expect(parseSweepSettings(SETTINGS)).toEqual(SETTINGS);
  });

  it('names each bad setting, by its name in code', () => {
    expect(() => parseSweepSettings({ ...SETTINGS, concurrency: 0, unusedPasswordDays: 1.5, reprovisionStateMachineArn: '' })).toThrowError(
      expect.objectContaining({
        name: 'ConfigurationError',
        message:
          'Invalid sweep settings: reprovisionStateMachineArn: must be a state machine ARN; ' +
          'unusedPasswordDays: must be a whole number from 1 to 365; concurrency: must be a whole number from 1 to 50',
      }),
    );
  });
});

describe('sweepNumberFromText (the CLI\'s flags)', () => {
  it.each(NUMBERS)('%s: digits only, within %s\'s range', (key, _variable, min, max) => {
    expect(sweepNumberFromText(key, String(min))).toEqual({ success: true, data: min });
    expect(sweepNumberFromText(key, String(max))).toEqual({ success: true, data: max });
    for (const bad of ['', ' 5', '5 ', '1.5', '1e1', '+5', 'Infinity', '\u0663', '9'.repeat(400), String(max + 1)]) {
      expect(sweepNumberFromText(key, bad), bad).toEqual({
        success: false,
        issues: [{ field: key, problem: `must be a whole number from ${min} to ${max}` }],
      });
    }
  });

  it('agrees with the Lambda\'s environment on every value typed', () => {
    const typed = fc.oneof(fc.string({ minLength: 1, maxLength: 12 }), fc.integer({ min: -10, max: 20_000 }).map(String));
    fc.assert(
      fc.property(fc.constantFrom(...NUMBERS), typed, ([key, variable], text) => {
        fc.pre(text.trim() === text);
        let env: boolean;
        try {
          fromEnv({ [variable]: text })();
          env = true;
        } catch {
          env = false;
        }
        expect(sweepNumberFromText(key, text).success).toBe(env);
      }),
    );
  });
});
