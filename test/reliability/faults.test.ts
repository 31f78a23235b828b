/**
 * AWS's real faults on every call the onboarding makes, on the local stack (the real definition
 * and handlers, IAM/KMS/SES in moto, faults injected on the wire and on the Lambdas). The calls
 * are not listed here: they are read from a clean run, so a new call gets faults too.
 *
 * - Transient faults (throttling, 5xx, a response lost after the work was done, IAM's eventual
 *   consistency, Lambda's own hiccups) must be ridden out: the execution SUCCEEDS.
 * - Hard faults (AccessDenied, SES rejecting a message, a Lambda that dies after its AWS calls
 *   succeeded) may fail the execution, but then ops must have been emailed about it.
 * - Then the reprovisioning sweep runs, as the schedule would once the in-progress grace is
 *   over, and whatever the failures left behind must be healed (the hire can sign in with the
 *   password they were last sent) or be in a clear state ops know about.
 */
import { StartExecutionCommand, type SFNClient } from '@aws-sdk/client-sfn';
import type { IAMClient } from '@aws-sdk/client-iam';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TAG } from '../../functions/lib/managed-user.ts';
import { sweep, type SweepReport } from '../../functions/lib/sweep.ts';
import { sweepSettingsFromEnv, type SweepSettings } from '../../functions/lib/sweep-settings.ts';
import type { FaultRuleInput, LocalStack } from '../../local/stack.ts';
import { loadDefinition, taskFunctionKeys } from '../../local/workflow.ts';
import { captureOutput } from '../support/capture.ts';
import { recordFigure } from './figures.ts';
import {
  accountState,
  credentialsDelivered,
  describeOutcomes,
  describeTally,
  messagesTo,
  outcomeOf,
  passwordDelivered,
  placesToScan,
  stackClients,
  startMarkedStack,
  stopMarkedStack,
  tally,
  type Outcome,
} from './local-aws.ts';
import { scanForPasswords } from './password-scan.ts';

interface Call {
  service: string;
  operation: string;
}

interface Scenario {
  name: string;
  kind: 'transient' | 'hard';
  what: string;
  rules: FaultRuleInput[];
  /** Only for faults that cannot fail the onboarding by themselves (a failure-path fault after a hard one). */
  expectFailure?: boolean;
}

interface Run extends Scenario {
  hire: { employeeId: string; firstName: string; lastName: string; email: string; userName: string; department: string };
  executionArn: string;
  status?: string;
  error?: string;
  outcome?: Outcome;
}

/** Each service's throttling and server-error codes, as it answers them. */
const TRANSIENT: Record<string, { throttle: string; serverError: string }> = {
  iam: { throttle: 'Throttling', serverError: 'ServiceFailure' },
  kms: { throttle: 'ThrottlingException', serverError: 'KMSInternalException' },
  ses: { throttle: 'Throttling', serverError: 'ServiceUnavailable' },
};
const ANY_TRANSIENT = { throttle: 'ThrottlingException', serverError: 'InternalFailure' };

/** AccessDenied as each protocol spells it (awsQuery services: AccessDenied 403; awsJson: AccessDeniedException 400). */
const ACCESS_DENIED: Record<string, { error: string; status: number }> = {
  iam: { error: 'AccessDenied', status: 403 },
  ses: { error: 'AccessDenied', status: 403 },
  kms: { error: 'AccessDeniedException', status: 400 },
};

// The SDK tries each call twice (functions/lib/clients.ts): three faults in a row fail one
// invocation outright, so the state machine's Retry has to act, and then one more SDK attempt.
const IN_A_ROW = 3;
// The SES message the onboarding fails on before it reaches the failure path.
const REJECT_CREDENTIALS_EMAIL: FaultRuleInput = { service: 'ses', operation: 'SendEmail', error: 'MessageRejected', count: 1 };

let stack: LocalStack;
let mark: string;
let clients: { iam: IAMClient; sfn: SFNClient };
let onboardingArn: string;
let output: ReturnType<typeof captureOutput>;
const calls: Call[] = [];
let happyPathFunctions: string[] = [];
let failurePathFunctions: string[] = [];
const runs: Run[] = [];
const sweepReports: SweepReport[] = [];
let serial = 0;

