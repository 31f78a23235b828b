import type { User } from '@aws-sdk/client-iam';
import { describe, expect, it } from 'vitest';
import { parseReprovisionRequest } from '../../functions/lib/reprovision-user.ts';
import { identityFromUser } from '../../functions/lib/user-hire.ts';

const user = (tags: Record<string, string>, userName = 'ann'): User => ({
  UserName: userName,
  Path: '/onboarding/',
  UserId: 'U',
  Arn: `arn:aws:iam::123456789012:user/onboarding/${userName}`,
  CreateDate: new Date('2025-01-01T00:00:00Z'),
  Tags: Object.entries(tags).map(([Key, Value]) => ({ Key, Value })),
});

describe('identityFromUser', () => {
  it('is the user name and the employee-id tag: what a reprovision request names', () => {
    const identity = identityFromUser(user({ 'onboarding:employee-id': 'E-7' }));
    expect(identity).toEqual({ userName: 'ann', employeeId: 'E-7' });
    expect(parseReprovisionRequest({ action: 'REMOVE_CONSOLE_ACCESS', hire: identity }).hire).toEqual(identity);
  });

  it('needs nothing else: no name or email tag', () => {
    expect(identityFromUser(user({ 'onboarding:employee-id': 'E-7', 'onboarding:status': 'complete' }))).toEqual({ userName: 'ann', employeeId: 'E-7' });
  });

  it.each([
    ['no employee-id tag', {}, 'User "ann" cannot be identified from its tags: missing onboarding:employee-id'],
    ['an empty one', { 'onboarding:employee-id': '' }, 'User "ann" cannot be identified from its tags: missing onboarding:employee-id'],
    [
      'one that is not an employee id',
      { 'onboarding:employee-id': 'E 7 private words' },
      'User "ann" cannot be identified from its tags: onboarding:employee-id: must be an employee id',
    ],
  ])('refuses a user with %s, naming the tag and never its value', (_case, tags, message) => {
    expect(() => identityFromUser(user(tags))).toThrowError(expect.objectContaining({ name: 'HireNotRebuildable', message }));
  });

  it('refuses exactly what the reprovision request refuses', () => {
    for (const employeeId of ['E-7', 'E 7', 'x'.repeat(65), 'a/b:c=d+e@f', 'é']) {
      let request: boolean;
      try {
        parseReprovisionRequest({ action: 'REMOVE_CONSOLE_ACCESS', hire: { userName: 'ann', employeeId } });
        request = true;
      } catch {
        request = false;
      }
      let identity: boolean;
      try {
        identityFromUser(user({ 'onboarding:employee-id': employeeId }));
        identity = true;
      } catch {
        identity = false;
      }
      expect(identity, employeeId).toBe(request);
    }
  });
});
