import { parseConfig, trustPolicyOf } from '../functions/lib/config.ts';

/** The Lambda environment of in-process runs, tests and benchmarks: what serverless.yml gives the functions. */
export const TEST_ENV = {
  AWS_REGION: 'us-east-1',
  AWS_ACCESS_KEY_ID: 'test',
  AWS_SECRET_ACCESS_KEY: 'test',
  MANAGED_PATH: '/onboarding/',
  MANAGED_BY: 'iam-onboarding-test',
  SENDER_EMAIL: 'it-onboarding@example.com',
  OPS_EMAIL: 'platform-ops@example.com',
  KMS_KEY_ID: 'arn:aws:kms:us-east-1:123456789012:key/11111111-2222-3333-4444-555555555555',
  DEPARTMENT_GROUPS: '{"engineering":["developers"]}',
  ALLOWED_GROUPS: '["developers","on-call"]',
  ALLOWED_EMAIL_DOMAINS: 'example.com',
  PASSWORD_LENGTH: '20',
  CREDENTIALS_RECIPIENT: 'hire',
  POWERTOOLS_LOG_LEVEL: 'DEBUG',
  OFFBOARDING_CONFIRMATION_PARAMETER: '/iam-onboarding-test/offboarding-confirmation',
} as const;

/** The trust policy the Lambdas read from {@link TEST_ENV}. */
export const TEST_TRUST = trustPolicyOf(parseConfig(TEST_ENV));

export function applyTestEnv(): void {
  Object.assign(process.env, TEST_ENV);
}
