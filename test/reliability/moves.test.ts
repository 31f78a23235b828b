/**
 * Movers under at-least-once delivery and under AWS's real faults, on the local stack (the real
 * move definition and handlers, IAM and SES in moto, faults injected on the wire and on the
 * Lambdas). Every employee starts in `developers` (assigned by this workflow, on its record) and
 * `billing-admins` (someone else's), and moves to `readers`. Whatever happens, each must end in
 * exactly `billing-admins` and `readers`, with `readers` alone on the record:
 *
 * - every "employee changed" event delivered three times at once through EventBridge;
 * - every AWS call of a move (read from clean runs, so a new call gets faults too) throttled, failing
 *   with 5xx, and losing its response after the work was done: the execution SUCCEEDS;
 * - every call refused (AccessDenied) and each function dying after its work: the execution
 *   SUCCEEDS, or FAILS with ops emailed; then the event comes again and finishes the move.
 */
import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { AddUserToGroupCommand, CreateGroupCommand, CreateUserCommand, type IAMClient } from '@aws-sdk/client-iam';
import { StartExecutionCommand, type SFNClient } from '@aws-sdk/client-sfn';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ASSIGNED_GROUPS_KEY } from '../../functions/lib/assigned-groups.ts';
import { TAG } from '../../functions/lib/managed-user.ts';
import type { FaultRuleInput, LocalStack } from '../../local/stack.ts';
import { loadDefinition, taskFunctionKeys } from '../../local/workflow.ts';
import { captureOutput } from '../support/capture.ts';
import { recordFigure } from './figures.ts';
import { accountState, describeOutcomes, messagesTo, outcomeOf, stackClients, startMarkedStack, stopMarkedStack, tally, type Outcome } from './local-aws.ts';

const EMPLOYEES = 30;
const DELIVERIES = 3;
const IN_A_ROW = 3;
const SOMEONE_ELSES = 'billing-admins';

let stack: LocalStack;
let mark: string;
let clients: { iam: IAMClient; sfn: SFNClient };
let events: EventBridgeClient;
let moveArn: string;
let output: ReturnType<typeof captureOutput>;
let serial = 0;

beforeAll(async () => {
  ({ stack, mark } = await startMarkedStack({ quiet: true, retryIntervalMs: 10 }));
  clients = stackClients(stack);
  events = new EventBridgeClient({ endpoint: stack.endpoint, region: stack.region, credentials: { accessKeyId: 'test', secretAccessKey: 'test' } });
  moveArn = stack.stateMachines.find((m) => m.key === 'move')?.arn ?? '';
  // developers is the department's group (seeded); readers is assignable; billing-admins is nobody's business here.
  for (const group of ['readers', SOMEONE_ELSES]) await clients.iam.send(new CreateGroupCommand({ GroupName: group }));
  output = captureOutput();
});

afterAll(async () => {
  output?.restore();
  clients?.iam.destroy();
  clients?.sfn.destroy();
  events?.destroy();
  await stack?.stop();
});

interface Employee {
  employeeId: string;
  userName: string;
}

/** A user this workflow onboarded into developers (recorded), that someone else also put in billing-admins. */
async function onboarded(label: string): Promise<Employee> {
  serial += 1;
  const n = String(serial).padStart(3, '0');
  const employee = { employeeId: `E-MOVE-${n}`, userName: `move-${n}-${label}`.slice(0, 64) };
  await clients.iam.send(
    new CreateUserCommand({
      UserName: employee.userName,
      Path: stack.functionEnv.MANAGED_PATH,
      Tags: [
        { Key: TAG.managedBy, Value: stack.functionEnv.MANAGED_BY },
        { Key: TAG.employeeId, Value: employee.employeeId },
        { Key: TAG.status, Value: 'complete' },
        { Key: ASSIGNED_GROUPS_KEY, Value: 'developers' },
      ],
    }),
  );
  for (const group of ['developers', SOMEONE_ELSES]) await clients.iam.send(new AddUserToGroupCommand({ GroupName: group, UserName: employee.userName }));
  return employee;
}

/** The "employee changed" detail moving the employee to readers; without the user name when `byEmployeeId`. */
const change = (employee: Employee, byEmployeeId = false) => ({
  employeeId: employee.employeeId,
  ...(!byEmployeeId && { userName: employee.userName }),
  groups: ['readers'],
});

