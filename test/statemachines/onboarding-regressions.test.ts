import { CreateUserCommand, GetUserCommand, TagUserCommand, type Tag } from '@aws-sdk/client-iam';
import { SendEmailCommand } from '@aws-sdk/client-ses';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { instantRetries, loadDefinition, resolveTaskHandlers, runExecution } from '../../local/workflow.ts';
import { fakeAws, noSuchEntity, type FakeAws } from '../support/aws-fakes.ts';
import { captureOutput } from '../support/capture.ts';
import { applyTestEnv, TEST_ENV } from '../support/env.ts';

const hire = { employeeId: 'E-1001', firstName: 'Bob', lastName: 'Builder', email: 'bob.builder@example.com', department: 'engineering' };
const stateMachineArn = 'arn:aws:states:us-east-1:123456789012:stateMachine:onboarding';

let aws: FakeAws;
let output: ReturnType<typeof captureOutput>;
beforeEach(() => {
  applyTestEnv();
  aws = fakeAws();
  output = captureOutput();
});
afterEach(() => {
  output.restore();
  aws.reset();
});

/** IAM's view of the one user: created by CreateUser, then changed by every TagUser. */
function trackUser(): Map<string, string> {
  const tags = new Map<string, string>();
  let created = false;
  aws.iam.on(CreateUserCommand).callsFake(async (input: { UserName: string; Path: string; Tags: Tag[] }) => {
    created = true;
    for (const tag of input.Tags) tags.set(tag.Key ?? '', tag.Value ?? '');
    return { User: { UserName: input.UserName, Path: input.Path, Arn: `arn:aws:iam::123456789012:user${input.Path}${input.UserName}`, UserId: 'AIDA', CreateDate: new Date() } };
  });
  aws.iam.on(TagUserCommand).callsFake(async (input: { Tags: Tag[] }) => {
    for (const tag of input.Tags) tags.set(tag.Key ?? '', tag.Value ?? '');
    return {};
  });
  aws.iam.on(GetUserCommand).callsFake(async (input: { UserName: string }) => {
    if (!created) throw noSuchEntity();
    const Tags = [...tags].map(([Key, Value]) => ({ Key, Value }));
    return { User: { UserName: input.UserName, Path: TEST_ENV.MANAGED_PATH, Arn: 'arn', UserId: 'AIDA', CreateDate: new Date(), Tags } };
  });
  return tags;
}

// Found by the fault suite (test/reliability/faults.test.ts).
describe('onboarding regressions', () => {
  it('keeps the user complete when MarkComplete dies after tagging it, and still tells ops', async () => {
    const tags = trackUser();
    const definition = loadDefinition('statemachines/onboarding.asl.yaml');
    const handlers = await resolveTaskHandlers(definition, {
      around: async (_state, functionKey, invoke) => {
        const output = await invoke();
        if (functionKey !== 'markComplete') return output;
        // The runtime dies after the handler's AWS calls succeeded.
        throw Object.assign(new Error('Runtime exited without providing a reason'), { name: 'Lambda.Unknown' });
      },
    });

    const result = await runExecution(definition, hire, {
      handlers,
      stateMachineArn,
      executionName: 'run-1',
      executionArn: `${stateMachineArn.replace(':stateMachine:', ':execution:')}:run-1`,
      retryIntervalOverrides: instantRetries(definition),
    });

    expect(result).toMatchObject({ status: 'FAILED', error: 'Lambda.Unknown' });
    expect(tags.get('onboarding:status')).toBe('complete');
    expect(tags.has('onboarding:failure')).toBe(false);
    const mails = aws.ses.commandCalls(SendEmailCommand).map((c) => c.args[0].input.Destination?.ToAddresses);
    expect(mails).toEqual([[hire.email], [TEST_ENV.OPS_EMAIL]]);
  });
});
