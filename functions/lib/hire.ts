import * as z from 'zod/mini';
import { InvalidHrEvent } from './errors.ts';
import { iamGroupName, iamUserName, MAX_USER_NAME_LENGTH, nameCharactersOf } from './iam-names.ts';
import { validate } from './validation.ts';

/**
 * The "employee hired" event's `detail`, which is also the input of a manual execution.
 * Unknown fields are rejected so that a misspelt optional field (say `username`) fails
 * loudly instead of onboarding someone under a name nobody asked for.
 */

// Anything in Unicode's "Other" categories (control, format, surrogate, private use,
// unassigned) and the line and paragraph separators U+2028/U+2029. Names end up in email
// bodies and headers; a line break there is header injection.
const NO_CONTROL = /^[^\p{C}\p{Zl}\p{Zp}]*$/u;
const MAX_GROUPS = 10; // IAM: a user can be in at most 10 groups.

const noControl = z.regex(NO_CONTROL, 'must not contain control characters or line breaks');
// Names are greetings in an HTML email and in ops' mail: no markup, even escaped.
const noMarkup = z.regex(/^[^<>]*$/, 'must not contain < or >');

const personName = (max: number) =>
  z.pipe(
    z.string().check(z.maxLength(max, `must be at most ${max} characters`), noControl, noMarkup, z.trim()),
    z.string().check(z.minLength(1, 'must not be empty')),
  );

const emailAddress = z.string().check(
  z.maxLength(254, 'must be at most 254 characters'),
  noControl,
  z.email('must be an email address'),
);

/**
 * An employee id, as HR events give it and the `onboarding:employee-id` tag keeps it: what a
 * reprovision request names too. `problem` is what another id is told.
 */
export function employeeIdSchema(problem = 'must be 1-64 characters of letters, digits and ._:/=+@-') {
  return z.string().check(z.regex(/^[A-Za-z0-9._:/=+@-]{1,64}$/, problem));
}

export const hrEventSchema = z.strictObject({
  employeeId: employeeIdSchema(),
  firstName: personName(100),
  lastName: personName(100),
  email: emailAddress,
  userName: z.optional(iamUserName()),
  department: z.optional(personName(64)),
  groups: z.optional(z.array(iamGroupName()).check(z.maxLength(MAX_GROUPS, `must name at most ${MAX_GROUPS} groups`))),
  managerEmail: z.optional(emailAddress),
  // As a check, so that a value of another type is told the type rather than the format.
  startDate: z.optional(z.string().check(z.iso.date('must be a date, YYYY-MM-DD'))),
});

export type HrEvent = z.output<typeof hrEventSchema>;

/** A validated hire, with the user name and groups settled. */
export interface Hire {
  employeeId: string;
  firstName: string;
  lastName: string;
  email: string;
  userName: string;
  groups: string[];
  department?: string;
  managerEmail?: string;
  startDate?: string;
  /**
   * The user name came from the email, not from the event: when it is someone else's, the
   * onboarding may take the next of {@link userNameCandidates}. An event's own `userName` is
   * never changed.
   */
  userNameDerived?: true;
  /** When the password and credentials go out, if later than now (functions/lib/start-date.ts). */
  credentialsAt?: string;
}

/** The email's local part, reduced to IAM's user-name characters, lower case, at most 64. */
export function deriveUserName(email: string): string {
  const local = email.slice(0, email.lastIndexOf('@'));
  return nameCharactersOf(local).toLowerCase().slice(0, MAX_USER_NAME_LENGTH);
}

/** How many numbered names (`<name>2` ... ) a hire whose name is taken may try. */
export const MAX_NAME_NUMBER = 20;

/** Text as IAM user-name characters: accents dropped (José -> jose), lower case. */
function asNamePart(text: string): string {
  return nameCharactersOf(text.normalize('NFKD').replace(/\p{M}/gu, '').replace(/\s+/g, '-')).toLowerCase();
}

/**
 * The user names a hire may get, best first: its own (from the email), `first.last` from its
 * names, then the first with a number (`dana.scully2` ... `dana.scully20`), each cut to IAM's
 * 64 characters and each once ignoring case (IAM's names are unique ignoring case). A hire whose
 * name the event fixed has only that one.
 */
export function userNameCandidates(hire: Pick<Hire, 'userName' | 'firstName' | 'lastName' | 'userNameDerived'>): string[] {
  if (!hire.userNameDerived) return [hire.userName];
  const fromNames = [asNamePart(hire.firstName), asNamePart(hire.lastName)].filter((part) => part !== '').join('.');
  const numbered = Array.from({ length: MAX_NAME_NUMBER - 1 }, (_, i) => {
    const suffix = String(i + 2);
    return hire.userName.slice(0, MAX_USER_NAME_LENGTH - suffix.length) + suffix;
  });
  const candidates = [hire.userName, fromNames.slice(0, MAX_USER_NAME_LENGTH), ...numbered].filter((name) => name !== '');
  const seen = new Set<string>();
  return candidates.filter((name) => !seen.has(name.toLowerCase()) && seen.add(name.toLowerCase()));
}

/**
 * The groups an event (a hire or a move) asks for: its own `groups`, else its department's in
 * the stage's map, else none; each once. Throws {@link InvalidHrEvent} when that is more than
 * a user can be in.
 */
export function requestedGroups(event: { groups?: string[]; department?: string }, departmentGroups: Record<string, string[]>): string[] {
  // hasOwn: a department named "constructor" or "__proto__" must not find Object's properties.
  const mapped = event.department && Object.hasOwn(departmentGroups, event.department) ? departmentGroups[event.department] : undefined;
  const groups = [...new Set(event.groups ?? mapped ?? [])];
  if (groups.length > MAX_GROUPS) {
    throw new InvalidHrEvent([{ field: 'department', problem: `maps to more than ${MAX_GROUPS} groups` }]);
  }
  return groups;
}

/**
 * Validates the hire and settles its user name and groups. Throws {@link InvalidHrEvent}
 * naming every bad field; never echoes field values back.
 */
export function parseHire(input: unknown, departmentGroups: Record<string, string[]>): Hire {
  const result = validate(hrEventSchema, input, '(event)');
  if (!result.success) throw new InvalidHrEvent(result.issues);
  const event = result.data;

  const userName = event.userName ?? deriveUserName(event.email);
  if (userName === '') {
    throw new InvalidHrEvent([{ field: 'email', problem: 'its local part has no character IAM allows in a user name; set userName' }]);
  }

  const uniqueGroups = requestedGroups(event, departmentGroups);

  return {
    employeeId: event.employeeId,
    firstName: event.firstName,
    lastName: event.lastName,
    email: event.email,
    userName,
    ...(event.userName === undefined && { userNameDerived: true as const }),
    groups: uniqueGroups,
    ...(event.department !== undefined && { department: event.department }),
    ...(event.managerEmail !== undefined && { managerEmail: event.managerEmail }),
    ...(event.startDate !== undefined && { startDate: event.startDate }),
  };
}