function hireFor(name: string): Run['hire'] {
  serial += 1;
  const n = String(serial).padStart(3, '0');
  return {
    employeeId: `E-FAULT-${n}`,
    firstName: 'Grace',
    lastName: `Hopper${n}`,
    email: `fault.${n}@example.com`,
    userName: `fault-${n}-${name}`.slice(0, 64),
    department: 'engineering',
  };
}

async function run(scenario: Scenario): Promise<Run> {
  const hire = hireFor(scenario.name);
  stack.faults.clear();
  stack.faults.add(scenario.rules);
  const { executionArn = '' } = await clients.sfn.send(
    new StartExecutionCommand({ stateMachineArn: onboardingArn, name: `${String(serial).padStart(3, '0')}-${scenario.name}`.slice(0, 80), input: JSON.stringify(hire) }),
  );
  const described = await stack.waitForExecution(executionArn, 60_000);
  // What a Lambda still does after its execution has failed finishes before the next fault goes in.
  await stack.waitForIdle(60_000);
  stack.faults.clear();
  const result: Run = { ...scenario, hire, executionArn, status: described.status, ...(described.error && { error: described.error }) };
  runs.push(result);
  return result;
}

const slug = (text: string) => text.replace(/[^A-Za-z0-9_-]+/g, '-');

beforeAll(async () => {
  ({ stack, mark } = await startMarkedStack({ quiet: true, retryIntervalMs: 10 }));
  clients = stackClients(stack);
  onboardingArn = stack.stateMachines.find((m) => m.key === 'onboarding')?.arn ?? '';
  output = captureOutput();
});

afterAll(async () => {
  output?.restore();
  clients?.iam.destroy();
  clients?.sfn.destroy();
  await stack?.stop();
});

