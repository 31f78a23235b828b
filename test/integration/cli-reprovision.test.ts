/**
 * `onboarding reprovision --local` against the local stack: the sweep runs in the CLI's process
 * with its own IAM and Step Functions clients, over loopback, as it would run against AWS with
 * an admin's credentials; the executions it starts run the real definitions and handlers.
 */
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { SweepReport } from '../../functions/lib/sweep.ts';
import { useLocalCli } from '../support/local-cli.ts';
import { expectNoSecrets } from '../support/secrets.ts';

const HIRE = { employeeId: 'E-3001', firstName: 'Grace', lastName: 'Hopper', email: 'grace.hopper@example.com', department: 'engineering' };
const USER = 'grace.hopper';

const local = useLocalCli('onboarding-cli-reprovision-');
const { cli } = local;

const arnOf = (key: string) => local.stack.stateMachines.find((m) => m.key === key)?.arn ?? '';
const mailTo = async (to: string) => (await local.stack.mail()).filter((m) => m.to.includes(to));

describe('onboarding reprovision on the local stack', () => {
  it('heals an onboarding that failed on SES: the dry run changes nothing, the real run resets and re-sends', async () => {
    // --local assumes the local stage's tag: the one the functions write.
    expect(local.stack.functionEnv.MANAGED_BY).toBe('iam-onboarding-local');
    expect(local.stack.functionEnv.MANAGED_PATH).toBe('/onboarding/');

    // SES rejects the credentials email once: the user and its password exist, the mail never left.
    local.stack.faults.add({ service: 'ses', operation: 'SendEmail', error: 'MessageRejected', count: 1 });
    const onboarding = await cli(['start', '--input', await hireFile(), '--wait']);
    expect(onboarding.code).toBe(1);
    expect(onboarding.stdout).toMatch(/\nFailed after .*: MessageRejected\n/);
    expect(await mailTo(HIRE.email)).toHaveLength(0);
    local.stack.faults.clear();

    const before = local.stack.requests().length;
    const dryRun = await cli(['reprovision', '--dry-run']);
    const made = local.stack.requests().slice(before);

    expect(dryRun.stderr).toBe('');
    expect(dryRun.code).toBe(0);
    expect(dryRun.stdout).toMatch(new RegExp(`\\n${USER.replace('.', '\\.')} +reset-password +credentials-not-sent +planned +reset-grace_hopper-[0-9a-f]{8}-\\d{4}-\\d\\d-\\d\\d\\n`));
    expect(dryRun.stdout).toContain('\nDry run: nothing was changed (no execution started, nothing written to IAM).');
    // It read IAM through the stack, and wrote nothing anywhere (IAM, SES, Step Functions).
    expect(made.map((r) => `${r.service}:${r.operation}`)).toEqual(expect.arrayContaining(['iam:ListUsers', 'iam:GetUser', 'iam:GetLoginProfile']));
    expect(made.filter((r) => !/^(Get|List|Describe)/.test(r.operation))).toEqual([]);
    expect(local.stack.executions(arnOf('reprovision'))).toHaveLength(0);

    const run = await cli(['reprovision']);
    await local.stack.waitForIdle();

    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(new RegExp(`\\n${USER.replace('.', '\\.')} +reset-password +credentials-not-sent +started +reset-grace_hopper-`));
    const [reset] = local.stack.executions(arnOf('reprovision'));
    expect(reset).toMatchObject({ status: 'SUCCEEDED' });
    expect(JSON.parse(reset?.output ?? '{}')).toMatchObject({ status: 'PASSWORD_RESET', userName: USER, emailsSent: 1 });
    expect(local.stack.requests({ service: 'iam', operation: 'UpdateLoginProfile' })).toEqual([
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
    expect(local.stack.executions(arnOf('reprovision'))).toHaveLength(1);

    // The onboarding's password and the reset's: in IAM and the mail, nowhere the CLI printed.
    const passwords = local.stack.passwordsSent();
    expect(passwords).toHaveLength(2);
    expectNoSecrets(passwords, { onboarding, dryRun, run, again, logs: local.logs() });
  });

  it('onboards again a user the onboarding left without a login profile', async () => {
    local.stack.faults.add({ service: 'iam', operation: 'CreateLoginProfile', error: 'EntityTemporarilyUnmodifiable' });
    expect((await cli(['start', '--input', await hireFile(), '--wait'])).code).toBe(1);
    local.stack.faults.clear();

    const run = await cli(['reprovision', '--json']);
    await local.stack.waitForIdle();

    expect(run.code).toBe(0);
    const report = JSON.parse(run.stdout) as SweepReport;
    expect(report).toMatchObject({ dryRun: false, scanned: 1, outcomes: { started: 1 } });
    expect(report.users[0]).toMatchObject({ userName: USER, action: 'restart-onboarding', reason: 'no-login-profile', outcome: 'started' });
    const restarted = local.stack.executions(arnOf('onboarding')).find((e) => e.name === report.users[0]?.executionName);
    expect(restarted).toMatchObject({ status: 'SUCCEEDED' });
    expect(await mailTo(HIRE.email)).toHaveLength(1);
    expectNoSecrets(local.stack.passwordsSent(), { run, logs: local.logs() });
  });
});

async function hireFile(): Promise<string> {
  const file = path.join(local.root, 'hire.json');
  await writeFile(file, JSON.stringify(HIRE));
  return file;
}
