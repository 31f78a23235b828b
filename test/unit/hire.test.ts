import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { InvalidHrEvent } from '../../functions/lib/errors.ts';
import { deriveUserName, MAX_NAME_NUMBER, parseHire, userNameCandidates, type Hire } from '../../functions/lib/hire.ts';

const valid = {
  employeeId: 'E-1001',
  firstName: 'Bob',
  lastName: 'Builder',
  email: 'bob.builder@example.com',
};
const departments = { engineering: ['developers', 'on-call'], empty: [] as string[] };

/** The InvalidHrEvent that parseHire throws for the input (fails the test if it does not throw one). */
function rejection(input: unknown, departmentGroups: Record<string, string[]> = departments): InvalidHrEvent {
  try {
    parseHire(input, departmentGroups);
  } catch (error) {
    expect(error).toBeInstanceOf(InvalidHrEvent);
    expect((error as Error).name).toBe('InvalidHrEvent');
    return error as InvalidHrEvent;
  }
  throw new Error(`expected ${JSON.stringify(input)?.slice(0, 200)} to be rejected`);
}

describe('parseHire: required fields', () => {
  it('accepts the four required fields and settles user name and groups', () => {
    expect(parseHire(valid, departments)).toEqual<Hire>({
      employeeId: 'E-1001',
      firstName: 'Bob',
      lastName: 'Builder',
      email: 'bob.builder@example.com',
      userName: 'bob.builder',
      userNameDerived: true,
      groups: [],
    });
  });

  it.each(['employeeId', 'firstName', 'lastName', 'email'] as const)('rejects a missing %s, saying it is required', (field) => {
    const { [field]: _omitted, ...rest } = valid;
    expect(rejection(rest).message).toBe(`Invalid HR event: ${field}: is required`);
  });

  it.each([
    ['employeeId', ''],
    ['employeeId', 'E 1001'],
    ['employeeId', 'E'.repeat(65)],
    ['firstName', '   '],
    ['lastName', ''],
    ['email', 'not-an-email'],
    ['email', 'bob@'],
  ])('rejects %s = %j', (field, value) => {
    expect(rejection({ ...valid, [field]: value }).message).toMatch(new RegExp(`^Invalid HR event: ${field}: `));
  });

  it('trims names', () => {
    expect(parseHire({ ...valid, firstName: '  Bob ', lastName: ' Builder  ' }, {})).toMatchObject({
      firstName: 'Bob',
      lastName: 'Builder',
    });
  });

  it.each([null, 'a string', 42, [], true])('rejects an event that is not an object (%j)', (input) => {
    expect(rejection(input).message).toMatch(/^Invalid HR event: \(event\): /);
  });
});

describe('parseHire: optional fields', () => {
  it('keeps each optional field when given', () => {
    const hire = parseHire(
      {
        ...valid,
        userName: 'Bob.B',
        department: 'engineering',
        groups: ['admins'],
        managerEmail: 'wendy@example.com',
        startDate: '2025-03-01',
      },
      departments,
    );
    expect(hire).toEqual<Hire>({
      ...valid,
      userName: 'Bob.B',
      department: 'engineering',
      groups: ['admins'],
      managerEmail: 'wendy@example.com',
      startDate: '2025-03-01',
    });
  });

  it('leaves absent optional fields out (no undefined keys reach the state)', () => {
    expect(Object.keys(parseHire(valid, departments)).sort()).toEqual(
      ['email', 'employeeId', 'firstName', 'groups', 'lastName', 'userName', 'userNameDerived'].sort(),
    );
  });

  it.each([
    ['userName', 'bob builder', 'userName: must use only letters, digits and +=,.@_-'],
    ['userName', 'b'.repeat(65), 'userName: must be at most 64 characters'],
    ['userName', '', 'userName: must use only letters, digits and +=,.@_-'],
    ['managerEmail', 'wendy', 'managerEmail: must be an email address'],
    ['startDate', '2025-13-01', 'startDate: must be a date, YYYY-MM-DD'],
    ['startDate', '01/03/2025', 'startDate: must be a date, YYYY-MM-DD'],
    ['department', '', 'department: must not be empty'],
    ['department', 'd'.repeat(65), 'department: must be at most 64 characters'],
  ])('rejects %s = %j', (field, value, problem) => {
    expect(rejection({ ...valid, [field]: value }).message).toBe(`Invalid HR event: ${problem}`);
  });
});