async function startMove(detail: unknown, name: string): Promise<{ executionArn: string; status: string; error?: string; output?: { status?: string } }> {
  const { executionArn = '' } = await clients.sfn.send(
    new StartExecutionCommand({ stateMachineArn: moveArn, name: `${String(++serial).padStart(3, '0')}-${name}`.slice(0, 80), input: JSON.stringify(detail) }),
  );
  const described = await stack.waitForExecution(executionArn, 60_000);
  await stack.waitForIdle(60_000);
  return {
    executionArn,
    status: described.status,
    ...(described.error && { error: described.error }),
    ...(described.output && { output: JSON.parse(described.output) as { status?: string } }),
  };
}

/** Where the employee is: `moved` when in exactly billing-admins and readers with readers alone on the record. */
async function placeOf(employee: Employee): Promise<string> {
  const user = (await accountState(stack)).users.get(employee.userName);
  const groups = [...(user?.groups ?? [])].sort().join(' ');
  const record = user?.tags[ASSIGNED_GROUPS_KEY];
  return groups === `${SOMEONE_ELSES} readers` && record === 'readers' ? 'moved' : `groups [${groups}], record "${record}"`;
}

const slug = (text: string) => text.replace(/[^A-Za-z0-9_-]+/g, '-');

describe('movers', () => {
  it(`moves each employee once though every event arrives ${DELIVERIES} times at once`, async ({ task }) => {
    const employees = await Promise.all(Array.from({ length: EMPLOYEES }, (_, i) => onboarded(`dup-${i}`)));
    const before = new Set(stack.executions().map((e) => e.executionArn));
    const entries = employees.flatMap((employee, i) =>
      Array.from({ length: DELIVERIES }, () => ({
        EventBusName: stack.stateMachines.find((m) => m.key === 'move')?.routes[0]?.eventBusName,
        Source: 'hr.system',
        DetailType: 'Employee Changed',
        Detail: JSON.stringify(change(employee, i % 2 === 1)),
      })),
    );
    for (let i = 0; i < entries.length; i += 10) {
      const { FailedEntryCount } = await events.send(new PutEventsCommand({ Entries: entries.slice(i, i + 10) }));
      expect(FailedEntryCount ?? 0).toBe(0);
    }
    await stack.waitForIdle(300_000);

    const executions = stack.executions().filter((e) => !before.has(e.executionArn));
    const statuses = tally(executions.map((e) => `${e.status} ${(JSON.parse(e.output ?? '{}') as { status?: string }).status ?? e.error ?? ''}`));
    const places = tally(await Promise.all(employees.map(placeOf)));
    const { messages } = await accountState(stack);
    recordFigure(task, 'employees, deliveries each', `${EMPLOYEES}, ${DELIVERIES} (half by user name, half by employee id)`);
    recordFigure(task, 'executions', `${executions.length} (${Object.entries(statuses).map(([s, n]) => `${s} ${n}`).join(', ')})`);
    recordFigure(task, 'employees where they belong', `${places.moved ?? 0}/${EMPLOYEES}`);
    expect(executions).toHaveLength(EMPLOYEES * DELIVERIES);
    expect(executions.filter((e) => e.status !== 'SUCCEEDED').map((e) => `${e.name}: ${e.error}`)).toEqual([]);
    expect(places).toEqual({ moved: EMPLOYEES });
    expect(messagesTo(messages, stack.functionEnv.OPS_EMAIL ?? '')).toHaveLength(0);
  });

  interface Call {
    service: string;
    operation: string;
  }
  const calls: Call[] = [];
  let functions: string[] = [];

  it('finds the calls and the functions of a clean move, by user name and by employee id', async ({ task }) => {
    const before = stack.requests().length;
    for (const byEmployeeId of [false, true]) {
      const employee = await onboarded('clean');
      const result = await startMove(change(employee, byEmployeeId), 'clean');
      expect(result.output?.status).toBe('MOVED');
      expect(await placeOf(employee)).toBe('moved');
    }
    const seen = new Set<string>();
    for (const request of stack.requests().slice(before)) {
      const key = `${request.service}:${request.operation}`;
      // The test's own calls (Step Functions, the setup's IAM writes) are not the workflow's.
      if (request.service === 'states' || ['CreateUser', 'CreateGroup'].includes(request.operation) || seen.has(key)) continue;
      seen.add(key);
      calls.push({ service: request.service, operation: request.operation });
    }
    functions = [...new Set(Object.values(taskFunctionKeys(loadDefinition('statemachines/move.asl.yaml'))))].filter((key) => key !== 'notifyOps');
    expect(calls.map((c) => `${c.service}:${c.operation}`)).toEqual(
      expect.arrayContaining(['iam:GetUser', 'iam:GetAccountAuthorizationDetails', 'iam:ListGroupsForUser', 'iam:GetGroup', 'iam:TagUser', 'iam:AddUserToGroup', 'iam:RemoveUserFromGroup']),
    );
    recordFigure(task, 'AWS calls of a move', `${calls.length} (${calls.map((c) => `${c.service}:${c.operation}`).join(', ')})`);
    recordFigure(task, 'functions', functions.join(', '));
  });

  const runScenario = async (name: string, rules: FaultRuleInput[], byEmployeeId: boolean) => {
    const employee = await onboarded(slug(name));
    stack.faults.clear();
    stack.faults.add(rules);
    const result = await startMove(change(employee, byEmployeeId), slug(name));
    stack.faults.clear();
    return { name, employee, byEmployeeId, ...result };
  };
  const byEmployeeIdFor = (call: Call) => call.operation === 'GetAccountAuthorizationDetails';

  it('rides out every transient fault: each move SUCCEEDS and ends where it belongs', async ({ task }) => {
    expect(calls.length).toBeGreaterThan(0);
    const results = [];
    for (const call of calls) {
      for (const [what, rule] of [
        ['throttled', { error: 'Throttling', count: IN_A_ROW }],
        ['5xx', { error: 'ServiceFailure', count: IN_A_ROW }],
        ['lost-response', { error: 'ServiceFailure', count: 1, when: 'after' as const }],
      ] as const) {
        results.push(await runScenario(`${call.operation}-${what}`, [{ ...call, ...rule }], byEmployeeIdFor(call)));
      }
    }
    for (const key of functions) {
      const lambda = { service: 'lambda', operation: key };
      results.push(await runScenario(`${key}-lambda-service-error`, [{ ...lambda, error: 'Lambda.ServiceException', count: 1 }], false));
      results.push(await runScenario(`${key}-lambda-throttled`, [{ ...lambda, error: 'Lambda.TooManyRequestsException', count: 2 }], false));
      results.push(await runScenario(`${key}-lambda-error-after-work`, [{ ...lambda, error: 'Lambda.ServiceException', count: 1, when: 'after' }], false));
    }
    const misplaced = [];
    for (const r of results) {
      const place = await placeOf(r.employee);
      if (r.status !== 'SUCCEEDED' || place !== 'moved') misplaced.push(`${r.name}: ${r.status} ${r.error ?? ''} ${place}`);
    }
    recordFigure(task, 'transient-fault scenarios', results.length);
    recordFigure(task, 'SUCCEEDED and where they belong', `${results.length - misplaced.length}/${results.length}`);
    expect(misplaced).toEqual([]);
  });

  it('fails hard faults cleanly, and the event coming again finishes the move', async ({ task }) => {
    const results = [];
    for (const call of calls) {
      const rule: FaultRuleInput = {
        ...call,
        error: 'AccessDenied',
        status: 403,
        message: `User: arn:aws:sts::123456789012:assumed-role/move/fn is not authorized to perform: ${call.service}:${call.operation}`,
      };
      results.push(await runScenario(`${call.operation}-access-denied`, [rule], byEmployeeIdFor(call)));
    }
    for (const key of functions) {
      results.push(await runScenario(`${key}-dies-after-work`, [{ service: 'lambda', operation: key, error: 'Lambda.Unknown', count: 1, when: 'after' }], false));
    }
    const { messages } = await accountState(stack);
    const ops = messagesTo(messages, stack.functionEnv.OPS_EMAIL ?? '');
    const outcomes: Outcome[] = results.map((r) => outcomeOf(stack.executions().find((e) => e.executionArn === r.executionArn)!, ops));

    const unhealed = [];
    for (const r of results) {
      const again = await startMove(change(r.employee, r.byEmployeeId), `${slug(r.name)}-again`);
      const place = await placeOf(r.employee);
      if (again.status !== 'SUCCEEDED' || place !== 'moved') unhealed.push(`${r.name}: again ${again.status} ${again.error ?? ''}, ${place}`);
    }
    recordFigure(task, 'hard-fault scenarios', results.length);
    recordFigure(task, 'outcomes', describeOutcomes(outcomes));
    recordFigure(task, 'where they belong once the event came again', `${results.length - unhealed.length}/${results.length}`);
    expect(outcomes.filter((o) => o !== 'succeeded' && o !== 'failed with ops email')).toEqual([]);
    expect(unhealed).toEqual([]);
  });

  it('stops the local stack and every process it started', async ({ task }) => {
    output.restore();
    const left = await stopMarkedStack(stack, mark);
    recordFigure(task, 'processes left running', left.length);
    expect(left).toEqual([]);
  });
});
