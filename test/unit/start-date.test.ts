import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { InvalidHrEvent } from '../../functions/lib/errors.ts';
import { credentialsTime, localDate, MAX_WAIT_DAYS } from '../../functions/lib/start-date.ts';

const utc = { timeZone: 'UTC', credentialsHour: 8, credentialsDaysEarly: 0 };
const now = new Date('2026-03-02T10:00:00.000Z');

describe('credentialsTime', () => {
  it('is undefined (now) without a start date, or for one today or in the past', () => {
    expect(credentialsTime(undefined, utc, now)).toBeUndefined();
    expect(credentialsTime('2026-03-02', utc, now)).toBeUndefined();
    expect(credentialsTime('2025-12-24', utc, now)).toBeUndefined();
  });

  it('is the credentials hour on the start date, in the stage time zone', () => {
    expect(credentialsTime('2026-03-09', utc, now)).toBe('2026-03-09T08:00:00.000Z');
    // Berlin is UTC+1 in March and UTC+2 from the last Sunday of March (summer time).
    expect(credentialsTime('2026-03-09', { ...utc, timeZone: 'Europe/Berlin' }, now)).toBe('2026-03-09T07:00:00.000Z');
    expect(credentialsTime('2026-04-01', { ...utc, timeZone: 'Europe/Berlin' }, now)).toBe('2026-04-01T06:00:00.000Z');
    expect(credentialsTime('2026-03-09', { ...utc, timeZone: 'America/New_York', credentialsHour: 9 }, now)).toBe('2026-03-09T13:00:00.000Z');
  });

  it('goes out the configured number of days early, across a month end', () => {
    expect(credentialsTime('2026-04-01', { ...utc, credentialsDaysEarly: 3 }, now)).toBe('2026-03-29T08:00:00.000Z');
  });

  it('is now when the early release time has already passed', () => {
    expect(credentialsTime('2026-03-03', { ...utc, credentialsDaysEarly: 1 }, now)).toBeUndefined();
  });

  it('takes "today" in the stage time zone: in Tokyo it is already the 3rd', () => {
    const lateEvening = new Date('2026-03-02T20:00:00.000Z');
    expect(localDate(lateEvening, 'Asia/Tokyo')).toBe('2026-03-03');
    expect(credentialsTime('2026-03-03', { ...utc, timeZone: 'Asia/Tokyo' }, lateEvening)).toBeUndefined();
    expect(credentialsTime('2026-03-03', utc, lateEvening)).toBe('2026-03-03T08:00:00.000Z');
  });

  it(`refuses a start date more than ${MAX_WAIT_DAYS} days ahead, naming the field`, () => {
    expect(credentialsTime('2027-02-28', utc, now)).toBe('2027-02-28T08:00:00.000Z');
    const error = (() => {
      try {
        credentialsTime('2027-03-02', utc, now);
      } catch (caught) {
        return caught;
      }
      return undefined;
    })();
    expect(error).toBeInstanceOf(InvalidHrEvent);
    expect((error as InvalidHrEvent).issues).toEqual([{ field: 'startDate', problem: expect.stringContaining(`${MAX_WAIT_DAYS} days`) }]);
  });

  it('never returns a time in the past or beyond the limit', () => {
    fc.assert(
      fc.property(
        fc.date({ min: new Date('2000-01-01'), max: new Date('2100-01-01'), noInvalidDate: true }),
        fc.integer({ min: -400, max: 400 }),
        fc.constantFrom('UTC', 'Europe/Berlin', 'America/Los_Angeles', 'Pacific/Kiritimati', 'Pacific/Pago_Pago'),
        fc.integer({ min: 0, max: 23 }),
        fc.integer({ min: 0, max: 30 }),
        (at, days, timeZone, credentialsHour, credentialsDaysEarly) => {
          const startDate = new Date(at.getTime() + days * 86_400_000).toISOString().slice(0, 10);
          let time: string | undefined;
          try {
            time = credentialsTime(startDate, { timeZone, credentialsHour, credentialsDaysEarly }, at);
          } catch (error) {
            expect(error).toBeInstanceOf(InvalidHrEvent);
            return;
          }
          if (time === undefined) return;
          expect(Date.parse(time)).toBeGreaterThan(at.getTime());
          expect(Date.parse(time) - at.getTime()).toBeLessThanOrEqual(MAX_WAIT_DAYS * 86_400_000);
        },
      ),
    );
  });
});
