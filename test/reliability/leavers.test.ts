/**
 * Leavers, on the local stack (moto's IAM/SES/SSM, the real offboarding and reprovision
 * definitions with the real handlers, EventBridge routing the "employee terminated" events the
 * rule serverless.yml declares): every termination delivered three times; the mass-change guard
 * holding what would take a day past its share, and letting it through once an admin confirms;
 * a fault on every call the offboarding makes, the answer lost after the call did its work
 * included; and the sweep deleting the leavers whose retention is over, within the guard.
 *
 * The account: MANAGED managed users, onboarded (a console password, an access key, the
 * `developers` group this workflow recorded). The local stage's guard: 10 % of them or 5 a day.
 */
import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import {
  AddUserToGroupCommand,
  CreateAccessKeyCommand,
  CreateLoginProfileCommand,
  CreateUserCommand,
  GetLoginProfileCommand,
  ListAccessKeysCommand,
  ListGroupsForUserCommand,
  ListUserTagsCommand,
  NoSuchEntityException,
  TagUserCommand,
  type IAMClient,
} from '@aws-sdk/client-iam';
import { DescribeExecutionCommand, paginateListExecutions, StartExecutionCommand, type SFNClient } from '@aws-sdk/client-sfn';
import { PutParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { confirmationFor } from '../../functions/lib/offboarding-guard.ts';
import { sweep } from '../../functions/lib/sweep.ts';
import { sweepSettingsFromEnv } from '../../functions/lib/sweep-settings.ts';
import type { LocalStack } from '../../local/stack.ts';
import { captureOutput } from '../support/capture.ts';
import { recordFigure } from './figures.ts';
import { describeTally, stackClients, startMarkedStack, stopMarkedStack, tally } from './local-aws.ts';

const MANAGED = 40;
const DELIVERIES = 3;
const DAY_MS = 86_400_000;

let stack: LocalStack;
let mark: string;
let iam: IAMClient;
let sfn: SFNClient;
let ssm: SSMClient;
let events: EventBridgeClient;
let output: ReturnType<typeof captureOutput>;

const userName = (n: number) => `leaver-${n}`;
const employeeId = (n: number) => `E-LV-${n}`;
const env = () => stack.functionEnv;

beforeAll(async () => {
  output = captureOutput();
  ({ stack, mark } = await startMarkedStack({ quiet: true, retryIntervalMs: 10 }));
  ({ iam, sfn } = stackClients(stack));
  const config = { endpoint: stack.endpoint, region: stack.region, credentials: { accessKeyId: 'test', secretAccessKey: 'test' } };
  ssm = new SSMClient(config);
  events = new EventBridgeClient(config);
  for (let n = 0; n < MANAGED; n += 1) await onboarded(n);
}, 300_000);

afterAll(async () => {
  output?.restore();
  for (const client of [ssm, events]) client?.destroy();
  if (stack) await stopMarkedStack(stack, mark);
});

/** A user as a finished onboarding leaves it. */
async function onboarded(n: number): Promise<void> {
  const tags = {
    'onboarding:managed-by': env().MANAGED_BY ?? '',
    'onboarding:employee-id': employeeId(n),
    'onboarding:status': 'complete',
    'onboarding:groups': 'developers',
  };
  await iam.send(new CreateUserCommand({ UserName: userName(n), Path: env().MANAGED_PATH, Tags: Object.entries(tags).map(([Key, Value]) => ({ Key, Value })) }));
  await iam.send(new CreateLoginProfileCommand({ UserName: userName(n), Password: `Aa1!${'x'.repeat(16)}${n}`, PasswordResetRequired: true }));
  await iam.send(new AddUserToGroupCommand({ UserName: userName(n), GroupName: 'developers' }));
  await iam.send(new CreateAccessKeyCommand({ UserName: userName(n) }));
  // The credentials went out once the password was set: a healthy user, nothing for the sweep.
  await iam.send(new TagUserCommand({ UserName: userName(n), Tags: [{ Key: 'onboarding:credentials-sent-at', Value: new Date(Date.now() + 1000).toISOString() }] }));
}

const bus = () => stack.stateMachines.find((m) => m.key === 'offboarding')?.routes[0]?.eventBusName ?? '';
const offboardingArn = () => stack.stateMachines.find((m) => m.key === 'offboarding')?.arn ?? '';

async function terminate(ns: number[]): Promise<void> {
  for (let i = 0; i < ns.length; i += 10) {
    const entries = ns.slice(i, i + 10).map((n) => ({ EventBusName: bus(), Source: 'hr.system', DetailType: 'Employee Terminated', Detail: JSON.stringify({ employeeId: employeeId(n) }) }));
    const put = await events.send(new PutEventsCommand({ Entries: entries }));
    expect(put.FailedEntryCount).toBe(0);
  }
  await stack.waitForIdle(120_000);
}

interface Ended {
  name: string;
  status: string;
  error?: string;
  outcome?: string;
  employeeId?: string;
}

const seen = new Set<string>();
/** The offboarding executions that ended since the last call. */
async function newExecutions(): Promise<Ended[]> {
  const ended: Ended[] = [];
  for await (const page of paginateListExecutions({ client: sfn }, { stateMachineArn: offboardingArn() })) {
    for (const execution of page.executions ?? []) {
      if (seen.has(execution.executionArn ?? '')) continue;
      seen.add(execution.executionArn ?? '');
      const described = await sfn.send(new DescribeExecutionCommand({ executionArn: execution.executionArn }));
      const out = described.output ? (JSON.parse(described.output) as { status?: string; employeeId?: string }) : {};
      const input = JSON.parse(described.input ?? '{}') as { employeeId?: string };
      ended.push({
        name: described.name ?? '',
        status: described.status ?? '',
        ...(described.error && { error: described.error }),
        ...(out.status && { outcome: out.status }),
        ...(input.employeeId && { employeeId: input.employeeId }),
      });
    }
  }
  return ended;
}

const outcomeOf = (e: Ended) => (e.status === 'SUCCEEDED' ? (e.outcome ?? 'SUCCEEDED') : `${e.status} ${e.error ?? ''}`.trim());

interface Access {
  exists: boolean;
  status?: string;
  loginProfile: boolean;
  activeKeys: number;
  groups: string[];
  offboardedAt?: string;
}

async function accessOf(n: number): Promise<Access> {
  const UserName = userName(n);
  let tags: Record<string, string>;
  try {
    const { Tags = [] } = await iam.send(new ListUserTagsCommand({ UserName }));
    tags = Object.fromEntries(Tags.map((t) => [t.Key, t.Value]));
  } catch (error) {
    if (error instanceof NoSuchEntityException) return { exists: false, loginProfile: false, activeKeys: 0, groups: [] };
    throw error;
  }
  const loginProfile = await iam.send(new GetLoginProfileCommand({ UserName })).then(
    () => true,
    () => false,
  );
  const { AccessKeyMetadata = [] } = await iam.send(new ListAccessKeysCommand({ UserName }));
  const { Groups = [] } = await iam.send(new ListGroupsForUserCommand({ UserName }));
  return {
    exists: true,
    ...(tags['onboarding:status'] && { status: tags['onboarding:status'] }),
    loginProfile,
    activeKeys: AccessKeyMetadata.filter((k) => k.Status === 'Active').length,
    groups: Groups.map((g) => g.GroupName ?? ''),
    ...(tags['onboarding:offboarded-at'] && { offboardedAt: tags['onboarding:offboarded-at'] }),
  };
}

const OFFBOARDED: Access = { exists: true, status: 'offboarded', loginProfile: false, activeKeys: 0, groups: [] };
const UNTOUCHED: Access = { exists: true, status: 'complete', loginProfile: true, activeKeys: 1, groups: ['developers'] };
const stripTime = ({ offboardedAt: _, ...rest }: Access) => rest;

async function opsMail(subject: RegExp): Promise<number> {
  return (await stack.mail()).filter((m) => subject.test(String((m as { subject?: string }).subject ?? ''))).length;
}

async function confirm(minutes: number): Promise<void> {
  const value = minutes > 0 ? JSON.stringify(confirmationFor('reliability', new Date(), minutes * 60_000)) : 'none';
  await ssm.send(new PutParameterCommand({ Name: env().OFFBOARDING_CONFIRMATION_PARAMETER, Type: 'String', Overwrite: true, Value: value }));
}

describe('leavers on the local stack', () => {
  it('offboards each leaver once, whatever is delivered twice or held, and rides out a fault on every call', async ({ task }) => {
    // 1. Five terminations (the day's allowance), each delivered three times, in waves.
    const first = [0, 1, 2, 3, 4];
    for (let wave = 0; wave < DELIVERIES; wave += 1) await terminate(first);
    const duplicates = await newExecutions();
    expect(tally(duplicates.map(outcomeOf))).toEqual({ OFFBOARDED: first.length, ALREADY_OFFBOARDED: first.length * (DELIVERIES - 1) });
    for (const n of first) expect(stripTime(await accessOf(n)), userName(n)).toEqual(OFFBOARDED);
    expect(await opsMail(/^User leaver-\d+ offboarded$/)).toBe(first.length);
    recordFigure(task, 'terminations delivered (3 each)', duplicates.length);
    recordFigure(task, 'duplicate terminations', describeTally(tally(duplicates.map(outcomeOf))));

    // 2. Three more the same day: past the share, held, untouched, ops told.
    const held = [5, 6, 7];
    for (const n of held) await terminate([n]);
    const holds = await newExecutions();
    expect(holds.map(outcomeOf)).toEqual(held.map(() => 'FAILED MassOffboardingHeld'));
    for (const n of held) expect(stripTime(await accessOf(n)), userName(n)).toEqual(UNTOUCHED);
    expect(await opsMail(/^Offboarding held for leaver-\d+: MassOffboardingHeld$/)).toBe(held.length);
    recordFigure(task, 'offboardings held by the guard (day allowance 5)', holds.length);

    // 3. An admin confirms; the held ones are run again by hand and go through.
    await confirm(60);
    for (const n of held) {
      await sfn.send(new StartExecutionCommand({ stateMachineArn: offboardingArn(), name: `offboard-${employeeId(n)}-confirmed`, input: JSON.stringify({ employeeId: employeeId(n) }) }));
    }
    await stack.waitForIdle(120_000);
    const confirmed = await newExecutions();
    expect(confirmed.map(outcomeOf)).toEqual(held.map(() => 'OFFBOARDED'));
    for (const n of held) expect(stripTime(await accessOf(n))).toEqual(OFFBOARDED);

    // 4. A fault on every call the offboarding makes, one leaver each: a transient refusal, and
    // the answer lost after the call did its work.
    const calls: Array<[string, string]> = [
      ['iam', 'GetAccountAuthorizationDetails'],
      ['iam', 'GetUser'],
      ['iam', 'GetLoginProfile'],
      ['iam', 'ListAccessKeys'],
      ['iam', 'ListGroupsForUser'],
      ['iam', 'ListMFADevices'],
      ['iam', 'TagUser'],
      ['iam', 'DeleteLoginProfile'],
      ['iam', 'UpdateAccessKey'],
      ['iam', 'RemoveUserFromGroup'],
      ['ses', 'SendEmail'],
    ];
    const functions = ['validateTermination', 'findLeaver', 'offboardUser', 'notifyOffboarding'];
    const faults: Array<{ service: string; operation: string; error: string; when?: 'after' }> = [
      ...calls.map(([service, operation]) => ({ service, operation, error: 'Throttling' })),
      ...calls.filter(([service]) => service === 'iam').map(([service, operation]) => ({ service, operation, error: 'ServiceFailure', when: 'after' })),
      ...functions.map((operation) => ({ service: 'lambda', operation, error: 'Lambda.ServiceException' })),
    ];
    let n = 8;
    const faulted: Array<[string, number]> = [];
    for (const fault of faults) {
      stack.faults.add({ ...fault, count: 1 });
      await terminate([n]);
      faulted.push([`${fault.service}:${fault.operation}${fault.when ? ' (answer lost)' : ''}`, n]);
      n += 1;
    }
    stack.faults.clear();
    const faultRuns = await newExecutions();
    expect(faultRuns.map(outcomeOf)).toEqual(faults.map(() => 'OFFBOARDED'));
    for (const [what, leaver] of faulted) expect(stripTime(await accessOf(leaver)), what).toEqual(OFFBOARDED);
    // Every AWS call fault hit its call (Lambda's are answered in the stack's own invoke, not logged as requests).
    const hits = stack.requests().filter((r) => r.faultRuleId !== undefined).length;
    expect(hits).toBe(faults.filter((f) => f.service !== 'lambda').length);
    recordFigure(task, 'faults injected (one per call, each its own leaver)', faults.length);
    recordFigure(task, 'offboardings that ended OFFBOARDED despite a fault', faultRuns.filter((e) => e.outcome === 'OFFBOARDED').length);
    // Every leaver told to ops once; the workflow never wrote to a user it did not offboard.
    expect(await opsMail(/^User leaver-\d+ offboarded$/)).toBeGreaterThanOrEqual(first.length + held.length + faults.length);
    for (let untouched = n; untouched < MANAGED; untouched += 1) expect(stripTime(await accessOf(untouched)), userName(untouched)).toEqual(UNTOUCHED);
    recordFigure(task, 'managed users never terminated, untouched', MANAGED - n);
  });

  it('deletes the leavers whose retention is over, within the guard, and only those', async ({ task }) => {
    await confirm(0);
    // The first five left long ago; the others today.
    const old = [0, 1, 2, 3, 4];
    for (const n of old) {
      await iam.send(new TagUserCommand({ UserName: userName(n), Tags: [{ Key: 'onboarding:offboarded-at', Value: new Date(Date.now() - 40 * DAY_MS).toISOString() }] }));
    }
    const settings = sweepSettingsFromEnv(env(), { managedPath: env().MANAGED_PATH ?? '', managedBy: env().MANAGED_BY ?? '' });
    const clients = { iam, sfn, ssm };

    // Today's offboardings already passed the day's allowance: every deletion is held.
    const held = await sweep(clients, settings);
    await stack.waitForIdle(120_000);
    expect(held.guard).toMatchObject({ deletionsDue: old.length, deletionsAllowed: 0 });
    expect(held.users.filter((u) => u.action === 'delete-user').map((u) => u.outcome)).toEqual(old.map(() => 'held'));
    expect(held.actions['restart-onboarding']).toBe(0);
    for (const n of old) expect((await accessOf(n)).exists).toBe(true);
    recordFigure(task, 'deletions due, held by the guard', held.outcomes.held);

    // Confirmed: all of them, and nobody else.
    await confirm(60);
    const deleted = await sweep(clients, settings);
    await stack.waitForIdle(120_000);
    expect(deleted.users.filter((u) => u.action === 'delete-user').map((u) => `${u.userName} ${u.outcome}`)).toEqual(old.map((n) => `${userName(n)} started`));
    // Nobody else is acted on: no leaver onboarded again, no healthy user touched.
    expect(deleted.users.filter((u) => u.action !== 'none' && u.action !== 'delete-user').map((u) => `${u.userName} ${u.action}`)).toEqual([]);
    for (const n of old) expect((await accessOf(n)).exists, userName(n)).toBe(false);
    const left = await Promise.all(Array.from({ length: MANAGED - old.length }, (_, i) => accessOf(i + old.length)));
    expect(left.every((a) => a.exists)).toBe(true);
    recordFigure(task, 'offboarded users deleted after their retention', old.length);
    recordFigure(task, 'users left (kept offboarded, or never terminated)', left.length);
  });

  it('deletes a leaver despite a fault on every call of the deletion, answers lost included', async ({ task }) => {
    const reprovisionArn = stack.stateMachines.find((m) => m.key === 'reprovision')?.arn ?? '';
    const calls = [
      'GetUser',
      'ListAccessKeys',
      'DeleteAccessKey',
      'ListSigningCertificates',
      'ListSSHPublicKeys',
      'ListServiceSpecificCredentials',
      'ListMFADevices',
      'ListAttachedUserPolicies',
      'ListUserPolicies',
      'ListGroupsForUser',
      'DeleteUser',
    ];
    const faults: Array<{ operation: string; error: string; when?: 'after' }> = [
      ...calls.map((operation) => ({ operation, error: 'Throttling' })),
      ...['DeleteAccessKey', 'DeleteUser'].map((operation) => ({ operation, error: 'ServiceFailure', when: 'after' as const })),
    ];
    // Leavers offboarded today (held, then confirmed; and the faulted ones), their retention made over.
    const leavers = Array.from({ length: faults.length }, (_, i) => i + 5);
    for (const n of leavers) {
      await iam.send(new TagUserCommand({ UserName: userName(n), Tags: [{ Key: 'onboarding:offboarded-at', Value: new Date(Date.now() - 40 * DAY_MS).toISOString() }] }));
    }
    const ended: string[] = [];
    for (const [i, fault] of faults.entries()) {
      const n = leavers[i]!;
      stack.faults.add({ service: 'iam', ...fault, count: 1 });
      const { executionArn } = await sfn.send(
        new StartExecutionCommand({
          stateMachineArn: reprovisionArn,
          name: `delete-${userName(n)}-fault-${i}`,
          input: JSON.stringify({ action: 'DELETE_USER', hire: { userName: userName(n), employeeId: employeeId(n) }, reason: 'retention-ended' }),
        }),
      );
      await stack.waitForIdle(120_000);
      const described = await sfn.send(new DescribeExecutionCommand({ executionArn }));
      ended.push(`${described.status ?? ''} ${(JSON.parse(described.output ?? '{}') as { status?: string }).status ?? described.error ?? ''}`);
      expect((await accessOf(n)).exists, `${fault.operation}${fault.when ? ' (answer lost)' : ''}`).toBe(false);
    }
    stack.faults.clear();
    // A lost DeleteUser answer: the retry finds the user gone, which is the same outcome.
    expect(ended.filter((e) => !e.startsWith('SUCCEEDED'))).toEqual([]);
    recordFigure(task, 'deletion faults (one per call, each its own leaver)', faults.length);
    recordFigure(task, 'deletions', describeTally(tally(ended)));
  });

  it('stops the local stack and every process it started', async ({ task }) => {
    const left = await stopMarkedStack(stack, mark);
    recordFigure(task, 'processes left running', left.length);
    expect(left).toEqual([]);
  });
});
