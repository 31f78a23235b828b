/**
 * What real HR data does to an onboarding, run through the real definition and the real
 * (bundled) handlers against IAM, SES and KMS in memory, in virtual time: a start date weeks
 * ahead is waited for in the state machine (its own Wait state on its own timestamp, no
 * override), while duplicates and a moved date arrive; a name that someone else holds.
 */
import { describe, expect, it } from 'vitest';
import { DEFAULT_WORLD, inVirtualTime, world } from '../../testing/burst.ts';
import type { InMemoryAws } from '../../testing/in-memory-aws.ts';
import { TEST_ENV } from '../../testing/lambda-env.ts';
import { inProcessStateMachine, type ExecutionResult } from '../../testing/state-machine.ts';
import { loadDefinition, taskFunctionKeys } from '../../local/workflow.ts';
import { entered } from '../support/in-process.ts';

// The virtual clock starts on Monday 2026-01-05 at 09:00 UTC (testing/burst.ts); the stage's
// time zone is UTC and its credentials hour 08:00 (the defaults).
const hire = {
  employeeId: 'E-2001',
  firstName: 'Dana',
  lastName: 'Scully',
  email: 'dscully@example.com',
  department: 'engineering',
};
const HOUR = 3_600_000;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function onboardingWorld() {
  const keys = [...new Set(Object.values(taskFunctionKeys(loadDefinition('statemachines/onboarding.asl.yaml'))))];
  const { aws, lambdas } = await world(DEFAULT_WORLD, keys);
  const onboarding = await inProcessStateMachine('onboarding', {
    invoke: (functionKey, input) => lambdas.invoke(functionKey, input),
    retryWaits: 'definition',
    waits: 'definition',
    namePrefix: 'hr',
  });
  const run = (input: unknown, name: string) => onboarding.run(input, name);
  return { aws, run, arnOf: (name: string) => `${onboarding.arn.replace(':stateMachine:', ':execution:')}:${name}` };
}

const output = (result: ExecutionResult) => result.output as Record<string, unknown>;
const mailTo = (aws: InMemoryAws, address: string) => aws.mail.filter((m) => m.to.includes(address));
const tags = (aws: InMemoryAws, userName: string) => Object.fromEntries(aws.user(userName)?.tags ?? []);

describe('a hire with a start date ahead', () => {
  it('gets its user and groups at once, and its password and email at 08:00 on the start date', async () => {
    const { aws, run } = await onboardingWorld();

    const { result, meanwhile } = await inVirtualTime(1, async () => {
      const waiting = run({ ...hire, startDate: '2026-01-19' }, 'first');
      await sleep(HOUR);
      const user = aws.user('dscully');
      const meanwhile = {
        groups: [...(user?.groups ?? [])],
        loginProfile: user?.loginProfile,
        tags: tags(aws, 'dscully'),
        mails: aws.mail.length,
      };
      return { result: await waiting, meanwhile };
    });

    expect(meanwhile).toMatchObject({
      groups: ['developers'],
      loginProfile: undefined,
      tags: { 'onboarding:status': 'waiting', 'onboarding:credentials-at': '2026-01-19T08:00:00.000Z' },
      mails: 0,
    });
    expect(result.status).toBe('SUCCEEDED');
    expect(output(result)).toMatchObject({ status: 'ONBOARDED', userName: 'dscully' });
    expect(entered(result)).toContain('WaitForStartDate');
    const release = Date.parse('2026-01-19T08:00:00.000Z');
    expect(aws.user('dscully')?.loginProfile?.createDate.getTime()).toBeGreaterThanOrEqual(release);
    const [mail, ...more] = mailTo(aws, hire.email);
    expect(more).toEqual([]);
    expect(mail!.at).toBeGreaterThanOrEqual(release);
    expect(mail!.at).toBeLessThan(release + HOUR);
    expect(tags(aws, 'dscully')['onboarding:status']).toBe('complete');
  });

  it('waits once: a duplicate event during the wait sets no password and mails nobody', async () => {
    const { aws, run } = await onboardingWorld();

    const { first, duplicate, mailsAfterDuplicate } = await inVirtualTime(2, async () => {
      const waiting = run({ ...hire, startDate: '2026-01-19' }, 'first');
      await sleep(6 * 24 * HOUR); // far beyond the 15 minutes an onboarding without a start date is given
      const duplicate = await run({ ...hire, startDate: '2026-01-19' }, 'duplicate');
      const mailsAfterDuplicate = aws.mail.length;
      return { first: await waiting, duplicate, mailsAfterDuplicate };
    });

    expect(output(duplicate)).toMatchObject({ status: 'IN_PROGRESS_ELSEWHERE', userName: 'dscully' });
    expect(entered(duplicate)).not.toContain('WaitForStartDate');
    expect(mailsAfterDuplicate).toBe(0);
    expect(output(first)).toMatchObject({ status: 'ONBOARDED' });
    expect(mailTo(aws, hire.email)).toHaveLength(1);
    expect(aws.calls.filter((c) => c.operation === 'CreateLoginProfile' && !c.error)).toHaveLength(1);
  });

  it.each([
    ['a later', '2026-01-19', '2026-01-26'],
    ['an earlier', '2026-01-26', '2026-01-19'],
  ])('moves to %s start date: the new event onboards on the new date, the first stands back', async (_, before, after) => {
    const { aws, run, arnOf } = await onboardingWorld();

    const { first, moved } = await inVirtualTime(3, async () => {
      const waiting = run({ ...hire, startDate: before }, 'first');
      await sleep(HOUR);
      const moved = run({ ...hire, startDate: after }, 'moved');
      return { first: await waiting, moved: await moved };
    });

    // The first execution is not stopped (that would alarm ops): it wakes on the old date and
    // stands back, since the claim is no longer its own.
    expect(output(first)).toMatchObject({ status: 'SUPERSEDED' });
    expect(tags(aws, 'dscully')['onboarding:created-by']).toBe(arnOf('moved'));
    expect(output(moved)).toMatchObject({ status: 'ONBOARDED', userName: 'dscully' });
    const [mail, ...more] = mailTo(aws, hire.email);
    expect(more).toEqual([]);
    const release = Date.parse(`${after}T08:00:00.000Z`);
    expect(mail!.at).toBeGreaterThanOrEqual(release);
    expect(mail!.at).toBeLessThan(release + HOUR);
  });

  it('sets no password when the hire left while waiting (the leaver flow offboarded the user)', async () => {
    const { aws, run } = await onboardingWorld();

    const result = await inVirtualTime(8, async () => {
      const waiting = run({ ...hire, startDate: '2026-01-19' }, 'first');
      await sleep(3 * 24 * HOUR);
      // What the leaver flow leaves on the user (it has no login profile and no groups to take).
      aws.user('dscully')!.tags.set('onboarding:status', 'offboarded');
      return waiting;
    });

    expect(output(result)).toMatchObject({ status: 'WITHDRAWN', userName: 'dscully' });
    expect(aws.user('dscully')?.loginProfile).toBeUndefined();
    expect(mailTo(aws, hire.email)).toEqual([]);
  });

  it('proceeds at once when the start date is today, and refuses one more than 364 days ahead before any write', async () => {
    const { aws, run } = await onboardingWorld();

    const { today, tooFar } = await inVirtualTime(4, async () => ({
      today: await run({ ...hire, startDate: '2026-01-05' }, 'today'),
      tooFar: await run({ ...hire, employeeId: 'E-2002', email: 'far@example.com', startDate: '2027-01-05' }, 'too-far'),
    }));

    expect(output(today)).toMatchObject({ status: 'ONBOARDED' });
    expect(entered(today)).not.toContain('WaitForStartDate');
    expect(tooFar.status).toBe('FAILED');
    expect(tooFar.error).toBe('InvalidHrEvent');
    expect(tooFar.cause).toContain('startDate');
    expect(aws.user('far')).toBeUndefined();
    expect(mailTo(aws, TEST_ENV.OPS_EMAIL)).toHaveLength(1);
  });
});

