import * as z from 'zod/mini';

/**
 * IAM's rules for what this workflow names and writes: user and group names, the managed path,
 * tag values and the managed-by value. Stated once, for the Lambdas (settings, input, tags)
 * and the CLI (its flags, checked before any AWS call).
 */

const NAME_CHARACTERS = 'A-Za-z0-9+=,.@_-';
/** IAM user and group names: `[A-Za-z0-9+=,.@_-]`. */
const IAM_NAME = new RegExp(`^[${NAME_CHARACTERS}]+$`);
const NOT_NAME_CHARACTER = new RegExp(`[^${NAME_CHARACTERS}]`, 'g');
export const MAX_USER_NAME_LENGTH = 64;
export const MAX_GROUP_NAME_LENGTH = 128;

/** The text without the characters IAM does not allow in a name. */
export function nameCharactersOf(text: string): string {
  return text.replace(NOT_NAME_CHARACTER, '');
}

/** An IAM user name; `problem` is what a name with other characters is told. */
export function iamUserName(problem = 'must use only letters, digits and +=,.@_-') {
  return z.string().check(
    z.maxLength(MAX_USER_NAME_LENGTH, `must be at most ${MAX_USER_NAME_LENGTH} characters`),
    z.regex(IAM_NAME, problem),
  );
}

/** An IAM group name; `problem` is what a name with other characters is told. */
export function iamGroupName(problem = 'must be IAM group names') {
  return z.string().check(
    z.maxLength(MAX_GROUP_NAME_LENGTH, `must be at most ${MAX_GROUP_NAME_LENGTH} characters`),
    z.regex(IAM_NAME, problem),
  );
}

const MAX_PATH_LENGTH = 512;

/** An IAM path: `/`, or printable ASCII between a leading and a trailing `/`, at most 512 characters. */
export const iamPath = z.string().check(
  z.regex(/^\/([\x21-\x7e]+\/)?$/, 'must start and end with "/" and use printable ASCII'),
  z.maxLength(MAX_PATH_LENGTH, `must be at most ${MAX_PATH_LENGTH} characters`),
);

export function isIamPath(text: string): boolean {
  return iamPath.safeParse(text).success;
}

// IAM tag values: letters, digits, white space (any Unicode separator) and `_.:/=+-@`.
const NOT_TAG_VALUE_CHARACTER = /[^\p{L}\p{Z}\p{N}_.:/=+\-@]/gu;
const MAX_TAG_VALUE_LENGTH = 256;

/** The text as an IAM tag value: other characters become spaces, and it is cut to 256 characters. */
export function toTagValue(text: string): string {
  return text.replace(NOT_TAG_VALUE_CHARACTER, ' ').slice(0, MAX_TAG_VALUE_LENGTH);
}

/** The text as a tag value, or undefined when it would not survive the trip unchanged. */
export function exactTagValue(text: string): string | undefined {
  return toTagValue(text) === text ? text : undefined;
}

/**
 * The value of the managed-by tag, which marks a user as one stage's: a tag value, not empty,
 * and on one line (of the separators only spaces), since the CLI prints it.
 */
export const managedByValue = z.string().check(
  z.minLength(1, 'must not be empty'),
  z.maxLength(MAX_TAG_VALUE_LENGTH, `must be at most ${MAX_TAG_VALUE_LENGTH} characters`),
  z.refine(
    (text) => exactTagValue(text) !== undefined && !/[\p{Zl}\p{Zp}]/u.test(text),
    'must use only letters, digits, spaces and _.:/=+-@',
  ),
);

export function isManagedByValue(text: string): boolean {
  return managedByValue.safeParse(text).success;
}
