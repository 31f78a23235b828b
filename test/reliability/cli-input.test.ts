/**
 * Property-based fuzzing of what people type at the `onboarding` CLI, through `run(argv, io)`
 * with Step Functions and CloudFormation mocked: flags and `--input` files, valid, broken on
 * purpose, or random. Every case either ends with exit 2, one printable error line and no AWS
 * call at all, or (when valid) with exactly one StartExecution whose input the workflow's own
 * validation accepts. Nothing crashes: no exception out of `run`, no stack trace, exit 0 or 2.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { CloudFormationClient, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import { DescribeExecutionCommand, ExecutionDoesNotExist, SFNClient, StartExecutionCommand } from '@aws-sdk/client-sfn';
import { GetAccountAuthorizationDetailsCommand, IAMClient, ListUsersCommand } from '@aws-sdk/client-iam';
import { mockClient } from 'aws-sdk-client-mock';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HIRE_FLAGS } from '../../cli/commands/start.ts';
import { run } from '../../cli/main.ts';
import { executionArnFor } from '../../cli/execution-rules.ts';
import { ONBOARDING, REPROVISION } from '../../cli/target.ts';
import { parseHire } from '../../functions/lib/hire.ts';
import { recordFigure } from './figures.ts';

const arn = (name: string, region = 'us-east-1') => `arn:aws:states:${region}:123456789012:stateMachine:${name}`;
const ENV_ARN = arn('from-env');
const FLAG_ARN = arn('from-flag', 'eu-west-1');
const STACK_ARN = arn('iam-onboarding-dev-onboarding');
const LOCAL_ARN = arn('iam-onboarding-local-onboarding');
const REPROVISION_ARN = arn('iam-onboarding-dev-reprovision');
const LOCAL_REPROVISION_ARN = arn('iam-onboarding-local-reprovision');

/** Placeholders in generated argv, replaced by real paths when the case runs. */
const FILE = '@FILE@';
const DIR = '@DIR@';
const MISSING = '@MISSING@';

type Hire = Record<string, unknown>;
interface Draft {
  hire: Hire;
  via: 'flags' | 'file';
  /** Target and output options, each a group of tokens kept together. */
  options: string[][];
  expectedArn: string;
  /** `--flag=value` instead of `--flag value`. */
  joined: boolean;
}
interface CliCase {
  /** valid: must start exactly one execution; invalid: must be refused; arbitrary: either. */
  kind: 'valid' | 'invalid' | 'arbitrary';
  why: string;
  argv: string[];
  file?: string;
  /** For invalid cases: what the error line must name. */
  names?: string;
  expected?: { hire: Hire; stateMachineArn: string };
}

// --- valid by construction ----------------------------------------------------------------

