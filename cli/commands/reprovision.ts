import { Option, type Command } from 'commander';
import { sweep, type SweepReport } from '../../functions/lib/sweep.ts';
import { SWEEP_DEFAULTS, type SweepSettings } from '../../functions/lib/sweep-settings.ts';
import { ownership, sweepNumber, withOwnershipOptions, withSweepOptions, type SweepOptions } from '../managed-users.ts';
import { EXIT, oneLine, printJson, table, type CommandContext, type Io } from '../output.ts';
import { checkStateMachineArn, ONBOARDING, REPROVISION, withCommonOptions, withSession, type TargetOptions } from '../target.ts';

interface ReprovisionOptions extends TargetOptions, SweepOptions {
  dryRun?: boolean;
  // Commander fills it in with the default.
  concurrency: number;
  managedPath?: string;
  managedBy?: string;
  onboardingStateMachineArn?: string;
}

export function register(program: Command, ctx: CommandContext): void {
  const command = program
    .command('reprovision')
    .description(
      'sweep the managed users now, as the schedule does: restart unfinished onboardings, reset and re-send passwords never used',
    )
    .option('--dry-run', 'report what would be done; start nothing and change nothing');
  withSweepOptions(command).option('--concurrency <c>', 'users handled at the same time', sweepNumber('concurrency'), SWEEP_DEFAULTS.concurrency);
  withOwnershipOptions(command).addOption(
    new Option('--onboarding-state-machine-arn <arn>', `onboarding state machine ARN (default: $${ONBOARDING.env})`).conflicts(['stage']),
  );
  // --state-machine-arn names the reprovision state machine: the one this command is about.
  withCommonOptions(command, REPROVISION).action(async (options: ReprovisionOptions) => ctx.exit(await reprovision(ctx.io, options)));
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
  const { guard } = report;
  if (guard.deletionsDue > 0) {
    const confirmed = guard.confirmedUntil ? `; confirmed until ${guard.confirmedUntil}` : '';
    lines.push(
      `Mass-change guard: ${guard.recentlyOffboarded} of ${guard.managed} managed users lost their access within a day, at most ${guard.allowance} may${confirmed}; ` +
        `${guard.deletionsAllowed} of ${guard.deletionsDue} deletions due went ahead.\n`,
    );
  }
  if (report.outcomes.held > 0) lines.push(`${report.outcomes.held} deletions held: \`onboarding confirm-offboarding\` lets them through (see "Leavers").\n`);
  return lines.join('');
}
