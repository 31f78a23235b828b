import { execFile } from 'node:child_process';
import { readdirSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { Command } from 'commander';
import { describe, expect, it } from 'vitest';
import type { CommandContext } from '../../cli/output.ts';
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

/**
 * The CLI's commands, as its command modules declare them (one file each under cli/commands/),
 * so that a new command is covered here as soon as it is written.
 */
async function cliCommands(): Promise<string[]> {
  const folder = path.join(PROJECT_ROOT, 'cli', 'commands');
  const program = new Command('onboarding');
  const ctx: CommandContext = { io: { stdout: () => undefined, stderr: () => undefined }, exit: () => undefined };
  for (const file of readdirSync(folder).filter((f) => f.endsWith('.ts')).sort()) {
    const { register } = (await import(pathToFileURL(path.join(folder, file)).href)) as { register: (p: Command, c: CommandContext) => void };
    register(program, ctx);
  }
  return program.commands.map((command) => command.name());
}

describe('bin/onboarding.js', () => {
  it('is the package bin, and --help lists the commands', async () => {
    const { bin } = (await import('../../package.json', { with: { type: 'json' } })).default as { bin: Record<string, string> };
    expect(path.join(PROJECT_ROOT, bin.onboarding!)).toBe(BIN);

    const { code, stdout, stderr } = await onboarding(['--help']);

    expect(code).toBe(0);
    expect(stderr).toBe('');
    expect(stdout).toMatch(/^Usage: onboarding /);
    const commands = await cliCommands();
    expect(commands).toEqual(expect.arrayContaining(['start', 'status', 'list', 'history', 'reprovision']));
    for (const command of commands) expect(stdout, command).toMatch(new RegExp(`^  ${command} `, 'm'));
  });

  it('prints the help of every command', async () => {
    for (const command of await cliCommands()) {
      const { code, stdout, stderr } = await onboarding([command, '--help']);

      expect(code, command).toBe(0);
      expect(stderr, command).toBe('');
      expect(stdout, command).toMatch(new RegExp(`^Usage: onboarding ${command} `));
    }
  });

  it('bad input exits 2 with one line on stderr', async () => {
    const { code, stdout, stderr } = await onboarding(['start', '--employee-id', 'E-1', '--first-name', 'Bob', '--state-machine-arn', 'arn:aws:states:us-east-1:123456789012:stateMachine:x']);

    expect(code).toBe(2);
    expect(stdout).toBe('');
    expect(stderr).toBe('onboarding: Invalid HR event: lastName (--last-name): is required; email (--email): is required\n');
  });
});
