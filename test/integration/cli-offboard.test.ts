/**
 * `onboarding offboard --local` and `onboarding confirm-offboarding --local` against the local
 * stack: a hire onboarded with `start`, a dry run that changes nothing, the real offboarding
 * followed live, and a confirmation the functions read.
 */
import { GetParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import { describe, expect, it } from 'vitest';
import { confirmationInForce } from '../../functions/lib/offboarding-guard.ts';
import { useLocalCli } from '../support/local-cli.ts';

const local = useLocalCli('onboarding-cli-offboard-');
const { cli } = local;

describe('onboarding offboard and confirm-offboarding on the local stack', () => {
  it('dry-runs, then offboards a hire with the live view, and a duplicate says so', async () => {
    const hire = ['--employee-id', 'E-4001', '--first-name', 'Ada', '--last-name', 'Leaver', '--email', 'ada.leaver@example.com', '--department', 'engineering'];
    expect((await cli(['start', ...hire, '--wait'])).code).toBe(0);

    const before = local.stack.requests({ service: 'iam' }).filter((r) => !/^(Get|List)/.test(r.operation)).length;
    const dryRun = await cli(['offboard', '--employee-id', 'E-4001', '--dry-run']);
    console.log(dryRun.stdout);
    expect(dryRun.code).toBe(0);
    expect(dryRun.stdout).toContain('Dry run: nothing will be changed.');
    expect(dryRun.stdout).toMatch(/OffboardUser\s+done/);
    expect(dryRun.stdout).toContain('DRY_RUN');
    expect(dryRun.stdout).toContain('developers');
    expect(local.stack.requests({ service: 'iam' }).filter((r) => !/^(Get|List)/.test(r.operation)).length).toBe(before);

    const real = await cli(['offboard', '--employee-id', 'E-4001', '--wait']);
    console.log(real.stdout);
    expect(real.code).toBe(0);
    expect(real.stdout).toContain('Started offboard-E-4001');
    expect(real.stdout).toMatch(/NotifyOpsOfOffboarding\s+done/);
    expect(real.stdout).toContain('OFFBOARDED');

    const again = await cli(['offboard', '--employee-id', 'E-4001', '--name', 'offboard-E-4001-again', '--wait']);
    expect(again.code).toBe(0);
    expect(again.stdout).toContain('ALREADY_OFFBOARDED');
  });

  it('writes a confirmation to the stage\'s parameter that the guard takes', async () => {
    const result = await cli(['confirm-offboarding', '--for', '30']);
    expect(result.code).toBe(0);
    const ssm = new SSMClient({ endpoint: local.stack.endpoint, region: local.stack.region, credentials: { accessKeyId: 'test', secretAccessKey: 'test' } });
    const { Parameter } = await ssm.send(new GetParameterCommand({ Name: local.stack.functionEnv.OFFBOARDING_CONFIRMATION_PARAMETER }));
    ssm.destroy();
    expect(confirmationInForce(Parameter?.Value, new Date())).toBeDefined();
  });
});
