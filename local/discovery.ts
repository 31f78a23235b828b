import { rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { LocalStack } from './stack.ts';

/** The file in the project root through which the onboarding CLI's `--local` finds a running stack. */
export const DISCOVERY_FILE_NAME = '.local-stack.json';

export function writeDiscoveryFile(stack: Pick<LocalStack, 'endpoint' | 'stateMachines'>, dir: string): string {
  const file = path.join(dir, DISCOVERY_FILE_NAME);
  const stateMachines = Object.fromEntries(stack.stateMachines.map((m) => [m.key, m.arn]));
  writeFileSync(file, `${JSON.stringify({ endpoint: stack.endpoint, stateMachines }, null, 2)}\n`);
  return file;
}

export function removeDiscoveryFile(dir: string): void {
  rmSync(path.join(dir, DISCOVERY_FILE_NAME), { force: true });
}
