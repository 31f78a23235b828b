import { GetAccountPasswordPolicyCommand, IAMClient } from '@aws-sdk/client-iam';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  AWS_DEFAULT_RULES,
  cachedPasswordRules,
  forgetPasswordRules,
  generatePassword,
  MAX_PASSWORD_LENGTH,
  PASSWORD_POLICY_CACHE_MS,
  passwordRules,
  type PasswordRules,
} from '../../functions/lib/password.ts';
import { iamClient } from '../../functions/lib/clients.ts';
import { fakeAws, type FakeAws } from '../../testing/aws-fakes.ts';

// The symbols an IAM password policy counts as "non-alphanumeric".
const IAM_SYMBOLS = "!@#$%^&*()_+-=[]{}|'";
const escape = (chars: string) => chars.replace(/[\]\\^-]/g, '\\$&');
const ALLOWED = new RegExp(`^[A-Za-z0-9${escape(IAM_SYMBOLS)}]+$`);

const classes = {
  upper: /[A-Z]/,
  lower: /[a-z]/,
  digit: /[0-9]/,
  symbol: new RegExp(`[${escape(IAM_SYMBOLS)}]`),
};

describe('generatePassword', () => {
  it('has the requested length (20 is the configured default)', () => {
    expect(generatePassword(AWS_DEFAULT_RULES, 20)).toHaveLength(20);
    expect(generatePassword(AWS_DEFAULT_RULES, 31)).toHaveLength(31);
  });

  it('is raised to the policy minimum', () => {
    expect(generatePassword({ ...AWS_DEFAULT_RULES, minimumLength: 40 }, 20)).toHaveLength(40);
  });

  it(`is capped at IAM's ${MAX_PASSWORD_LENGTH} characters`, () => {
    expect(generatePassword(AWS_DEFAULT_RULES, 500)).toHaveLength(128);
    expect(generatePassword({ ...AWS_DEFAULT_RULES, minimumLength: 128 }, 20)).toHaveLength(128);
  });

  it('has an upper-case letter, a lower-case letter, a digit and a symbol, even at the shortest length', () => {
    for (let i = 0; i < 500; i++) {
      const password = generatePassword(AWS_DEFAULT_RULES, 8);
      for (const [name, pattern] of Object.entries(classes)) {
        expect(pattern.test(password), `${name} missing in a generated password`).toBe(true);
      }
    }
  });

  it('uses only characters IAM accepts, no spaces, quotes that break JSON, or backslashes', () => {
    for (let i = 0; i < 200; i++) expect(generatePassword(AWS_DEFAULT_RULES, 64)).toMatch(ALLOWED);
  });

  it('uses all four classes when the policy requires fewer', () => {
    const lax: PasswordRules = { ...AWS_DEFAULT_RULES, requireSymbols: false, requireNumbers: false, requireUppercase: false };
    const password = generatePassword(lax, 12);
    expect(password).toHaveLength(12);
    expect(password).toMatch(ALLOWED);
  });

  it('never repeats over many passwords', () => {
    const seen = new Set<string>();
    for (let i = 0; i < 5_000; i++) seen.add(generatePassword(AWS_DEFAULT_RULES, 20));
    expect(seen.size).toBe(5_000);
  });

  it('does not put the required characters in fixed places', () => {
    // Without the shuffle the first character would always be upper case.
    const firstClasses = new Set<string>();
    for (let i = 0; i < 200; i++) {
      const first = generatePassword(AWS_DEFAULT_RULES, 8).charAt(0);
      firstClasses.add(Object.entries(classes).find(([, pattern]) => pattern.test(first))![0]);
    }
    expect(firstClasses).toEqual(new Set(['upper', 'lower', 'digit', 'symbol']));
  });

  it('spreads characters over the whole alphabet', () => {
    const counts = new Map<string, number>();
    for (let i = 0; i < 2_000; i++) {
      for (const c of generatePassword(AWS_DEFAULT_RULES, 20)) counts.set(c, (counts.get(c) ?? 0) + 1);
    }
    // 40,000 characters over ~77 symbols: every one appears, none dominates.
    expect(counts.size).toBeGreaterThan(70);
    expect(Math.max(...counts.values())).toBeLessThan(40_000 / 20);
  });
});

describe('passwordRules', () => {
  let aws: FakeAws;
  beforeEach(() => {
    aws = fakeAws();
  });
  afterEach(() => aws.reset());

  it("falls back to AWS's default rules when the account has no password policy (NoSuchEntity)", async () => {
    await expect(passwordRules(iamClient())).resolves.toEqual(AWS_DEFAULT_RULES);
    expect(aws.iam).toHaveReceivedCommandTimes(GetAccountPasswordPolicyCommand, 1);
  });

  it("reads the account policy's minimum length and whether users may change their password", async () => {
    aws.iam.on(GetAccountPasswordPolicyCommand).resolves({
      PasswordPolicy: { MinimumPasswordLength: 24, AllowUsersToChangePassword: true, RequireSymbols: false },
    });
    await expect(passwordRules(iamClient())).resolves.toEqual({
      minimumLength: 24,
      requireUppercase: true,
      requireLowercase: true,
      requireNumbers: true,
      requireSymbols: true,
      allowUsersToChangePassword: true,
    });
  });

  it('treats a policy without AllowUsersToChangePassword as not allowing it', async () => {
    aws.iam.on(GetAccountPasswordPolicyCommand).resolves({ PasswordPolicy: { MinimumPasswordLength: 14 } });
    await expect(passwordRules(iamClient())).resolves.toMatchObject({ minimumLength: 14, allowUsersToChangePassword: false });
  });

  it('lets other errors through, so the state machine can retry them', async () => {
    const throttled = Object.assign(new Error('Rate exceeded'), { name: 'Throttling' });
    aws.iam.on(GetAccountPasswordPolicyCommand).rejects(throttled);
    await expect(passwordRules(iamClient())).rejects.toMatchObject({ name: 'Throttling' });
  });
});

describe('cachedPasswordRules', () => {
  let aws: FakeAws;
  beforeEach(() => {
    aws = fakeAws();
    forgetPasswordRules();
  });
  afterEach(() => aws.reset());

  it(`reads the policy once per ${PASSWORD_POLICY_CACHE_MS / 60_000} minutes, then again`, async () => {
    const t0 = 1_000_000;
    await cachedPasswordRules(iamClient(), t0);
    await cachedPasswordRules(iamClient(), t0 + PASSWORD_POLICY_CACHE_MS - 1);
    expect(aws.iam).toHaveReceivedCommandTimes(GetAccountPasswordPolicyCommand, 1);
    await cachedPasswordRules(iamClient(), t0 + PASSWORD_POLICY_CACHE_MS);
    expect(aws.iam).toHaveReceivedCommandTimes(GetAccountPasswordPolicyCommand, 2);
  });

  it('remembers it for the client that read it only', async () => {
    await cachedPasswordRules(iamClient(), 0);
    const other = new IAMClient({ region: 'us-east-1' });
    await cachedPasswordRules(other, 1);
    expect(aws.iam).toHaveReceivedCommandTimes(GetAccountPasswordPolicyCommand, 2);
  });
});
