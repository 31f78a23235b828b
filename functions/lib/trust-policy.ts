import { EmailDomainNotAllowed, GroupNotAllowed } from './errors.ts';
import type { Hire } from './hire.ts';

/**
 * What the stage's settings allow, whatever an HR event, a manual input or a tag says: the
 * groups the workflow may assign and the domains that may receive credentials. The roles'
 * IAM policies are generated from the same settings (deploy/trust-boundary.cjs), so a bug here
 * still cannot grant more.
 */
export interface TrustPolicy {
  allowedGroups: readonly string[];
  /** Lower case; an address is allowed when its domain is exactly one of these. */
  allowedEmailDomains: readonly string[];
}

/** The domain of an address: what follows its last `@`, lower case. */
export function emailDomainOf(address: string): string {
  return address.slice(address.lastIndexOf('@') + 1).toLowerCase();
}

/** Throws {@link GroupNotAllowed} naming every group outside the allowed ones. */
export function assertGroupsAllowed(groups: readonly string[], policy: TrustPolicy): void {
  const refused = groups.filter((group) => !policy.allowedGroups.includes(group));
  if (refused.length === 0) return;
  const allowed = policy.allowedGroups.length > 0 ? `allowed: ${policy.allowedGroups.join(', ')}` : 'this stage allows no groups';
  throw new GroupNotAllowed(`groups: ${refused.map((g) => `"${g}"`).join(', ')} may not be assigned by this workflow (${allowed})`);
}

/** Throws {@link EmailDomainNotAllowed} when `address` (the hire's `field`) is outside the allowed domains. */
export function assertRecipientAllowed(field: string, address: string, policy: TrustPolicy): void {
  const domain = emailDomainOf(address);
  if (policy.allowedEmailDomains.includes(domain)) return;
  throw new EmailDomainNotAllowed(
    `${field}: the domain "${domain}" may not receive credentials (allowed: ${policy.allowedEmailDomains.join(', ')})`,
  );
}

/**
 * The addresses the onboarding mails credentials to, by the hire's field that holds them: the
 * new hire's own address (the manager's address receives nothing yet).
 */
export function credentialRecipients(hire: Pick<Hire, 'email'>): Array<[field: string, address: string]> {
  return [['email', hire.email]];
}

/** The whole check of a hire against the stage's settings: before any AWS write. */
export function assertHireAllowed(hire: Pick<Hire, 'email' | 'groups'>, policy: TrustPolicy): void {
  assertGroupsAllowed(hire.groups, policy);
  for (const [field, address] of credentialRecipients(hire)) assertRecipientAllowed(field, address, policy);
}
