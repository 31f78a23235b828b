import { randomInt } from 'node:crypto';
import { GetAccountPasswordPolicyCommand, NoSuchEntityException, type IAMClient } from '@aws-sdk/client-iam';

/** The parts of the account password policy a generated password must satisfy. */
export interface PasswordRules {
  minimumLength: number;
  requireUppercase: boolean;
  requireLowercase: boolean;
  requireNumbers: boolean;
  requireSymbols: boolean;
  allowUsersToChangePassword: boolean;
}

/**
 * With no account policy AWS applies its default: at least 8 characters and three of
 * upper case, lower case, digits and symbols. Requiring all four satisfies it.
 */
export const AWS_DEFAULT_RULES: PasswordRules = {
  minimumLength: 8,
  requireUppercase: true,
  requireLowercase: true,
  requireNumbers: true,
  requireSymbols: true,
  allowUsersToChangePassword: false,
};

export const MAX_PASSWORD_LENGTH = 128;

/** The account password policy's rules, read from IAM now. */
export async function passwordRules(iam: IAMClient): Promise<PasswordRules> {
  try {
    const { PasswordPolicy: policy } = await iam.send(new GetAccountPasswordPolicyCommand({}));
    return {
      minimumLength: policy?.MinimumPasswordLength ?? AWS_DEFAULT_RULES.minimumLength,
      // Every class is used even when the policy does not ask for it: stronger, and still valid.
      requireUppercase: true,
      requireLowercase: true,
      requireNumbers: true,
      requireSymbols: true,
      allowUsersToChangePassword: policy?.AllowUsersToChangePassword ?? false,
    };
  } catch (error) {
    if (error instanceof NoSuchEntityException) return AWS_DEFAULT_RULES;
    throw error;
  }
}

/**
 * How long a warm Lambda trusts the account password policy it read: a burst of hires costs one
 * GetAccountPasswordPolicy per execution environment every few minutes instead of one per hire
 * and per retry. A policy changed meanwhile reaches new passwords within this time.
 */
export const PASSWORD_POLICY_CACHE_MS = 5 * 60_000;

let remembered: { iam: IAMClient; rules: PasswordRules; readAt: number } | undefined;

/** {@link passwordRules}, read at most once every {@link PASSWORD_POLICY_CACHE_MS} by this Lambda's client. */
export async function cachedPasswordRules(iam: IAMClient, now: number = Date.now()): Promise<PasswordRules> {
  if (remembered?.iam === iam && now - remembered.readAt < PASSWORD_POLICY_CACHE_MS) return remembered.rules;
  const rules = await passwordRules(iam);
  remembered = { iam, rules, readAt: now };
  return rules;
}

/** For tests that change the account password policy between cases. */
export function forgetPasswordRules(): void {
  remembered = undefined;
}

const UPPER = 'ABCDEFGHJKLMNPQRSTUVWXYZ';
const LOWER = 'abcdefghijkmnopqrstuvwxyz';
const DIGITS = '23456789';
// The symbols IAM password policies count; the look-alike-free subset of each class above.
const SYMBOLS = "!@#$%^&*()_+-=[]{}|'";

function pick(alphabet: string): string {
  return alphabet.charAt(randomInt(alphabet.length));
}

/**
 * A random password from node:crypto: `length` characters (raised to the policy minimum,
 * capped at IAM's 128), with at least one character of every required class.
 */
export function generatePassword(rules: PasswordRules, length: number): string {
  const size = Math.min(MAX_PASSWORD_LENGTH, Math.max(length, rules.minimumLength));
  const classes = [
    rules.requireUppercase && UPPER,
    rules.requireLowercase && LOWER,
    rules.requireNumbers && DIGITS,
    rules.requireSymbols && SYMBOLS,
  ].filter((c): c is string => typeof c === 'string');
  const all = classes.join('') || UPPER + LOWER + DIGITS + SYMBOLS;

  const chars = classes.map(pick);
  while (chars.length < size) chars.push(pick(all));
  // Fisher-Yates, so the required characters are not always at the front.
  for (let i = chars.length - 1; i > 0; i--) {
    const j = randomInt(i + 1);
    [chars[i], chars[j]] = [chars[j] as string, chars[i] as string];
  }
  return chars.join('');
}
