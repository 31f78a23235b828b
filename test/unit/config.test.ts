import { afterEach, describe, expect, it } from 'vitest';
import { config, parseConfig, resetConfigCache, sweepConfig, type Config } from '../../functions/lib/config.ts';
import { ConfigurationError } from '../../functions/lib/errors.ts';
import { SWEEP_DEFAULTS } from '../../functions/lib/sweep-settings.ts';
import { TEST_ENV } from '../../testing/lambda-env.ts';

const required = {
  MANAGED_PATH: '/onboarding/',
  MANAGED_BY: 'iam-onboarding-dev',
  SENDER_EMAIL: 'it-onboarding@example.com',
  OPS_EMAIL: 'platform-ops@example.com',
  KMS_KEY_ID: 'arn:aws:kms:us-east-1:123456789012:key/11111111-2222-3333-4444-555555555555',
  ALLOWED_EMAIL_DOMAINS: 'example.com',
};

function configurationError(env: Record<string, string | undefined>): ConfigurationError {
  try {
    parseConfig(env);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigurationError);
    expect((error as Error).name).toBe('ConfigurationError');
    return error as ConfigurationError;
  }
  throw new Error(`expected ${JSON.stringify(env)} to be rejected`);
}

describe('parseConfig', () => {
  it('fills in the defaults when only the required settings are given', () => {
    expect(parseConfig(required)).toEqual({
      ...required,
      ALLOWED_EMAIL_DOMAINS: ['example.com'],
      ALLOWED_GROUPS: [],
      DEPARTMENT_GROUPS: {},
      PASSWORD_LENGTH: 20,
      SEPARATE_PASSWORD_EMAIL: false,
      CREDENTIALS_RECIPIENT: 'hire',
      TIME_ZONE: 'UTC',
      CREDENTIALS_HOUR: 8,
      CREDENTIALS_DAYS_EARLY: 0,
    });
  });

  it('reads every setting as serverless.yml passes it (all strings)', () => {
    expect(
      parseConfig({
        ...required,
        MANAGED_PATH: '/people/new-hires/',
        MANAGED_BY: 'iam-onboarding-prod',
        PERMISSIONS_BOUNDARY_ARN: ' arn:aws:iam::123456789012:policy/boundary ',
        DEPARTMENT_GROUPS: '{"engineering":["developers","on-call"],"finance":[]}',
        PASSWORD_LENGTH: '32',
        SEPARATE_PASSWORD_EMAIL: 'true',
        CREDENTIALS_RECIPIENT: 'split',
        SIGNIN_ACCOUNT: 'example-corp',
        ALLOWED_GROUPS: '["developers","on-call","auditors"]',
        ALLOWED_EMAIL_DOMAINS: ' Example.com, corp.example.org ',
        CREDENTIALS_CONFIGURATION_SET: 'iam-onboarding-prod-credentials',
        TIME_ZONE: 'Europe/Berlin',
        CREDENTIALS_HOUR: '9',
        CREDENTIALS_DAYS_EARLY: '1',
      }),
    ).toEqual<Config>({
      ...required,
      ALLOWED_GROUPS: ['developers', 'on-call', 'auditors'],
      ALLOWED_EMAIL_DOMAINS: ['example.com', 'corp.example.org'],
      CREDENTIALS_CONFIGURATION_SET: 'iam-onboarding-prod-credentials',
      MANAGED_PATH: '/people/new-hires/',
      MANAGED_BY: 'iam-onboarding-prod',
      PERMISSIONS_BOUNDARY_ARN: 'arn:aws:iam::123456789012:policy/boundary',
      DEPARTMENT_GROUPS: { engineering: ['developers', 'on-call'], finance: [] },
      PASSWORD_LENGTH: 32,
      SEPARATE_PASSWORD_EMAIL: true,
      CREDENTIALS_RECIPIENT: 'split',
      SIGNIN_ACCOUNT: 'example-corp',
      TIME_ZONE: 'Europe/Berlin',
      CREDENTIALS_HOUR: 9,
      CREDENTIALS_DAYS_EARLY: 1,
    });
  });

  it('refuses a time zone or an hour it cannot use', () => {
    expect(() => parseConfig({ ...required, TIME_ZONE: 'Mars/Olympus_Mons' })).toThrow(/TIME_ZONE: must be a time zone name/);
    expect(() => parseConfig({ ...required, CREDENTIALS_HOUR: '24' })).toThrow(/CREDENTIALS_HOUR: must be a whole number from 0 to 23/);
    expect(() => parseConfig({ ...required, CREDENTIALS_DAYS_EARLY: '-1' })).toThrow(/CREDENTIALS_DAYS_EARLY/);
  });

  it('treats the empty strings of unset stage params as "not set"', () => {
    const parsed = parseConfig({
      ...required,
      PERMISSIONS_BOUNDARY_ARN: '',
      DEPARTMENT_GROUPS: ' ',
      SEPARATE_PASSWORD_EMAIL: '',
      SIGNIN_ACCOUNT: '  ',
    });
    expect(parsed.PERMISSIONS_BOUNDARY_ARN).toBeUndefined();
    expect(parsed.SIGNIN_ACCOUNT).toBeUndefined();
    expect(parsed.DEPARTMENT_GROUPS).toEqual({});
    expect(parsed.SEPARATE_PASSWORD_EMAIL).toBe(false);
  });

  it('accepts the test environment the in-process tests use', () => {
    expect(parseConfig(TEST_ENV)).toMatchObject({ MANAGED_BY: TEST_ENV.MANAGED_BY, DEPARTMENT_GROUPS: { engineering: ['developers'] } });
  });

  // serverless.yml gives every stage both: a default here would be a value no stage uses.
  it.each(['MANAGED_PATH', 'MANAGED_BY', 'SENDER_EMAIL', 'OPS_EMAIL', 'KMS_KEY_ID', 'ALLOWED_EMAIL_DOMAINS'] as const)('requires %s, naming it', (name) => {
    const { [name]: _omitted, ...rest } = required;
    expect(configurationError(rest).message).toBe(`Invalid configuration: ${name}: is required`);
  });

  it('names every missing variable at once', () => {
    const { message } = configurationError({});
    expect(message).toContain('MANAGED_PATH: is required');
    expect(message).toContain('MANAGED_BY: is required');
    expect(message).toContain('SENDER_EMAIL: is required');
    expect(message).toContain('OPS_EMAIL: is required');
    expect(message).toContain('KMS_KEY_ID: is required');
    expect(message).toContain('ALLOWED_EMAIL_DOMAINS: is required');
  });

  it.each([
    ['MANAGED_PATH', 'onboarding', 'must start and end with "/" and use printable ASCII'],
    ['MANAGED_PATH', '/onboarding', 'must start and end with "/" and use printable ASCII'],
    ['MANAGED_PATH', '/on boarding/', 'must start and end with "/" and use printable ASCII'],
    ['MANAGED_PATH', '//', 'must start and end with "/" and use printable ASCII'],
    ['MANAGED_PATH', `/${'p'.repeat(511)}/`, 'must be at most 512 characters'],
    ['MANAGED_BY', '', 'must not be empty'],
    ['MANAGED_BY', 'm'.repeat(257), 'must be at most 256 characters'],
    ['MANAGED_BY', 'iam-onboarding#dev', 'must use only letters, digits, spaces and _.:/=+-@'],
    ['MANAGED_BY', 'iam-onboarding\u2028dev', 'must use only letters, digits, spaces and _.:/=+-@'],
    ['PERMISSIONS_BOUNDARY_ARN', 'boundary', 'must be an IAM policy ARN'],
    ['PERMISSIONS_BOUNDARY_ARN', 'arn:aws:iam::123456789012:role/boundary', 'must be an IAM policy ARN'],
    ['DEPARTMENT_GROUPS', '{engineering: developers}', 'must be a JSON object of department to at most 10 IAM group names'],
    ['DEPARTMENT_GROUPS', '["developers"]', 'must be a JSON object of department to at most 10 IAM group names'],
    ['DEPARTMENT_GROUPS', '{"engineering":"developers"}', 'must be a JSON object of department to at most 10 IAM group names'],
    ['DEPARTMENT_GROUPS', '{"engineering":["dev ops"]}', 'must be a JSON object of department to at most 10 IAM group names'],
    ['DEPARTMENT_GROUPS', '{"engineering":[""]}', 'must be a JSON object of department to at most 10 IAM group names'],
    [
      'DEPARTMENT_GROUPS',
      JSON.stringify({ engineering: Array.from({ length: 11 }, (_, i) => `g${i}`) }),
      'must be a JSON object of department to at most 10 IAM group names',
    ],
    ['SENDER_EMAIL', 'it-onboarding', 'must be an email address'],
    ['OPS_EMAIL', 'ops@', 'must be an email address'],
    ['PASSWORD_LENGTH', '7', 'must be a whole number from 8 to 128'],
    ['PASSWORD_LENGTH', '129', 'must be a whole number from 8 to 128'],
    ['PASSWORD_LENGTH', '20.5', 'must be a whole number from 8 to 128'],
    ['PASSWORD_LENGTH', 'twenty', 'must be a whole number from 8 to 128'],
    ['SEPARATE_PASSWORD_EMAIL', 'yes', 'must be "true" or "false"'],
    ['SEPARATE_PASSWORD_EMAIL', 'TRUE', 'must be "true" or "false"'],
    ['CREDENTIALS_RECIPIENT', 'boss', 'must be one of hire, manager, split'],
    ['CREDENTIALS_RECIPIENT', '', 'must be one of hire, manager, split'],
    ['KMS_KEY_ID', '', 'must not be empty'],
    ['ALLOWED_EMAIL_DOMAINS', '', 'must be a comma-separated list of at least one domain name'],
    ['ALLOWED_EMAIL_DOMAINS', ' , ', 'must be a comma-separated list of at least one domain name'],
    ['ALLOWED_EMAIL_DOMAINS', '@example.com', 'must be a comma-separated list of at least one domain name'],
    ['ALLOWED_EMAIL_DOMAINS', 'example.com,*', 'must be a comma-separated list of at least one domain name'],
    ['ALLOWED_GROUPS', 'developers', 'must be a JSON array of IAM group names'],
    ['ALLOWED_GROUPS', '["dev ops"]', 'must be a JSON array of IAM group names'],
    ['ALLOWED_GROUPS', '{"a":1}', 'must be a JSON array of IAM group names'],
  ])('rejects %s = %j', (name, value, problem) => {
    expect(configurationError({ ...required, [name]: value }).message).toBe(`Invalid configuration: ${name}: ${problem}`);
  });

  it.each([
    ['PASSWORD_LENGTH', '8', 8],
    ['PASSWORD_LENGTH', '128', 128],
    ['MANAGED_PATH', '/', '/'],
    ['PERMISSIONS_BOUNDARY_ARN', 'arn:aws-us-gov:iam::aws:policy/PowerUserAccess', 'arn:aws-us-gov:iam::aws:policy/PowerUserAccess'],
  ])('accepts %s = %j', (name, value, parsed) => {
    expect(parseConfig({ ...required, [name]: value })[name as keyof Config]).toEqual(parsed);
  });
});