describe('deriveUserName', () => {
  it.each([
    ['bob.builder@example.com', 'bob.builder'],
    ['Bob.Builder@Example.com', 'bob.builder'],
    ["o'brien+it@example.com", 'obrien+it'],
    ['a=b,c_d-e@example.com', 'a=b,c_d-e'],
    ['"odd@local"@example.com', 'odd@local'],
    [`${'x'.repeat(80)}@example.com`, 'x'.repeat(64)],
  ])('%s -> %s', (email, userName) => {
    expect(deriveUserName(email)).toBe(userName);
  });

  it('always yields lower-case IAM user-name characters, at most 64', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'grapheme', maxLength: 120 }), fc.domain(), (local, domain) => {
        expect(deriveUserName(`${local}@${domain}`)).toMatch(/^[a-z0-9+=,.@_-]{0,64}$/);
      }),
    );
  });

  it('is used when the event names no userName', () => {
    expect(parseHire({ ...valid, email: 'Jane.Doe+ops@example.com' }, {}).userName).toBe('jane.doe+ops');
  });

  it('returns an empty name when nothing in the local part is allowed', () => {
    expect(deriveUserName('!!!@example.com')).toBe('');
  });
});

describe('parseHire: what it refuses', () => {
  it('rejects unknown fields, naming them (a misspelt optional field must not be ignored)', () => {
    const error = rejection({ ...valid, username: 'bob', Groups: ['admins'] });
    expect(error.message).toBe('Invalid HR event: (event): unknown field(s) "username", "Groups"');
  });

  it.each([
    ['__proto__', '{"__proto__": {"userName": "root"}}'],
    ['constructor', '{"constructor": {"prototype": {"admin": true}}}'],
    ['prototype', '{"prototype": "x"}'],
  ])('rejects a %s key as an unknown field and pollutes nothing', (key, extra) => {
    const input = { ...valid, ...(JSON.parse(extra) as object) };
    expect(Object.keys(input)).toContain(key);
    expect(rejection(input).message).toContain(`unknown field(s) "${key}"`);
    expect(({} as Record<string, unknown>).userName).toBeUndefined();
    expect(({} as Record<string, unknown>).admin).toBeUndefined();
  });

  it.each(['constructor', '__proto__', 'toString', 'hasOwnProperty'])(
    'treats department %j as an unmapped department, not as an inherited property',
    (department) => {
      expect(parseHire({ ...valid, department }, { engineering: ['developers'] }).groups).toEqual([]);
    },
  );

  it.each([
    ['firstName', 'Bob\r\nBcc: attacker@example.com'],
    ['firstName', 'Bob\nBuilder'],
    ['lastName', 'Builder\u0000'],
    ['lastName', 'Build\u0007er'],
    ['firstName', 'Bob\u200b'], // zero-width space (format character)
    ['firstName', 'Bob\u2028Builder'], // Unicode line separator
    ['lastName', 'Builder\u2029'], // Unicode paragraph separator
    ['department', 'eng\ninjected'],
    ['email', 'bob@example.com\r\nBcc: attacker@example.com'],
    ['email', 'bob\t@example.com'],
    ['managerEmail', 'wendy@example.com\n'],
  ])('rejects line breaks and control characters in %s (%j)', (field, value) => {
    const error = rejection({ ...valid, [field]: value });
    expect(error.message).toMatch(new RegExp(`^Invalid HR event: ${field}: `));
    expect(error.message).not.toContain(value);
  });

  it.each([
    ['firstName', '<b>Bob</b>'],
    ['lastName', 'Builder<img src=x onerror=alert(1)>'],
    ['department', '<script>'],
  ])('rejects markup in %s (%j): names are greetings in HTML mail', (field, value) => {
    expect(rejection({ ...valid, [field]: value }).message).toBe(`Invalid HR event: ${field}: must not contain < or >`);
  });

  it('accepts names in any script', () => {
    expect(parseHire({ ...valid, firstName: 'Zoë', lastName: 'Ñúñez-Łukasz 王' }, {})).toMatchObject({
      firstName: 'Zoë',
      lastName: 'Ñúñez-Łukasz 王',
    });
  });

  it.each([
    ['employeeId', 1001, 'string'],
    ['firstName', ['Bob'], 'string'],
    ['email', { address: 'bob@example.com' }, 'string'],
    ['groups', 'developers', 'array'],
    ['groups', [1], 'string'],
    ['startDate', 20250301, 'string'],
    ['userName', null, 'string'],
  ])('rejects %s of the wrong type (%j)', (field, value, type) => {
    expect(rejection({ ...valid, [field]: value }).message).toMatch(
      new RegExp(`^Invalid HR event: ${field}(\\.\\d+)?: must be of type ${type}$`),
    );
  });

  it('rejects huge strings quickly, with a short message', () => {
    const huge = 'x'.repeat(1_000_000);
    const started = performance.now();
    const error = rejection({ ...valid, firstName: huge, email: `${huge}@example.com`, employeeId: huge });
    expect(performance.now() - started).toBeLessThan(2_000);
    expect(error.message).toContain('firstName: must be at most 100 characters');
    expect(error.message).toContain('email: must be at most 254 characters');
    expect(error.message).toContain('employeeId: ');
    expect(error.message.length).toBeLessThan(500);
  });
});

