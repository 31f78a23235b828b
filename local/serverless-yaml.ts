/**
 * serverless.yml as written (variables unresolved): what can be read from it without the
 * framework, by the local stack and by the CLI. A stage's resolved configuration is
 * service-config.ts's (`serverless print`), which takes seconds.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parse } from 'yaml';

export const PROJECT_ROOT = path.resolve(import.meta.dirname, '..');

interface ServerlessFunction {
  handler: string;
  name?: string;
}

export interface ServerlessYaml {
  service: string;
  params?: { default?: Record<string, unknown> };
  functions: Record<string, ServerlessFunction>;
}

export function readServerlessYaml(root = PROJECT_ROOT): ServerlessYaml {
  // The project's own file: its anchors (shared alarm settings, IAM statements) are not an attack,
  // however many times they are merged; the parser's default limit of 100 aliases would refuse it.
  return parse(readFileSync(path.join(root, 'serverless.yml'), 'utf8'), { merge: true, maxAliasCount: -1 }) as ServerlessYaml;
}

const declared = readServerlessYaml();

/** serverless.yml's `service`: a stage deploys as the stack `<service>-<stage>`, its functions as `<service>-<stage>-<key>`. */
export const SERVICE: string = declared.service;

/** The stage the local stack runs unless told otherwise, and the one the CLI's `--local` means. */
export const LOCAL_STAGE = 'local';

/** The `managedPath` param every stage has unless its own params set another. */
export const DEFAULT_MANAGED_PATH = String(declared.params?.default?.managedPath);
