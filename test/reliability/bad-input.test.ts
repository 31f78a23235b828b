/**
 * Property-based fuzzing of HR events through the real state machine and the real handlers
 * (AWS mocked): every input is either refused before any IAM call (InvalidHrEvent, or the
 * trust boundary's GroupNotAllowed and EmailDomainNotAllowed for what the stage does not
 * allow), or onboarded correctly. Nothing crashes, and no generated password leaks.
 */
import { CreateUserCommand } from '@aws-sdk/client-iam';
import type { SendEmailCommand } from '@aws-sdk/client-ses';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inProcessStateMachine, type InProcessStateMachine } from '../../testing/state-machine.ts';
import { fakeAws } from '../../testing/aws-fakes.ts';
import { captureOutput } from '../support/capture.ts';
import { applyTestEnv, TEST_ENV } from '../../testing/lambda-env.ts';
import { expectNoSecrets, passwordsSent } from '../support/secrets.ts';
import { recordFigure } from './figures.ts';

const IAM_USER_NAME = /^[A-Za-z0-9+=,.@_-]{1,64}$/;

// Valid by construction: the oracle says these must be onboarded.
const plainName = fc.stringMatching(/^[A-Z][a-z]{1,15}$/);
const unicodeName = fc
  .string({ unit: 'grapheme', minLength: 1, maxLength: 30 })
  .filter((s) => /^[\p{L}\p{M}' -]+$/u.test(s) && s.trim().length > 0);
const validHire = fc.record(
  {
    employeeId: fc.stringMatching(/^[A-Za-z0-9._:/=+@-]{1,64}$/),
    firstName: fc.oneof(plainName, unicodeName),
    lastName: fc.oneof(plainName, unicodeName),
    email: fc
      .tuple(fc.array(fc.stringMatching(/^[a-z0-9][a-z0-9_+-]{0,9}$/), { minLength: 1, maxLength: 3 }), fc.constantFrom('example.com', 'Example.COM'))
      .map(([parts, domain]) => `${parts.join('.')}@${domain}`),
    // The manager gets a notice (the stage's credentialsRecipient is hire): never the password.
    // Upper case: never the address of a hire (whose local parts are lower case).
    managerEmail: fc.stringMatching(/^[a-z0-9][a-z0-9_+-]{0,9}$/).map((local) => `Boss.${local}@example.com`),
    userName: fc.stringMatching(/^[A-Za-z0-9+=,.@_-]{1,64}$/),
    department: fc.constantFrom('engineering', 'finance'),
    // The groups the test stage allows (TEST_ENV.ALLOWED_GROUPS).
    groups: fc.subarray(['developers', 'on-call']),
    // Never more than 364 days ahead of a run from 2026-07 on (a later date is refused: a Standard
    // execution lasts a year at most); a date still ahead is waited for, in no time in process.
    startDate: fc.date({ min: new Date('2020-01-01'), max: new Date('2027-06-30'), noInvalidDate: true }).map((d) => d.toISOString().slice(0, 10)),
  },
  { requiredKeys: ['employeeId', 'firstName', 'lastName', 'email'] },
);

type Hire = Record<string, unknown>;
const controlChar = fc.constantFrom('\r\n', '\n', '\r', '\u0000', '\u0007', '\u001b[31m', '\u2028', '\u202e', '\u200b');

// Each mutation makes a valid hire invalid; the oracle says these must be rejected.
const mutation: fc.Arbitrary<[string, (h: Hire) => unknown]> = fc.oneof(
  fc.constantFrom('employeeId', 'firstName', 'lastName', 'email').map((k): [string, (h: Hire) => unknown] => [
    `missing ${k}`,
    (h) => Object.fromEntries(Object.entries(h).filter(([key]) => key !== k)),
  ]),
  fc.tuple(fc.constantFrom('employeeId', 'firstName', 'lastName', 'email', 'userName', 'groups', 'startDate'), fc.oneof(fc.integer(), fc.boolean(), fc.constant(null), fc.object({ maxDepth: 1 }))).map(
    ([k, v]): [string, (h: Hire) => unknown] => [`wrong type ${k}`, (h) => ({ ...h, [k]: v })],
  ),
  fc.tuple(fc.constantFrom('firstName', 'lastName', 'email', 'department', 'managerEmail'), controlChar).map(
    ([k, c]): [string, (h: Hire) => unknown] => [
      `control character in ${k}`,
      (h) => ({ ...h, [k]: k.toLowerCase().includes('email') ? `a${c}bcc: x@evil.example@example.com` : `Bob${c}Bcc: x@evil.example` }),
    ],
  ),
  fc.tuple(fc.constantFrom('firstName', 'lastName', 'email', 'employeeId', 'userName'), fc.integer({ min: 300, max: 100_000 })).map(
    ([k, n]): [string, (h: Hire) => unknown] => [`huge ${k}`, (h) => ({ ...h, [k]: `${'a'.repeat(n)}${k === 'email' ? '@example.com' : ''}` })],
  ),
  fc.stringMatching(/^[^A-Za-z0-9+=,.@_-]{1,3}$/).map((bad): [string, (h: Hire) => unknown] => [
    'userName outside IAM rules',
    (h) => ({ ...h, userName: `bob${bad}` }),
  ]),
  fc.constant<[string, (h: Hire) => unknown]>(['userName too long', (h) => ({ ...h, userName: 'u'.repeat(65) })]),
  fc.constantFrom('__proto__', 'constructor', 'prototype', 'isAdmin', 'username').map((k): [string, (h: Hire) => unknown] => [
    `extra key ${k}`,
    (h) => JSON.parse(JSON.stringify(h).replace(/^\{/, `{${JSON.stringify(k)}:{"polluted":true},`)),
  ]),
  fc.integer({ min: 50, max: 1000 }).map((depth): [string, (h: Hire) => unknown] => [
    'deeply nested JSON',
    (h) => ({ ...h, groups: JSON.parse(`${'['.repeat(depth)}${']'.repeat(depth)}`) }),
  ]),
  fc.array(fc.constant('developers'), { minLength: 11, maxLength: 30 }).map((groups): [string, (h: Hire) => unknown] => [
    'more than 10 groups',
    (h) => ({ ...h, groups: groups.map((g, i) => `${g}${i}`) }),
  ]),
  fc.constantFrom('not-an-email', 'a@', '@example.com', 'a b@example.com', 'a@example.com>').map((email): [string, (h: Hire) => unknown] => [
    'malformed email',
    (h) => ({ ...h, email }),
  ]),
);

// Each of these makes a valid hire ask for more than the stage allows: refused by the trust boundary.
const overreach: fc.Arbitrary<[string, string, (h: Hire) => unknown]> = fc.oneof(
  fc
    .tuple(
      fc.oneof(fc.constantFrom('Admins', 'AdministratorAccess', 'Developers', 'DEVELOPERS', 'on-call-admins'), fc.stringMatching(/^[A-Za-z0-9+=,.@_-]{1,40}$/)),
      fc.subarray(['developers', 'on-call']),
    )
    .filter(([group]) => !['developers', 'on-call'].includes(group))
    .map(([group, allowed]): [string, string, (h: Hire) => unknown] => ['group not allowed', 'GroupNotAllowed', (h) => ({ ...h, groups: [...allowed, group] })]),
  fc
    .oneof(
      fc.domain(),
      // Not 'example.com.': a trailing dot is no address at all (InvalidHrEvent), not another domain.
      fc.constantFrom('example.com.evil.test', 'mail.example.com', 'example.co', 'examp1e.com', 'xn--exmple-cua.com'),
    )
    .filter((domain) => domain.toLowerCase() !== 'example.com')
    .map((domain): [string, string, (h: Hire) => unknown] => [
      'email domain not allowed',
      'EmailDomainNotAllowed',
      (h) => ({ ...h, email: `${String(h.email).split('@')[0]}@${domain}` }),
    ]),
  fc.constantFrom('evil.test', 'mail.example.com', 'example.com.evil.test').map((domain): [string, string, (h: Hire) => unknown] => [
    'manager email domain not allowed',
    'EmailDomainNotAllowed',
    (h) => ({ ...h, managerEmail: `boss@${domain}` }),
  ]),
);

type Case =
  | { kind: 'valid'; input: unknown }
  | { kind: 'invalid'; why: string; input: unknown }
  | { kind: 'refused'; why: string; error: string; input: unknown }
  | { kind: 'arbitrary'; input: unknown };
const REFUSALS = ['InvalidHrEvent', 'GroupNotAllowed', 'EmailDomainNotAllowed'];
const anyCase: fc.Arbitrary<Case> = fc.oneof(
  { weight: 3, arbitrary: validHire.map((input): Case => ({ kind: 'valid', input })) },
  { weight: 5, arbitrary: fc.tuple(validHire, mutation).map(([h, [why, mutate]]): Case => ({ kind: 'invalid', why, input: mutate(h) })) },
  { weight: 2, arbitrary: fc.tuple(validHire, overreach).map(([h, [why, error, mutate]]): Case => ({ kind: 'refused', why, error, input: mutate(h) })) },
  { weight: 2, arbitrary: fc.jsonValue({ maxDepth: 4 }).map((input): Case => ({ kind: 'arbitrary', input })) },
);

let onboarding: InProcessStateMachine;

beforeAll(async () => {
  applyTestEnv();
  process.env.POWERTOOLS_LOG_LEVEL = 'INFO';
  onboarding = await inProcessStateMachine('onboarding', { namePrefix: 'fuzz' });
});
afterAll(() => {
  process.env.POWERTOOLS_LOG_LEVEL = 'DEBUG';
});

describe('bad input', () => {
  it('refuses every invalid or overreaching HR event before any IAM call, onboards every valid one, and never crashes', async ({ task }) => {
    const tally = { tried: 0, rejected: 0, accepted: 0, crashes: 0, iamCallsOnRejected: 0, placesScanned: 0 };
    const refusals: Record<string, number> = Object.fromEntries(REFUSALS.map((name) => [name, 0]));

    await fc.assert(
      fc.asyncProperty(anyCase, async (testCase) => {
        // Admins exists: a refused group is refused for not being allowed, not for being missing.
        const aws = fakeAws({ groups: ['developers', 'on-call', 'Admins', 'AdministratorAccess'] });
        const output = captureOutput();
        try {
          tally.tried += 1;
          const result = await onboarding.run(testCase.input).catch((error: unknown) => {
            tally.crashes += 1;
            throw error;
          });

          const places = { events: result.events, output: result.output, cause: result.cause, logs: output.text() };
          tally.placesScanned += result.events.length + 3;
          expectNoSecrets(passwordsSent(aws.iam), places);

          if (result.status === 'SUCCEEDED') {
            tally.accepted += 1;
            expect(['valid', 'arbitrary'], JSON.stringify(testCase).slice(0, 300)).toContain(testCase.kind);
            const created = aws.iam.commandCalls(CreateUserCommand)[0]?.args[0].input;
            expect(created?.UserName).toMatch(IAM_USER_NAME);
            const manager = (testCase.input as Hire).managerEmail;
            const toManager = aws.ses.calls().filter((c) => typeof manager === 'string' && (c.args[0] as SendEmailCommand).input.Destination?.ToAddresses?.includes(manager));
            expectNoSecrets(passwordsSent(aws.iam), { 'manager notice': toManager.map((c) => (c.args[0] as SendEmailCommand).input) });
            return;
          }
          if (!REFUSALS.includes(result.error ?? '')) {
            tally.crashes += 1;
            expect.fail(`unexpected ${result.error}: ${result.cause} for ${JSON.stringify(testCase).slice(0, 300)}`);
          }
          tally.rejected += 1;
          refusals[result.error!]! += 1;
          tally.iamCallsOnRejected += aws.iam.calls().length + aws.kms.calls().length;
          expect(testCase.kind, `valid hire rejected: ${result.cause}`).not.toBe('valid');
          if (testCase.kind === 'refused') expect(result.error, testCase.why).toBe(testCase.error);
          if (testCase.kind === 'invalid') expect(result.error, testCase.why).toBe('InvalidHrEvent');
          expect(aws.iam.calls()).toHaveLength(0);
          expect(aws.kms.calls()).toHaveLength(0);
          // Only ops hear about it.
          const recipients = aws.ses.calls().flatMap((c) => (c.args[0] as SendEmailCommand).input.Destination?.ToAddresses ?? []);
          expect(recipients).toEqual([TEST_ENV.OPS_EMAIL]);
        } finally {
          output.restore();
          aws.reset();
        }
      }),
      { numRuns: Number(process.env.FUZZ_RUNS ?? 300), seed: Number(process.env.FUZZ_SEED ?? 20261122) },
    );

    recordFigure(task, 'HR event cases tried', tally.tried);
    recordFigure(task, 'refused', `${tally.rejected} (${REFUSALS.map((name) => `${name} ${refusals[name]}`).join(', ')})`);
    recordFigure(task, 'accepted and onboarded', tally.accepted);
    recordFigure(task, 'IAM or KMS calls for refused input', tally.iamCallsOnRejected);
    recordFigure(task, 'crashes', tally.crashes);
    recordFigure(task, 'places scanned for passwords', tally.placesScanned);
    expect(tally.crashes).toBe(0);
  });
});
