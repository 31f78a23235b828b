import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { PROJECT_ROOT } from '../../local/workflow.ts';

describe("README's project layout", () => {
  it('names every top-level folder of the project', () => {
    const readme = readFileSync(`${PROJECT_ROOT}/README.md`, 'utf8');
    const layout = /## Project layout\n+```\n([\s\S]*?)```/.exec(readme)?.[1] ?? '';
    const named = new Set([...layout.matchAll(/^([\w.-]+)\//gm)].map((m) => m[1]));
    const folders = new Set(
      execFileSync('git', ['ls-files'], { cwd: PROJECT_ROOT, encoding: 'utf8' })
        .split('\n')
        .filter((file) => file.includes('/') && !file.startsWith('.'))
        .map((file) => file.split('/')[0]),
    );

    expect(folders.size).toBeGreaterThan(0);
    expect([...folders].filter((folder) => !named.has(folder)).sort(), 'folders the layout leaves out').toEqual([]);
    expect([...named].filter((folder) => !folders.has(folder)).sort(), 'folders the layout names that do not exist').toEqual([]);
  });
});
