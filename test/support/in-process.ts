/**
 * The in-process harness for tests: the Lambda environment, faked AWS and captured output,
 * fresh for each test (`useFakeAws`), and on top of it the real state machines with the real
 * handlers (`useStateMachines`), with every test's executions scanned for the password.
 */
import { CreateUserCommand, TagUserCommand } from '@aws-sdk/client-iam';
import { SendEmailCommand } from '@aws-sdk/client-ses';
import { afterEach, beforeAll, beforeEach } from 'vitest';
import { resetConfigCache } from '../../functions/lib/config.ts';
import { fakeAws, type FakeAws } from '../../testing/aws-fakes.ts';
import { applyTestEnv } from '../../testing/lambda-env.ts';
import type { ExecutionEvent } from '../../local/workflow.ts';
import { inProcessStateMachine, type ExecutionResult, type InProcessStateMachine } from '../../testing/state-machine.ts';
import { captureOutput } from './capture.ts';
import { expectNoSecrets, passwordsSent } from './secrets.ts';

export interface FakeAwsOptions {
  /** The IAM groups that exist (default: developers). */
  groups?: string[];
  /** Runs after each test, before the fakes are reset: checks on what the test left. */
  afterEach?: (aws: FakeAws, output: ReturnType<typeof captureOutput>) => void;
}

/** For every test: the Lambda environment, fresh AWS fakes, and stdout/stderr captured. */
export function useFakeAws(options: FakeAwsOptions = {}) {
  let aws: FakeAws | undefined;
  let output: ReturnType<typeof captureOutput> | undefined;

  beforeAll(() => {
    applyTestEnv();
    resetConfigCache();
  });
  beforeEach(() => {
    aws = fakeAws(options.groups ? { groups: options.groups } : {});
    output = captureOutput();
  });
  afterEach(() => {
    try {
      if (aws && output) options.afterEach?.(aws, output);
    } finally {
      output?.restore();
      aws?.reset();
    }
  });

  return {
    get aws(): FakeAws {
      if (!aws) throw new Error('useFakeAws: no test is running');
      return aws;
    },
    get output(): ReturnType<typeof captureOutput> {
      if (!output) throw new Error('useFakeAws: no test is running');
      return output;
    },
  };
}

const stateName = (event: ExecutionEvent) => (event.state as { name: string }).name;

/** The states an execution entered, in order. */
export const entered = (result: ExecutionResult): string[] => result.events.filter((e) => e.type === 'StateEntered').map(stateName);

/** The retries of one state. */
export const retries = (result: ExecutionResult, state: string) =>
  result.events.filter((e) => e.type === 'StateRetried' && stateName(e) === state);

export interface StateMachinesOptions {
  /** More places the password must not be in, read after each test (a fake directory, say). */
  places?: () => Record<string, unknown>;
}

/**
 * The state machines `keys` (statemachines/<key>.asl.yaml) with the real handlers on faked AWS.
 * After each test, the password must be nowhere but in the IAM request and the email: not in
 * any execution's events, output or error, the logs, the tags, or CreateUser's request.
 */
export function useStateMachines(keys: string[], options: StateMachinesOptions = {}) {
  const machines = new Map<string, InProcessStateMachine>();
  const results: ExecutionResult[] = [];
  const fake = useFakeAws({
    afterEach: (aws, output) =>
      expectNoSecrets(passwordsSent(aws.iam), {
        events: results.map((r) => r.events),
        output: results.map((r) => r.output),
        errors: results.map((r) => [r.error, r.cause]),
        logs: output.text(),
        tags: aws.iam.commandCalls(TagUserCommand).map((c) => c.args[0].input),
        createUser: aws.iam.commandCalls(CreateUserCommand).map((c) => c.args[0].input),
        ...options.places?.(),
      }),
  });

  beforeAll(async () => {
    for (const key of keys) machines.set(key, await inProcessStateMachine(key));
  });
  beforeEach(() => {
    results.length = 0;
  });

  const machine = (key: string): InProcessStateMachine => {
    const found = machines.get(key);
    if (!found) throw new Error(`useStateMachines: ${key} was not loaded`);
    return found;
  };

  return {
    get aws() {
      return fake.aws;
    },
    get output() {
      return fake.output;
    },
    machine,
    /** The SendEmail calls to one address. */
    sentTo: (to: string) =>
      fake.aws.ses.commandCalls(SendEmailCommand).filter((c) => c.args[0].input.Destination?.ToAddresses?.includes(to)),
    /** The executions of the current test, in the order they ran. */
    results,
    /** Runs one execution of a loaded state machine (by key) or of one built for the test. */
    async execute(which: string | InProcessStateMachine, input: unknown, name?: string): Promise<ExecutionResult> {
      const result = await (typeof which === 'string' ? machine(which) : which).run(input, name);
      results.push(result);
      return result;
    },
  };
}
