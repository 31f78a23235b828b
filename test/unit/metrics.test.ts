/**
 * The workflow's own metrics (functions/lib/metrics.ts): what each step counts, in the embedded
 * metric format the handlers write, and that a metric can carry nothing of a hire but the name
 * of the error that stopped it.
 */
import { CreateUserCommand, GetUserCommand, UpdateLoginProfileCommand } from '@aws-sdk/client-iam';
import { MessageRejected, SendEmailCommand } from '@aws-sdk/client-ses';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { countFailure, failureDimension, FAILURE_NAMES, publishMetrics, WORKFLOW_METRICS } from '../../functions/lib/metrics.ts';
import { managedUser, noSuchEntity } from '../../testing/aws-fakes.ts';
import { TEST_ENV } from '../../testing/lambda-env.ts';
import { fakeDirectory, onboardedUser } from '../support/iam-directory.ts';
import { useStateMachines } from '../support/in-process.ts';
import { passwordsSent } from '../support/secrets.ts';

type Emf = Record<string, unknown> & {
  _aws: { Timestamp: number; CloudWatchMetrics: Array<{ Namespace: string; Dimensions: string[][]; Metrics: Array<{ Name: string; Unit: string }> }> };
};

const workflow = useStateMachines(['onboarding', 'reprovision']);

/** The metric documents written so far in this test. */
const emf = (): Emf[] => workflow.output.records().filter((record): record is Emf => '_aws' in record);

/** Metric name to count, over every document (a document may hold several). */
function counts(documents: Emf[] = emf()): Record<string, number> {
  const totals: Record<string, number> = {};
  for (const document of documents) {
    for (const { Name } of document._aws.CloudWatchMetrics.flatMap((m) => m.Metrics)) {
      const value = document[Name];
      totals[Name] = (totals[Name] ?? 0) + (Array.isArray(value) ? value.reduce((a: number, b: number) => a + b, 0) : Number(value));
    }
  }
  return totals;
}

const failuresByName = () =>
  emf()
    .filter((d) => 'Failed' in d)
    .map((d) => d.ErrorName);

// In-process executions run on arn:...:stateMachine:onboarding (testing/state-machine.ts).
beforeEach(() => {
  process.env.ONBOARDING_STATE_MACHINE_NAME = 'onboarding';
});
afterEach(() => {
  delete process.env.ONBOARDING_STATE_MACHINE_NAME;
});

const hire = { employeeId: 'E-1001', firstName: 'Bob', lastName: 'Builder', email: 'bob.builder@example.com', department: 'engineering' };

/** Every key a metric document may have: EMF's own, the dimensions, the metric names. Nothing else. */
const ALLOWED_KEYS = new Set(['_aws', 'service', 'ErrorName', ...Object.keys(WORKFLOW_METRICS)]);

function expectOnlyWorkflowFields(documents: Emf[]): void {
  expect(documents.length).toBeGreaterThan(0);
  for (const document of documents) {
    expect(Object.keys(document).filter((key) => !ALLOWED_KEYS.has(key)), JSON.stringify(document)).toEqual([]);
    const [directive] = document._aws.CloudWatchMetrics;
    expect(directive!.Namespace).toBe('iam-onboarding');
    expect(document.service).toBe('iam-onboarding');
    for (const dimensions of directive!.Dimensions) expect(['service', 'ErrorName']).toEqual(expect.arrayContaining(dimensions));
    if ('ErrorName' in document) expect([...FAILURE_NAMES, 'Other']).toContain(document.ErrorName);
  }
}

