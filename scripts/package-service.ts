/**
 * `serverless package` run offline and kept out of the user's home: what CI, the packaging
 * tests and the bundle benchmark all build. Serverless Framework v3 writes ~/.serverlessrc and
 * ~/.serverless/, so HOME points at a throwaway folder unless the caller passes one.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, readdir, rm, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

export const PROJECT_ROOT = path.resolve(import.meta.dirname, '..');
const SERVERLESS = path.join(PROJECT_ROOT, 'node_modules', 'serverless', 'bin', 'serverless.js');

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
    options.outDir,
    ...Object.entries({ ...REQUIRED_EXAMPLE_PARAMS, ...options.params }).flatMap(([key, value]) => ['--param', `${key}=${value}`]),
  ];
  const started = performance.now();
  try {
    const { stdout, stderr } = await run(process.execPath, args, {
      cwd: PROJECT_ROOT,
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
    if (!options.home) await rm(home, { recursive: true, force: true });
  }
}