const plainName = fc.stringMatching(/^[A-Z][a-z]{1,15}$/);
const unicodeName = fc
  .string({ unit: 'grapheme', minLength: 1, maxLength: 30 })
  .filter((s) => /^[\p{L}\p{M}' -]+$/u.test(s) && s.trim().length > 0);
const email = fc
  .tuple(fc.array(fc.stringMatching(/^[a-z0-9][a-z0-9_+-]{0,9}$/), { minLength: 1, maxLength: 3 }), fc.constantFrom('example.com', 'corp.example.org'))
  .map(([parts, domain]) => `${parts.join('.')}@${domain}`);
// No commas: on the command line `--groups` is comma-separated.
const groupName = fc.stringMatching(/^[A-Za-z0-9+=.@_-]{1,20}$/);
const validHire = fc.record(
  {
    employeeId: fc.stringMatching(/^[A-Za-z0-9._:/=+@-]{1,64}$/),
    firstName: fc.oneof(plainName, unicodeName),
    lastName: fc.oneof(plainName, unicodeName),
    email,
    userName: fc.stringMatching(/^[A-Za-z0-9+=,.@_-]{1,64}$/),
    groups: fc.array(groupName, { maxLength: 10 }),
    department: fc.oneof(plainName, fc.constantFrom('engineering', 'finance')),
    managerEmail: email,
    startDate: fc.date({ min: new Date('2020-01-01'), max: new Date('2030-12-31'), noInvalidDate: true }).map((d) => d.toISOString().slice(0, 10)),
  },
  { requiredKeys: ['employeeId', 'firstName', 'lastName', 'email'] },
);
const target = fc.constantFrom<[string[][], string]>(
  [[], ENV_ARN],
  [[['--state-machine-arn', FLAG_ARN]], FLAG_ARN],
  [[['--stage', 'dev']], STACK_ARN],
  [[['--stage', 'dev'], ['--region', 'us-east-1']], STACK_ARN],
  [[['--local']], LOCAL_ARN],
  [[['--endpoint-url', 'http://127.0.0.1:4566'], ['--region', 'eu-west-1']], ENV_ARN],
);
const extras = fc.subarray([['--json'], ['--debug'], ['--name', 'manual-run_2']]);
const draft: fc.Arbitrary<Draft> = fc
  .record({ hire: validHire, via: fc.constantFrom('flags', 'file'), target, extras, joined: fc.boolean() })
  .map(({ hire, via, target: [tokens, expectedArn], extras: more, joined }) => ({
    hire,
    via: via as Draft['via'],
    options: [...tokens, ...more],
    expectedArn,
    joined,
  }));

/** The draft as argv groups (shuffled later) and the `--input` file's text. */
function render(d: Draft): { groups: string[][]; file?: string } {
  const pair = (flag: string, value: string) => (d.joined ? [`${flag}=${value}`] : [flag, value]);
  const options = d.options.map((g) => (g.length === 2 ? pair(g[0]!, g[1]!) : g));
  if (d.via === 'file') return { groups: [pair('--input', FILE), ...options], file: JSON.stringify(d.hire) };
  const fields = Object.entries(d.hire).map(([field, value]) =>
    pair(HIRE_FLAGS[field as keyof typeof HIRE_FLAGS] ?? `--${field}`, Array.isArray(value) ? value.join(',') : String(value)),
  );
  return { groups: [...fields, ...options] };
}

const shuffled = (groups: string[][]) =>
  fc.shuffledSubarray(groups, { minLength: groups.length, maxLength: groups.length }).map((g) => g.flat());

const validCase: fc.Arbitrary<CliCase> = draft.chain((d) => {
  const { groups, file } = render(d);
  return shuffled(groups).map(
    (tokens): CliCase => ({
      kind: 'valid',
      why: `valid hire via ${d.via}`,
      argv: ['start', ...tokens],
      ...(file !== undefined && { file }),
      expected: { hire: d.hire, stateMachineArn: d.expectedArn },
    }),
  );
});

// --- invalid on purpose -------------------------------------------------------------------

const controlChar = fc.constantFrom('\r\n', '\n', '\r', '\u0000', '\u0007', '\u001b[31m', '\u2028', '\u202e', '\u200b', '\u0085');
const huge = (suffix = '') => fc.integer({ min: 300, max: 100_000 }).map((n) => `${'a'.repeat(n)}${suffix}`);

/** Values no field may take, per field (as strings: the command line has no other type). */
const badValue: Record<string, fc.Arbitrary<unknown>> = {
  employeeId: fc.oneof(fc.constantFrom('', 'E 1', 'É-1', 'E#1', 'e'.repeat(65)), controlChar.map((c) => `E${c}1`)),
  firstName: fc.oneof(fc.constantFrom('', '   '), controlChar.map((c) => `Bob${c}Bcc: x@evil.example`), huge()),
  lastName: fc.oneof(fc.constantFrom('', '\t'), controlChar.map((c) => `${c}Builder`), huge()),
  email: fc.oneof(
    fc.constantFrom('not-an-email', 'a@', '@example.com', 'a b@example.com', 'a@example.com>', 'a@b@example.com'),
    controlChar.map((c) => `a${c}bcc: x@evil.example@example.com`),
    huge('@example.com'),
  ),
  userName: fc.oneof(
    fc.constantFrom('', 'bob smith', 'bob!', 'bób', 'bob/admin', '*', 'u'.repeat(65)),
    fc.stringMatching(/^[^A-Za-z0-9+=,.@_-]{1,3}$/).map((bad) => `bob${bad}`),
    controlChar.map((c) => `bob${c}`),
  ),
  groups: fc.oneof(
    fc.constant(['bad group']),
    fc.constant(['g'.repeat(129)]),
    fc.array(groupName, { minLength: 11, maxLength: 30 }).map((g) => g.map((name, i) => `${name}${i}`)),
    controlChar.map((c) => [`dev${c}ops`]),
  ),
  department: fc.oneof(fc.constantFrom('', '  '), controlChar.map((c) => `Eng${c}ineering`), huge()),
  managerEmail: fc.constantFrom('boss', 'boss@', 'boss@example.com\r\nBcc: x@evil.example'),
  startDate: fc.constantFrom('2025-13-01', '2025-02-30', 'tomorrow', '01/02/2025', '2025-1-1', ''),
};
const wrongType = fc.oneof(fc.integer(), fc.boolean(), fc.constant(null), fc.object({ maxDepth: 1 }), fc.array(fc.integer(), { minLength: 1, maxLength: 3 }));

type Mutation = (d: Draft) => fc.Arbitrary<CliCase>;
const invalid = (why: string, names: string | undefined, argv: string[], file?: string): CliCase => ({
  kind: 'invalid',
  why,
  argv: ['start', ...argv],
  ...(file !== undefined && { file }),
  ...(names !== undefined && { names }),
});

/** A draft changed so that it must be refused, rendered and shuffled. */
function broken(d: Draft, why: string, names: string | undefined, change: (r: { groups: string[][]; file?: string }) => { groups: string[][]; file?: string }) {
  const changed = change(render(d));
  return shuffled(changed.groups).map((argv) => invalid(why, names, argv, changed.file));
}

const mutations: Mutation[] = [
  // A field with a value it may not have: the error names the field.
  (d) =>
    fc.constantFrom(...Object.keys(badValue)).chain((field) =>
      badValue[field]!.chain((value) =>
        broken({ ...d, hire: { ...d.hire, [field]: value } }, `bad ${field}`, field, (r) => r),
      ),
    ),
  // A required field left out.
  (d) =>
    fc.constantFrom('employeeId', 'firstName', 'lastName', 'email').chain((field) =>
      broken({ ...d, hire: Object.fromEntries(Object.entries(d.hire).filter(([k]) => k !== field)) }, `missing ${field}`, field, (r) => r),
    ),
  // A field of the wrong JSON type (only a file can say it).
  (d) =>
    fc.tuple(fc.constantFrom(...Object.keys(HIRE_FLAGS)), wrongType).chain(([field, value]) =>
      broken({ ...d, via: 'file', hire: { ...d.hire, [field]: value } }, `wrong type ${field}`, field, (r) => r),
    ),
  // An option the command does not have.
  (d) =>
    fc.constantFrom('--frist-name', '--username', '--__proto__', '--constructor', '--prototype', '-Z', '--e-mail', '--EMAIL', '---email', '--input-file', '--wait-for').chain((flag) =>
      broken(d, `unknown option ${flag}`, flag, (r) => ({ ...r, groups: [...r.groups, [flag]] })),
    ),
  // An option whose value never came.
  (d) =>
    fc.constantFrom('--email', '--input', '--name', '--state-machine-arn', '--region', '--user-name').map((flag) => {
      const { groups, file } = render(d);
      return invalid(`no value for ${flag}`, flag, [...groups.flat(), flag], file);
    }),
  // A word that is not an option.
  (d) => broken(d, 'extra argument', 'too many arguments', (r) => ({ ...r, groups: [...r.groups, ['bob']] })),
  // Both ways of giving the hire at once.
  (d) =>
    broken({ ...d, via: 'flags' }, 'both --input and flags', '--input', (r) => ({
      groups: [...r.groups, ['--input', FILE]],
      file: JSON.stringify(d.hire),
    })),
  // Execution names and targets outside their rules, or two targets at once.
  (d) =>
    fc
      .constantFrom<[string, string[]]>(
        ['--name', ['--name', 'a b']],
        ['--name', ['--name', 'x'.repeat(81)]],
        ['--name', ['--name', 'onboard/bob']],
        ['--name', ['--name', 'run\n2']],
        ['--state-machine-arn', ['--state-machine-arn', 'onboarding']],
        ['--state-machine-arn', ['--state-machine-arn', 'arn:aws:states:us-east-1:1:stateMachine:x']],
        ['--state-machine-arn', ['--state-machine-arn', `${FLAG_ARN}\r\n`]],
        ['--region', ['--region', 'Europe']],
        ['--region', ['--region', 'us-east-1\u001b[2J']],
        ['--stage', ['--stage', 'dev prod']],
        ['--stage', ['--stage', '']],
        ['--endpoint-url', ['--endpoint-url', 'ftp://127.0.0.1']],
        ['--endpoint-url', ['--endpoint-url', '127.0.0.1:4566']],
        ['cannot be used with', ['--stage', 'dev', '--local']],
        ['cannot be used with', ['--state-machine-arn', FLAG_ARN, '--stage', 'dev']],
      )
      .chain(([names, tokens]) =>
        broken({ ...d, options: d.options.filter((g) => !['--name', '--state-machine-arn', '--stage', '--region', '--local', '--endpoint-url'].includes(g[0]!)) }, `bad option ${tokens.join(' ')}`, names, (r) => ({ ...r, groups: [...r.groups, tokens] })),
      ),
  // --input files that hold no hire.
  (d) =>
    fc
      .oneof(
        fc.constantFrom<[string, string]>(
          ['empty file', ''],
          ['truncated JSON', JSON.stringify(d.hire).slice(0, -1)],
          ['trailing comma', JSON.stringify(d.hire).replace(/\}$/, ',}')],
          ['single quotes', JSON.stringify(d.hire).replaceAll('"', "'")],
          ['JavaScript, not JSON', `module.exports = ${JSON.stringify(d.hire)}`],
          ['YAML, not JSON', Object.entries(d.hire).map(([k, v]) => `${k}: ${String(v)}`).join('\n')],
          ['two documents', `${JSON.stringify(d.hire)}\n${JSON.stringify(d.hire)}`],
          ['NaN', '{"employeeId": NaN}'],
          ['byte-order mark and junk', '\uFEFF\u0000{'],
        ),
        fc.constantFrom('__proto__', 'constructor', 'prototype', 'isAdmin', 'username', 'detail').map((key): [string, string] => [
          `extra key ${key}`,
          JSON.stringify(d.hire).replace(/^\{/, `{${JSON.stringify(key)}:{"polluted":true},`),
        ]),
        fc.integer({ min: 100, max: 100_000 }).map((depth): [string, string] => [
          `nested ${depth} deep`,
          JSON.stringify({ ...d.hire, groups: '@NESTED@' }).replace('"@NESTED@"', `${'['.repeat(depth)}${']'.repeat(depth)}`),
        ]),
        fc.integer({ min: 100, max: 100_000 }).map((depth): [string, string] => [`top level nested ${depth} deep`, `${'['.repeat(depth)}${']'.repeat(depth)}`]),
        fc.oneof(fc.constant(null), fc.integer(), fc.boolean(), fc.string(), fc.array(fc.jsonValue({ maxDepth: 2 }), { maxLength: 3 })).map((value): [string, string] => [
          `not an object: ${typeof value}`,
          JSON.stringify(value),
        ]),
        fc.constant<[string, string]>(['a whole EventBridge event', JSON.stringify({ version: '0', 'detail-type': 'Employee Hired', source: 'hr', detail: d.hire })]),
      )
      .chain(([why, text]) => broken({ ...d, via: 'file' }, why, '--input', (r) => ({ ...r, file: text }))),
  // --input that is not a readable file.
  (d) =>
    fc.constantFrom<[string, string]>(['no such file', MISSING], ['a directory', DIR], ['NUL in the path', `${MISSING}\u0000`], ['a huge path', 'p'.repeat(5000)]).chain(([why, where]) =>
      broken({ ...d, via: 'file' }, why, '--input', (r) => ({ groups: r.groups.map((g) => g.map((t) => t.replace(FILE, where))) })),
    ),
];

const invalidCase: fc.Arbitrary<CliCase> = fc.tuple(draft, fc.integer({ min: 0, max: mutations.length - 1 })).chain(([d, i]) => mutations[i]!(d));

// --- random -------------------------------------------------------------------------------

/** Options of `start` and a few near misses. `--wait` and help are left out: they are not input to check. */
const flagName = fc.constantFrom(
  ...Object.values(HIRE_FLAGS),
  '--input',
  '--name',
  '--json',
  '--debug',
  '--local',
  '--stage',
  '--region',
  '--state-machine-arn',
  '--endpoint-url',
  '--',
  '-',
  '--no-json',
  '--email=',
  '-e',
);
const token = fc.oneof(
  { weight: 4, arbitrary: flagName },
  { weight: 2, arbitrary: fc.string({ maxLength: 40 }) },
  { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 20 }) },
  { weight: 1, arbitrary: fc.string({ unit: 'grapheme', maxLength: 20 }) },
  { weight: 1, arbitrary: fc.constantFrom(FILE, DIR, MISSING, 'E-1', 'Bob', 'bob@example.com', 'dev', 'eu-west-1', FLAG_ARN) },
  { weight: 1, arbitrary: controlChar },
);
const HELP = /^(--help(=.*)?|-[^-]*h.*)$/s;
const arbitraryCase: fc.Arbitrary<CliCase> = fc
  .record({
    command: fc.oneof({ weight: 9, arbitrary: fc.constant('start') }, { weight: 1, arbitrary: fc.constantFrom('strat', 'START', 'start\n', 'begin', '--start') }),
    tokens: fc.array(token.filter((t) => !HELP.test(t) && t !== '--wait'), { maxLength: 14 }),
    file: fc.oneof(fc.jsonValue({ maxDepth: 3 }).map((v) => JSON.stringify(v)), fc.string({ maxLength: 200 }), validHire.map((h) => JSON.stringify(h))),
  })
  .map(({ command, tokens, file }) => ({ kind: 'arbitrary', why: 'random argv', argv: [command, ...tokens], file }));

