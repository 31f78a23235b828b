import * as z from 'zod/mini';
import { ConfigurationError } from './errors.ts';
import { iamGroupName, iamPath, managedByValue } from './iam-names.ts';
import type { Ownership } from './managed-user.ts';
import type { StartDateSettings } from './start-date.ts';
import { resetOffboardingConfigCache } from './offboarding-settings.ts';
import { sweepSettingsFromEnv, type SweepSettings } from './sweep-settings.ts';
import { CREDENTIALS_RECIPIENTS, type TrustPolicy } from './trust-policy.ts';
import { describeIssues, validate } from './validation.ts';

/**
 * Settings reach the Lambdas as environment variables (serverless.yml `provider.environment`,
 * fed by stage params). They are parsed once, at cold start, and a missing or malformed one
 * fails loudly with its variable name.
 */
const optionalString = z.pipe(
  z.optional(z.string()),
  z.transform((v) => (v === undefined || v.trim() === '' ? undefined : v.trim())),
);

const boolString = z.pipe(
  z.optional(z.enum(['true', 'false', ''], 'must be "true" or "false"')),
  z.transform((v) => v === 'true'),
);

// Checked here so that a bad map fails at cold start, not halfway through an onboarding.
const groupMap = z.record(z.string(), z.array(iamGroupName()).check(z.maxLength(10)));

const departmentGroups = z.pipe(
  z.optional(z.string()),
  z.transform((raw, ctx): Record<string, string[]> => {
    if (raw === undefined || raw.trim() === '') return {};
    try {
      return groupMap.parse(JSON.parse(raw));
    } catch {
      ctx.issues.push({ code: 'custom', input: raw, message: 'must be a JSON object of department to at most 10 IAM group names' });
      return {};
    }
  }),
);

// Written by deploy/trust-boundary.cjs from the stage's settings; IAM policies come from the same.
const allowedGroups = z.pipe(
  z.optional(z.string()),
  z.transform((raw, ctx): string[] => {
    try {
      return z.array(iamGroupName()).parse(JSON.parse(raw?.trim() || '[]'));
    } catch {
      ctx.issues.push({ code: 'custom', input: raw, message: 'must be a JSON array of IAM group names' });
      return [];
    }
  }),
);

const DOMAIN = /^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$/;

const emailDomains = z.pipe(
  z.string(),
  z.transform((raw, ctx): string[] => {
    const domains = raw.split(',').map((d) => d.trim().toLowerCase()).filter((d) => d !== '');
    if (domains.length === 0 || !domains.every((d) => DOMAIN.test(d))) {
      ctx.issues.push({ code: 'custom', input: raw, message: 'must be a comma-separated list of at least one domain name' });
    }
    return domains;
  }),
);

const wholeNumber = 'must be a whole number from 8 to 128';

/** An IANA time zone name (or UTC offset) that this runtime's Intl knows. */
const timeZone = z._default(
  z.string().check(
    z.refine((zone) => {
      try {
        new Intl.DateTimeFormat('en', { timeZone: zone });
        return zone.trim() !== '';
      } catch {
        return false;
      }
    }, 'must be a time zone name such as Europe/Berlin'),
  ),
  'UTC',
);

const wholeNumberIn = (min: number, max: number, fallback: number) => {
  const problem = `must be a whole number from ${min} to ${max}`;
  return z._default(z.coerce.number(problem).check(z.int(problem), z.minimum(min, problem), z.maximum(max, problem)), fallback);
};

