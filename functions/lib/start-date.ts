import { TZDate } from '@date-fns/tz';
import { InvalidHrEvent } from './errors.ts';

/**
 * When a hire with a start date gets its password and credentials email. HR sends "hired"
 * events days or weeks ahead; the user (and its groups) is created at once, but the password
 * waits in the state machine (a Wait state on this timestamp) so that it is fresh on day one
 * and the unused-password clock starts then.
 */
export interface StartDateSettings {
  /** The time zone HR's dates are days in (IANA name). */
  timeZone: string;
  /** The local hour the credentials go out. */
  credentialsHour: number;
  /** How many days before the start date they go out. */
  credentialsDaysEarly: number;
}

const DAY_MS = 86_400_000;
/**
 * A Standard execution runs for at most a year, and the onboarding still has work to do after
 * the wait: a wait may last at most 364 days.
 */
export const MAX_WAIT_DAYS = 364;

/** `YYYY-MM-DD` of the instant in the time zone. */
export function localDate(instant: Date, timeZone: string): string {
  const local = new TZDate(instant.getTime(), timeZone);
  const pad = (n: number) => String(n).padStart(2, '0');
  return `${local.getFullYear()}-${pad(local.getMonth() + 1)}-${pad(local.getDate())}`;
}

/** The instant of `hour`:00 local time on the date `daysBefore` days before `date` (YYYY-MM-DD). */
export function localTime(date: string, hour: number, daysBefore: number, timeZone: string): Date {
  const [year, month, day] = date.split('-').map(Number) as [number, number, number];
  return new Date(new TZDate(year, month - 1, day - daysBefore, hour, 0, 0, 0, timeZone).getTime());
}

/**
 * When the credentials of a hire starting on `startDate` go out: an ISO timestamp in the future,
 * or undefined for "now" (no start date, a start date today or in the past, or a release time
 * already past). Throws {@link InvalidHrEvent} for a start date too far ahead to wait for.
 */
export function credentialsTime(startDate: string | undefined, settings: StartDateSettings, now: Date): string | undefined {
  if (startDate === undefined || startDate <= localDate(now, settings.timeZone)) return undefined;
  const release = localTime(startDate, settings.credentialsHour, settings.credentialsDaysEarly, settings.timeZone);
  if (release.getTime() - now.getTime() > MAX_WAIT_DAYS * DAY_MS) {
    throw new InvalidHrEvent([
      { field: 'startDate', problem: `is more than ${MAX_WAIT_DAYS} days ahead; send the hire again closer to the date` },
    ]);
  }
  return release.getTime() > now.getTime() ? release.toISOString() : undefined;
}
