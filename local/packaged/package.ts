/**
 * `serverless package` for the local stack's packaged mode: the same zips and template a
 * deployment uploads, for the local stage, built by the project's own packageService.
 */
import { packageService, type PackageResult } from '../../scripts/package-service.ts';
import { LOCAL_STAGE } from '../serverless-yaml.ts';

export type { PackageResult };

export function packageForLocal(options: { outDir: string; params?: Record<string, string> }): Promise<PackageResult> {
  return packageService({ outDir: options.outDir, stage: LOCAL_STAGE, ...(options.params && { params: options.params }) });
}
