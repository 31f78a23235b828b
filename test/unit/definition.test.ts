/**
 * Static checks of every state machine definition (statemachines/*.asl.yaml, so new ones are
 * covered as they are added): valid ASL, Tasks that point at declared functions, and retry
 * policies that match what the Lambdas throw.
 */
import { readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { NON_RETRYABLE_ERRORS } from '../../functions/lib/errors.ts';
import { functionKeyOf, loadDefinition, PROJECT_ROOT, readServerlessYaml } from '../../local/workflow.ts';

interface Retrier {
  ErrorEquals: string[];
  IntervalSeconds?: number;
  MaxAttempts?: number;
  BackoffRate?: number;
  MaxDelaySeconds?: number;
  JitterStrategy?: 'FULL' | 'NONE';
}
interface State {
  Type: string;
  Resource?: unknown;
  Retry?: Retrier[];
  Catch?: Array<{ ErrorEquals: string[] }>;
  Iterator?: StateMachine;
  ItemProcessor?: StateMachine;
  Branches?: StateMachine[];
}
interface StateMachine {
  StartAt: string;
  States: Record<string, State>;
}
interface ValidationResult {
  isValid: boolean;
  errorsText: (separator?: string) => string;
}

// asl-validator ships CommonJS without type declarations.
const validateAsl = createRequire(import.meta.url)('asl-validator') as (
  definition: unknown,
  options: { checkArn: boolean; checkPaths: boolean },
) => ValidationResult;

const FILES = readdirSync(path.join(PROJECT_ROOT, 'statemachines'))
  .filter((file) => file.endsWith('.asl.yaml'))
  .sort()
  .map((file) => `statemachines/${file}`);

interface ServerlessFunctionWithRole {
  handler: string;
  iamRoleStatements?: Array<{ Action: string | string[] }>;
}
const FUNCTIONS = readServerlessYaml().functions as Record<string, ServerlessFunctionWithRole>;

/** The AWS services a function's role lets it call (`iam`, `kms`, `ses`, ...). */
function servicesOf(functionKey: string): Set<string> {
  // Statements generated from the settings (`${file(deploy/trust-boundary.cjs):...}`) are
  // strings here; the others name the services well enough.
  const statements = (FUNCTIONS[functionKey]?.iamRoleStatements ?? []).filter((s) => typeof s === 'object');
  const actions = statements.flatMap((s) => [s.Action].flat());
  return new Set(actions.map((action) => action.split(':')[0]!));
}

/** Every Task state, including those inside Map and Parallel states, by name. */
function tasks(machine: StateMachine): Array<[string, State]> {
  return Object.entries(machine.States).flatMap(([name, state]): Array<[string, State]> => [
    ...(state.Type === 'Task' ? [[name, state] as [string, State]] : []),
    ...[state.Iterator, state.ItemProcessor, ...(state.Branches ?? [])].filter((m): m is StateMachine => !!m).flatMap(tasks),
  ]);
}

/** The definition as CloudFormation would hand it to Step Functions: Fn::GetAtt resolved to Lambda ARNs. */
function resolved(machine: StateMachine): StateMachine {
  return JSON.parse(JSON.stringify(machine), (_key, value: unknown) => {
    const functionKey = functionKeyOf(value);
    return functionKey ? `arn:aws:lambda:us-east-1:123456789012:function:iam-onboarding-dev-${functionKey}` : value;
  }) as StateMachine;
}

/** The error names a Task's retriers cover. */
const retried = (state: State) => new Set((state.Retry ?? []).flatMap((r) => r.ErrorEquals));

/**
 * Expected total wait of a retrier that is used up, in seconds. Step Functions waits
 * IntervalSeconds × BackoffRate^(n-1) before retry n, capped at MaxDelaySeconds; FULL jitter
 * draws each wait uniformly between 0 and that, so it contributes half of it on average.
 */
function expectedRetryWaitSeconds(retrier: Retrier): number {
  const interval = retrier.IntervalSeconds ?? 1;
  const rate = retrier.BackoffRate ?? 2;
  const attempts = retrier.MaxAttempts ?? 3;
  const cap = retrier.MaxDelaySeconds ?? Number.POSITIVE_INFINITY;
  let total = 0;
  for (let n = 1; n <= attempts; n++) total += Math.min(interval * rate ** (n - 1), cap);
  return retrier.JitterStrategy === 'FULL' ? total / 2 : total;
}

// The names SDK v3 gives throttling and server-side failures. awsQuery services (IAM, SES) name
// an unmodelled error after its wire code; awsJson ones (KMS) use `...Exception`; IAM models
// ServiceFailure as ServiceFailureException.
const THROTTLING = ['Throttling', 'ThrottlingException'];
const SERVER_ERRORS = ['ServiceFailureException', 'ServiceUnavailable', 'InternalFailure'];
const SERVER_ERRORS_BY_SERVICE: Record<string, string[]> = { kms: ['KMSInternalException'] };
// Failures of the Lambda service itself (not of the function), which AWS recommends retrying.
const LAMBDA_SERVICE_ERRORS = ['Lambda.ServiceException', 'Lambda.AWSLambdaException', 'Lambda.SdkClientException', 'Lambda.TooManyRequestsException'];
// IAM's eventual consistency on login profiles, which the retriers must ride out.
const SETTLING_ERRORS = ['EntityTemporarilyUnmodifiableException', 'NoSuchEntityException'];
const SETTLING_SECONDS = 120;
// The largest burst there can be (README "Bursts"): IAM's quota of 5,000 users, 7 IAM calls each,
// at 10 IAM calls a second. An execution may wait its turn for CreateUser that long.
const LARGEST_BURST_SECONDS = (5_000 * 7) / 10;
// Throttling that reaches the state machine under a burst: ridden out for at least 10 minutes.
const THROTTLING_SECONDS = 600;

describe('expectedRetryWaitSeconds', () => {
  it('sums capped exponential waits and halves them for FULL jitter', () => {
    expect(expectedRetryWaitSeconds({ ErrorEquals: ['X'], IntervalSeconds: 3, MaxAttempts: 4, BackoffRate: 2 })).toBe(3 + 6 + 12 + 24);
    expect(
      expectedRetryWaitSeconds({ ErrorEquals: ['X'], IntervalSeconds: 3, MaxAttempts: 4, BackoffRate: 2, MaxDelaySeconds: 10, JitterStrategy: 'FULL' }),
    ).toBe((3 + 6 + 10 + 10) / 2);
    // Step Functions' defaults: 1 s, 3 attempts, rate 2.
    expect(expectedRetryWaitSeconds({ ErrorEquals: ['X'] })).toBe(1 + 2 + 4);
  });
});

it('finds the definitions', () => {
  expect(FILES).toContain('statemachines/onboarding.asl.yaml');
});

describe.each(FILES)('%s', (file) => {
  const machine = loadDefinition(file) as unknown as StateMachine;
  const taskStates = tasks(machine);

  it('is valid Amazon States Language (ARNs and paths checked)', () => {
    const result = validateAsl(resolved(machine), { checkArn: true, checkPaths: true });
    expect(result.errorsText('\n')).toBe('');
    expect(result.isValid).toBe(true);
  });

  it('would be caught by the validator if a transition pointed nowhere', () => {
    const broken = resolved(machine);
    const [, first] = tasks(broken)[0]!;
    (first as State & { Next?: string; End?: boolean }).Next = 'NoSuchState';
    delete (first as { End?: boolean }).End;
    expect(validateAsl(broken, { checkArn: true, checkPaths: true }).isValid).toBe(false);
  });

  it('points every Task at a function serverless.yml declares, by its Arn', () => {
    expect(taskStates.length).toBeGreaterThan(0);
    for (const [name, state] of taskStates) {
      const functionKey = functionKeyOf(state.Resource);
      expect(functionKey, `${name}: Resource must be Fn::GetAtt [function, Arn]`).toBeDefined();
      expect(Object.keys(FUNCTIONS), `${name} names "${functionKey}"`).toContain(functionKey);
      expect((state.Resource as { 'Fn::GetAtt': string[] })['Fn::GetAtt'][1]).toBe('Arn');
    }
  });

  it('retries failures of the Lambda service on every Task', () => {
    for (const [name, state] of taskStates) {
      for (const error of LAMBDA_SERVICE_ERRORS) expect(retried(state).has(error), `${name} does not retry ${error}`).toBe(true);
    }
  });

  it('retries throttling and server errors on every Task whose function calls AWS', () => {
    const callingAws = taskStates.filter(([, state]) => servicesOf(functionKeyOf(state.Resource)!).size > 0);
    expect(callingAws.length).toBeGreaterThan(0);
    for (const [name, state] of callingAws) {
      const services = servicesOf(functionKeyOf(state.Resource)!);
      const required = [...THROTTLING, ...SERVER_ERRORS, ...[...services].flatMap((s) => SERVER_ERRORS_BY_SERVICE[s] ?? [])];
      for (const error of required) expect(retried(state).has(error), `${name} does not retry ${error}`).toBe(true);
    }
  });

  it('backs off with jitter on every retrier', () => {
    for (const [name, state] of taskStates) {
      for (const retrier of state.Retry ?? []) {
        expect(retrier.BackoffRate ?? 2, `${name} ${retrier.ErrorEquals.join()}`).toBeGreaterThan(1);
        expect(retrier.JitterStrategy, `${name} ${retrier.ErrorEquals.join()}`).toBe('FULL');
      }
    }
  });

  it('never retries an error that means "bad request", nor everything at once', () => {
    const forbidden = new Set<string>([...NON_RETRYABLE_ERRORS, 'States.ALL', 'States.TaskFailed']);
    for (const [name, state] of taskStates) {
      for (const error of retried(state)) expect(forbidden.has(error), `${name} retries ${error}`).toBe(false);
    }
  });

  it(`rides out IAM's login-profile settling (>= ${SETTLING_SECONDS} s expected) wherever it is retried`, () => {
    for (const [name, state] of taskStates) {
      for (const retrier of (state.Retry ?? []).filter((r) => r.ErrorEquals.some((e) => SETTLING_ERRORS.includes(e)))) {
        expect(retrier.JitterStrategy, name).toBe('FULL');
        expect(expectedRetryWaitSeconds(retrier), `${name} gives up too soon`).toBeGreaterThanOrEqual(SETTLING_SECONDS);
      }
    }
  });
});

describe('the onboarding under a burst (README "Bursts")', () => {
  const onboardingTasks = tasks(loadDefinition('statemachines/onboarding.asl.yaml') as unknown as StateMachine);

  it(`waits for a Lambda turn (Lambda.TooManyRequestsException) through the largest burst (>= ${LARGEST_BURST_SECONDS} s expected) on every Task`, () => {
    for (const [name, state] of onboardingTasks) {
      const retrier = state.Retry?.find((r) => r.ErrorEquals.includes('Lambda.TooManyRequestsException'));
      expect(retrier, `${name} does not retry Lambda.TooManyRequestsException`).toBeDefined();
      // Refused invocations did nothing: only those share the retrier, so no real failure is retried that long.
      expect(retrier!.ErrorEquals, name).toEqual(['Lambda.TooManyRequestsException']);
      expect(expectedRetryWaitSeconds(retrier!), `${name} gives up too soon`).toBeGreaterThanOrEqual(LARGEST_BURST_SECONDS);
    }
  });

  it(`retries throttling on its own retrier, for >= ${THROTTLING_SECONDS} s expected, wherever it is retried`, () => {
    for (const [name, state] of onboardingTasks) {
      const retrier = state.Retry?.find((r) => r.ErrorEquals.some((e) => THROTTLING.includes(e)));
      if (!retrier) continue;
      expect(retrier.ErrorEquals.every((e) => [...THROTTLING, 'TooManyRequestsException'].includes(e)), name).toBe(true);
      expect(expectedRetryWaitSeconds(retrier), `${name} gives up too soon`).toBeGreaterThanOrEqual(THROTTLING_SECONDS);
    }
  });

  it('admits one CreateUser step at a time by default: its function has a reserved concurrency', () => {
    const yaml = readServerlessYaml() as unknown as {
      params: { default: Record<string, unknown> };
      functions: Record<string, { reservedConcurrency?: unknown }>;
    };
    const [, createUser] = onboardingTasks.find(([name]) => name === 'CreateUser')!;
    const functionKey = functionKeyOf(createUser.Resource)!;
    expect(yaml.functions[functionKey]!.reservedConcurrency).toBe('${param:createUserConcurrency}');
    expect(yaml.params.default.createUserConcurrency).toBe(1);
  });
});

describe('the CreateLoginProfile step', () => {
  const steps = FILES.flatMap((file) =>
    tasks(loadDefinition(file) as unknown as StateMachine)
      .filter(([, state]) => functionKeyOf(state.Resource) === 'createLoginProfile')
      .map(([name, state]) => ({ where: `${file} ${name}`, state })),
  );

  it('exists', () => {
    expect(steps.length).toBeGreaterThan(0);
  });

  it(`retries EntityTemporarilyUnmodifiable and NoSuchEntity for >= ${SETTLING_SECONDS} s in expectation, with FULL jitter`, () => {
    for (const { where, state } of steps) {
      const retrier = state.Retry?.find((r) => SETTLING_ERRORS.every((e) => r.ErrorEquals.includes(e)));
      expect(retrier, `${where} has no retrier for ${SETTLING_ERRORS.join(' and ')}`).toBeDefined();
      expect(retrier!.JitterStrategy).toBe('FULL');
      const expected = expectedRetryWaitSeconds(retrier!);
      console.info(`${where}: settling retrier waits ${expected} s in expectation, ${expectedRetryWaitSeconds({ ...retrier!, JitterStrategy: 'NONE' })} s at most`);
      expect(expected).toBeGreaterThanOrEqual(SETTLING_SECONDS);
    }
  });
});
