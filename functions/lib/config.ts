import * as z from 'zod/mini';
import { ConfigurationError } from './errors.ts';

/**
 * Settings reach the Lambdas as environment variables (serverless.yml `provider.environment`,
 * fed by stage params). They are parsed once, at cold start, and a missing or malformed one
 * fails loudly with its variable name.
 */
const iamPath = z
  .string()
  .check(z.regex(/^\/([\x21-\x7e]*\/)?$/, 'must start and end with "/" and use printable ASCII'), z.maxLength(512));

const optionalString = z.pipe(
  z.optional(z.string()),
  z.transform((v) => (v === undefined || v.trim() === '' ? undefined : v.trim())),
);

const boolString = z.pipe(
  z.optional(z.enum(['true', 'false', ''])),
  z.transform((v) => v === 'true'),
);

const groupMap = z.record(z.string(), z.array(z.string().check(z.minLength(1))));

const departmentGroups = z.pipe(
  z.optional(z.string()),
  z.transform((raw, ctx): Record<string, string[]> => {
    if (raw === undefined || raw.trim() === '') return {};
    try {
      return groupMap.parse(JSON.parse(raw));
    } catch {
      ctx.issues.push({ code: 'custom', input: raw, message: 'must be a JSON object of department to group names' });
      return {};
    }
  }),
);

const schema = z.object({
  MANAGED_PATH: z._default(iamPath, '/onboarding/'),
  MANAGED_BY: z._default(z.string().check(z.minLength(1), z.maxLength(256)), 'iam-onboarding-workflow'),
  PERMISSIONS_BOUNDARY_ARN: optionalString,
  DEPARTMENT_GROUPS: departmentGroups,
  SENDER_EMAIL: z.email(),
  OPS_EMAIL: z.email(),
  PASSWORD_LENGTH: z._default(z.coerce.number().check(z.int(), z.minimum(8), z.maximum(128)), 20),
  SEPARATE_PASSWORD_EMAIL: boolString,
  KMS_KEY_ID: z.string().check(z.minLength(1)),
  /** Account alias (or id) for the console sign-in URL; defaults to the account id of the Lambda. */
  SIGNIN_ACCOUNT: optionalString,
});

export type Config = z.output<typeof schema>;

export function parseConfig(env: Record<string, string | undefined>): Config {
  const result = schema.safeParse(env);
  if (!result.success) {
    const problems = result.error.issues
      .map((issue) => `${issue.path.join('.') || '(environment)'}: ${issue.message}`)
      .join('; ');
    throw new ConfigurationError(`Invalid configuration: ${problems}`);
  }
  return result.data;
}

let cached: Config | undefined;

/** The configuration of this Lambda, parsed from process.env on first use. */
export function config(): Config {
  cached ??= parseConfig(process.env);
  return cached;
}

/** For tests that change the environment between cases. */
export function resetConfigCache(): void {
  cached = undefined;
}
