import { IAMClient, TagUserCommand } from '@aws-sdk/client-iam';
import { mockClient } from 'aws-sdk-client-mock';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  ASSIGNED_GROUPS_KEYS,
  assignedGroupsTags,
  hasGroupsRecord,
  recordedGroups,
  staleAssignedGroupsKeys,
  writeAssignedGroups,
} from '../../functions/lib/assigned-groups.ts';
import { toTagValue } from '../../functions/lib/iam-names.ts';

const groupName = fc.stringMatching(/^[A-Za-z0-9+=,.@_-]{1,128}$/);
const groupList = fc.uniqueArray(groupName, { maxLength: 10, comparator: (a, b) => a.toLowerCase() === b.toLowerCase() });

describe('the record of assigned groups', () => {
  it('stores names space-separated in onboarding:groups, with commas as colons', () => {
    expect(assignedGroupsTags(['developers', 'a,b'])).toEqual([{ Key: 'onboarding:groups', Value: 'developers a:b' }]);
    expect(recordedGroups([{ Key: 'onboarding:groups', Value: 'developers a:b' }])).toEqual(['developers', 'a,b']);
  });

  it('writes an empty record as an empty onboarding:groups, and reads no record as no groups', () => {
    expect(assignedGroupsTags([])).toEqual([{ Key: 'onboarding:groups', Value: '' }]);
    expect(recordedGroups(assignedGroupsTags([]))).toEqual([]);
    expect(recordedGroups(undefined)).toEqual([]);
    expect(hasGroupsRecord(assignedGroupsTags([]))).toBe(true);
    expect(hasGroupsRecord([{ Key: 'onboarding:status', Value: 'complete' }])).toBe(false);
  });

  it('continues in onboarding:groups-2, -3, ... without splitting a name', () => {
    const long = Array.from({ length: 10 }, (_, i) => `${i}`.padEnd(128, 'g'));
    const tags = assignedGroupsTags(long);
    expect(tags.map((t) => t.Key)).toEqual(ASSIGNED_GROUPS_KEYS);
    expect(tags.every((t) => (t.Value ?? '').length === 128)).toBe(true);
    expect(recordedGroups(tags)).toEqual(long);
  });

  it('names the continuations a shorter record no longer uses', () => {
    expect(staleAssignedGroupsKeys(assignedGroupsTags(['developers']))).toEqual(ASSIGNED_GROUPS_KEYS.slice(1));
    expect(ASSIGNED_GROUPS_KEYS[1]).toBe('onboarding:groups-2');
  });

  it('refuses what could not come back unchanged', () => {
    expect(() => assignedGroupsTags(['a b'])).toThrow(RangeError);
    expect(() => assignedGroupsTags(['a:b'])).toThrow(RangeError);
    expect(() => assignedGroupsTags([''])).toThrow(RangeError);
    expect(() => assignedGroupsTags(Array.from({ length: 11 }, (_, i) => `g${i}`))).toThrow(RangeError);
  });

  it('round-trips any list of up to 10 IAM group names, in valid tag values of at most 256 characters', () => {
    fc.assert(
      fc.property(groupList, (groups) => {
        const tags = assignedGroupsTags(groups);
        expect(tags.length).toBeLessThanOrEqual(ASSIGNED_GROUPS_KEYS.length);
        for (const tag of tags) expect(toTagValue(tag.Value ?? '')).toBe(tag.Value);
        expect(recordedGroups([{ Key: 'onboarding:status', Value: 'complete' }, ...tags])).toEqual(groups);
      }),
    );
  });

  it('reads a rewritten record alone once the stale continuations are gone', () => {
    fc.assert(
      fc.property(groupList, groupList, (before, after) => {
        const next = assignedGroupsTags(after);
        const stale = new Set(staleAssignedGroupsKeys(next));
        const merged = new Map(assignedGroupsTags(before).filter((t) => !stale.has(t.Key!)).map((t) => [t.Key, t.Value]));
        for (const t of next) merged.set(t.Key, t.Value);
        expect(recordedGroups([...merged].map(([Key, Value]) => ({ Key, Value })))).toEqual(after);
      }),
    );
  });
});

describe('writeAssignedGroups', () => {
  it('writes the record and empties the continuations the user has, in one TagUser', async () => {
    const iam = mockClient(IAMClient);
    iam.onAnyCommand().resolves({});
    const long = Array.from({ length: 3 }, (_, i) => `${i}`.padEnd(128, 'g'));
    await writeAssignedGroups(new IAMClient({}), 'ada', ['developers'], [...assignedGroupsTags(long), { Key: 'onboarding:groups-4', Value: '' }]);
    expect(iam.calls()).toHaveLength(1);
    expect(iam.commandCalls(TagUserCommand)[0]!.args[0].input).toEqual({
      UserName: 'ada',
      Tags: [
        { Key: 'onboarding:groups', Value: 'developers' },
        { Key: 'onboarding:groups-2', Value: '' },
        { Key: 'onboarding:groups-3', Value: '' },
      ],
    });
    expect(recordedGroups([...long.map((_, i) => ({ Key: ASSIGNED_GROUPS_KEYS[i], Value: '' })), ...iam.commandCalls(TagUserCommand)[0]!.args[0].input.Tags!])).toEqual(['developers']);
    iam.restore();
  });
});
