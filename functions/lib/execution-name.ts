import { createHash } from 'node:crypto';

/** Step Functions' longest execution name. */
export const MAX_EXECUTION_NAME_LENGTH = 80;

// Only letters, digits, `-` and `_`: what Step Functions asks of names when executions are logged.
const PLAIN_CHARACTERS = 'A-Za-z0-9_-';
const PLAIN_EXECUTION_NAME = new RegExp(`^[${PLAIN_CHARACTERS}]{1,${MAX_EXECUTION_NAME_LENGTH}}$`);
const NOT_PLAIN_CHARACTER = new RegExp(`[^${PLAIN_CHARACTERS}]`, 'g');

/** A name of 1-80 letters, digits, `-` and `_`: the only names this project starts executions with. */
export function isPlainExecutionName(name: string): boolean {
  return PLAIN_EXECUTION_NAME.test(name);
}

/**
 * A deterministic Step Functions execution name, `<prefix>-<key>[-<suffix>]`: the same key
 * always gets the same name, so Step Functions itself refuses to run it twice. The name is
 * plain ({@link isPlainExecutionName}); a key with other characters, or too long to fit, has
 * them replaced and a hash of the real key appended, so two keys never share a name.
 */
export function stableExecutionName(prefix: string, key: string, options: { suffix?: string; replacement?: '-' | '_' } = {}): string {
  const tail = options.suffix ? `-${options.suffix}` : '';
  const room = MAX_EXECUTION_NAME_LENGTH - prefix.length - 1 - tail.length;
  const safe = key.replace(NOT_PLAIN_CHARACTER, options.replacement ?? '-');
  if (safe === key && safe.length <= room) return `${prefix}-${safe}${tail}`;
  const hash = createHash('sha256').update(key).digest('hex').slice(0, 8);
  return `${prefix}-${safe.slice(0, room - hash.length - 1)}-${hash}${tail}`;
}
