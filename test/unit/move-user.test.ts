import {
  AddUserToGroupCommand,
  GetAccountAuthorizationDetailsCommand,
  RemoveUserFromGroupCommand,
  ServiceFailureException,
  TagUserCommand,
} from '@aws-sdk/client-iam';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { beforeEach, describe, expect, it } from 'vitest';
import { PROJECT_ROOT, readServerlessYaml } from '../../local/workflow.ts';
import { iamClient } from '../../functions/lib/clients.ts';
import { parseChange } from '../../functions/lib/employee-change.ts';
import { findEmployeeUser } from '../../functions/lib/employee-user.ts';
import { GroupNotAllowed, GroupNotFound, InvalidHrEvent } from '../../functions/lib/errors.ts';
import { moveUser, planGroups, type MoveSettings } from '../../functions/lib/move-user.ts';
import { iamWrites, noSuchEntity } from '../../testing/aws-fakes.ts';
import { TEST_ENV } from '../../testing/lambda-env.ts';
import { fakeDirectory, onboardedUser, type DirectoryUser } from '../support/iam-directory.ts';
import { useFakeAws } from '../support/in-process.ts';

const now = new Date();
const ALLOWED = ['developers', 'on-call', 'readers', 'finance'];
const settings: MoveSettings = { managedPath: TEST_ENV.MANAGED_PATH, managedBy: TEST_ENV.MANAGED_BY, trust: { allowedGroups: ALLOWED } };
const DEPARTMENTS = { engineering: ['developers', 'on-call'], finance: ['finance', 'readers'] };

describe('planGroups: the group diff of a move', () => {
  it('adds the new groups, removes the recorded ones that no longer apply, and keeps everyone else\'s', () => {
    const plan = planGroups(['developers', 'on-call', 'billing-admins'], ['developers', 'on-call'], ['finance', 'readers'], ALLOWED);
    expect(plan).toEqual({ add: ['finance', 'readers'], remove: ['developers', 'on-call'], keep: [], record: ['finance', 'readers'] });
  });

  it('does not claim a target group someone else had already put the user in', () => {
    const plan = planGroups(['readers'], ['developers'], ['readers', 'finance'], ALLOWED);
    expect(plan).toEqual({ add: ['finance'], remove: [], keep: [], record: ['finance'] });
  });

  it('keeps on the record a group the stage no longer allows, rather than fail to remove it', () => {
    const plan = planGroups(['legacy', 'developers'], ['legacy', 'developers'], ['developers'], ALLOWED);
    expect(plan).toEqual({ add: [], remove: [], keep: ['legacy'], record: ['developers', 'legacy'] });
  });

  it('forgets a recorded group the user is no longer in, without removing it', () => {
    expect(planGroups([], ['developers'], [], ALLOWED)).toEqual({ add: [], remove: [], keep: [], record: [] });
  });

  it('changes nothing when the user is already where the change puts it', () => {
    expect(planGroups(['finance', 'x'], ['finance'], ['finance'], ALLOWED)).toEqual({ add: [], remove: [], keep: [], record: ['finance'] });
  });
});

