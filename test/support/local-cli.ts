/**
 * The onboarding CLI against a local stack, for integration tests: one stack per test file,
 * reset before each test, found by the CLI's `--local` through a discovery file in a temporary
 * project root (what `npm run local` writes in the real one). The functions run in this process,
 * so their log lines are captured per test, kept out of the output and available to scan.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach } from 'vitest';
import { writeDiscoveryFile } from '../../local/discovery.ts';
import { startLocalStack, type LocalStack } from '../../local/stack.ts';
import { cli as runCli } from '../cli/support.ts';
import { captureOutput } from './capture.ts';

export function useLocalCli(prefix: string) {
  let stack: LocalStack | undefined;
  let root = '';
  let logs: ReturnType<typeof captureOutput> | undefined;

  beforeAll(async () => {
    stack = await startLocalStack({ quiet: true, retryIntervalMs: 10 });
    root = await mkdtemp(path.join(os.tmpdir(), prefix));
    writeDiscoveryFile(stack, root);
  });
  afterAll(async () => {
    await stack?.stop();
    if (root) await rm(root, { recursive: true, force: true });
  });
  beforeEach(async () => {
    await stack?.reset();
    logs = captureOutput();
  });
  afterEach(() => logs?.restore());

  return {
    get stack(): LocalStack {
      if (!stack) throw new Error('the local stack is not running');
      return stack;
    },
    get root(): string {
      return root;
    },
    /** The functions' log lines of the current test. */
    logs: () => logs?.text() ?? '',
    /** The CLI with `--local` and no AWS settings of its own; polls every 20 ms. */
    cli: (argv: string[]) => runCli([...argv, '--local'], { env: {}, projectRoot: root, pollMs: 20 }),
  };
}