describe('faults on every AWS call of the onboarding', () => {
  it('finds the calls and the functions of a clean onboarding', async ({ task }) => {
    const before = stack.requests().length;
    const clean = await run({ name: 'clean', kind: 'transient', what: 'no fault', rules: [] });
    expect(clean.status).toBe('SUCCEEDED');

    const seen = new Set<string>();
    for (const request of stack.requests().slice(before)) {
      // The test's own calls to Step Functions are not the workflow's.
      if (request.service === 'states') continue;
      const key = `${request.service}:${request.operation}`;
      if (!seen.has(key)) calls.push({ service: request.service, operation: request.operation });
      seen.add(key);
    }
    // The functions behind the Task states the clean run entered; the rest serve the failure path.
    const functionOfState = taskFunctionKeys(loadDefinition('statemachines/onboarding.asl.yaml'));
    const entered = stack
      .history(clean.executionArn)
      .filter((e) => e.type === 'TaskStateEntered')
      .map((e) => functionOfState[(e.stateEnteredEventDetails as { name: string }).name] ?? '');
    happyPathFunctions = [...new Set(entered)];
    failurePathFunctions = [...new Set(Object.values(functionOfState))].filter((key) => !happyPathFunctions.includes(key));

    expect(calls.map((c) => `${c.service}:${c.operation}`)).toEqual(
      expect.arrayContaining(['iam:CreateUser', 'iam:CreateLoginProfile', 'kms:Encrypt', 'kms:Decrypt', 'ses:SendEmail']),
    );
    expect(happyPathFunctions).toEqual(expect.arrayContaining(['validateHire', 'createUser', 'createLoginProfile', 'sendCredentials', 'markComplete']));
    expect(failurePathFunctions.sort()).toEqual(['notifyOps', 'recordFailure']);
    recordFigure(task, 'AWS calls of a clean onboarding', `${calls.length} (${calls.map((c) => `${c.service}:${c.operation}`).join(', ')})`);
    recordFigure(task, 'functions on the happy path', happyPathFunctions.join(', '));
    recordFigure(task, 'functions on the failure path', failurePathFunctions.join(', '));
  });

  it('rides out every transient fault: each execution SUCCEEDS', async ({ task }) => {
    expect(calls.length).toBeGreaterThan(0);
    const scenarios: Scenario[] = [];
    for (const { service, operation } of calls) {
      const codes = TRANSIENT[service] ?? ANY_TRANSIENT;
      const call = { service, operation };
      scenarios.push(
        { name: `${operation}-throttled`, kind: 'transient', what: `${service}:${operation} throttled ${IN_A_ROW} times`, rules: [{ ...call, error: codes.throttle, count: IN_A_ROW }] },
        { name: `${operation}-5xx`, kind: 'transient', what: `${service}:${operation} ${codes.serverError} ${IN_A_ROW} times`, rules: [{ ...call, error: codes.serverError, count: IN_A_ROW }] },
        {
          name: `${operation}-lost-response`,
          kind: 'transient',
          what: `${service}:${operation} done, then ${codes.serverError} (response lost)`,
          rules: [{ ...call, error: codes.serverError, count: 1, when: 'after' }],
        },
      );
    }
    // IAM's eventual consistency right after CreateUser, as the definition expects it.
    for (const error of ['NoSuchEntity', 'EntityTemporarilyUnmodifiable']) {
      scenarios.push({
        name: `eventual-consistency-${error}`,
        kind: 'transient',
        what: `iam:CreateLoginProfile answers ${error} ${IN_A_ROW} times right after CreateUser`,
        rules: [{ service: 'iam', operation: 'CreateLoginProfile', error, afterCreateUserMs: 60_000, count: IN_A_ROW }],
      });
    }
    for (const key of happyPathFunctions) {
      const lambda = { service: 'lambda', operation: key };
      scenarios.push(
        { name: `${key}-lambda-service-error`, kind: 'transient', what: `Lambda ${key}: ServiceException before it runs`, rules: [{ ...lambda, error: 'Lambda.ServiceException', count: 1 }] },
        { name: `${key}-lambda-throttled`, kind: 'transient', what: `Lambda ${key}: TooManyRequestsException twice`, rules: [{ ...lambda, error: 'Lambda.TooManyRequestsException', count: 2 }] },
        {
          name: `${key}-lambda-error-after-work`,
          kind: 'transient',
          what: `Lambda ${key}: ServiceException after the handler did its work`,
          rules: [{ ...lambda, error: 'Lambda.ServiceException', count: 1, when: 'after' }],
        },
      );
    }

    const results: Run[] = [];
    for (const scenario of scenarios) results.push(await run({ ...scenario, name: slug(scenario.name) }));

    const failed = results.filter((r) => r.status !== 'SUCCEEDED').map((r) => `${r.what}: ${r.status} ${r.error ?? ''}`);
    recordFigure(task, 'transient-fault scenarios', results.length);
    recordFigure(task, 'ended SUCCEEDED', `${results.length - failed.length}/${results.length}`);
    recordFigure(task, 'Step Functions retries taken', results.reduce((n, r) => n + retriesIn(r.executionArn), 0));
    // Even when the login profile was created but its answer never reached the execution (a
    // 5xx after the write, a Lambda that died after it), the execution that created the user
    // knows the profile is its own, replaces the lost password and sends it: ONBOARDED.
    const notOnboarded = results.filter((r) => {
      const execution = stack.executions().find((e) => e.executionArn === r.executionArn);
      return (JSON.parse(execution?.output ?? '{}') as { status?: string }).status !== 'ONBOARDED';
    });
    recordFigure(task, 'ended without credentials sent (left to the sweep)', `${notOnboarded.length}${notOnboarded.length ? ` (${notOnboarded.map((r) => r.what).join('; ')})` : ''}`);
    expect(failed).toEqual([]);
    expect(notOnboarded.map((r) => r.what)).toEqual([]);
  });

  it('fails hard faults cleanly: SUCCEEDED, or FAILED with ops emailed', async ({ task }) => {
    const scenarios: Scenario[] = [];
    for (const { service, operation } of calls) {
      const denied = ACCESS_DENIED[service] ?? { error: 'AccessDeniedException', status: 400 };
      scenarios.push({
        name: `${operation}-access-denied`,
        kind: 'hard',
        what: `${service}:${operation} AccessDenied`,
        rules: [
          {
            service,
            operation,
            ...denied,
            message: `User: arn:aws:sts::123456789012:assumed-role/onboarding/fn is not authorized to perform: ${service}:${operation}`,
            // SES denying every message would silence ops too: only the first (the hire's) is denied.
            ...(service === 'ses' && { count: 1 }),
          },
        ],
      });
    }
    scenarios.push(
      { name: 'credentials-email-rejected', kind: 'hard', what: 'ses:SendEmail MessageRejected for the credentials email', rules: [REJECT_CREDENTIALS_EMAIL] },
      { name: 'user-quota-reached', kind: 'hard', what: 'iam:CreateUser LimitExceeded', rules: [{ service: 'iam', operation: 'CreateUser', error: 'LimitExceeded' }] },
      {
        name: 'iam-never-settles',
        kind: 'hard',
        what: 'iam:CreateLoginProfile EntityTemporarilyUnmodifiable past every retry',
        rules: [{ service: 'iam', operation: 'CreateLoginProfile', error: 'EntityTemporarilyUnmodifiable' }],
      },
    );
    for (const key of happyPathFunctions) {
      scenarios.push({
        name: `${key}-dies-after-work`,
        kind: 'hard',
        what: `Lambda ${key} dies after its AWS calls succeeded`,
        rules: [{ service: 'lambda', operation: key, error: 'Lambda.Unknown', count: 1, when: 'after' }],
      });
    }
    // The failure path has faults of its own, after the credentials email was rejected.
    for (const key of failurePathFunctions) {
      const lambda = { service: 'lambda', operation: key };
      scenarios.push(
        { name: `${key}-dies-after-work`, kind: 'hard', what: `Lambda ${key} dies after its AWS calls succeeded`, rules: [REJECT_CREDENTIALS_EMAIL, { ...lambda, error: 'Lambda.Unknown', count: 1, when: 'after' }], expectFailure: true },
        { name: `${key}-lambda-service-error`, kind: 'hard', what: `Lambda ${key}: ServiceException before it runs`, rules: [REJECT_CREDENTIALS_EMAIL, { ...lambda, error: 'Lambda.ServiceException', count: 1 }], expectFailure: true },
      );
    }
    scenarios.push(
      {
        name: 'ops-email-throttled',
        kind: 'hard',
        what: 'credentials email rejected, then the ops email throttled',
        rules: [REJECT_CREDENTIALS_EMAIL, { service: 'ses', operation: 'SendEmail', error: 'Throttling', count: IN_A_ROW }],
        expectFailure: true,
      },
      {
        name: 'failure-tag-5xx',
        kind: 'hard',
        what: 'credentials email rejected, then recording the failure hits ServiceFailure',
        rules: [REJECT_CREDENTIALS_EMAIL, { service: 'iam', operation: 'TagUser', error: 'ServiceFailure', count: IN_A_ROW }],
        expectFailure: true,
      },
    );

    const results: Run[] = [];
    for (const scenario of scenarios) results.push(await run({ ...scenario, name: slug(scenario.name) }));
    const { messages } = await accountState(stack);
    const ops = messagesTo(messages, stack.functionEnv.OPS_EMAIL ?? '');
    for (const result of results) result.outcome = outcomeOf(stack.executions().find((e) => e.executionArn === result.executionArn)!, ops);

    recordFigure(task, 'hard-fault scenarios', results.length);
    recordFigure(task, 'outcomes', describeOutcomes(results.map((r) => r.outcome ?? 'other')));
    const unreported = results.filter((r) => r.outcome !== 'succeeded' && r.outcome !== 'failed with ops email');
    expect(unreported.map((r) => `${r.what}: ${r.status} ${r.error ?? ''} (${r.outcome})`)).toEqual([]);
    const unexpected = results.filter((r) => r.expectFailure && r.outcome !== 'failed with ops email');
    expect(unexpected.map((r) => r.what)).toEqual([]);
  });

  it('leaves nothing unhealed once the reprovisioning sweep has run', async ({ task }) => {
    const settings: SweepSettings = sweepSettingsFromEnv(stack.functionEnv, {
      managedPath: stack.functionEnv.MANAGED_PATH ?? '',
      managedBy: stack.functionEnv.MANAGED_BY ?? '',
    });
    // The schedule's next sweep, once no onboarding can still be running (the grace is over).
    const later = new Date(Date.now() + (settings.inProgressGraceMinutes + 1) * 60_000);
    const before = new Set(stack.executions().map((e) => e.executionArn));
    const report = await sweep(clients, settings, { now: later });
    sweepReports.push(report);
    await stack.waitForIdle(120_000);
    const healing = stack.executions().filter((e) => !before.has(e.executionArn));
    // A second sweep finds nothing more to start: what the first one started did its work.
    const again = await sweep(clients, settings, { now: later, dryRun: true });
    sweepReports.push(again);

    const { users, messages } = await accountState(stack);
    const ops = messagesTo(messages, stack.functionEnv.OPS_EMAIL ?? '');
    const executions = stack.executions();
    const leftovers = runs.map((r) => {
      const user = users.get(r.hire.userName);
      const execution = executions.find((e) => e.executionArn === r.executionArn)!;
      r.outcome = outcomeOf(execution, ops);
      if (credentialsDelivered(user, messages, r.hire.email)) return { run: r, state: 'onboarded, credentials delivered' };
      if (!user && r.outcome === 'failed with ops email') return { run: r, state: 'nothing created, ops emailed' };
      // A failure tag is a clear state only when it is true: the hire cannot sign in.
      const status = user?.tags[TAG.status];
      const tagged = status === 'failed' || status === 'console-access-removed';
      if (user && tagged && !passwordDelivered(user, messages, r.hire.email) && r.outcome === 'failed with ops email') {
        return { run: r, state: `tagged ${status}, ops emailed` };
      }
      return { run: r, state: 'unhealed' };
    });
    const notOnboarded = leftovers.filter((l) => l.state !== 'onboarded, credentials delivered');
    const outcomes = tally(runs.map((r) => r.outcome ?? 'other'));
    const states = tally(leftovers.map((l) => l.state));

    const kinds = tally(runs.map((r) => r.kind));
    recordFigure(task, 'executions (scenarios)', `${runs.length} (transient ${kinds.transient ?? 0} incl. the clean run, hard ${kinds.hard ?? 0})`);
    recordFigure(task, 'outcomes', describeOutcomes(runs.map((r) => r.outcome ?? 'other')));
    recordFigure(task, 'sweep: users scanned', report.scanned);
    recordFigure(task, 'sweep: actions', describeTally(Object.fromEntries(Object.entries(report.actions).filter(([, n]) => n > 0))));
    recordFigure(task, 'sweep: executions started', `${healing.length} (${describeTally(tally(healing.map((e) => e.status)))})`);
    recordFigure(task, 'second sweep: would start', again.outcomes.planned);
    recordFigure(task, 'after the sweep', describeTally(states));
    for (const { run: r, state } of notOnboarded) recordFigure(task, `  ${state}`, r.what);
    recordFigure(task, 'unhealed', states.unhealed ?? 0);

    expect(report.outcomes.error).toBe(0);
    expect(healing.map((e) => `${e.name}: ${e.status} ${e.error ?? ''}`).filter((line) => !line.includes('SUCCEEDED'))).toEqual([]);
    expect(again.outcomes.planned).toBe(0);
    expect(outcomes['failed without ops email'] ?? 0).toBe(0);
    expect(leftovers.filter((l) => l.state === 'unhealed').map((l) => `${l.run.what} (${l.run.hire.userName}): ${l.run.outcome}`)).toEqual([]);
  });

  it('never lets a password out: logs, histories, outputs, errors, tags, ops email, request log', async ({ task }) => {
    output.restore();
    const passwords = stack.passwordsSent();
    const scan = scanForPasswords(passwords, await placesToScan(stack, clients.iam, { 'log lines': output.lines, 'sweep reports': sweepReports }));
    recordFigure(task, 'passwords generated', passwords.length);
    recordFigure(task, 'places scanned for passwords', scan.places);
    recordFigure(task, 'password hits', scan.hits.length);
    expect(scan.hits).toEqual([]);
  });

  it('stops the local stack and every process it started', async ({ task }) => {
    const left = await stopMarkedStack(stack, mark);
    recordFigure(task, 'processes left running', left.length);
    expect(left).toEqual([]);
  });
});

/** Retries Step Functions took in an execution (a Task failed and ran again). */
function retriesIn(executionArn: string): number {
  const events = stack.history(executionArn);
  const scheduled = events.filter((e) => e.type === 'LambdaFunctionScheduled').length;
  const entered = events.filter((e) => e.type === 'TaskStateEntered').length;
  return scheduled - entered;
}
