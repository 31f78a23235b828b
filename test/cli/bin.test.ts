import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { PROJECT_ROOT } from '../../local/workflow.ts';

const BIN = path.join(PROJECT_ROOT, 'bin', 'onboarding.js');

/** Runs the installed entry point as a real process, with no AWS settings at all. */
async function onboarding(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const env = { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp' };
  try {
    const { stdout, stderr } = await promisify(execFile)(BIN, args, { env, cwd: PROJECT_ROOT, timeout: 30_000 });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failed = error as { code: number; stdout: string; stderr: string };
    return { code: failed.code, stdout: failed.stdout, stderr: failed.stderr };
  }
}

describe('bin/onboarding.js', () => {
  it('is the package bin, and --help lists the commands', async () => {
    const { bin } = (await import('../../package.json', { with: { type: 'json' } })).default as { bin: Record<string, string> };
    expect(path.join(PROJECT_ROOT, bin.onboarding!)).toBe(BIN);

    const { code, stdout, stderr } = await onboarding(['--help']);

    expect(code).toBe(0);
    expect(stderr).toBe('');
    expect(stdout).toMatch(/^Usage: onboarding /);
    for (const command of ['start', 'status', 'list', 'history']) expect(stdout).toMatch(new RegExp(`^  ${command} `, 'm'));
  });

  it('bad input exits 2 with one line on stderr', async () => {
    const { code, stdout, stderr } = await onboarding(['start', '--employee-id', 'E-1', '--first-name', 'Bob', '--state-machine-arn', 'arn:aws:states:us-east-1:123456789012:stateMachine:x']);

    expect(code).toBe(2);
    expect(stdout).toBe('');
    expect(stderr).toBe('onboarding: Invalid HR event: lastName (--last-name): is required; email (--email): is required\n');
  });
});
