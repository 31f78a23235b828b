import type { User } from '@aws-sdk/client-iam';
import { describe, expect, it } from 'vitest';
import { parseHire } from '../../functions/lib/hire.ts';
import { parseReprovisionRequest } from '../../functions/lib/reprovision-user.ts';
import { decideFromTags, decideWithoutProfile, decideWithProfile, onboardingInput, reprovisionInput } from '../../functions/lib/sweep-decisions.ts';
import { SWEEP_DEFAULTS } from '../../functions/lib/sweep-settings.ts';

const NOW = new Date('2025-03-10T06:00:00Z');
const DAY = 86_400_000;
const ago = (ms: number) => new Date(NOW.getTime() - ms).toISOString();
const SETTINGS = { managedPath: '/onboarding/', managedBy: 'iam-onboarding-test', ...SWEEP_DEFAULTS };

const user = (tags: Record<string, string | undefined> = {}, extra: Partial<User> = {}): User => ({
  UserName: 'ann',
  Path: '/onboarding/',
  UserId: 'U',
  Arn: 'arn:aws:iam::123456789012:user/onboarding/ann',
  CreateDate: new Date('2025-01-01T00:00:00Z'),
  Tags: Object.entries({
    'onboarding:managed-by': 'iam-onboarding-test',
    'onboarding:employee-id': 'E-7',
    'onboarding:status': 'complete',
    'onboarding:password-issued-at': ago(DAY),
    'onboarding:credentials-sent-at': ago(DAY - 60_000),
    ...tags,
  })
    .filter((e): e is [string, string] => e[1] !== undefined)
    .map(([Key, Value]) => ({ Key, Value })),
  ...extra,
});
const profile = { UserName: 'ann', CreateDate: new Date(NOW.getTime() - DAY) };

describe('decideWithoutProfile', () => {
  it.each([
    ['someone else\'s tag', user({ 'onboarding:managed-by': 'other' }), 'not-managed'],
    ['a path outside the managed one', user({}, { Path: '/admins/' }), 'not-managed'],
    ['a user who has signed in', user({}, { PasswordLastUsed: new Date(NOW.getTime() - DAY) }), 'signed-in'],
    ['console access removed', user({ 'onboarding:status': 'console-access-removed' }), 'console-access-removed'],
    ['an onboarding touched within the grace period', user({ 'onboarding:status': 'in-progress', 'onboarding:updated-at': ago(59 * 60_000) }), 'in-progress'],
    [
      'a hire waiting three weeks for its start date',
      user({ 'onboarding:status': 'waiting', 'onboarding:updated-at': ago(3 * DAY), 'onboarding:credentials-at': new Date(NOW.getTime() + 21 * DAY).toISOString() }),
      'waiting-for-start-date',
    ],
    ['a hire whose start date came moments ago', user({ 'onboarding:status': 'waiting', 'onboarding:credentials-at': ago(59 * 60_000) }), 'waiting-for-start-date'],
  ])('leaves alone %s', (_case, subject, reason) => {
    expect(decideWithoutProfile(subject, SETTINGS, NOW)).toEqual({ action: 'none', reason });
  });

  it('reads the login profile of the others', () => {
    expect(decideWithoutProfile(user(), SETTINGS, NOW)).toBeUndefined();
    expect(decideWithoutProfile(user({ 'onboarding:status': 'in-progress', 'onboarding:updated-at': ago(61 * 60_000), 'onboarding:password-issued-at': undefined }), SETTINGS, NOW)).toBeUndefined();
    // Still waiting an hour past its start date: its execution was stopped or lost.
    expect(decideWithoutProfile(user({ 'onboarding:status': 'waiting', 'onboarding:credentials-at': ago(61 * 60_000) }), SETTINGS, NOW)).toBeUndefined();
  });
});