const anyCase = fc.oneof({ weight: 3, arbitrary: validCase }, { weight: 5, arbitrary: invalidCase }, { weight: 2, arbitrary: arbitraryCase });


// --- onboarding reprovision ---------------------------------------------------------------

/** The sweep's numeric flags and the range each accepts. */
const NUMBERS: Array<[string, number, number]> = [
  ['--unused-password-days', 1, 365],
  ['--max-password-resets', 0, 100],
  ['--concurrency', 1, 50],
];
const badNumber = (min: number, max: number) =>
  fc.oneof(
    fc.integer({ min: -1_000_000, max: min - 1 }).map(String),
    fc.integer({ min: max + 1, max: 2 ** 53 }).map(String),
    fc.constantFrom('', ' ', 'seven', '1.5', '1e1', '0x10', '+5', ' 5', '5 ', 'Infinity', 'NaN', '\u0663', '\uff15', '9'.repeat(400)),
    controlChar.map((c) => `5${c}`),
  );
const managedPath = fc.oneof(fc.constantFrom('/onboarding/', '/'), fc.stringMatching(/^\/[a-z0-9_-]{1,20}\/([a-z0-9_-]{1,20}\/)?$/));
const managedBy = fc.stringMatching(/^[A-Za-z0-9 _.:/=+@-]{1,256}$/);
const badPath = fc.oneof(
  fc.constantFrom('onboarding', 'onboarding/', '/onboarding', '', '//', '/a b/', `/${'a'.repeat(600)}/`, '/é/'),
  controlChar.map((c) => `/on${c}boarding/`),
);
const badTag = fc.oneof(fc.constantFrom('', 'a#b', 'a,b', 'cost€', 'x'.repeat(257), 'a;rm -rf'), controlChar.map((c) => `iam-onboarding${c}dev`));
const sweepTarget = fc.constantFrom<[string[][], boolean]>(
  // [tokens, whether they say which deployment's users (the managed-by default)]
  [[], false],
  [[['--stage', 'dev']], true],
  [[['--local']], true],
  [[['--state-machine-arn', REPROVISION_ARN], ['--onboarding-state-machine-arn', STACK_ARN]], false],
);

