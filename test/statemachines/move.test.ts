import { AddUserToGroupCommand, GetGroupCommand, IAMServiceException } from '@aws-sdk/client-iam';
import fc from 'fast-check';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { resetConfigCache } from '../../functions/lib/config.ts';
import { parseChange } from '../../functions/lib/employee-change.ts';
import { iamWrites, noSuchEntity } from '../../testing/aws-fakes.ts';
import { TEST_ENV } from '../../testing/lambda-env.ts';
import { fakeDirectory, onboardedUser, type DirectoryUser } from '../support/iam-directory.ts';
import { entered, retries, useStateMachines } from '../support/in-process.ts';

let users: Map<string, DirectoryUser>;
const workflow = useStateMachines(['move'], { places: () => ({ directory: [...users.values()] }) });
const execute = (input: unknown) => workflow.execute('move', input);
const opsMail = () => workflow.sentTo(TEST_ENV.OPS_EMAIL);

// A second department, so that a move by department has somewhere to go.
const DEPARTMENTS = '{"engineering":["developers"],"operations":["on-call"]}';
beforeAll(() => {
  process.env.DEPARTMENT_GROUPS = DEPARTMENTS;
  resetConfigCache();
});
afterAll(() => {
  process.env.DEPARTMENT_GROUPS = TEST_ENV.DEPARTMENT_GROUPS;
  resetConfigCache();
});

const now = new Date();
/** Onboarded into engineering by this workflow (developers, recorded), and put in billing-admins by someone else. */
const ann = (tags: Record<string, string> = {}) =>
  onboardedUser('ann.lee', { now, employeeId: 'E-7', groups: ['developers', 'billing-admins'], tags: { 'onboarding:groups': 'developers', ...tags } });

beforeEach(() => {
  users = fakeDirectory(workflow.aws.iam, [ann(), onboardedUser('zed', { now, employeeId: 'E-9' })]);
  workflow.aws.iam.on(GetGroupCommand).callsFake(async (input: { GroupName: string }) => {
    if (!['developers', 'on-call'].includes(input.GroupName)) throw noSuchEntity(`The group with name ${input.GroupName} cannot be found.`);
    return { Group: { GroupName: input.GroupName, Path: '/', GroupId: 'G', Arn: 'arn', CreateDate: new Date() }, Users: [] };
  });
});

