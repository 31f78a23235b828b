/**
 * The AWS CLI against the local stack, as an operator or HR's integration would run it: what the
 * integration tests drive the stack with. A missing `aws` fails the test with how to install it.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { afterAll, beforeAll } from 'vitest';
import { startLocalStack, type LocalStack } from '../../local/stack.ts';
import { captureOutput } from './capture.ts';

const run = promisify(execFile);
export const AWS_CLI_MISSING = 'The AWS CLI (`aws`) is needed for this test: install AWS CLI v2 or `pip install awscli`.';

/** A function that makes one AWS CLI call against `stack` and returns its JSON answer ({} for none). */
export function awsCli(stack: () => LocalStack): (...args: string[]) => Promise<Record<string, unknown>> {
  return async (...args) => {
    const local = stack();
    const env = { ...process.env, ...local.clientEnv, AWS_PAGER: '', AWS_ENDPOINT_URL: local.endpoint };
    const { stdout } = await run('aws', [...args, '--output', 'json'], { env }).catch((error: NodeJS.ErrnoException) => {
      throw error.code === 'ENOENT' ? new Error(AWS_CLI_MISSING) : error;
    });
    return stdout.trim() ? (JSON.parse(stdout) as Record<string, unknown>) : {};
  };
}

/**
 * One local stack for the test file, its functions' output kept out of the test's (until
 * `showOutput`), and the AWS CLI against it.
 */
export function useAwsCliStack() {
  let stack: LocalStack | undefined;
  let output: ReturnType<typeof captureOutput> | undefined;
  beforeAll(async () => {
    output = captureOutput();
    stack = await startLocalStack({ quiet: true, retryIntervalMs: 10 });
  }, 120_000);
  afterAll(async () => {
    await stack?.stop();
    output?.restore();
  });
  const current = (): LocalStack => {
    if (!stack) throw new Error('the local stack is not running');
    return stack;
  };
  return {
    get stack(): LocalStack {
      return current();
    },
    /** One AWS CLI call against the stack; its JSON answer. */
    aws: awsCli(current),
    /** Stops capturing, so that what the test prints shows. */
    showOutput: () => output?.restore(),
  };
}