interface SweepDraft {
  groups: string[][];
  /** The managed path the sweep must list. */
  path: string;
}
const sweepDraft: fc.Arbitrary<SweepDraft> = fc
  .record({
    target: sweepTarget,
    numbers: fc.subarray(NUMBERS).chain((flags) => fc.tuple(...flags.map(([flag, min, max]) => fc.integer({ min, max }).map((n) => [flag, String(n)])))),
    path: fc.option(managedPath, { nil: undefined }),
    by: fc.option(managedBy, { nil: undefined }),
    extras: fc.subarray([['--dry-run'], ['--json'], ['--debug']]),
  })
  .map(({ target: [tokens, named], numbers, path: p, by, extras: more }) => {
    // Without a stage, --managed-by is what says whose users these are.
    const owner = by ?? (named ? undefined : 'iam-onboarding-dev');
    return {
      groups: [...tokens, ...numbers, ...more, ...(p !== undefined ? [['--managed-path', p]] : []), ...(owner !== undefined ? [['--managed-by', owner]] : [])],
      path: p ?? '/onboarding/',
    };
  });

const sweepCase = (kind: CliCase['kind'], why: string, names: string | undefined, groups: string[][], pathPrefix?: string) =>
  shuffled(groups).map(
    (tokens): CliCase & { pathPrefix?: string } => ({
      kind,
      why,
      argv: ['reprovision', ...tokens],
      ...(names !== undefined && { names }),
      ...(pathPrefix !== undefined && { pathPrefix }),
    }),
  );