describe('move state machine', () => {
  it('moves by department: the new department\'s groups in, the old assigned ones out, someone else\'s kept', async () => {
    const result = await execute({ employeeId: 'E-7', userName: 'ann.lee', department: 'operations' });

    expect(result.status).toBe('SUCCEEDED');
    expect(entered(result)).toEqual(['ValidateChange', 'MoveUser']);
    expect(result.output).toEqual({
      status: 'MOVED',
      employeeId: 'E-7',
      userName: 'ann.lee',
      groups: ['on-call'],
      added: ['on-call'],
      removed: ['developers'],
      kept: [],
    });
    expect(users.get('ann.lee')!.groups.sort()).toEqual(['billing-admins', 'on-call']);
    expect(users.get('ann.lee')!.tags['onboarding:groups']).toBe('on-call');
    expect(opsMail()).toHaveLength(0);
  });

  it('moves to the groups the event names, looking the employee up when it names no user', async () => {
    const result = await execute({ employeeId: 'E-7', groups: ['on-call', 'developers'] });

    expect(result.output).toMatchObject({ status: 'MOVED', userName: 'ann.lee', added: ['on-call'], removed: [] });
    expect(users.get('ann.lee')!.groups.sort()).toEqual(['billing-admins', 'developers', 'on-call']);
    expect(users.get('ann.lee')!.tags['onboarding:groups']).toBe('on-call developers');
  });

  it('changes nothing when the same event comes again, and counts one Moved', async () => {
    const event = { employeeId: 'E-7', department: 'operations' };
    expect((await execute(event)).output).toMatchObject({ status: 'MOVED' });
    workflow.aws.iam.resetHistory();

    const again = await execute(event);
    expect(again.status).toBe('SUCCEEDED');
    expect(again.output).toMatchObject({ status: 'UNCHANGED', added: [], removed: [] });
    expect(iamWrites(workflow.aws.iam)).toEqual([]);
    const moved = workflow.output.records().filter((r) => '_aws' in r && 'Moved' in r);
    expect(moved).toHaveLength(1);
  });

  it.each([
    ['an unknown employee', { employeeId: 'E-404', department: 'operations' }, { status: 'NOT_FOUND', employeeId: 'E-404' }],
    ['an unknown user name', { employeeId: 'E-7', userName: 'nobody', department: 'operations' }, { status: 'NOT_FOUND', employeeId: 'E-7' }],
    ['a user that is not this employee\'s', { employeeId: 'E-7', userName: 'zed', department: 'operations' }, { status: 'NOT_MANAGED', employeeId: 'E-7', userName: 'zed' }],
  ])('ends %s with a clear outcome: succeeded, nothing written, nobody mailed', async (_, event, outcome) => {
    const result = await execute(event);
    expect(result.status).toBe('SUCCEEDED');
    expect(result.output).toEqual(outcome);
    expect(iamWrites(workflow.aws.iam)).toEqual([]);
    expect(opsMail()).toHaveLength(0);
  });

  it('leaves a user outside the managed path alone', async () => {
    users.set('eve', { ...onboardedUser('eve', { now, employeeId: 'E-5' }), path: '/admins/' });
    const result = await execute({ employeeId: 'E-5', userName: 'eve', groups: ['on-call'] });
    expect(result.output).toEqual({ status: 'NOT_MANAGED', employeeId: 'E-5', userName: 'eve' });
    expect(iamWrites(workflow.aws.iam)).toEqual([]);
  });

  it('gives an offboarded user no groups, and says so', async () => {
    users.set('ann.lee', ann({ 'onboarding:status': 'offboarded' }));
    const result = await execute({ employeeId: 'E-7', userName: 'ann.lee', department: 'operations' });
    expect(result.output).toEqual({ status: 'OFFBOARDED', employeeId: 'E-7', userName: 'ann.lee' });
    expect(iamWrites(workflow.aws.iam)).toEqual([]);
  });

  it('refuses a group the stage does not allow before any IAM call, and tells ops', async () => {
    const result = await execute({ employeeId: 'E-7', userName: 'ann.lee', groups: ['on-call', 'Admins'] });

    expect(result.status).toBe('FAILED');
    expect(result.error).toBe('GroupNotAllowed');
    expect(entered(result)).toEqual(['ValidateChange', 'ValidationFailed', 'NotifyOps', 'MoveFailedEnd']);
    expect(workflow.aws.iam.calls()).toHaveLength(0);
    const [mail] = opsMail();
    expect(mail!.args[0].input.Message!.Subject!.Data).toBe('Move failed for an unidentified hire: GroupNotAllowed');
  });

  it('refuses a hostile or malformed event with InvalidHrEvent before any IAM call', async () => {
    for (const event of [{ employeeId: 'E-7', department: 'operations', groups: ['x'], admin: true }, { employeeId: 'E-7' }, [1, 2], null]) {
      const result = await execute(event);
      expect(result.error).toBe('InvalidHrEvent');
    }
    expect(workflow.aws.iam.calls()).toHaveLength(0);
    expect(opsMail()).toHaveLength(4);
  });

  it('refuses any input that is not a valid change, whatever its shape, before any IAM call', async () => {
    const hostileText = fc.oneof(
      fc.string({ maxLength: 300 }),
      fc.constantFrom('x\r\nBcc: a@evil.example', '\u2028', '<script>', '__proto__', 'constructor', 'a'.repeat(5000)),
    );
    const change = fc.record(
      {
        employeeId: fc.oneof(fc.constant('E-7'), hostileText, fc.anything()),
        userName: fc.oneof(fc.constant('ann.lee'), hostileText, fc.anything()),
        department: fc.oneof(fc.constant('operations'), hostileText, fc.anything()),
        groups: fc.oneof(fc.constant(['on-call']), fc.array(hostileText, { maxLength: 12 }), fc.anything()),
        ['__proto__']: fc.anything(),
        extra: fc.anything(),
      },
      { requiredKeys: [] },
    );
    let refused = 0;
    await fc.assert(
      fc.asyncProperty(fc.oneof(change, fc.anything()), async (input) => {
        const valid = (() => {
          try {
            return parseChange(input, {}) !== undefined;
          } catch {
            return false;
          }
        })();
        fc.pre(!valid);
        workflow.aws.iam.resetHistory();
        const result = await execute(input);
        expect(result.status).toBe('FAILED');
        expect(result.error).toBe('InvalidHrEvent');
        expect(workflow.aws.iam.calls()).toHaveLength(0);
        refused += 1;
      }),
      { numRuns: 100 },
    );
    expect(refused).toBeGreaterThan(50);
  });

  it('fails on an IAM refusal with its name, and ops are told which employee', async () => {
    workflow.aws.iam.on(AddUserToGroupCommand).rejects(
      new IAMServiceException({ name: 'AccessDenied', $fault: 'client', message: 'not allowed', $metadata: { httpStatusCode: 403 } }),
    );
    const result = await execute({ employeeId: 'E-7', userName: 'ann.lee', department: 'operations' });

    expect(result.status).toBe('FAILED');
    expect(result.error).toBe('AccessDenied');
    expect(entered(result)).toEqual(['ValidateChange', 'MoveUser', 'MoveFailed', 'NotifyOps', 'MoveFailedEnd']);
    expect(retries(result, 'MoveUser')).toHaveLength(0);
    const [mail] = opsMail();
    expect(mail!.args[0].input.Message!.Subject!.Data).toBe('Move failed for ann.lee: AccessDenied');
    expect(mail!.args[0].input.Message!.Body!.Text!.Data).toContain('A move failed with AccessDenied.');
    // Someone else's group is still there, and so is the old one: nothing was removed.
    expect(users.get('ann.lee')!.groups).toEqual(['developers', 'billing-admins']);
  });
});