describe('decideFromTags', () => {
  // The onboarding's password carries no issue-date tag: it is no older than the user.
  const fresh = (tags: Record<string, string | undefined> = {}) =>
    user({ 'onboarding:password-issued-at': undefined, ...tags }, { CreateDate: new Date(NOW.getTime() - 2 * DAY) });

  it('settles a delivered password younger than unusedPasswordDays as healthy, without the login profile', () => {
    expect(decideFromTags(fresh(), SETTINGS, NOW)).toEqual({ action: 'none', reason: 'healthy' });
    // A reset's tagged date counts, even on an old user.
    expect(decideFromTags(user(), SETTINGS, NOW)).toEqual({ action: 'none', reason: 'healthy' });
  });

  it.each([
    ['an onboarding not complete', fresh({ 'onboarding:status': 'failed' })],
    ['credentials never sent', fresh({ 'onboarding:credentials-sent-at': undefined })],
    ['credentials sent before the last reset', user({ 'onboarding:credentials-sent-at': ago(2 * DAY) })],
    ['a user older than unusedPasswordDays, with no reset tagged', user({ 'onboarding:password-issued-at': undefined })],
    ['a reset older than unusedPasswordDays', user({ 'onboarding:password-issued-at': ago(8 * DAY), 'onboarding:credentials-sent-at': ago(8 * DAY - 60_000) })],
  ])('leaves the login profile to decide for %s', (_case, subject) => {
    expect(decideFromTags(subject, SETTINGS, NOW)).toBeUndefined();
  });
});

describe('decideWithProfile', () => {
  it('leaves alone an onboarding whose login profile was created within the grace period (the credentials may be on their way)', () => {
    const running = user({ 'onboarding:status': 'in-progress', 'onboarding:password-issued-at': undefined, 'onboarding:credentials-sent-at': undefined });
    expect(decideWithProfile(running, { UserName: 'ann', CreateDate: new Date(NOW.getTime() - 59 * 60_000) }, SETTINGS, NOW)).toEqual({ action: 'none', reason: 'in-progress' });
    expect(decideWithProfile(running, { UserName: 'ann', CreateDate: new Date(NOW.getTime() - 61 * 60_000) }, SETTINGS, NOW)).toEqual({ action: 'reset-password', reason: 'credentials-not-sent' });
  });

  it('restarts the onboarding of a user with no login profile', () => {
    expect(decideWithProfile(user(), undefined, SETTINGS, NOW)).toEqual({ action: 'restart-onboarding', reason: 'no-login-profile' });
  });

  it('leaves a recent, delivered password alone', () => {
    expect(decideWithProfile(user(), profile, SETTINGS, NOW)).toEqual({ action: 'none', reason: 'healthy' });
  });

  it('resets a password never delivered, or delivered before it was issued', () => {
    expect(decideWithProfile(user({ 'onboarding:credentials-sent-at': undefined }), profile, SETTINGS, NOW)).toEqual({ action: 'reset-password', reason: 'credentials-not-sent' });
    expect(decideWithProfile(user({ 'onboarding:credentials-sent-at': ago(2 * DAY) }), profile, SETTINGS, NOW)).toEqual({ action: 'reset-password', reason: 'credentials-not-sent' });
  });

  it('resets a password unused past unusedPasswordDays, and removes console access once resets run out', () => {
    const old = { 'onboarding:password-issued-at': ago(8 * DAY), 'onboarding:credentials-sent-at': ago(8 * DAY - 60_000) };
    expect(decideWithProfile(user(old), profile, SETTINGS, NOW)).toEqual({ action: 'reset-password', reason: 'password-unused' });
    expect(decideWithProfile(user({ ...old, 'onboarding:password-resets': '3' }), profile, SETTINGS, NOW)).toEqual({ action: 'remove-console-access', reason: 'password-unused' });
  });
});

describe('what the sweep starts', () => {
  const hire = parseHire({ employeeId: 'E-7', firstName: 'Ann', lastName: 'Lee', email: 'ann@example.com', userName: 'ann', groups: ['developers'], department: 'x' }, {});

  it('onboards again with the HR event\'s shape, which the onboarding accepts as an event', () => {
    const input = onboardingInput(hire);
    expect(input).toEqual({ employeeId: 'E-7', firstName: 'Ann', lastName: 'Lee', email: 'ann@example.com', userName: 'ann', groups: ['developers'] });
    expect(parseHire(input, {})).toMatchObject(input);
  });

  it('asks the reprovision state machine with whose user and why only: a request it accepts', () => {
    for (const action of ['reset-password', 'remove-console-access'] as const) {
      const input = reprovisionInput({ action, reason: 'password-unused' }, hire);
      expect(input).toEqual({
        action: action === 'reset-password' ? 'RESET_PASSWORD' : 'REMOVE_CONSOLE_ACCESS',
        hire: { userName: 'ann', employeeId: 'E-7' },
        reason: 'password-unused',
      });
      expect(parseReprovisionRequest(input)).toEqual(input);
    }
  });
});
