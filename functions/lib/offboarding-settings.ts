import * as z from 'zod/mini';
import { ConfigurationError } from './errors.ts';
import { describeIssues, validate } from './validation.ts';

/**
 * The leaver flow's settings (serverless.yml stage params, as environment variables of the
 * offboarding functions and the sweep), parsed once at cold start; a bad one is named. The time
 * zone a last day ends in is the stage's one `timeZone` (config.ts).
 */

function wholeNumber(min: number, max: number, fallback: number) {
  const problem = `must be a whole number from ${min} to ${max}`;
  return z._default(z.coerce.number(problem).check(z.int(problem), z.minimum(min, problem), z.maximum(max, problem)), fallback);
}

const emptyAsUnset = (value: string | undefined) => (value === undefined || value.trim() === '' ? undefined : value.trim());

/** The defaults of the stage params (serverless.yml), for whoever builds settings without them. */
export const OFFBOARDING_DEFAULTS = { guardShare: 10, guardFloor: 5, retentionDays: 30 } as const;

const schema = z.object({
  /** Percent of the managed users that may lose their access within a day before the guard holds. */
  OFFBOARDING_GUARD_SHARE: wholeNumber(0, 100, OFFBOARDING_DEFAULTS.guardShare),
  /** Users a day that never trip the guard, however few users there are. */
  OFFBOARDING_GUARD_FLOOR: wholeNumber(0, 5000, OFFBOARDING_DEFAULTS.guardFloor),
  /** Days an offboarded user is kept before the sweep deletes it. */
  OFFBOARDED_RETENTION_DAYS: wholeNumber(1, 3650, OFFBOARDING_DEFAULTS.retentionDays),
  /** The SSM parameter an admin's `onboarding confirm-offboarding` writes. */
  OFFBOARDING_CONFIRMATION_PARAMETER: z.string().check(z.regex(/^\/[A-Za-z0-9_.\-/]{1,1010}$/, 'must be an SSM parameter name starting with /')),
});

export interface OffboardingSettings {
  guard: GuardSettings;
  retentionDays: number;
  confirmationParameter: string;
}

export interface GuardSettings {
  /** Percent (0-100) of the managed users. */
  share: number;
  floor: number;
}

export function offboardingSettingsFromEnv(env: Record<string, string | undefined>): OffboardingSettings {
  const input = Object.fromEntries(Object.keys(schema.shape).map((key) => [key, emptyAsUnset(env[key])]));
  const result = validate(schema, input, '(environment)');
  if (!result.success) throw new ConfigurationError(`Invalid configuration: ${describeIssues(result.issues)}`);
  const settings = result.data;
  return {
    guard: { share: settings.OFFBOARDING_GUARD_SHARE, floor: settings.OFFBOARDING_GUARD_FLOOR },
    retentionDays: settings.OFFBOARDED_RETENTION_DAYS,
    confirmationParameter: settings.OFFBOARDING_CONFIRMATION_PARAMETER,
  };
}

let cached: OffboardingSettings | undefined;

/** The running Lambda's offboarding settings, parsed from process.env on first use. */
export function offboardingConfig(): OffboardingSettings {
  cached ??= offboardingSettingsFromEnv(process.env);
  return cached;
}

/** For tests that change the environment between cases. */
export function resetOffboardingConfigCache(): void {
  cached = undefined;
}
