/**
 * `serverless package` run offline and kept out of the user's home: what CI, the packaging
 * tests, the local stack's packaged mode and the bundle benchmark all build. Serverless
 * Framework v3 writes ~/.serverlessrc and ~/.serverless/, so HOME points at a throwaway folder
 * unless the caller passes one.
 *
 * It packages a copy of the project (node_modules linked, not copied): serverless-esbuild
 * builds in the service's fixed `.esbuild/` folder, so two packagings of one tree at the same
 * time (two test files, a person's `npm run local -- --packaged`) would remove each other's
 * files, and one of them could "succeed" with empty zips.
 */
import { execFile } from 'node:child_process';
import { cp, mkdtemp, readdir, rm, stat, symlink } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

export const PROJECT_ROOT = path.resolve(import.meta.dirname, '..');
const SERVERLESS = path.join(PROJECT_ROOT, 'node_modules', 'serverless', 'bin', 'serverless.js');

/** Not copied: dependencies (linked), version control, build output and local state, the node 22 install. */
const NOT_COPIED = new Set(['node_modules', '.git', '.home', '.esbuild', '.serverless', '.local-stack.json', 'runtimes', 'coverage', 'dist']);

/** A throwaway copy of the project to package in; the caller removes it. */
async function projectCopy(): Promise<string> {
  const copy = await mkdtemp(path.join(os.tmpdir(), 'iam-onboarding-package-'));
  for (const entry of await readdir(PROJECT_ROOT)) {
    if (!NOT_COPIED.has(entry)) await cp(path.join(PROJECT_ROOT, entry), path.join(copy, entry), { recursive: true, verbatimSymlinks: true });
  }
  await symlink(path.join(PROJECT_ROOT, 'node_modules'), path.join(copy, 'node_modules'), 'dir');
  return copy;
}

/** The settings every stage must give (serverless.yml has no default for them), with example values. */
export const REQUIRED_EXAMPLE_PARAMS = {
  allowedEmailDomains: 'example.com',
  hrPublisherArns: 'arn:aws:iam::123456789012:role/hr-integration',
} as const;

export interface PackageOptions {
  /** Where the template and zips go (`--package`). */
  outDir: string;
  stage?: string;
  /** Stage params (`--param key=value`), over {@link REQUIRED_EXAMPLE_PARAMS} and serverless.yml's defaults. */
  params?: Record<string, string>;
  /** HOME for the Framework's own files; a temporary folder, removed afterwards, if not given. */
  home?: string;
}

export interface PackagedFunction {
  /** The function's key in serverless.yml. */
  key: string;
  zip: string;
  bytes: number;
}

export interface PackageResult {
  outDir: string;
  /** The template `serverless deploy` would send (cloudformation-template-update-stack.json). */
  templatePath: string;
  functions: PackagedFunction[];
  seconds: number;
  /** What the Framework printed. */
  log: string;
}

export async function packageService(options: PackageOptions): Promise<PackageResult> {
  const home = options.home ?? (await mkdtemp(path.join(os.tmpdir(), 'sls-home-')));
  const args = [
    SERVERLESS,
    'package',
    '--stage',
    options.stage ?? 'dev',
    '--package',
    path.resolve(options.outDir),
    ...Object.entries({ ...REQUIRED_EXAMPLE_PARAMS, ...options.params }).flatMap(([key, value]) => ['--param', `${key}=${value}`]),
  ];
  const started = performance.now();
  const work = await projectCopy();
  try {
    const { stdout, stderr } = await run(process.execPath, args, {
      cwd: work,
      env: { ...process.env, HOME: home, SLS_TELEMETRY_DISABLED: '1', SLS_NOTIFICATIONS_MODE: 'off' },
      maxBuffer: 32 * 1024 * 1024,
      timeout: 5 * 60_000,
    });
    const seconds = (performance.now() - started) / 1000;
    const zips = (await readdir(options.outDir)).filter((file) => file.endsWith('.zip')).sort();
    const functions = await Promise.all(
      zips.map(async (file) => {
        const zip = path.join(options.outDir, file);
        return { key: file.slice(0, -'.zip'.length), zip, bytes: (await stat(zip)).size };
      }),
    );
    return {
      outDir: options.outDir,
      templatePath: path.join(options.outDir, 'cloudformation-template-update-stack.json'),
      functions,
      seconds,
      log: `${stdout}${stderr}`,
    };
  } catch (error) {
    const { stdout = '', stderr = '' } = error as { stdout?: string; stderr?: string };
    throw new Error(`serverless package failed: ${(error as Error).message}\n${stdout}${stderr}`, { cause: error });
  } finally {
    await rm(work, { recursive: true, force: true });
    if (!options.home) await rm(home, { recursive: true, force: true });
  }
}
