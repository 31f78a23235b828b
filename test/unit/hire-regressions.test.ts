import { describe, expect, it } from 'vitest';
import { InvalidHrEvent } from '../../functions/lib/errors.ts';
import { parseHire } from '../../functions/lib/hire.ts';

const hire = { employeeId: 'E-1', firstName: 'Bob', lastName: 'Builder', email: 'bob@example.com' };

// Found by the bad-input fuzzing (test/reliability/bad-input.test.ts).
describe('hire validation regressions', () => {
  it.each(['\u2028', '\u2029'])('rejects the Unicode line separator %j in names (mail header injection)', (separator) => {
    expect(() => parseHire({ ...hire, firstName: `Bob${separator}Bcc: x@evil.example` }, {})).toThrow(InvalidHrEvent);
    expect(() => parseHire({ ...hire, lastName: `B${separator}` }, {})).toThrow(/lastName: must not contain control characters or line breaks/);
  });
});
