import * as z from 'zod/mini';
import { ConfigurationError } from './errors.ts';
import { iamPath, managedByValue } from './iam-names.ts';
import type { Ownership } from './managed-user.ts';
import { OFFBOARDING_DEFAULTS } from './offboarding-settings.ts';
import { describeIssues, validate, type Validated } from './validation.ts';

/**
 * The reprovisioning sweep's settings, and their one schema: the sweep Lambda reads them from
 * its environment (serverless.yml), the CLI from its flags, and the sweep checks them again
 * before its first call, whoever built them.
 */

function wholeNumber(min: number, max: number) {
  const problem = `must be a whole number from ${min} to ${max}`;
  return z.number(problem).check(z.int(problem), z.minimum(min, problem), z.maximum(max, problem));
}

const stateMachineArn = z.string().check(z.regex(/^arn:[^:]+:states:/, 'must be a state machine ARN'));

const sweepSettingsSchema = z.object({
  managedPath: iamPath,
  managedBy: managedByValue,
  onboardingStateMachineArn: stateMachineArn,
  reprovisionStateMachineArn: stateMachineArn,
  /** Days a temporary password may stay unused before it is reset. */
  unusedPasswordDays: wholeNumber(1, 365),
  /** Resets of one user's password before its console access is removed instead. */
  maxPasswordResets: wholeNumber(0, 100),
  /** Users inspected (and executions started) at the same time. */
  concurrency: wholeNumber(1, 50),
  /** An onboarding whose user was touched this recently may still be running: leave it. */
  inProgressGraceMinutes: wholeNumber(0, 10_080),
  /** Days an offboarded user is kept before the sweep deletes it. */
  retentionDays: wholeNumber(1, 3650),
  /** The mass-change guard (offboarding-guard.ts): percent of the managed users, and users a day that never trip it. */
  guardShare: wholeNumber(0, 100),
  guardFloor: wholeNumber(0, 5000),
  /** The SSM parameter of an admin's confirmation; without one, nothing lifts the guard. */
  confirmationParameter: z.optional(z.string()),
});

export type SweepSettings = z.output<typeof sweepSettingsSchema>;

export type SweepNumber = 'unusedPasswordDays' | 'maxPasswordResets' | 'concurrency' | 'inProgressGraceMinutes' | 'retentionDays' | 'guardShare' | 'guardFloor';

export const SWEEP_DEFAULTS = {
  unusedPasswordDays: 7,
  maxPasswordResets: 3,
  concurrency: 5,
  inProgressGraceMinutes: 60,
  ...OFFBOARDING_DEFAULTS,
} as const satisfies Pick<SweepSettings, SweepNumber>;

/** The environment variable each setting comes from in the sweep Lambda. */
const SWEEP_ENV: Record<keyof SweepSettings, string> = {
  managedPath: 'MANAGED_PATH',
  managedBy: 'MANAGED_BY',
  onboardingStateMachineArn: 'ONBOARDING_STATE_MACHINE_ARN',
  reprovisionStateMachineArn: 'REPROVISION_STATE_MACHINE_ARN',
  unusedPasswordDays: 'UNUSED_PASSWORD_DAYS',
  maxPasswordResets: 'MAX_PASSWORD_RESETS',
  concurrency: 'REPROVISION_CONCURRENCY',
  inProgressGraceMinutes: 'IN_PROGRESS_GRACE_MINUTES',
  retentionDays: 'OFFBOARDED_RETENTION_DAYS',
  guardShare: 'OFFBOARDING_GUARD_SHARE',
  guardFloor: 'OFFBOARDING_GUARD_FLOOR',
  confirmationParameter: 'OFFBOARDING_CONFIRMATION_PARAMETER',
};

/** Digits only: a sign, a fraction, an exponent or white space is not a whole number as typed. */
function numberFromText(text: string): number {
  return /^\d+$/.test(text) ? Number(text) : Number.NaN;
}

/** Checks settings built in code (the CLI's, a test's); throws {@link ConfigurationError} naming each bad one. */
export function parseSweepSettings(settings: SweepSettings): SweepSettings {
  const result = validate(sweepSettingsSchema, settings, '(settings)');
  if (!result.success) throw new ConfigurationError(`Invalid sweep settings: ${describeIssues(result.issues)}`);
  return result.data;
}

/** A number setting typed as text (a CLI flag): its value, or what is wrong with it. */
export function sweepNumberFromText(key: SweepNumber, text: string): Validated<number> {
  return validate(sweepSettingsSchema.shape[key], numberFromText(text), key);
}

/**
 * The sweep's settings from the Lambda environment (serverless.yml), with the stage's
 * ownership. An unset or empty number takes its default; a bad variable is named.
 */
export function sweepSettingsFromEnv(env: Record<string, string | undefined>, ownership: Ownership): SweepSettings {
  const number = (key: SweepNumber) => {
    const text = env[SWEEP_ENV[key]]?.trim();
    return text ? numberFromText(text) : SWEEP_DEFAULTS[key];
  };
  const result = validate(
    sweepSettingsSchema,
    {
      ...ownership,
      onboardingStateMachineArn: env[SWEEP_ENV.onboardingStateMachineArn],
      reprovisionStateMachineArn: env[SWEEP_ENV.reprovisionStateMachineArn],
      unusedPasswordDays: number('unusedPasswordDays'),
      maxPasswordResets: number('maxPasswordResets'),
      concurrency: number('concurrency'),
      inProgressGraceMinutes: number('inProgressGraceMinutes'),
      retentionDays: number('retentionDays'),
      guardShare: number('guardShare'),
      guardFloor: number('guardFloor'),
      ...(env[SWEEP_ENV.confirmationParameter]?.trim() && { confirmationParameter: env[SWEEP_ENV.confirmationParameter]?.trim() }),
    },
    '(environment)',
  );
  if (!result.success) {
    const byVariable = result.issues.map((issue) => ({ ...issue, field: SWEEP_ENV[issue.field as keyof SweepSettings] ?? issue.field }));
    throw new ConfigurationError(`Invalid configuration: ${describeIssues(byVariable)}`);
  }
  return result.data;
}
