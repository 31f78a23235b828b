/**
 * Running the CLI in-process, and Step Functions history shaped like AWS's (for a Lambda
 * Task: TaskStateEntered, then per attempt LambdaFunctionScheduled/Started/Succeeded|Failed,
 * then TaskStateExited; each event chained to the one before by previousEventId).
 */
import type { DescribeExecutionCommandOutput, HistoryEvent } from '@aws-sdk/client-sfn';
import { run } from '../../cli/main.ts';

export const STATE_MACHINE_ARN = 'arn:aws:states:us-east-1:123456789012:stateMachine:iam-onboarding-dev-onboarding';
export const executionArn = (name: string) =>
  `arn:aws:states:us-east-1:123456789012:execution:iam-onboarding-dev-onboarding:${name}`;

/** A KMS ciphertext stand-in: it must never be printed. */
export const SEALED = 'AQICAHhSEALEDPASSWORDCIPHERTEXTdGhpcyBpcyBub3QgYSBwYXNzd29yZA==';

export const HIRE = {
  employeeId: 'E-1001',
  firstName: 'Bob',
  lastName: 'Builder',
  email: 'bob.builder@example.com',
  department: 'engineering',
};

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
  sleeps: number[];
}

/** Runs `onboarding <argv>` in-process. The environment is only what `env` says. */
export async function cli(
  argv: string[],
  options: { env?: Record<string, string>; projectRoot?: string; pollMs?: number } = {},
): Promise<CliResult> {
  const result: CliResult = { code: -1, stdout: '', stderr: '', sleeps: [] };
  result.code = await run(argv, {
    stdout: (text) => (result.stdout += text),
    stderr: (text) => (result.stderr += text),
    env: options.env ?? { ONBOARDING_STATE_MACHINE_ARN: STATE_MACHINE_ARN },
    // Polls take no time unless asked to (an execution that really runs needs a little).
    sleep: async (ms) => {
      result.sleeps.push(ms);
      if (options.pollMs) await new Promise((resolve) => setTimeout(resolve, options.pollMs));
    },
    ...(options.projectRoot && { projectRoot: options.projectRoot }),
  });
  return result;
}

type Attempt = 'ok' | { error: string; cause: string };

export interface StateSpec {
  name: string;
  type?: 'Task' | 'Choice' | 'Pass' | 'Wait' | 'Fail';
  attempts?: Attempt[];
  input?: unknown;
  output?: unknown;
}

export const START = new Date('2025-03-03T09:00:00.000Z');
const TICK_MS = 250;

/** Events as AWS records them for the given states, one tick apart, ending as `end` says. */
export function historyEvents(
  states: StateSpec[],
  end: { output: unknown } | { error: string; cause: string },
): HistoryEvent[] {
  const events: HistoryEvent[] = [];
  let previous = 0;
  const push = (type: string, extra: object = {}) => {
    const id = events.length + 1;
    events.push({ id, previousEventId: previous, timestamp: new Date(START.getTime() + id * TICK_MS), type, ...extra } as HistoryEvent);
    previous = id;
  };
  push('ExecutionStarted', { executionStartedEventDetails: { input: JSON.stringify(HIRE), roleArn: 'arn:aws:iam::123456789012:role/sfn' } });
  for (const state of states) {
    const type = state.type ?? 'Task';
    push(`${type}StateEntered`, { stateEnteredEventDetails: { name: state.name, input: JSON.stringify(state.input ?? {}) } });
    if (type === 'Fail') continue;
    if (type === 'Task') {
      for (const attempt of state.attempts ?? ['ok']) {
        push('LambdaFunctionScheduled', {
          lambdaFunctionScheduledEventDetails: { resource: `arn:aws:lambda:us-east-1:123456789012:function:${state.name}`, input: '{}' },
        });
        push('LambdaFunctionStarted');
        if (attempt === 'ok') push('LambdaFunctionSucceeded', { lambdaFunctionSucceededEventDetails: { output: JSON.stringify(state.output ?? {}) } });
        else push('LambdaFunctionFailed', { lambdaFunctionFailedEventDetails: attempt });
      }
    }
    push(`${type}StateExited`, { stateExitedEventDetails: { name: state.name, output: JSON.stringify(state.output ?? {}) } });
  }
  if ('output' in end) push('ExecutionSucceeded', { executionSucceededEventDetails: { output: JSON.stringify(end.output) } });
  else push('ExecutionFailed', { executionFailedEventDetails: end });
  return events;
}

const ETU = 'EntityTemporarilyUnmodifiableException';
const etuCause = JSON.stringify({
  errorType: ETU,
  errorMessage: 'Login Profile for User bob.builder cannot be modified while login profile is being created.',
  trace: ['EntityTemporarilyUnmodifiableException: Login Profile ...', '    at de_EntityTemporarilyUnmodifiableExceptionRes'],
});
export const etuFailure = { error: ETU, cause: etuCause };

export const SUMMARY = {
  status: 'ONBOARDED',
  employeeId: 'E-1001',
  userName: 'bob.builder',
  arn: 'arn:aws:iam::123456789012:user/onboarding/bob.builder',
  path: '/onboarding/',
  groups: ['developers'],
  signInUrl: 'https://123456789012.signin.aws.amazon.com/console',
  emailsSent: 1,
  completedAt: '2025-03-03T09:00:09.000Z',
};

const hireState = { hire: { ...HIRE, userName: 'bob.builder', groups: ['developers'] } };
const withLogin = { ...hireState, loginProfile: { status: 'CREATED', sealedPassword: SEALED, passwordIssuedAt: '2025-03-03T09:00:04.000Z' } };

/** An onboarding whose login profile needed two retries, then succeeded. */
export const SUCCESS_WITH_RETRIES = historyEvents(
  [
    { name: 'ValidateInput', input: HIRE, output: hireState },
    { name: 'CreateUser', input: hireState, output: hireState },
    { name: 'CreateLoginProfile', attempts: [etuFailure, etuFailure, 'ok'], input: hireState, output: withLogin },
    { name: 'IsNewLoginProfile', type: 'Choice', input: withLogin, output: withLogin },
    { name: 'SendCredentials', input: withLogin, output: withLogin },
    { name: 'MarkComplete', input: withLogin, output: SUMMARY },
  ],
  { output: SUMMARY },
);

/** An onboarding whose login profile never settled: caught, recorded, ops told, failed. */
export const FAILURE = historyEvents(
  [
    { name: 'ValidateInput', input: HIRE, output: hireState },
    { name: 'CreateUser', input: hireState, output: hireState },
    { name: 'CreateLoginProfile', attempts: [etuFailure, etuFailure], input: hireState, output: { ...hireState, error: { Error: ETU, Cause: etuCause } } },
    { name: 'RecordFailure' },
    { name: 'NotifyOps' },
    { name: 'OnboardingFailed', type: 'Fail' },
  ],
  etuFailure,
);

export function description(
  name: string,
  status: DescribeExecutionCommandOutput['status'],
  extra: Partial<DescribeExecutionCommandOutput> = {},
): DescribeExecutionCommandOutput {
  return {
    $metadata: {},
    executionArn: executionArn(name),
    stateMachineArn: STATE_MACHINE_ARN,
    name,
    status,
    startDate: START,
    input: JSON.stringify(HIRE),
    ...(status !== 'RUNNING' && { stopDate: new Date(START.getTime() + 9_500) }),
    ...(status === 'SUCCEEDED' && { output: JSON.stringify(SUMMARY) }),
    ...(status === 'FAILED' && etuFailure),
    ...extra,
  };
}