const without = (groups: string[][], flag: string) => groups.filter((g) => g[0] !== flag);

const sweepMutations: Array<(d: SweepDraft) => fc.Arbitrary<CliCase & { pathPrefix?: string }>> = [
  (d) =>
    fc.constantFrom(...NUMBERS).chain(([flag, min, max]) =>
      badNumber(min, max).chain((value) => sweepCase('invalid', `bad ${flag}`, flag, [...without(d.groups, flag), [flag, value]])),
    ),
  (d) => badPath.chain((value) => sweepCase('invalid', 'bad --managed-path', '--managed-path', [...without(d.groups, '--managed-path'), ['--managed-path', value]])),
  (d) => badTag.chain((value) => sweepCase('invalid', 'bad --managed-by', '--managed-by', [...without(d.groups, '--managed-by'), ['--managed-by', value]])),
  (d) =>
    fc.constantFrom('--concurrency', '--managed-by', '--unused-password-days', '--stage').map((flag) => ({
      kind: 'invalid' as const,
      why: `no value for ${flag}`,
      argv: ['reprovision', ...without(d.groups, flag).flat(), flag],
      names: flag,
    })),
  (d) => fc.constantFrom('--dryrun', '--dry', '--unused-days', '--max-resets', '-n', '--force').chain((flag) => sweepCase('invalid', `unknown ${flag}`, flag, [...d.groups, [flag]])),
  (d) => sweepCase('invalid', '--dry-run takes no value', 'too many arguments', [...without(d.groups, '--dry-run'), ['--dry-run', 'yes']]),
  (d) =>
    sweepCase(
      'invalid',
      'no deployment named',
      "which deployment's users?",
      without(without(without(without(d.groups, '--managed-by'), '--stage'), '--local'), '--state-machine-arn').filter((g) => g[0] !== '--onboarding-state-machine-arn'),
    ),
];

