import { EmailDomainNotAllowed, GroupNotAllowed, InvalidHrEvent } from './errors.ts';
import type { Hire } from './hire.ts';

/**
 * Who receives the temporary password: the hire (`hire`), the hire's manager (`manager`: for
 * hires without a mailbox before day one; the hire gets nothing), or both in part (`split`: the
 * user name and sign-in link to the hire, the password to the manager).
 */
export const CREDENTIALS_RECIPIENTS = ['hire', 'manager', 'split'] as const;
export type CredentialsRecipient = (typeof CREDENTIALS_RECIPIENTS)[number];

/**
 * What the stage's settings allow, whatever an HR event, a manual input or a tag says: the
 * groups the workflow may assign, the domains that may receive credentials, and who receives
 * the password (the hire or the manager: an address the event gives, at those domains). The roles'
 * IAM policies are generated from the same settings (deploy/trust-boundary.cjs), so a bug here
 * still cannot grant more.
 */
export interface TrustPolicy {
  allowedGroups: readonly string[];
  /** Lower case; an address is allowed when its domain is exactly one of these. */
  allowedEmailDomains: readonly string[];
  /** The stage's `credentialsRecipient`. */
  credentialsRecipient: CredentialsRecipient;
}

/** The domain of an address: what follows its last `@`, lower case. */
export function emailDomainOf(address: string): string {
  return address.slice(address.lastIndexOf('@') + 1).toLowerCase();
}

/** Throws {@link GroupNotAllowed} naming every group outside the allowed ones. */
export function assertGroupsAllowed(groups: readonly string[], policy: Pick<TrustPolicy, 'allowedGroups'>): void {
  const refused = groups.filter((group) => !policy.allowedGroups.includes(group));
  if (refused.length === 0) return;
  const allowed = policy.allowedGroups.length > 0 ? `allowed: ${policy.allowedGroups.join(', ')}` : 'this stage allows no groups';
  throw new GroupNotAllowed(`groups: ${refused.map((g) => `"${g}"`).join(', ')} may not be assigned by this workflow (${allowed})`);
}

/** Throws {@link EmailDomainNotAllowed} when `address` (the hire's `field`) is outside the allowed domains. */
export function assertRecipientAllowed(field: string, address: string, policy: Pick<TrustPolicy, 'allowedEmailDomains'>): void {
  const domain = emailDomainOf(address);
  if (policy.allowedEmailDomains.includes(domain)) return;
  throw new EmailDomainNotAllowed(
    `${field}: the domain "${domain}" may not receive credentials (allowed: ${policy.allowedEmailDomains.join(', ')})`,
  );
}

/** The hire's fields that hold an address the credentials step mails. */
export type RecipientField = 'email' | 'managerEmail';

/**
 * Every address the credentials step mails for this hire, by the hire's field that holds it:
 * the hire's own (unless the manager receives everything) and the manager's (whenever the
 * hire names one: in `hire` mode the manager gets a notice without the password). In `manager`
 * and `split` modes the manager's address is required, and must not be the hire's own: without
 * it the password would have nowhere to go, so the hire is refused with {@link InvalidHrEvent}
 * naming `managerEmail`.
 */
export function credentialRecipients(
  hire: Pick<Hire, 'email' | 'managerEmail'>,
  policy: Pick<TrustPolicy, 'credentialsRecipient'>,
): Array<[field: RecipientField, address: string]> {
  const mode = policy.credentialsRecipient;
  if (mode !== 'hire' && hire.managerEmail === undefined) {
    throw new InvalidHrEvent([{ field: 'managerEmail', problem: `is required: this stage sends the temporary password to the manager (credentialsRecipient: ${mode})` }]);
  }
  // The password would reach the hire's own mailbox, which this mode keeps it from.
  if (mode !== 'hire' && hire.managerEmail?.toLowerCase() === hire.email.toLowerCase()) {
    throw new InvalidHrEvent([{ field: 'managerEmail', problem: `must not be the hire's own address: this stage sends the temporary password to the manager (credentialsRecipient: ${mode})` }]);
  }
  return [
    ...(mode !== 'manager' ? [['email', hire.email] as ['email', string]] : []),
    ...(hire.managerEmail !== undefined ? [['managerEmail', hire.managerEmail] as ['managerEmail', string]] : []),
  ];
}

/**
 * Throws {@link InvalidHrEvent} when the mode needs a manager the hire does not name, and
 * {@link EmailDomainNotAllowed} for the first address the credentials step would mail outside
 * the allowed domains.
 */
export function assertRecipientsAllowed(hire: Pick<Hire, 'email' | 'managerEmail'>, policy: TrustPolicy): void {
  for (const [field, address] of credentialRecipients(hire, policy)) assertRecipientAllowed(field, address, policy);
}

/** The whole check of a hire against the stage's settings: before any AWS write. */
export function assertHireAllowed(hire: Pick<Hire, 'email' | 'managerEmail' | 'groups'>, policy: TrustPolicy): void {
  // A missing manager's address is an invalid event: named before what the event asks for.
  const recipients = credentialRecipients(hire, policy);
  assertGroupsAllowed(hire.groups, policy);
  for (const [field, address] of recipients) assertRecipientAllowed(field, address, policy);
}