describe('parseHire: groups', () => {
  it('accepts 10 groups', () => {
    const ten = Array.from({ length: 10 }, (_, i) => `group-${i}`);
    expect(parseHire({ ...valid, groups: ten }, {}).groups).toEqual(ten);
  });

  it('removes duplicate groups', () => {
    expect(parseHire({ ...valid, groups: ['developers', 'admins', 'developers'] }, {}).groups).toEqual(['developers', 'admins']);
  });

  it('rejects 11 groups', () => {
    const eleven = Array.from({ length: 11 }, (_, i) => `group-${i}`);
    expect(rejection({ ...valid, groups: eleven }).message).toBe('Invalid HR event: groups: must name at most 10 groups');
  });

  it.each(['dev ops', 'dev/ops', 'dévs', '', 'g'.repeat(129)])('rejects the group name %j', (group) => {
    expect(rejection({ ...valid, groups: ['developers', group] }).message).toMatch(/^Invalid HR event: groups\.1: /);
  });

  it('takes the groups of the department from the map when the event names none', () => {
    expect(parseHire({ ...valid, department: 'engineering' }, departments).groups).toEqual(['developers', 'on-call']);
  });

  it('prefers the groups the event names over its department', () => {
    expect(parseHire({ ...valid, department: 'engineering', groups: ['admins'] }, departments).groups).toEqual(['admins']);
  });

  it('keeps an explicitly empty group list', () => {
    expect(parseHire({ ...valid, department: 'engineering', groups: [] }, departments).groups).toEqual([]);
  });

  it('gives no groups to a department the map does not know', () => {
    expect(parseHire({ ...valid, department: 'finance' }, departments).groups).toEqual([]);
  });

  it('rejects a department that maps to more than 10 groups', () => {
    const map = { big: Array.from({ length: 11 }, (_, i) => `group-${i}`) };
    expect(rejection({ ...valid, department: 'big' }, map).message).toBe(
      'Invalid HR event: department: maps to more than 10 groups',
    );
  });
});

describe('parseHire: the error message', () => {
  it('names every bad field and echoes none of their values', () => {
    const marker = (field: string) => `SECRET-${field}-VALUE`;
    const error = rejection({
      employeeId: `${marker('employeeId')} !`,
      firstName: `${marker('firstName')}\n`,
      lastName: 42,
      email: marker('email'),
      userName: `${marker('userName')} !`,
      groups: [`${marker('groups')} !`],
      managerEmail: marker('managerEmail'),
      startDate: marker('startDate'),
    });
    for (const field of ['employeeId', 'firstName', 'lastName', 'email', 'userName', 'groups.0', 'managerEmail', 'startDate']) {
      expect(error.message).toContain(`${field}: `);
    }
    expect(error.message).not.toMatch(/SECRET-/);
  });

  it('reports one problem per field', () => {
    const error = rejection({ ...valid, email: `bob\n${'x'.repeat(300)}` });
    expect(error.message.match(/email: /g)).toHaveLength(1);
  });
});

