/**
 * Node 22, the runtime the functions are deployed on (`nodejs22.x`), for running the packaged
 * functions locally. It comes from the npm registry's `node` package, installed in a nested
 * package of its own (runtimes/node22, pinned in its own lockfile): in the root package its
 * binary would come first on PATH for every npm script, and every test would run on it.
 *
 * `ensureNode22()` installs it on first use (`npm ci --prefix runtimes/node22`), also in CI
 * (no prompt, no stdin) and on a fresh clone.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { PROJECT_ROOT } from '../serverless-yaml.ts';

const run = promisify(execFile);

export const NODE22_PACKAGE = path.join(PROJECT_ROOT, 'runtimes', 'node22');
/** The `node` package links its platform's binary here (its bin entry). */
export const NODE22_BINARY = path.join(NODE22_PACKAGE, 'node_modules', 'node', 'bin', process.platform === 'win32' ? 'node.exe' : 'node');

export interface NodeRuntime {
  /** The binary. */
  path: string;
  /** `process.version` as that binary reports it, e.g. `v22.23.3`. */
  version: string;
}

export class Node22Unavailable extends Error {
  override readonly name = 'Node22Unavailable';
}

async function versionOf(binary: string): Promise<string> {
  const { stdout } = await run(binary, ['-p', 'process.version'], { timeout: 30_000, env: { PATH: process.env.PATH ?? '' } });
  return stdout.trim();
}

/** The npm that runs this process (npm scripts set npm_execpath), else the one on PATH. */
function npmCommand(): { file: string; args: string[] } {
  const execpath = process.env.npm_execpath;
  if (execpath && /npm-cli\.js$/.test(execpath)) return { file: process.execPath, args: [execpath] };
  return { file: process.platform === 'win32' ? 'npm.cmd' : 'npm', args: [] };
}

/**
 * The node 22 binary of runtimes/node22, installed first if it is missing. Fails, saying what
 * to do, if it cannot be installed or is not node 22.
 */
export async function ensureNode22(log: (line: string) => void = () => undefined): Promise<NodeRuntime> {
  if (!existsSync(NODE22_BINARY)) {
    const npm = npmCommand();
    const args = [...npm.args, 'ci', '--prefix', NODE22_PACKAGE, '--no-audit', '--no-fund', '--loglevel=error'];
    log(`local stack: installing node 22 for the packaged functions (npm ci --prefix ${path.relative(PROJECT_ROOT, NODE22_PACKAGE)})`);
    const started = Date.now();
    try {
      // npm_config_* of an enclosing npm script (a --prefix, --omit...) must not change this install.
      const env = Object.fromEntries(Object.entries(process.env).filter(([name]) => !/^npm_/i.test(name)));
      await run(npm.file, args, { cwd: NODE22_PACKAGE, env: { ...env, CI: 'true' }, timeout: 5 * 60_000, maxBuffer: 16 * 1024 * 1024 });
    } catch (error) {
      const { stderr = '' } = error as { stderr?: string };
      throw new Node22Unavailable(
        `Could not install node 22 for the packaged functions (npm ci --prefix runtimes/node22): ${(error as Error).message.split('\n')[0]}\n${stderr.trim().slice(-2000)}`,
        { cause: error },
      );
    }
    log(`local stack: node 22 installed in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  }
  if (!existsSync(NODE22_BINARY)) {
    throw new Node22Unavailable(
      `npm ci --prefix runtimes/node22 left no ${path.relative(PROJECT_ROOT, NODE22_BINARY)}: the node package's install script ` +
        '(which fetches the binary for this platform) did not run. runtimes/node22/package.json allows it (allowScripts); ' +
        'check that npm is not set to ignore scripts (npm config get ignore-scripts).',
    );
  }
  const version = await versionOf(NODE22_BINARY);
  if (!/^v22\./.test(version)) {
    throw new Node22Unavailable(`${NODE22_BINARY} is ${version}, not node 22: run npm ci --prefix runtimes/node22`);
  }
  return { path: NODE22_BINARY, version };
}
