import { vi } from 'vitest';

/** Captures everything written to stdout and stderr (Powertools log lines, CLI output). */
export function captureOutput() {
  const lines: string[] = [];
  const record = (chunk: unknown) => {
    lines.push(typeof chunk === 'string' ? chunk : Buffer.from(chunk as Uint8Array).toString('utf8'));
    return true;
  };
  const spies = [
    vi.spyOn(process.stdout, 'write').mockImplementation(record),
    vi.spyOn(process.stderr, 'write').mockImplementation(record),
    // vitest intercepts the global console before it reaches the streams.
    ...(['log', 'info', 'warn', 'error', 'debug', 'trace'] as const).map((level) =>
      vi.spyOn(console, level).mockImplementation((...args: unknown[]) => {
        record(`${args.map((a) => (typeof a === 'string' ? a : JSON.stringify(a))).join(' ')}\n`);
      }),
    ),
  ];
  return {
    lines,
    text: () => lines.join(''),
    /** The structured (JSON) log lines written so far, parsed; other output is skipped. */
    records: () =>
      lines
        .join('')
        .split('\n')
        .filter((line) => line.trimStart().startsWith('{'))
        .map((line) => JSON.parse(line) as Record<string, unknown>),
    restore: () => spies.forEach((spy) => spy.mockRestore()),
  };
}
