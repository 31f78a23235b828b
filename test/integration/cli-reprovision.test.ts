/**
 * `onboarding reprovision --local` against the local stack: the sweep runs in the CLI's process
 * with its own IAM and Step Functions clients, over loopback, as it would run against AWS with
 * an admin's credentials; the executions it starts run the real definitions and handlers.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { SweepReport } from '../../functions/lib/reprovision.ts';
import { writeDiscoveryFile } from '../../local/discovery.ts';
import { startLocalStack, type LocalStack } from '../../local/stack.ts';
import { cli as runCli } from '../cli/support.ts';
import { captureOutput } from '../support/capture.ts';
import { expectNoSecrets } from '../support/secrets.ts';

const HIRE = { employeeId: 'E-3001', firstName: 'Grace', lastName: 'Hopper', email: 'grace.hopper@example.com', department: 'engineering' };
const USER = 'grace.hopper';

let stack: LocalStack;
let root: string;
/** The functions' log lines (they run in this process), kept out of the test output and checked for passwords. */
let logs: ReturnType<typeof captureOutput>;

/** The CLI with `--local`, reading the stack's discovery file, with no AWS settings of its own. */
function cli(argv: string[]) {
  return runCli([...argv, '--local'], { env: {}, projectRoot: root, pollMs: 20 });
}

beforeAll(async () => {
  stack = await startLocalStack({ quiet: true, retryIntervalMs: 10 });
  root = await mkdtemp(path.join(os.tmpdir(), 'onboarding-cli-reprovision-'));
  // What `npm run local` leaves in the project root for `--local`.
  writeDiscoveryFile(stack, root);
});

afterAll(async () => {
  await stack?.stop();
  if (root) await rm(root, { recursive: true, force: true });
});

beforeEach(async () => {
  await stack.reset();
  logs = captureOutput();
});

afterEach(() => logs.restore());

const arnOf = (key: string) => stack.stateMachines.find((m) => m.key === key)?.arn ?? '';
const mailTo = async (to: string) => (await stack.mail()).filter((m) => m.to.includes(to));

describe('onboarding reprovision on the local stack', () => {
  it('heals an onboarding that failed on SES: the dry run changes nothing, the real run resets and re-sends', async () => {
    // --local assumes the local stage's tag: the one the functions write.
    expect(stack.functionEnv.MANAGED_BY).toBe('iam-onboarding-local');
    expect(stack.functionEnv.MANAGED_PATH).toBe('/onboarding/');

    // SES rejects the credentials email once: the user and its password exist, the mail never left.
    stack.faults.add({ service: 'ses', operation: 'SendEmail', error: 'MessageRejected', count: 1 });
    const onboarding = await cli(['start', '--input', await hireFile(), '--wait']);
    expect(onboarding.code).toBe(1);
    expect(onboarding.stdout).toMatch(/\nFailed after .*: MessageRejected\n/);
    expect(await mailTo(HIRE.email)).toHaveLength(0);
    stack.faults.clear();

    const before = stack.requests().length;
    const dryRun = await cli(['reprovision', '--dry-run']);
    const made = stack.requests().slice(before);

    expect(dryRun.stderr).toBe('');
    expect(dryRun.code).toBe(0);
    expect(dryRun.stdout).toMatch(new RegExp(`\\n${USER.replace('.', '\\.')} +reset-password +credentials-not-sent +planned +reset-grace_hopper-[0-9a-f]{8}-\\d{4}-\\d\\d-\\d\\d\\n`));
    expect(dryRun.stdout).toContain('\nDry run: nothing was changed (no execution started, nothing written to IAM).');
    // It read IAM through the stack, and wrote nothing anywhere (IAM, SES, Step Functions).
    expect(made.map((r) => `${r.service}:${r.operation}`)).toEqual(expect.arrayContaining(['iam:ListUsers', 'iam:GetUser', 'iam:GetLoginProfile']));
    expect(made.filter((r) => !/^(Get|List|Describe)/.test(r.operation))).toEqual([]);
    expect(stack.executions(arnOf('reprovision'))).toHaveLength(0);

    const run = await cli(['reprovision']);
    await stack.waitForIdle();

    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(new RegExp(`\\n${USER.replace('.', '\\.')} +reset-password +credentials-not-sent +started +reset-grace_hopper-`));
    const [reset] = stack.executions(arnOf('reprovision'));
    expect(reset).toMatchObject({ status: 'SUCCEEDED' });
    expect(JSON.parse(reset?.output ?? '{}')).toMatchObject({ status: 'PASSWORD_RESET', userName: USER, emailsSent: 1 });
    expect(stack.requests({ service: 'iam', operation: 'UpdateLoginProfile' })).toEqual([
      expect.objectContaining({ status: 200, params: expect.objectContaining({ UserName: USER, PasswordResetRequired: 'true' }) }),
    ]);
    const mail = await mailTo(HIRE.email);
    expect(mail).toHaveLength(1);
    expect(mail[0]?.body).toContain(USER);

    // Healed: the next sweep finds nothing to do.
    const again = await cli(['reprovision', '--json']);
    expect(again.code).toBe(0);
    const report = JSON.parse(again.stdout) as SweepReport;
    expect(report.users).toEqual([expect.objectContaining({ userName: USER, action: 'none', reason: 'healthy', outcome: 'untouched' })]);
    expect(stack.executions(arnOf('reprovision'))).toHaveLength(1);

    // The onboarding's password and the reset's: in IAM and the mail, nowhere the CLI printed.
    const passwords = stack.passwordsSent();
    expect(passwords).toHaveLength(2);
    expectNoSecrets(passwords, { onboarding, dryRun, run, again, logs: logs.text() });
  });

  it('onboards again a user the onboarding left without a login profile', async () => {
    stack.faults.add({ service: 'iam', operation: 'CreateLoginProfile', error: 'EntityTemporarilyUnmodifiable' });
    expect((await cli(['start', '--input', await hireFile(), '--wait'])).code).toBe(1);
    stack.faults.clear();

    const run = await cli(['reprovision', '--json']);
    await stack.waitForIdle();

    expect(run.code).toBe(0);
    const report = JSON.parse(run.stdout) as SweepReport;
    expect(report).toMatchObject({ dryRun: false, scanned: 1, outcomes: { started: 1 } });
    expect(report.users[0]).toMatchObject({ userName: USER, action: 'restart-onboarding', reason: 'no-login-profile', outcome: 'started' });
    const restarted = stack.executions(arnOf('onboarding')).find((e) => e.name === report.users[0]?.executionName);
    expect(restarted).toMatchObject({ status: 'SUCCEEDED' });
    expect(await mailTo(HIRE.email)).toHaveLength(1);
    expectNoSecrets(stack.passwordsSent(), { run, logs: logs.text() });
  });
});

async function hireFile(): Promise<string> {
  const file = path.join(root, 'hire.json');
  await writeFile(file, JSON.stringify(HIRE));
  return file;
}