const schema = z.object({
  // No defaults: serverless.yml gives every stage both (its params say what they default to),
  // and a Lambda must not quietly manage users under a value no stage uses.
  MANAGED_PATH: iamPath,
  MANAGED_BY: managedByValue,
  PERMISSIONS_BOUNDARY_ARN: z.pipe(
    optionalString,
    z.optional(z.string().check(z.regex(/^arn:aws[a-z-]*:iam::(\d{12}|aws):policy\/\S+$/, 'must be an IAM policy ARN'))),
  ),
  DEPARTMENT_GROUPS: departmentGroups,
  /** The groups the workflow may ever assign: the assignable groups and every department map value. */
  ALLOWED_GROUPS: allowedGroups,
  /** The domains whose addresses may receive credentials (lower case). */
  ALLOWED_EMAIL_DOMAINS: emailDomains,
  /** SES configuration set of the credentials email (TLS required); none locally if unset. */
  CREDENTIALS_CONFIGURATION_SET: optionalString,
  SENDER_EMAIL: z.email('must be an email address'),
  OPS_EMAIL: z.email('must be an email address'),
  PASSWORD_LENGTH: z._default(z.coerce.number(wholeNumber).check(z.int(wholeNumber), z.minimum(8, wholeNumber), z.maximum(128, wholeNumber)), 20),
  SEPARATE_PASSWORD_EMAIL: boolString,
  /** Who receives the temporary password (functions/lib/trust-policy.ts CREDENTIALS_RECIPIENTS). */
  CREDENTIALS_RECIPIENT: z._default(z.enum(CREDENTIALS_RECIPIENTS, `must be one of ${CREDENTIALS_RECIPIENTS.join(', ')}`), 'hire'),
  KMS_KEY_ID: z.string().check(z.minLength(1, 'must not be empty')),
  /** The time zone of HR's dates (start dates, last days). */
  TIME_ZONE: timeZone,
  /** A future start date's credentials go out at this local hour, this many days early. */
  CREDENTIALS_HOUR: wholeNumberIn(0, 23, 8),
  CREDENTIALS_DAYS_EARLY: wholeNumberIn(0, 30, 0),
  /** Account alias (or id) for the console sign-in URL; defaults to the account id of the Lambda. */
  SIGNIN_ACCOUNT: optionalString,
});

export type Config = z.output<typeof schema>;

/** Which users are the stage's: its managed path and managed-by tag value. */
export function ownershipOf(settings: Pick<Config, 'MANAGED_PATH' | 'MANAGED_BY'>): Ownership {
  return { managedPath: settings.MANAGED_PATH, managedBy: settings.MANAGED_BY };
}

/** When a hire's credentials go out, for a start date (functions/lib/start-date.ts). */
export function startDateSettingsOf(settings: Pick<Config, 'TIME_ZONE' | 'CREDENTIALS_HOUR' | 'CREDENTIALS_DAYS_EARLY'>): StartDateSettings {
  return { timeZone: settings.TIME_ZONE, credentialsHour: settings.CREDENTIALS_HOUR, credentialsDaysEarly: settings.CREDENTIALS_DAYS_EARLY };
}

/** What the stage allows: the groups to assign and where credentials may go. */
export function trustPolicyOf(settings: Pick<Config, 'ALLOWED_GROUPS' | 'ALLOWED_EMAIL_DOMAINS' | 'CREDENTIALS_RECIPIENT'>): TrustPolicy {
  return {
    allowedGroups: settings.ALLOWED_GROUPS,
    allowedEmailDomains: settings.ALLOWED_EMAIL_DOMAINS,
    credentialsRecipient: settings.CREDENTIALS_RECIPIENT,
  };
}

export function parseConfig(env: Record<string, string | undefined>): Config {
  const result = validate(schema, env, '(environment)');
  if (!result.success) throw new ConfigurationError(`Invalid configuration: ${describeIssues(result.issues)}`);
  return result.data;
}

let cached: Config | undefined;
let cachedSweep: SweepSettings | undefined;

/** The configuration of this Lambda, parsed from process.env on first use. */
export function config(): Config {
  cached ??= parseConfig(process.env);
  return cached;
}

/** The sweep Lambda's settings: the stage's ownership and the sweep's own variables, parsed on first use. */
export function sweepConfig(): SweepSettings {
  cachedSweep ??= sweepSettingsFromEnv(process.env, ownershipOf(config()));
  return cachedSweep;
}

/** For tests that change the environment between cases. */
export function resetConfigCache(): void {
  cached = undefined;
  cachedSweep = undefined;
  resetOffboardingConfigCache();
}
