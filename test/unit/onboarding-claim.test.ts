import type { Tag, User } from '@aws-sdk/client-iam';
import { describe, expect, it } from 'vitest';
import { claimFor, CREATOR_CLAIM_MS } from '../../functions/lib/onboarding-claim.ts';

const now = new Date('2026-03-02T10:00:00.000Z');
const ago = (ms: number) => new Date(now.getTime() - ms).toISOString();
const ahead = (ms: number) => new Date(now.getTime() + ms).toISOString();
const DAY = 86_400_000;
const first = 'arn:aws:states:us-east-1:123456789012:execution:onboarding:first';
const second = 'arn:aws:states:us-east-1:123456789012:execution:onboarding:second';

function user(tags: Record<string, string>): User {
  const Tags: Tag[] = Object.entries(tags).map(([Key, Value]) => ({ Key: `onboarding:${Key}`, Value }));
  return { UserName: 'dscully', Path: '/onboarding/', Arn: 'arn', UserId: 'U', CreateDate: new Date(0), Tags };
}
const START = '2026-03-23';
const waitingFor = (credentialsAt: string, by = first) =>
  user({ status: 'waiting', 'created-by': by, 'updated-at': ago(20 * DAY), 'credentials-at': credentialsAt, 'start-date': START });
const request = (credentialsAt: string | undefined, startDate: string | undefined = START, executionId = second) => ({
  created: false,
  credentialsAt,
  startDate,
  executionId,
  now,
});

describe('claimFor', () => {
  it('gives the execution that created the user the claim, and its wait', () => {
    expect(claimFor(user({}), { ...request(ahead(DAY)), created: true })).toEqual({ mine: true, busyElsewhere: false, waitUntil: ahead(DAY) });
    expect(claimFor(waitingFor(ahead(DAY), second), request(ahead(DAY)))).toEqual({ mine: true, busyElsewhere: false, waitUntil: ahead(DAY) });
  });

  it('makes a duplicate of a waiting hire stand back for weeks, until the start date and 15 minutes more', () => {
    const startsIn3Weeks = ahead(21 * DAY);
    expect(claimFor(waitingFor(startsIn3Weeks), request(startsIn3Weeks))).toEqual({ mine: false, busyElsewhere: true });
    // Delivered again on the day itself: the start date is today, so "now", but it is the same date.
    expect(claimFor(waitingFor(ahead(60_000)), request(undefined))).toEqual({ mine: false, busyElsewhere: true });
  });

  it('does not move a date once the wait is over: the waiting execution is setting the password', () => {
    const wokeMomentsAgo = ago(CREATOR_CLAIM_MS - 1000);
    expect(claimFor(waitingFor(wokeMomentsAgo), request(ahead(7 * DAY), '2026-03-30'))).toEqual({ mine: false, busyElsewhere: true });
  });

  it('moves the start date: a waiting hire asked for with another date is claimed for it, and the waiting execution named', () => {
    const claim = claimFor(waitingFor(ahead(7 * DAY)), request(ahead(14 * DAY), '2026-03-30'));
    expect(claim).toEqual({
      mine: true,
      busyElsewhere: false,
      waitUntil: ahead(14 * DAY),
      supersedes: first,
      tags: [
        { Key: 'onboarding:status', Value: 'waiting' },
        { Key: 'onboarding:created-by', Value: second },
        { Key: 'onboarding:updated-at', Value: now.toISOString() },
        { Key: 'onboarding:credentials-at', Value: ahead(14 * DAY) },
        { Key: 'onboarding:start-date', Value: '2026-03-30' },
      ],
    });
  });

  it('moves a start date to today: the claim is taken over to proceed now', () => {
    const claim = claimFor(waitingFor(ahead(7 * DAY)), request(undefined, '2026-03-02'));
    expect(claim).toMatchObject({ mine: true, supersedes: first, tags: expect.arrayContaining([{ Key: 'onboarding:status', Value: 'in-progress' }]) });
    expect(claim.waitUntil).toBeUndefined();
  });

  it('keeps the 15-minute rule for an onboarding in progress without a start date', () => {
    const inProgress = (updatedAgo: number) => user({ status: 'in-progress', 'created-by': first, 'updated-at': ago(updatedAgo) });
    expect(claimFor(inProgress(60_000), request(undefined, undefined))).toEqual({ mine: false, busyElsewhere: true });
    expect(claimFor(inProgress(CREATOR_CLAIM_MS + 1000), request(undefined, undefined))).toEqual({ mine: false, busyElsewhere: false });
  });

  it('lets a later event with a start date claim a user nobody holds, but never one that already had its password', () => {
    const failed = user({ status: 'failed', 'created-by': first, 'updated-at': ago(DAY) });
    expect(claimFor(failed, request(ahead(DAY)))).toMatchObject({ mine: true, waitUntil: ahead(DAY), tags: expect.any(Array) });
    expect(claimFor(failed, request(undefined, undefined))).toEqual({ mine: false, busyElsewhere: false });
    const complete = user({ status: 'complete', 'created-by': first });
    expect(claimFor(complete, request(ahead(DAY)))).toEqual({ mine: false, busyElsewhere: false });
  });

  it('treats a waiting claim whose date passed long ago as lapsed (the sweep restarts such a hire)', () => {
    expect(claimFor(waitingFor(ago(CREATOR_CLAIM_MS + 1000)), request(undefined, undefined))).toEqual({ mine: false, busyElsewhere: false });
  });
});