describe('parseChange', () => {
  it('takes the example "employee changed" event, whose detail-type is the stage default', () => {
    const example = JSON.parse(readFileSync(path.join(PROJECT_ROOT, 'examples/events/employee-changed.json'), 'utf8')) as { 'detail-type': string; detail: unknown };
    expect(example['detail-type']).toBe((readServerlessYaml() as unknown as { params: { default: { hrChangedDetailType: string } } }).params.default.hrChangedDetailType);
    expect(parseChange(example.detail, {})).toEqual({ employeeId: 'E-1815', userName: 'ada.lovelace', groups: ['readers'] });
  });

  it('settles the groups from the department map, or takes the event\'s own', () => {
    expect(parseChange({ employeeId: 'E-1', department: 'finance' }, DEPARTMENTS)).toEqual({ employeeId: 'E-1', department: 'finance', groups: ['finance', 'readers'] });
    expect(parseChange({ employeeId: 'E-1', userName: 'ann', groups: ['readers', 'readers'] }, DEPARTMENTS)).toEqual({ employeeId: 'E-1', userName: 'ann', groups: ['readers'] });
    expect(parseChange({ employeeId: 'E-1', department: 'unmapped' }, DEPARTMENTS).groups).toEqual([]);
  });

  it.each([
    [{ employeeId: 'E-1' }, 'department: must name a new department or new groups'],
    [{ employeeId: 'E-1', department: 'finance', departement: 'x' }, 'unknown field(s) "departement"'],
    [{ employeeId: 'E 1', groups: [] }, 'employeeId'],
    [{ employeeId: 'E-1', groups: ['a b'] }, 'groups.0'],
    [{ employeeId: 'E-1', userName: 'a/b', groups: [] }, 'userName'],
    [{ employeeId: 'E-1', department: 'x\u2028y' }, 'department'],
    ['not an object', '(event)'],
  ])('refuses %j with InvalidHrEvent', (input, named) => {
    expect(() => parseChange(input, DEPARTMENTS)).toThrow(InvalidHrEvent);
    expect(() => parseChange(input, DEPARTMENTS)).toThrow(named);
  });
});