describe('a derived user name that someone else holds', () => {
  const someoneElse = (aws: InMemoryAws, userName: string) =>
    aws.addUser({ userName, path: '/', createDate: new Date(0), tags: new Map(), groups: new Set(), policies: new Set() });

  it('takes the next free candidate, records the name it wanted, and a repeated event finds that user', async () => {
    const { aws, run } = await onboardingWorld();
    someoneElse(aws, 'DScully'); // IAM's names are unique ignoring case
    someoneElse(aws, 'dana.scully');

    const { first, repeated } = await inVirtualTime(5, async () => ({
      first: await run(hire, 'first'),
      repeated: await run(hire, 'repeated'),
    }));

    expect(output(first)).toMatchObject({ status: 'ONBOARDED', userName: 'dscully2' });
    expect(tags(aws, 'dscully2')).toMatchObject({ 'onboarding:requested-name': 'dscully', 'onboarding:employee-id': hire.employeeId });
    expect(output(repeated)).toMatchObject({ status: 'ALREADY_PROVISIONED', userName: 'dscully2' });
    expect([...aws.users.keys()].sort()).toEqual(['dana.scully', 'dscully', 'dscully2']);
    expect(mailTo(aws, hire.email)).toHaveLength(1);
  });

  it('never changes a name the event gave: its conflict fails UserNameConflict and writes nothing', async () => {
    const { aws, run } = await onboardingWorld();
    someoneElse(aws, 'dscully');

    const result = await inVirtualTime(6, () => run({ ...hire, userName: 'dscully' }, 'explicit'));

    expect(result.status).toBe('FAILED');
    expect(result.error).toBe('UserNameConflict');
    expect([...aws.users.keys()]).toEqual(['dscully']);
    expect(mailTo(aws, hire.email)).toHaveLength(0);
  });
});

describe('a rehire', () => {
  it("restores an offboarded user: a new reset-required password, the new hire's groups, one email", async () => {
    const { aws, run } = await onboardingWorld();
    // As the leaver flow leaves a user: no login profile, no groups, tagged offboarded.
    aws.addUser({
      userName: 'dscully',
      path: TEST_ENV.MANAGED_PATH,
      createDate: new Date(0),
      tags: new Map([
        ['onboarding:managed-by', TEST_ENV.MANAGED_BY],
        ['onboarding:employee-id', hire.employeeId],
        ['onboarding:status', 'offboarded'],
        ['onboarding:offboarded-at', '2025-06-30T18:00:00.000Z'],
        ['onboarding:groups', 'on-call'],
      ]),
      groups: new Set(),
      policies: new Set(),
    });

    const result = await inVirtualTime(7, () => run(hire, 'rehire'));

    expect(output(result)).toMatchObject({ status: 'ONBOARDED', userName: 'dscully' });
    const user = aws.user('dscully')!;
    expect(user.loginProfile?.passwordResetRequired).toBe(true);
    expect([...user.groups]).toEqual(['developers']);
    expect(tags(aws, 'dscully')).toMatchObject({ 'onboarding:status': 'complete', 'onboarding:groups': 'developers' });
    expect(mailTo(aws, hire.email)).toHaveLength(1);
  });
});