const sweepFlag = fc.constantFrom('--dry-run', '--json', '--debug', '--local', '--stage', '--managed-path', '--managed-by', ...NUMBERS.map(([flag]) => flag), '--state-machine-arn', '--onboarding-state-machine-arn', '--', '-');
const sweepToken = fc.oneof(
  { weight: 4, arbitrary: sweepFlag },
  { weight: 2, arbitrary: fc.oneof(fc.integer({ min: -5, max: 400 }).map(String), fc.string({ maxLength: 12 })) },
  { weight: 1, arbitrary: fc.constantFrom('dev', '/onboarding/', 'iam-onboarding-dev', REPROVISION_ARN, STACK_ARN) },
  { weight: 1, arbitrary: controlChar },
);
const anySweepCase = fc.oneof(
  { weight: 3, arbitrary: sweepDraft.chain((d) => sweepCase('valid', 'valid sweep', undefined, d.groups, d.path)) },
  { weight: 5, arbitrary: fc.tuple(sweepDraft, fc.integer({ min: 0, max: sweepMutations.length - 1 })).chain(([d, i]) => sweepMutations[i]!(d)) },
  {
    weight: 2,
    arbitrary: fc
      .array(sweepToken.filter((t) => !HELP.test(t)), { maxLength: 12 })
      .map((tokens): CliCase & { pathPrefix?: string } => ({ kind: 'arbitrary', why: 'random argv', argv: ['reprovision', ...tokens] })),
  },
);

// --- the run ------------------------------------------------------------------------------

const sfn = mockClient(SFNClient);
const cfn = mockClient(CloudFormationClient);
const iam = mockClient(IAMClient);
let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'onboarding-cli-fuzz-'));
  await writeFile(
    path.join(dir, '.local-stack.json'),
    JSON.stringify({ endpoint: 'http://127.0.0.1:45999', stateMachines: { onboarding: LOCAL_ARN, reprovision: LOCAL_REPROVISION_ARN } }),
  );
});
afterAll(async () => {
  sfn.restore();
  cfn.restore();
  iam.restore();
  if (dir) await rm(dir, { recursive: true, force: true });
});

