import { GetUserCommand, TagUserCommand } from '@aws-sdk/client-iam';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { iamClient } from '../../functions/lib/clients.ts';
import { markComplete, recordFailure } from '../../functions/lib/outcome.ts';
import { fakeAws, managedUser, type FakeAws } from '../support/aws-fakes.ts';
import { TEST_ENV } from '../support/env.ts';

const hire = { employeeId: 'E-1001', firstName: 'Bob', lastName: 'Builder', email: 'bob.builder@example.com', userName: 'bob.builder', groups: [] };
const ownership = { managedPath: TEST_ENV.MANAGED_PATH, managedBy: TEST_ENV.MANAGED_BY };
const now = new Date('2025-03-01T09:00:00.000Z');
const executionId = 'arn:aws:states:us-east-1:123456789012:execution:iam-onboarding-dev-onboarding:run-1';
const error = { Error: 'Lambda.Unknown', Cause: 'Runtime exited without providing a reason' };

/** Our user for the hire, tagged complete by the given execution. */
const completedBy = (execution: string) =>
  managedUser({
    tags: [
      { Key: 'onboarding:managed-by', Value: TEST_ENV.MANAGED_BY },
      { Key: 'onboarding:employee-id', Value: hire.employeeId },
      { Key: 'onboarding:status', Value: 'complete' },
      { Key: 'onboarding:credentials-sent-at', Value: '2025-03-01T08:59:59.000Z' },
      { Key: 'onboarding:completed-by', Value: execution },
    ],
  });

let aws: FakeAws;
beforeEach(() => {
  aws = fakeAws();
});
afterEach(() => aws.reset());

// Found by the fault suite (test/reliability/faults.test.ts): MarkComplete's Lambda died after
// tagging the user complete, and RecordFailure then marked a user who could sign in "failed".
describe('failure recording regressions', () => {
  it('markComplete records which execution completed the user', async () => {
    const delivery = { messageIds: ['m-1'], sentAt: '2025-03-01T08:59:59.000Z', signInUrl: 'https://123456789012.signin.aws.amazon.com/console' };
    await markComplete(iamClient(), { hire, user: { arn: 'arn', path: '/onboarding/' }, delivery, executionId }, now);
    expect(aws.iam.commandCalls(TagUserCommand)[0]?.args[0].input.Tags).toContainEqual({ Key: 'onboarding:completed-by', Value: executionId });
  });

  it('leaves the user complete when the failure is of the execution that completed it', async () => {
    aws.iam.on(GetUserCommand).resolves({ User: completedBy(executionId) });
    await expect(recordFailure(iamClient(), { hire, error, executionId }, ownership, now)).resolves.toEqual({
      recorded: false,
      reason: 'completed-by-this-execution',
    });
    expect(aws.iam).toHaveReceivedCommandTimes(TagUserCommand, 0);
  });

  it('records the failure of another execution on a complete user (a reset or a repeated event that failed)', async () => {
    aws.iam.on(GetUserCommand).resolves({ User: completedBy(`${executionId}-earlier`) });
    await expect(recordFailure(iamClient(), { hire, error, executionId }, ownership, now)).resolves.toEqual({ recorded: true });
    expect(aws.iam.commandCalls(TagUserCommand)[0]?.args[0].input.Tags).toContainEqual({ Key: 'onboarding:status', Value: 'failed' });
  });
});