describe('config()', () => {
  const saved = { ...process.env };
  afterEach(() => {
    process.env = { ...saved };
    resetConfigCache();
  });

  it('parses process.env once and keeps the result until reset', () => {
    Object.assign(process.env, required, { PASSWORD_LENGTH: '24' });
    resetConfigCache();
    expect(config().PASSWORD_LENGTH).toBe(24);

    process.env.PASSWORD_LENGTH = '30';
    expect(config().PASSWORD_LENGTH).toBe(24);

    resetConfigCache();
    expect(config().PASSWORD_LENGTH).toBe(30);
  });

  it('fails loudly when the environment is incomplete', () => {
    process.env = { PATH: saved.PATH };
    resetConfigCache();
    expect(() => config()).toThrow(ConfigurationError);
    expect(() => config()).toThrow(/SENDER_EMAIL: is required/);
  });

  describe('sweepConfig(), the sweep Lambda\'s settings', () => {
    const onboarding = 'arn:aws:states:us-east-1:123456789012:stateMachine:iam-onboarding-test-onboarding';
    const reprovision = 'arn:aws:states:us-east-1:123456789012:stateMachine:iam-onboarding-test-reprovision';
    const arns = { ONBOARDING_STATE_MACHINE_ARN: onboarding, REPROVISION_STATE_MACHINE_ARN: reprovision };

    it('is the stage\'s ownership and the sweep\'s variables, parsed once until reset', () => {
      process.env = { ...saved, ...TEST_ENV, ...arns, UNUSED_PASSWORD_DAYS: '14' };
      resetConfigCache();
      expect(sweepConfig()).toEqual({
        managedPath: TEST_ENV.MANAGED_PATH,
        managedBy: TEST_ENV.MANAGED_BY,
        onboardingStateMachineArn: onboarding,
        reprovisionStateMachineArn: reprovision,
        ...SWEEP_DEFAULTS,
        unusedPasswordDays: 14,
        confirmationParameter: TEST_ENV.OFFBOARDING_CONFIRMATION_PARAMETER,
      });

      process.env.UNUSED_PASSWORD_DAYS = '3';
      expect(sweepConfig().unusedPasswordDays).toBe(14);
      resetConfigCache();
      expect(sweepConfig().unusedPasswordDays).toBe(3);
    });

    it('fails loudly naming the variable', () => {
      process.env = { ...saved, ...TEST_ENV, ONBOARDING_STATE_MACHINE_ARN: onboarding, MAX_PASSWORD_RESETS: 'three' };
      delete process.env.REPROVISION_STATE_MACHINE_ARN;
      resetConfigCache();
      expect(() => sweepConfig()).toThrowError(
        expect.objectContaining({
          name: 'ConfigurationError',
          message: 'Invalid configuration: REPROVISION_STATE_MACHINE_ARN: is required; MAX_PASSWORD_RESETS: must be a whole number from 0 to 100',
        }),
      );
    });

    it('fails as every Lambda does when the shared settings are missing', () => {
      process.env = { ...saved, ...TEST_ENV, ...arns };
      delete process.env.MANAGED_BY;
      resetConfigCache();
      expect(() => sweepConfig()).toThrowError('Invalid configuration: MANAGED_BY: is required');
    });
  });
});
