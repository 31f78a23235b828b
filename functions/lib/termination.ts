import { TZDate } from '@date-fns/tz';
import * as z from 'zod/mini';
import { InvalidHrEvent } from './errors.ts';
import { employeeIdSchema } from './hire.ts';
import { iamUserName } from './iam-names.ts';
import { validate } from './validation.ts';

/**
 * The "employee terminated" event's `detail`, which is also the input of a manual offboarding
 * (`onboarding offboard`). Strict like the hire: an unknown field fails, so that a misspelt
 * `username` never offboards someone found by another route.
 */
const leaverQuerySchema = z.strictObject({
  employeeId: employeeIdSchema(),
  userName: z.optional(iamUserName()),
});

export const terminationSchema = z.strictObject({
  ...leaverQuerySchema.shape,
  lastDay: z.optional(z.string().check(z.iso.date('must be a date, YYYY-MM-DD'))),
  // `onboarding offboard --dry-run`: find the user and report what would be removed, at once.
  dryRun: z.optional(z.boolean('must be true or false')),
});

/** Whom a later step looks for: a validated termination's employee id and user name, checked again. */
export function parseLeaverQuery(termination: { employeeId?: unknown; userName?: unknown } | undefined): Pick<Termination, 'employeeId' | 'userName'> {
  const query = { employeeId: termination?.employeeId, ...(termination?.userName !== undefined && { userName: termination.userName }) };
  const result = validate(leaverQuerySchema, query, '(termination)');
  if (!result.success) throw new InvalidHrEvent(result.issues);
  return result.data;
}

/** A validated termination: who, and when access goes (`waitUntil` absent: now). */
export interface Termination {
  employeeId: string;
  userName?: string;
  lastDay?: string;
  /** The end of `lastDay` in the stage's time zone, as an ISO timestamp, when that is still ahead (never for a dry run). */
  waitUntil?: string;
  dryRun: boolean;
}

/**
 * How far ahead a last day may be: a Standard execution runs for at most a year, and its Wait
 * with it; a date further out is a typo, not a plan.
 */
export const MAX_DAYS_AHEAD = 360;
const DAY_MS = 86_400_000;

/** The instant the calendar day `date` (YYYY-MM-DD) ends in `timeZone`: midnight of the day after, there. */
export function endOfDay(date: string, timeZone: string): Date {
  const [year, month, day] = date.split('-').map(Number) as [number, number, number];
  return new Date(new TZDate(year, month - 1, day + 1, 0, 0, 0, 0, timeZone).getTime());
}

/**
 * Validates the termination and settles when access goes. Throws {@link InvalidHrEvent} naming
 * every bad field (never echoing a value) before anything reads or writes IAM.
 */
export function parseTermination(input: unknown, settings: { timeZone: string; now?: Date }): Termination {
  const result = validate(terminationSchema, input, '(event)');
  if (!result.success) throw new InvalidHrEvent(result.issues);
  const { employeeId, userName, lastDay, dryRun = false } = result.data;
  const now = settings.now ?? new Date();
  let waitUntil: string | undefined;
  if (lastDay !== undefined) {
    const end = endOfDay(lastDay, settings.timeZone);
    if (end.getTime() - now.getTime() > MAX_DAYS_AHEAD * DAY_MS) {
      throw new InvalidHrEvent([{ field: 'lastDay', problem: `must be at most ${MAX_DAYS_AHEAD} days ahead` }]);
    }
    if (end > now && !dryRun) waitUntil = end.toISOString();
  }
  return {
    employeeId,
    ...(userName !== undefined && { userName }),
    ...(lastDay !== undefined && { lastDay }),
    ...(waitUntil !== undefined && { waitUntil }),
    dryRun,
  };
}
