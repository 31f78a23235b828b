/**
 * `serverless package` for the local stack's packaged mode: the same zips and template a
 * deployment uploads, built by the project's own packageService (scripts/package-service.ts).
 *
 * It runs on a copy of the project (node_modules linked, not copied): serverless-esbuild builds
 * in a fixed `.esbuild/` folder of the service, so two packagings of one tree at the same time
 * (a test, another test, a person's `npm run local -- --packaged`) would remove each other's
 * files, and one of them can "succeed" with empty zips.
 */
import { cp, mkdtemp, readdir, rm, symlink } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { LOCAL_STAGE, PROJECT_ROOT } from '../serverless-yaml.ts';

import type { PackageResult } from '../../scripts/package-service.ts';

type PackageServiceModule = typeof import('../../scripts/package-service.ts');
export type { PackageResult };

/** Not copied: dependencies (linked), version control, build output and local state, the node 22 install. */
const NOT_COPIED = new Set(['node_modules', '.git', '.home', '.esbuild', '.serverless', '.local-stack.json', 'runtimes', 'coverage', 'dist']);

export interface PackageForLocalOptions {
  /** Where the template and the zips go. */
  outDir: string;
  /** The stage to package (default `local`, the stack's). */
  stage?: string;
  params?: Record<string, string>;
  root?: string;
}

export async function packageForLocal(options: PackageForLocalOptions): Promise<PackageResult> {
  const root = options.root ?? PROJECT_ROOT;
  const copy = await mkdtemp(path.join(os.tmpdir(), 'iam-onboarding-package-'));
  try {
    for (const entry of await readdir(root)) {
      if (!NOT_COPIED.has(entry)) await cp(path.join(root, entry), path.join(copy, entry), { recursive: true, verbatimSymlinks: true });
    }
    await symlink(path.join(root, 'node_modules'), path.join(copy, 'node_modules'), 'dir');
    // The copy's own packageService: it packages the folder it is in.
    const { packageService } = (await import(pathToFileURL(path.join(copy, 'scripts', 'package-service.ts')).href)) as PackageServiceModule;
    return await packageService({
      outDir: path.resolve(options.outDir),
      stage: options.stage ?? LOCAL_STAGE,
      ...(options.params && { params: options.params }),
    });
  } finally {
    await rm(copy, { recursive: true, force: true });
  }
}