describe('InvalidHrEvent: its issues as data', () => {
  it('carries one issue per bad field, the message being exactly their text', () => {
    const error = rejection({ ...valid, employeeId: 'E 1', email: undefined, groups: ['dev ops'], extra: 1 });
    expect(error.issues).toEqual([
      { field: 'employeeId', problem: 'must be 1-64 characters of letters, digits and ._:/=+@-' },
      { field: 'email', problem: 'is required' },
      { field: 'groups.0', problem: 'must be IAM group names' },
      { field: '(event)', problem: 'unknown field(s) "extra"' },
    ]);
    expect(error.message).toBe(
      'Invalid HR event: employeeId: must be 1-64 characters of letters, digits and ._:/=+@-; email: is required; ' +
        'groups.0: must be IAM group names; (event): unknown field(s) "extra"',
    );
  });

  it('carries the issues of the checks made after the shape, too', () => {
    expect(rejection({ ...valid, department: 'big' }, { big: Array.from({ length: 11 }, (_, i) => `g${i}`) }).issues).toEqual([
      { field: 'department', problem: 'maps to more than 10 groups' },
    ]);
  });

  it('renames fields into a new error whose message follows, leaving the original as it was', () => {
    const error = rejection({ ...valid, email: undefined });
    const renamed = error.withFieldsRenamed((field) => `${field} (--${field})`);
    expect(renamed).toBeInstanceOf(InvalidHrEvent);
    expect(renamed.message).toBe('Invalid HR event: email (--email): is required');
    expect(error.message).toBe('Invalid HR event: email: is required');
  });
});

// Found by the bad-input fuzzing (test/reliability/bad-input.test.ts).
describe('hire validation regressions', () => {
  it.each(['\u2028', '\u2029'])('rejects the Unicode line separator %j in names (mail header injection)', (separator) => {
    expect(() => parseHire({ ...valid, firstName: `Bob${separator}Bcc: x@evil.example` }, {})).toThrow(InvalidHrEvent);
    expect(() => parseHire({ ...valid, lastName: `B${separator}` }, {})).toThrow(/lastName: must not contain control characters or line breaks/);
  });
});

describe('userNameCandidates', () => {
  const derived = { firstName: 'José', lastName: 'Núñez García', userName: 'jnunez', userNameDerived: true as const };

  it('tries the derived name, first.last from the names (accents dropped), then numbered names', () => {
    const candidates = userNameCandidates(derived);
    expect(candidates.slice(0, 4)).toEqual(['jnunez', 'jose.nunez-garcia', 'jnunez2', 'jnunez3']);
    expect(candidates.at(-1)).toBe(`jnunez${MAX_NAME_NUMBER}`);
    expect(candidates).toHaveLength(MAX_NAME_NUMBER + 1);
  });

  it('never changes a name the event gave', () => {
    expect(userNameCandidates({ ...derived, userNameDerived: undefined })).toEqual(['jnunez']);
  });

  it('keeps every candidate within 64 characters and each once, ignoring case', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 80 }), fc.string({ maxLength: 80 }), fc.stringMatching(/^[a-z0-9.]{1,64}$/), (firstName, lastName, userName) => {
        const candidates = userNameCandidates({ firstName, lastName, userName, userNameDerived: true });
        expect(candidates[0]).toBe(userName);
        for (const candidate of candidates) {
          expect(candidate.length).toBeLessThanOrEqual(64);
          expect(candidate).toMatch(/^[A-Za-z0-9+=,.@_-]+$/);
        }
        expect(new Set(candidates.map((c) => c.toLowerCase())).size).toBe(candidates.length);
      }),
    );
  });

  it('cuts a long name to leave room for its number', () => {
    const long = 'x'.repeat(64);
    expect(userNameCandidates({ firstName: 'X', lastName: 'Y', userName: long, userNameDerived: true })).toContain(`${'x'.repeat(62)}20`);
  });
});