describe('workflow metrics', () => {
  it('an onboarding counts Onboarded once, a repeated one AlreadyProvisioned', async () => {
    expect((await workflow.execute('onboarding', hire)).status).toBe('SUCCEEDED');
    expect(counts()).toEqual({ Onboarded: 1 });

    // The same hire again: the user and its login profile are there.
    const users = fakeDirectory(workflow.aws.iam, [onboardedUser('bob.builder', { now: new Date(), employeeId: 'E-1001' })]);
    expect(users.size).toBe(1);
    const again = await workflow.execute('onboarding', hire);
    expect(again.output).toMatchObject({ status: 'ALREADY_PROVISIONED' });
    expect(counts()).toEqual({ Onboarded: 1, AlreadyProvisioned: 1 });
    expectOnlyWorkflowFields(emf());
  });

  it('a duplicate standing back counts InProgressElsewhere', async () => {
    const creator = 'arn:aws:states:us-east-1:123456789012:execution:onboarding:hr-event-1';
    workflow.aws.iam.on(GetUserCommand).resolves({
      User: managedUser({
        tags: [
          { Key: 'onboarding:managed-by', Value: TEST_ENV.MANAGED_BY },
          { Key: 'onboarding:employee-id', Value: 'E-1001' },
          { Key: 'onboarding:status', Value: 'in-progress' },
          { Key: 'onboarding:updated-at', Value: new Date().toISOString() },
          { Key: 'onboarding:created-by', Value: creator },
        ],
      }),
    });

    const duplicate = await workflow.execute('onboarding', hire);

    expect(duplicate.output).toMatchObject({ status: 'IN_PROGRESS_ELSEWHERE' });
    expect(counts()).toEqual({ InProgressElsewhere: 1 });
  });

  it('a failure counts Failed once, under its error name, whether it happened in IAM, SES or validation', async () => {
    workflow.aws.iam.on(GetUserCommand).resolves({ User: managedUser({ managedBy: 'someone-else' }) });
    expect((await workflow.execute('onboarding', hire)).error).toBe('UserNameConflict');

    workflow.aws.iam.on(GetUserCommand).rejects(noSuchEntity());
    workflow.aws.ses
      .on(SendEmailCommand, { Destination: { ToAddresses: [hire.email] } })
      .rejects(new MessageRejected({ message: `Email address is not verified: ${hire.email}`, $metadata: { httpStatusCode: 400 } }));
    expect((await workflow.execute('onboarding', hire)).error).toBe('MessageRejected');

    expect((await workflow.execute('onboarding', { ...hire, groups: ['Admins'] })).error).toBe('GroupNotAllowed');

    expect(failuresByName()).toEqual(['UserNameConflict', 'MessageRejected', 'GroupNotAllowed']);
    expect(counts()).toEqual({ Failed: 3 });
    expectOnlyWorkflowFields(emf());
  });

  it('a failure whose ops email cannot be sent is not counted twice by the retries', async () => {
    workflow.aws.iam.on(CreateUserCommand).rejects(Object.assign(new Error('denied'), { name: 'AccessDenied' }));
    workflow.aws.ses
      .on(SendEmailCommand, { Destination: { ToAddresses: [TEST_ENV.OPS_EMAIL] } })
      .rejectsOnce(Object.assign(new Error('slow down'), { name: 'Throttling' }))
      .resolves({ MessageId: 'ops-1' });

    expect((await workflow.execute('onboarding', hire)).error).toBe('AccessDenied');

    expect(failuresByName()).toEqual(['AccessDenied']);
  });

  it('the reprovision state machine counts PasswordsReset and ConsoleAccessRemoved, and no Onboarded', async () => {
    const now = new Date();
    fakeDirectory(workflow.aws.iam, [
      onboardedUser('ann.lee', { now, issuedDaysAgo: 9, employeeId: 'E-7', tags: { 'onboarding:password-resets': '1' } }),
      onboardedUser('cy.young', { now, issuedDaysAgo: 9, employeeId: 'E-8', tags: { 'onboarding:password-resets': '3' } }),
    ]);
    workflow.aws.iam.on(UpdateLoginProfileCommand).resolves({});

    const reset = await workflow.execute('reprovision', { action: 'RESET_PASSWORD', hire: { userName: 'ann.lee', employeeId: 'E-7' }, reason: 'password-unused' });
    const removed = await workflow.execute('reprovision', {
      action: 'REMOVE_CONSOLE_ACCESS',
      hire: { userName: 'cy.young', employeeId: 'E-8' },
      reason: 'password-unused',
    });

    expect([reset.status, removed.status]).toEqual(['SUCCEEDED', 'SUCCEEDED']);
    // The removal mails ops like a failure does, and is not one.
    expect(counts()).toEqual({ PasswordsReset: 1, ConsoleAccessRemoved: 1 });
    expectOnlyWorkflowFields(emf());
  });

  it('no metric holds a password, an address or a name, whatever the run', async () => {
    await workflow.execute('onboarding', hire);
    await workflow.execute('onboarding', { ...hire, employeeId: 'E-2', email: 'eve@evil.example', firstName: 'Eve' });
    const text = JSON.stringify(emf());
    for (const secret of [...passwordsSent(workflow.aws.iam), hire.email, hire.firstName, hire.lastName, 'bob.builder', 'eve@evil.example', 'E-1001', 'E-2']) {
      expect(text).not.toContain(secret);
    }
  });
});

describe('the ErrorName dimension', () => {
  it('takes only the known failure names; anything else is Other', () => {
    expect(failureDimension('MessageRejected')).toBe('MessageRejected');
    expect(failureDimension('Lambda.Unknown')).toBe('Lambda.Unknown');
    expect(failureDimension('bob.builder@example.com')).toBe('Other');
    expect(failureDimension('Xy7#pQ2!mN9$')).toBe('Other');
    expect(failureDimension('')).toBe('Other');
    expect(failureDimension(undefined)).toBe('Other');
  });

  it('is published on a document of its own, so it never labels another count', () => {
    countFailure('bob.builder@example.com');
    publishMetrics();
    expect(emf()).toEqual([expect.objectContaining({ ErrorName: 'Other', Failed: 1 })]);
  });

  it('an invocation that counted nothing writes nothing', () => {
    publishMetrics();
    expect(workflow.output.text()).toBe('');
  });
});
