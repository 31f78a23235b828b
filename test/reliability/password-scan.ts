/**
 * Scans every place a run left text in for the passwords it generated, with the checks of
 * test/support/secrets.ts (plain, JSON-escaped, base64), and counts rather than stopping at the
 * first hit, so a suite can report how many places it looked at and which ones leaked.
 */
import { expectNoSecrets } from '../support/secrets.ts';

export interface PasswordScan {
  /** Individual items scanned: log lines, history events, tags, messages, requests... */
  places: number;
  /** `category[index]` of each item that holds a password. */
  hits: string[];
}

function holdsSecret(passwords: string[], where: string, value: unknown): boolean {
  try {
    expectNoSecrets(passwords, { [where]: value });
    return false;
  } catch {
    return true;
  }
}

/**
 * Each category is scanned whole first (one pass over its text), and item by item only when
 * it holds a password, to name the items.
 */
export function scanForPasswords(passwords: string[], categories: Record<string, unknown[]>): PasswordScan {
  if (passwords.length === 0) throw new Error('No passwords to look for: the run generated none, so the scan would prove nothing');
  const scan: PasswordScan = { places: 0, hits: [] };
  for (const [category, items] of Object.entries(categories)) {
    scan.places += items.length;
    if (!holdsSecret(passwords, category, items)) continue;
    items.forEach((item, index) => {
      if (holdsSecret(passwords, `${category}[${index}]`, item)) scan.hits.push(`${category}[${index}]`);
    });
  }
  return scan;
}
