/**
 * The discovery file: while `npm run local` runs, `.local-stack.json` in the project root says
 * where the stack is, and the onboarding CLI's `--local` reads it. Declared here for both.
 */
import { rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { LocalStack } from './stack.ts';

export const DISCOVERY_FILE_NAME = '.local-stack.json';

/** What the file holds: the endpoint, and each state machine's ARN by its serverless.yml key. */
export interface LocalStackDiscovery {
  endpoint: string;
  stateMachines: Record<string, string>;
}

export function discoveryFilePath(dir: string): string {
  return path.join(dir, DISCOVERY_FILE_NAME);
}

/** Whether a parsed file has the shape above (a stack of another version may have written it). */
export function isLocalStackDiscovery(value: unknown): value is LocalStackDiscovery {
  const file = value as Partial<LocalStackDiscovery> | null;
  return typeof file?.endpoint === 'string' && typeof file.stateMachines === 'object' && file.stateMachines !== null;
}

export function writeDiscoveryFile(stack: Pick<LocalStack, 'endpoint' | 'stateMachines'>, dir: string): string {
  const file = discoveryFilePath(dir);
  const discovery: LocalStackDiscovery = {
    endpoint: stack.endpoint,
    stateMachines: Object.fromEntries(stack.stateMachines.map((m) => [m.key, m.arn])),
  };
  writeFileSync(file, `${JSON.stringify(discovery, null, 2)}\n`);
  return file;
}

export function removeDiscoveryFile(dir: string): void {
  rmSync(discoveryFilePath(dir), { force: true });
}
