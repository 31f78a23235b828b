import * as z from 'zod/mini';

/**
 * How every validation in the project reports what is wrong: one problem per field, named by
 * its path, never echoing the value. Callers that show the problems under other names (a tag,
 * a CLI flag) rename `field`; the message is always {@link describeIssues} of the list.
 */
export interface ValidationIssue {
  /** The field's path (`groups.0`), or the caller's name for the whole input (`(event)`). */
  field: string;
  problem: string;
}

export type Validated<T> = { success: true; data: T } | { success: false; issues: ValidationIssue[] };

// Zod's own type messages name its internals; a schema that says nothing gets this instead.
const typeProblem: z.core.$ZodErrorMap = (issue) => (issue.code === 'invalid_type' ? `must be of type ${issue.expected}` : undefined);

function problemOf(issue: z.core.$ZodIssue): string {
  if (issue.code === 'unrecognized_keys') {
    return `unknown field(s) ${issue.keys.map((key) => JSON.stringify(key.slice(0, 64))).join(', ')}`;
  }
  // A missing field is missing, whatever its schema says of a wrong value.
  if (issue.code === 'invalid_type' && issue.input === undefined) return 'is required';
  return issue.message;
}

/** Validates `input`; `whole` names the input itself where a problem is not one field's. */
export function validate<S extends z.core.$ZodType>(schema: S, input: unknown, whole: string): Validated<z.output<S>> {
  const result = z.safeParse(schema, input, { reportInput: true, error: typeProblem });
  if (result.success) return { success: true, data: result.data };
  const seen = new Set<string>();
  const issues: ValidationIssue[] = [];
  for (const issue of result.error.issues) {
    const field = issue.path.length > 0 ? issue.path.map(String).join('.') : whole;
    // One problem per field is enough to act on; every unknown field is named.
    if (seen.has(field) && issue.code !== 'unrecognized_keys') continue;
    seen.add(field);
    issues.push({ field, problem: problemOf(issue) });
  }
  return { success: false, issues };
}

/** `field: problem; field: problem`: the text of a list of issues. */
export function describeIssues(issues: readonly ValidationIssue[]): string {
  return issues.map(({ field, problem }) => `${field}: ${problem}`).join('; ');
}
