import { createHash } from 'node:crypto';

const MAX_EXECUTION_NAME = 80;

/**
 * A deterministic Step Functions execution name, `<prefix>-<key>[-<suffix>]`: the same key
 * always gets the same name, so Step Functions itself refuses to run it twice. Only letters,
 * digits, `-` and `_` are used (what Step Functions asks for when executions are logged); a key
 * with other characters, or too long to fit, has them replaced and a hash of the real key
 * appended, so two keys never share a name.
 */
export function stableExecutionName(prefix: string, key: string, options: { suffix?: string; replacement?: '-' | '_' } = {}): string {
  const tail = options.suffix ? `-${options.suffix}` : '';
  const room = MAX_EXECUTION_NAME - prefix.length - 1 - tail.length;
  const safe = key.replace(/[^A-Za-z0-9_-]/g, options.replacement ?? '-');
  if (safe === key && safe.length <= room) return `${prefix}-${safe}${tail}`;
  const hash = createHash('sha256').update(key).digest('hex').slice(0, 8);
  return `${prefix}-${safe.slice(0, room - hash.length - 1)}-${hash}${tail}`;
}