describe('moveUser', () => {
  const fake = useFakeAws({ groups: ALLOWED });
  let users: Map<string, DirectoryUser>;
  const iam = () => iamClient();
  const ann = (tags: Record<string, string> = {}, groups = ['developers', 'on-call', 'billing-admins']) =>
    onboardedUser('ann.lee', { now, employeeId: 'E-7', groups, tags: { 'onboarding:groups': 'developers on-call', ...tags } });

  beforeEach(() => {
    users = fakeDirectory(fake.aws.iam, [ann(), onboardedUser('zed', { now, employeeId: 'E-9' })]);
  });

  it('moves by department: new groups added, the old assigned ones removed, someone else\'s kept, the record rewritten', async () => {
    const outcome = await moveUser(iam(), parseChange({ employeeId: 'E-7', userName: 'ann.lee', department: 'finance' }, DEPARTMENTS), settings);

    expect(outcome).toEqual({
      status: 'MOVED',
      employeeId: 'E-7',
      userName: 'ann.lee',
      groups: ['finance', 'readers'],
      added: ['finance', 'readers'],
      removed: ['developers', 'on-call'],
      kept: [],
    });
    expect(users.get('ann.lee')!.groups.sort()).toEqual(['billing-admins', 'finance', 'readers']);
    expect(users.get('ann.lee')!.tags['onboarding:groups']).toBe('finance readers');
    // The record is widened before the groups are added, and narrowed once the old ones are out.
    expect(iamWrites(fake.aws.iam)).toEqual(['TagUserCommand', 'AddUserToGroupCommand', 'AddUserToGroupCommand', 'RemoveUserFromGroupCommand', 'RemoveUserFromGroupCommand', 'TagUserCommand']);
    expect(fake.aws.iam).not.toHaveReceivedCommandWith(RemoveUserFromGroupCommand, { GroupName: 'billing-admins' });
  });

  it('changes nothing the second time (a repeated event)', async () => {
    const change = parseChange({ employeeId: 'E-7', userName: 'ann.lee', department: 'finance' }, DEPARTMENTS);
    await moveUser(iam(), change, settings);
    fake.aws.iam.resetHistory();

    expect(await moveUser(iam(), change, settings)).toMatchObject({ status: 'UNCHANGED', added: [], removed: [] });
    expect(iamWrites(fake.aws.iam)).toEqual([]);
  });

  it('finds the employee among the managed users when the event names no user', async () => {
    const outcome = await moveUser(iam(), parseChange({ employeeId: 'E-7', groups: ['readers'] }, DEPARTMENTS), settings);
    expect(outcome).toMatchObject({ status: 'MOVED', userName: 'ann.lee', added: ['readers'], removed: ['developers', 'on-call'] });
    expect(fake.aws.iam).toHaveReceivedCommandTimes(GetAccountAuthorizationDetailsCommand, 1);
  });

  it('refuses a group the stage does not allow before anything is read or written', async () => {
    await expect(moveUser(iam(), { employeeId: 'E-7', userName: 'ann.lee', groups: ['Admins'] }, settings)).rejects.toBeInstanceOf(GroupNotAllowed);
    expect(fake.aws.iam.calls()).toHaveLength(0);
  });

  it('refuses a group that does not exist before any write', async () => {
    const missing = { ...settings, trust: { allowedGroups: [...ALLOWED, 'ghosts'] } };
    await expect(moveUser(iam(), { employeeId: 'E-7', userName: 'ann.lee', groups: ['ghosts'] }, missing)).rejects.toBeInstanceOf(GroupNotFound);
    expect(iamWrites(fake.aws.iam)).toEqual([]);
  });

  it.each([
    ['an unknown user name', { employeeId: 'E-7', userName: 'nobody' }, { status: 'NOT_FOUND', employeeId: 'E-7' }],
    ['an unknown employee', { employeeId: 'E-404' }, { status: 'NOT_FOUND', employeeId: 'E-404' }],
    ['another employee\'s user', { employeeId: 'E-7', userName: 'zed' }, { status: 'NOT_MANAGED', employeeId: 'E-7', userName: 'zed' }],
  ])('ends %s with a clear outcome and no write', async (_, who, expected) => {
    expect(await moveUser(iam(), { ...who, groups: ['readers'] }, settings)).toEqual(expected);
    expect(iamWrites(fake.aws.iam)).toEqual([]);
  });

  it('leaves a user that is not the workflow\'s untouched, even tagged with the employee id', async () => {
    users.set('mallory', { ...onboardedUser('mallory', { now, employeeId: 'E-5', tags: { 'onboarding:managed-by': 'someone-else' } }) });
    expect(await moveUser(iam(), { employeeId: 'E-5', groups: ['readers'] }, settings)).toEqual({ status: 'NOT_FOUND', employeeId: 'E-5' });
    expect(await moveUser(iam(), { employeeId: 'E-5', userName: 'mallory', groups: ['readers'] }, settings)).toEqual({ status: 'NOT_MANAGED', employeeId: 'E-5', userName: 'mallory' });
    expect(iamWrites(fake.aws.iam)).toEqual([]);
  });

  it('gives an offboarded user no groups', async () => {
    users.set('ann.lee', ann({ 'onboarding:status': 'offboarded' }, []));
    expect(await moveUser(iam(), { employeeId: 'E-7', userName: 'ann.lee', groups: ['readers'] }, settings)).toEqual({ status: 'OFFBOARDED', employeeId: 'E-7', userName: 'ann.lee' });
    expect(iamWrites(fake.aws.iam)).toEqual([]);
  });

  it('removes no group from a user onboarded before groups were recorded', async () => {
    users.set('ann.lee', { ...ann(), tags: Object.fromEntries(Object.entries(ann().tags).filter(([k]) => k !== 'onboarding:groups')) });
    const outcome = await moveUser(iam(), { employeeId: 'E-7', userName: 'ann.lee', groups: ['readers'] }, settings);
    expect(outcome).toMatchObject({ added: ['readers'], removed: [] });
    expect(users.get('ann.lee')!.groups).toEqual(['developers', 'on-call', 'billing-admins', 'readers']);
    expect(users.get('ann.lee')!.tags['onboarding:groups']).toBe('readers');
  });

  it('empties stale continuations of a longer record', async () => {
    users.set('ann.lee', ann({ 'onboarding:groups-2': 'finance' }, ['developers', 'on-call', 'finance']));
    const outcome = await moveUser(iam(), { employeeId: 'E-7', userName: 'ann.lee', groups: ['readers'] }, settings);
    expect(outcome).toMatchObject({ removed: ['developers', 'on-call', 'finance'] });
    expect(users.get('ann.lee')!.tags).toMatchObject({ 'onboarding:groups': 'readers', 'onboarding:groups-2': '' });
    expect(iamWrites(fake.aws.iam)).not.toContain('UntagUserCommand');
  });

  it('takes a user already out of a group as removed (a duplicate move got there first)', async () => {
    fake.aws.iam.on(RemoveUserFromGroupCommand).rejects(noSuchEntity('The user with name ann.lee cannot be found in group developers.'));
    const outcome = await moveUser(iam(), { employeeId: 'E-7', userName: 'ann.lee', groups: ['readers'] }, settings);
    expect(outcome).toMatchObject({ status: 'MOVED', removed: ['developers', 'on-call'] });
    expect(users.get('ann.lee')!.tags['onboarding:groups']).toBe('readers');
  });

  it('ends right when the same move runs twice at once', async () => {
    const change = { employeeId: 'E-7', userName: 'ann.lee', department: 'finance', groups: ['finance', 'readers'] };
    const outcomes = await Promise.all([moveUser(iam(), change, settings), moveUser(iam(), change, settings)]);
    expect(outcomes.map((o) => o.status)).toEqual(expect.arrayContaining(['MOVED']));
    expect(users.get('ann.lee')!.groups.sort()).toEqual(['billing-admins', 'finance', 'readers']);
    expect(users.get('ann.lee')!.tags['onboarding:groups']).toBe('finance readers');
  });

  it('after a failure halfway, a second run still removes what the first one added once it no longer applies', async () => {
    fake.aws.iam.on(RemoveUserFromGroupCommand).rejectsOnce(new ServiceFailureException({ message: 'boom', $metadata: {} }));
    const change = { employeeId: 'E-7', userName: 'ann.lee', groups: ['readers'] };
    await expect(moveUser(iam(), change, settings)).rejects.toBeInstanceOf(ServiceFailureException);
    // The record already claims readers: it was widened before the add.
    expect(users.get('ann.lee')!.tags['onboarding:groups']).toBe('developers on-call readers');
    users = fakeDirectory(fake.aws.iam, [users.get('ann.lee')!]);

    await moveUser(iam(), change, settings);
    expect(users.get('ann.lee')!.groups.sort()).toEqual(['billing-admins', 'readers']);
    expect(users.get('ann.lee')!.tags['onboarding:groups']).toBe('readers');
    expect(fake.aws.iam).toHaveReceivedCommandTimes(AddUserToGroupCommand, 1);
    expect(fake.aws.iam).toHaveReceivedCommandWith(TagUserCommand, { UserName: 'ann.lee' });
  });
});

describe('findEmployeeUser', () => {
  const fake = useFakeAws();

  it('is one GetUser with the user name, and one read of the managed users\' tags without', async () => {
    fakeDirectory(fake.aws.iam, [onboardedUser('a', { now, employeeId: 'E-1' }), onboardedUser('b', { now, employeeId: 'E-2' })]);
    expect(await findEmployeeUser(iamClient(), { employeeId: 'E-2', userName: 'b' }, settings)).toMatchObject({ status: 'FOUND', user: { UserName: 'b' } });
    expect(fake.aws.iam.calls()).toHaveLength(1);
    fake.aws.iam.resetHistory();
    expect(await findEmployeeUser(iamClient(), { employeeId: 'E-2' }, settings)).toMatchObject({
      status: 'FOUND',
      user: { UserName: 'b', Tags: expect.arrayContaining([{ Key: 'onboarding:employee-id', Value: 'E-2' }]) },
    });
    expect(fake.aws.iam.calls().map((c) => c.args[0].constructor.name)).toEqual(['GetAccountAuthorizationDetailsCommand']);
    expect(await findEmployeeUser(iamClient(), { employeeId: 'E-3' }, settings)).toEqual({ status: 'NOT_FOUND' });
  });
});
