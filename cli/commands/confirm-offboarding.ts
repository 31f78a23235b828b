import os from 'node:os';
import { PutParameterCommand } from '@aws-sdk/client-ssm';
import type { Command } from 'commander';
import { confirmationFor, MAX_CONFIRMATION_MS } from '../../functions/lib/offboarding-guard.ts';
import { SERVICE } from '../../local/serverless-yaml.ts';
import { EXIT, printJson, UsageError, type CommandContext, type Io } from '../output.ts';
import { OFFBOARDING, withCommonOptions, withSession, type TargetOptions } from '../target.ts';

interface ConfirmOptions extends TargetOptions {
  for: string;
  parameterName?: string;
}

const MAX_MINUTES = MAX_CONFIRMATION_MS / 60_000;

export function register(program: Command, ctx: CommandContext): void {
  const command = program
    .command('confirm-offboarding')
    .description(
      'lift the mass-change guard for a while: offboardings and the sweep\'s deletions go ahead past the day\'s share ' +
        '(an SSM parameter of the stack, which the functions read)',
    )
    .option('--for <minutes>', `how long the confirmation lasts, in minutes (at most ${MAX_MINUTES})`, '60')
    .option('--parameter-name <name>', `the SSM parameter (default: /${SERVICE}/<stage>/offboarding-confirmation, or $OFFBOARDING_CONFIRMATION_PARAMETER)`);
  withCommonOptions(command, OFFBOARDING).action(async (options: ConfirmOptions) => ctx.exit(await confirm(ctx.io, options)));
}

/** The parameter the stage's functions read: serverless.yml `custom.offboardingConfirmationParameter`. */
export function confirmationParameterName(options: Pick<ConfirmOptions, 'parameterName' | 'stage' | 'local'>, env: Record<string, string | undefined>): string {
  if (options.parameterName !== undefined) return options.parameterName;
  if (options.stage !== undefined) return `/${SERVICE}/${options.stage}/offboarding-confirmation`;
  if (options.local) return `/${SERVICE}/local/offboarding-confirmation`;
  const fromEnv = env.OFFBOARDING_CONFIRMATION_PARAMETER;
  if (fromEnv) return fromEnv;
  throw new UsageError('which stage? Pass --stage <stage> or --local, or --parameter-name, or set OFFBOARDING_CONFIRMATION_PARAMETER');
}

function minutesOf(text: string): number {
  const minutes = /^\d+$/.test(text) ? Number(text) : Number.NaN;
  if (!Number.isInteger(minutes) || minutes < 1 || minutes > MAX_MINUTES) throw new UsageError(`--for: must be a whole number of minutes from 1 to ${MAX_MINUTES}`);
  return minutes;
}

async function confirm(io: Io, options: ConfirmOptions): Promise<number> {
  return withSession(
    io,
    options,
    async (session) => {
      const minutes = minutesOf(options.for);
      const name = confirmationParameterName(options, io.env ?? process.env);
      const stateMachineArn = await session.stateMachineArn();
      const ssm = await session.ssm(stateMachineArn);
      // Who confirmed, as far as this machine knows; CloudTrail records the AWS principal of the PutParameter.
      const by = `${os.userInfo().username}@${os.hostname()}`;
      const confirmation = confirmationFor(by, new Date(), minutes * 60_000);
      await ssm.send(new PutParameterCommand({ Name: name, Type: 'String', Overwrite: true, Value: JSON.stringify(confirmation) }));
      if (options.json) printJson(io, { parameterName: name, ...confirmation });
      else {
        io.stdout(
          `Mass offboarding confirmed until ${confirmation.expiresAt} (${name}).\n` +
            'Offboardings and the sweep\'s deletions now go ahead past the day\'s share. Held offboardings do not restart by ' +
            'themselves: run them again with `onboarding offboard --employee-id <id> --name <new name>`.\n',
        );
      }
      return EXIT.ok;
    },
    OFFBOARDING,
  );
}