function mockAws(): void {
  sfn.reset();
  cfn.reset();
  iam.reset();
  iam.on(ListUsersCommand).resolves({ Users: [], IsTruncated: false });
  iam.on(GetAccountAuthorizationDetailsCommand).resolves({ UserDetailList: [], IsTruncated: false });
  sfn.on(DescribeExecutionCommand).rejects(new ExecutionDoesNotExist({ message: 'Execution Does Not Exist', $metadata: { httpStatusCode: 400 } }));
  sfn.on(StartExecutionCommand).callsFake(async (input: { stateMachineArn: string; name: string }) => ({
    executionArn: executionArnFor(input.stateMachineArn, input.name),
    startDate: new Date(),
  }));
  cfn.on(DescribeStacksCommand).resolves({
    Stacks: [
      {
        StackName: 'iam-onboarding-dev',
        CreationTime: new Date(),
        StackStatus: 'UPDATE_COMPLETE',
        Outputs: [
          { OutputKey: ONBOARDING.stackOutput, OutputValue: STACK_ARN },
          { OutputKey: REPROVISION.stackOutput, OutputValue: REPROVISION_ARN },
        ],
      },
    ],
  });
}

const awsCalls = () => sfn.calls().length + cfn.calls().length + iam.calls().length;
const describeCase = (c: CliCase) => JSON.stringify({ ...c, file: c.file?.slice(0, 200) }).slice(0, 600);
const STACK_TRACE = /\n\s+at .+(:\d+:\d+\)?|\(native\))$/m;
// One line, printable: no control, format or separator character survives into it.
const ERROR_LINE = /^onboarding: [^\p{C}\p{Zl}\p{Zp}]+\n$/u;
const MAX_ERROR_LINE = 500;

