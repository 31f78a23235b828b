import { describe, expect, it } from 'vitest';
import { InvalidHrEvent } from '../../functions/lib/errors.ts';
import { endOfDay, parseLeaverQuery, parseTermination } from '../../functions/lib/termination.ts';

const now = new Date('2026-12-02T12:00:00Z');

function problems(input: unknown): string {
  try {
    parseTermination(input, { timeZone: 'UTC', now });
  } catch (error) {
    expect(error).toBeInstanceOf(InvalidHrEvent);
    return (error as Error).message;
  }
  throw new Error('accepted');
}

describe('the "employee terminated" event', () => {
  it('accepts an employee id, and optionally a user name, a last day and a dry run', () => {
    expect(parseTermination({ employeeId: 'E-1' }, { timeZone: 'UTC', now })).toEqual({ employeeId: 'E-1', dryRun: false });
    expect(parseTermination({ employeeId: 'E-1', userName: 'ann.lee', dryRun: true }, { timeZone: 'UTC', now })).toEqual({ employeeId: 'E-1', userName: 'ann.lee', dryRun: true });
  });

  it('waits until the end of a last day still ahead, in the stage time zone', () => {
    expect(parseTermination({ employeeId: 'E-1', lastDay: '2026-12-05' }, { timeZone: 'UTC', now }).waitUntil).toBe('2026-12-06T00:00:00.000Z');
    expect(parseTermination({ employeeId: 'E-1', lastDay: '2026-12-05' }, { timeZone: 'Europe/Berlin', now }).waitUntil).toBe('2026-12-05T23:00:00.000Z');
    expect(parseTermination({ employeeId: 'E-1', lastDay: '2026-07-01' }, { timeZone: 'America/New_York', now }).waitUntil).toBeUndefined();
    // Today's end is still ahead at noon.
    expect(parseTermination({ employeeId: 'E-1', lastDay: '2026-12-02' }, { timeZone: 'UTC', now }).waitUntil).toBe('2026-12-03T00:00:00.000Z');
    // A last day that is over: at once.
    expect(parseTermination({ employeeId: 'E-1', lastDay: '2026-12-01' }, { timeZone: 'UTC', now }).waitUntil).toBeUndefined();
    // A dry run never waits.
    expect(parseTermination({ employeeId: 'E-1', lastDay: '2026-12-05', dryRun: true }, { timeZone: 'UTC', now }).waitUntil).toBeUndefined();
  });

  it('ends a day across a daylight-saving change at local midnight', () => {
    // Berlin leaves summer time on 2026-10-25: the 25th is 25 hours long.
    expect(endOfDay('2026-10-24', 'Europe/Berlin').toISOString()).toBe('2026-10-24T22:00:00.000Z');
    expect(endOfDay('2026-10-25', 'Europe/Berlin').toISOString()).toBe('2026-10-25T23:00:00.000Z');
  });

  it('refuses hostile or malformed input with InvalidHrEvent naming each field, never echoing a value', () => {
    expect(problems({ employeeId: 'E-1', username: 'x' })).toContain('unknown field(s) "username"');
    expect(problems({ employeeId: 'E 1; drop' })).toContain('employeeId:');
    expect(problems({ employeeId: 'E-1', userName: 'a\nb' })).toContain('userName:');
    expect(problems({ employeeId: 'E-1', lastDay: '2026-02-30' })).toContain('lastDay: must be a date');
    expect(problems({ employeeId: 'E-1', lastDay: '2028-01-01' })).toContain('lastDay: must be at most 360 days ahead');
    expect(problems({ employeeId: 'E-1', dryRun: 'yes' })).toContain('dryRun: must be true or false');
    expect(problems([])).toContain('(event)');
    expect(problems({ employeeId: 'E-1', userName: '<img src=x>' })).not.toContain('<img');
  });

  it('checks whom a later step looks for again, from the fields it needs only', () => {
    expect(parseLeaverQuery({ employeeId: 'E-1', userName: 'ann' })).toEqual({ employeeId: 'E-1', userName: 'ann' });
    expect(() => parseLeaverQuery({ employeeId: '' })).toThrow(InvalidHrEvent);
    expect(() => parseLeaverQuery(undefined)).toThrow(InvalidHrEvent);
  });
});
