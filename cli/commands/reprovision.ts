import { InvalidArgumentError, Option, type Command } from 'commander';
import { isIamPath, isManagedByValue } from '../../functions/lib/iam-names.ts';
import type { Ownership } from '../../functions/lib/managed-user.ts';
import { sweep, type SweepReport } from '../../functions/lib/sweep.ts';
import { SWEEP_DEFAULTS, sweepNumberFromText, type SweepNumber, type SweepSettings } from '../../functions/lib/sweep-settings.ts';
import { DEFAULT_MANAGED_PATH, LOCAL_STAGE, SERVICE } from '../../local/serverless-yaml.ts';
import { EXIT, oneLine, printJson, table, UsageError, type CommandContext, type Io } from '../output.ts';
import { checkStateMachineArn, ONBOARDING, REPROVISION, withCommonOptions, withSession, type TargetOptions } from '../target.ts';

interface ReprovisionOptions extends TargetOptions {
  dryRun?: boolean;
  // Commander fills these in with the defaults.
  unusedPasswordDays: number;
  maxPasswordResets: number;
  concurrency: number;
  managedPath?: string;
  managedBy?: string;
  onboardingStateMachineArn?: string;
}

/** The sweep's own rule for the setting, or commander reports the flag as bad input (exit 2). */
function sweepNumber(key: SweepNumber) {
  return (value: string): number => {
    const result = sweepNumberFromText(key, value);
    if (!result.success) throw new InvalidArgumentError(result.issues.map((issue) => issue.problem).join('; '));
    return result.data;
  };
}

export function register(program: Command, ctx: CommandContext): void {
  const command = program
    .command('reprovision')
    .description(
      'sweep the managed users now, as the schedule does: restart unfinished onboardings, reset and re-send passwords never used',
    )
    .option('--dry-run', 'report what would be done; start nothing and change nothing')
    .option('--unused-password-days <n>', 'reset a temporary password unused this many days', sweepNumber('unusedPasswordDays'), SWEEP_DEFAULTS.unusedPasswordDays)
    .option('--max-password-resets <k>', 'resets of one password before console access is removed instead', sweepNumber('maxPasswordResets'), SWEEP_DEFAULTS.maxPasswordResets)
    .option('--concurrency <c>', 'users handled at the same time', sweepNumber('concurrency'), SWEEP_DEFAULTS.concurrency)
    .option('--managed-path <path>', `IAM path of the users the workflow manages (default: ${DEFAULT_MANAGED_PATH})`)
    .option('--managed-by <value>', `the stage's onboarding:managed-by tag value (default: ${SERVICE}-<stage>)`)
    .addOption(
      new Option('--onboarding-state-machine-arn <arn>', `onboarding state machine ARN (default: $${ONBOARDING.env})`).conflicts(['stage']),
    );
  // --state-machine-arn names the reprovision state machine: the one this command is about.
  withCommonOptions(command, REPROVISION).action(async (options: ReprovisionOptions) => ctx.exit(await reprovision(ctx.io, options)));
}

/** Which users are ours, from the flags: checked before anything is sent to AWS. */
function ownership(options: ReprovisionOptions): Ownership {
  const managedPath = options.managedPath ?? DEFAULT_MANAGED_PATH;
  if (!isIamPath(managedPath)) {
    throw new UsageError(`--managed-path: ${JSON.stringify(managedPath)} is not an IAM path (like /onboarding/: starts and ends with "/", at most 512 characters)`);
  }
  const stage = options.local ? LOCAL_STAGE : options.stage;
  const managedBy = options.managedBy ?? (stage && `${SERVICE}-${stage}`);
  if (managedBy === undefined) {
    throw new UsageError(`which deployment's users? Pass --stage <stage> or --local, or --managed-by <value> (the stage's managedBy, ${SERVICE}-<stage>)`);
  }
  if (!isManagedByValue(managedBy)) {
    throw new UsageError(`--managed-by: ${JSON.stringify(managedBy)} is not an IAM tag value (1-256 letters, digits, spaces and _.:/=+-@)`);
  }
  return { managedPath, managedBy };
}

async function reprovision(io: Io, options: ReprovisionOptions): Promise<number> {
  return withSession(
    io,
    options,
    async (session) => {
      if (options.onboardingStateMachineArn !== undefined) {
        checkStateMachineArn('--onboarding-state-machine-arn', options.onboardingStateMachineArn);
      }
      const owned = ownership(options);
      const reprovisionStateMachineArn = await session.stateMachineArn();
      const onboardingStateMachineArn = options.onboardingStateMachineArn ?? (await session.stateMachineArn(ONBOARDING));
      const settings: SweepSettings = {
        ...SWEEP_DEFAULTS,
        ...owned,
        onboardingStateMachineArn,
        reprovisionStateMachineArn,
        unusedPasswordDays: options.unusedPasswordDays,
        maxPasswordResets: options.maxPasswordResets,
        concurrency: options.concurrency,
      };
      const clients = { iam: await session.iam(reprovisionStateMachineArn), sfn: await session.sfn(reprovisionStateMachineArn) };

      const report = await sweep(clients, settings, { dryRun: options.dryRun ?? false });

      if (options.json) printJson(io, report);
      else io.stdout(reportText(report, settings));
      return report.outcomes.error > 0 ? EXIT.failed : EXIT.ok;
    },
    REPROVISION,
  );
}

function counts(record: Record<string, number>): string {
  const shown = Object.entries(record).filter(([, n]) => n > 0);
  return shown.length === 0 ? 'none' : shown.map(([key, n]) => `${n} ${key}`).join(', ');
}

function reportText(report: SweepReport, settings: SweepSettings): string {
  const scope = `users under ${settings.managedPath} tagged onboarding:managed-by=${settings.managedBy}`;
  const lines: string[] = [];
  if (report.dryRun) lines.push(`Dry run: ${scope} (nothing will be changed)\n`);
  else lines.push(`Sweeping ${scope}\n`);

  if (report.users.length === 0) {
    lines.push('No users found.\n');
  } else {
    lines.push(
      table(
        ['USER', 'ACTION', 'REASON', 'OUTCOME', 'EXECUTION'],
        report.users.map((u) => [u.userName, u.action, u.reason, u.outcome, u.executionName]),
      ),
    );
    // A detail quotes AWS's error message or the user's tags: one line each, whatever they hold.
    for (const user of report.users.filter((u) => u.detail !== undefined)) lines.push(`  ${user.userName}: ${user.outcome}: ${oneLine(user.detail ?? '')}\n`);
  }

  lines.push(`Scanned ${report.scanned} ${report.scanned === 1 ? 'user' : 'users'}; actions: ${counts({ ...report.actions, none: 0 })}; outcomes: ${counts(report.outcomes)}\n`);
  if (report.dryRun) {
    const next = report.outcomes.planned > 0 ? ' Run without --dry-run to start the planned executions.' : '';
    lines.push(`Dry run: nothing was changed (no execution started, nothing written to IAM).${next}\n`);
  }
  if (report.outcomes.error > 0) {
    lines.push(`${report.outcomes.error} users could not be handled (see above); the next sweep tries them again.\n`);
  }
  return lines.join('');
}
