import { randomUUID } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';

/**
 * Finds leftover processes precisely: a test puts a unique marker in the environment of what
 * it starts; every process started from there (moto, the stack's child, the framework)
 * inherits it. Other people's processes on the machine never carry it.
 */
export const MARK_VARIABLE = 'LOCAL_STACK_TEST_MARK';

export function newMark(): string {
  return randomUUID();
}

/** Pids of live processes whose environment carries the marker (Linux /proc). */
export function processesMarked(mark: string): number[] {
  const needle = `${MARK_VARIABLE}=${mark}`;
  const found: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    try {
      const environ = readFileSync(`/proc/${entry}/environ`, 'utf8').split('\0');
      if (environ.includes(needle)) found.push(Number(entry));
    } catch {
      // Gone already, or not ours to read.
    }
  }
  return found;
}

/** Command lines of the given pids, for a readable failure. */
export function describeProcesses(pids: number[]): string[] {
  return pids.map((pid) => {
    try {
      return `${pid} ${readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ').slice(0, 200)}`;
    } catch {
      return `${pid} (gone)`;
    }
  });
}

/** Moto server processes (any, anyone's), by pid: `pgrep -f moto.server`. */
export function motoPids(): number[] {
  try {
    return execFileSync('pgrep', ['-f', 'moto.server'], { encoding: 'utf8' }).split('\n').filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