describe('CLI input', () => {
  it('refuses every bad command line with one printable line and no AWS call, starts every valid one exactly once, and never crashes', async ({ task }) => {
    const tally = { tried: 0, rejected: 0, accepted: 0, crashes: 0, awsCallsOnRejected: 0, valid: 0, invalid: 0, arbitrary: 0, longestErrorLine: 0 };

    await fc.assert(
      fc.asyncProperty(anyCase, async (testCase) => {
        mockAws();
        const file = path.join(dir, 'hire.json');
        if (testCase.file !== undefined) await writeFile(file, testCase.file);
        const argv = testCase.argv.map((t) => t.replace(FILE, file).replace(DIR, dir).replace(MISSING, path.join(dir, 'missing.json')));
        const out = { stdout: '', stderr: '' };
        tally.tried += 1;
        tally[testCase.kind] += 1;

        let code: number;
        try {
          code = await run(argv, {
            stdout: (text) => (out.stdout += text),
            stderr: (text) => (out.stderr += text),
            env: { [ONBOARDING.env]: ENV_ARN },
            projectRoot: dir,
            sleep: async () => undefined,
          });
        } catch (error) {
          tally.crashes += 1;
          throw new Error(`run() threw for ${describeCase(testCase)}`, { cause: error });
        }
        const what = `${describeCase(testCase)}\n-> exit ${code}\nstdout: ${out.stdout.slice(0, 400)}\nstderr: ${out.stderr.slice(0, 400)}`;
        if (![0, 2].includes(code) || STACK_TRACE.test(out.stdout) || STACK_TRACE.test(out.stderr)) {
          tally.crashes += 1;
          expect.fail(`crash: ${what}`);
        }

        const calls = awsCalls();
        if (code === 2) {
          tally.rejected += 1;
          tally.awsCallsOnRejected += calls;
          expect(testCase.kind, `valid case refused: ${what}`).not.toBe('valid');
          expect(calls, what).toBe(0);
          expect(out.stdout, what).toBe('');
          expect(out.stderr, what).toMatch(ERROR_LINE);
          const length = Array.from(out.stderr).length;
          tally.longestErrorLine = Math.max(tally.longestErrorLine, length);
          expect(length, what).toBeLessThanOrEqual(MAX_ERROR_LINE);
          if (testCase.names) expect(out.stderr, `the error does not name ${testCase.names}: ${what}`).toContain(testCase.names);
          return;
        }

        tally.accepted += 1;
        expect(testCase.kind, `invalid case accepted: ${what}`).not.toBe('invalid');
        expect(out.stderr, what).toBe('');
        const starts = sfn.commandCalls(StartExecutionCommand);
        expect(starts, what).toHaveLength(1);
        const sent = starts[0]!.args[0].input;
        const hire = parseHire(JSON.parse(sent.input ?? ''), {});
        if (testCase.expected) {
          expect(sent.stateMachineArn, what).toBe(testCase.expected.stateMachineArn);
          expect(hire, what).toEqual(parseHire(testCase.expected.hire, {}));
        }
      }),
      { numRuns: Number(process.env.FUZZ_RUNS ?? 1000), seed: Number(process.env.FUZZ_SEED ?? 20261122) },
    );

    recordFigure(task, 'CLI cases tried', tally.tried);
    recordFigure(task, 'valid / invalid / random by construction', `${tally.valid} / ${tally.invalid} / ${tally.arbitrary}`);
    recordFigure(task, 'rejected (exit 2, one line)', tally.rejected);
    recordFigure(task, 'accepted (exactly one StartExecution)', tally.accepted);
    recordFigure(task, 'crashes', tally.crashes);
    recordFigure(task, 'AWS calls for rejected input', tally.awsCallsOnRejected);
    recordFigure(task, 'longest error line (characters)', tally.longestErrorLine);
    expect(tally.crashes).toBe(0);
    expect(tally.awsCallsOnRejected).toBe(0);
  });
  it('refuses every bad `reprovision` flag with one printable line and no AWS call, and sweeps (reading IAM only) for every valid one', async ({ task }) => {
    const tally = { tried: 0, rejected: 0, accepted: 0, crashes: 0, awsCallsOnRejected: 0, valid: 0, invalid: 0, arbitrary: 0 };

    await fc.assert(
      fc.asyncProperty(anySweepCase, async (testCase) => {
        mockAws();
        const out = { stdout: '', stderr: '' };
        tally.tried += 1;
        tally[testCase.kind] += 1;
        let code: number;
        try {
          code = await run(testCase.argv, {
            stdout: (text) => (out.stdout += text),
            stderr: (text) => (out.stderr += text),
            env: { [ONBOARDING.env]: ENV_ARN, [REPROVISION.env]: REPROVISION_ARN },
            projectRoot: dir,
          });
        } catch (error) {
          tally.crashes += 1;
          throw new Error(`run() threw for ${describeCase(testCase)}`, { cause: error });
        }
        const what = `${describeCase(testCase)}\n-> exit ${code}\nstdout: ${out.stdout.slice(0, 400)}\nstderr: ${out.stderr.slice(0, 400)}`;
        if (![0, 2].includes(code) || STACK_TRACE.test(out.stdout) || STACK_TRACE.test(out.stderr)) {
          tally.crashes += 1;
          expect.fail(`crash: ${what}`);
        }

        if (code === 2) {
          tally.rejected += 1;
          tally.awsCallsOnRejected += awsCalls();
          expect(testCase.kind, `valid case refused: ${what}`).not.toBe('valid');
          expect(awsCalls(), what).toBe(0);
          expect(out.stdout, what).toBe('');
          expect(out.stderr, what).toMatch(ERROR_LINE);
          expect(Array.from(out.stderr).length, what).toBeLessThanOrEqual(MAX_ERROR_LINE);
          if (testCase.names) expect(out.stderr, `the error does not name ${testCase.names}: ${what}`).toContain(testCase.names);
          return;
        }

        tally.accepted += 1;
        expect(testCase.kind, `invalid case accepted: ${what}`).not.toBe('invalid');
        expect(out.stderr, what).toBe('');
        // No users: the sweep lists the managed path, reads the leavers' census (the account's
        // users with their tags) and has nothing to write or start.
        const listed = iam.commandCalls(ListUsersCommand);
        expect(listed, what).toHaveLength(1);
        if (testCase.pathPrefix) expect(listed[0]!.args[0].input.PathPrefix, what).toBe(testCase.pathPrefix);
        const census = iam.commandCalls(GetAccountAuthorizationDetailsCommand);
        expect(census, what).toHaveLength(1);
        expect(iam.calls().length - listed.length - census.length + sfn.calls().length, what).toBe(0);
      }),
      // Another seed than the first property's, so that the two do not walk the same choices.
      { numRuns: Number(process.env.FUZZ_RUNS ?? 1000), seed: Number(process.env.FUZZ_SEED ?? 20261122) + 1 },
    );

    recordFigure(task, 'reprovision cases tried', tally.tried);
    recordFigure(task, 'valid / invalid / random by construction', `${tally.valid} / ${tally.invalid} / ${tally.arbitrary}`);
    recordFigure(task, 'rejected (exit 2, one line)', tally.rejected);
    recordFigure(task, 'accepted (swept, read-only)', tally.accepted);
    recordFigure(task, 'crashes', tally.crashes);
    recordFigure(task, 'AWS calls for rejected input', tally.awsCallsOnRejected);
    expect(tally.crashes).toBe(0);
    expect(tally.awsCallsOnRejected).toBe(0);
  });
});
