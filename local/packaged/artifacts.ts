/**
 * What `serverless package` wrote, read as CloudFormation would deploy it: each
 * AWS::Lambda::Function of the template with its zip, handler, runtime, timeout, memory and
 * environment. The local stack runs exactly these.
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { unzip, type ZipEntry } from './unzip.ts';

export const TEMPLATE_FILE = 'cloudformation-template-update-stack.json';

export interface PackagedFunction {
  /** The function's key in serverless.yml (its zip is `<key>.zip`). */
  key: string;
  logicalId: string;
  /** `Handler`: `<file without extension>.<export>`, resolved in the unpacked zip as Lambda does. */
  handler: string;
  /** `Runtime`, e.g. `nodejs22.x`. */
  runtime: string;
  timeoutSeconds: number;
  memoryMb: number;
  /** `Environment.Variables` as the template has them (intrinsics unresolved). */
  environment: Record<string, unknown>;
  zip: string;
}

interface LambdaResource {
  Type: string;
  Properties?: {
    Code?: { S3Key?: unknown };
    Handler?: string;
    Runtime?: string;
    Timeout?: number;
    MemorySize?: number;
    Environment?: { Variables?: Record<string, unknown> };
  };
}

export class PackageUnusable extends Error {
  override readonly name = 'PackageUnusable';
}

/** The functions of the package in `dir`, by serverless.yml key. */
export function readPackage(dir: string): Map<string, PackagedFunction> {
  const templatePath = path.join(dir, TEMPLATE_FILE);
  if (!existsSync(templatePath)) {
    throw new PackageUnusable(`${dir} holds no ${TEMPLATE_FILE}: point at the folder serverless package wrote (--package)`);
  }
  const template = JSON.parse(readFileSync(templatePath, 'utf8')) as { Resources?: Record<string, LambdaResource> };
  const functions = new Map<string, PackagedFunction>();
  for (const [logicalId, resource] of Object.entries(template.Resources ?? {})) {
    if (resource.Type !== 'AWS::Lambda::Function') continue;
    const props = resource.Properties ?? {};
    const s3Key = typeof props.Code?.S3Key === 'string' ? props.Code.S3Key : undefined;
    if (!s3Key || !props.Handler || !props.Runtime) {
      throw new PackageUnusable(`${logicalId}: the template gives no zip (Code.S3Key), Handler or Runtime`);
    }
    const zipName = path.posix.basename(s3Key);
    const zip = path.join(dir, zipName);
    if (!existsSync(zip)) throw new PackageUnusable(`${logicalId}: ${zipName} is not in ${dir}`);
    const key = zipName.replace(/\.zip$/, '');
    functions.set(key, {
      key,
      logicalId,
      handler: props.Handler,
      runtime: props.Runtime,
      timeoutSeconds: props.Timeout ?? 3,
      memoryMb: props.MemorySize ?? 128,
      environment: props.Environment?.Variables ?? {},
      zip,
    });
  }
  if (functions.size === 0) throw new PackageUnusable(`${templatePath} declares no Lambda function`);
  return functions;
}

/** Unpacks a function's zip into `taskRoot` (Lambda's /var/task); refuses an empty zip. */
export async function unpack(fn: PackagedFunction, taskRoot: string): Promise<ZipEntry[]> {
  const entries = await unzip(fn.zip, taskRoot);
  if (entries.length === 0) throw new PackageUnusable(`${fn.key}: ${path.basename(fn.zip)} is empty`);
  return entries;
}
