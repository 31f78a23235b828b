/**
 * Which IAM users a command treats as the workflow's (the stage's managed path and managed-by
 * value) and the sweep's settings, from flags: what `reprovision` and `status` share, checked
 * before anything is sent to AWS.
 */
import { InvalidArgumentError, type Command } from 'commander';
import { isIamPath, isManagedByValue } from '../functions/lib/iam-names.ts';
import type { Ownership } from '../functions/lib/managed-user.ts';
import { SWEEP_DEFAULTS, sweepNumberFromText, type SweepNumber } from '../functions/lib/sweep-settings.ts';
import { DEFAULT_MANAGED_PATH, LOCAL_STAGE, SERVICE } from '../local/serverless-yaml.ts';
import { UsageError } from './output.ts';

export interface OwnershipOptions {
  managedPath?: string;
  managedBy?: string;
  local?: boolean;
  stage?: string;
}

export interface SweepOptions {
  // Commander fills these in with the defaults.
  unusedPasswordDays: number;
  maxPasswordResets: number;
}

/** `--managed-path` and `--managed-by`. */
export function withOwnershipOptions(command: Command): Command {
  return command
    .option('--managed-path <path>', `IAM path of the users the workflow manages (default: ${DEFAULT_MANAGED_PATH})`)
    .option('--managed-by <value>', `the stage's onboarding:managed-by tag value (default: ${SERVICE}-<stage>)`);
}

/** The sweep's own rule for the setting, or commander reports the flag as bad input (exit 2). */
export function sweepNumber(key: SweepNumber) {
  return (value: string): number => {
    const result = sweepNumberFromText(key, value);
    if (!result.success) throw new InvalidArgumentError(result.issues.map((issue) => issue.problem).join('; '));
    return result.data;
  };
}

/** `--unused-password-days` and `--max-password-resets`: the stage's values when it sets others than the defaults. */
export function withSweepOptions(command: Command): Command {
  return command
    .option('--unused-password-days <n>', 'reset a temporary password unused this many days', sweepNumber('unusedPasswordDays'), SWEEP_DEFAULTS.unusedPasswordDays)
    .option('--max-password-resets <k>', 'resets of one password before console access is removed instead', sweepNumber('maxPasswordResets'), SWEEP_DEFAULTS.maxPasswordResets);
}

/** Which users are ours, from the flags: checked before anything is sent to AWS. */
export function ownership(options: OwnershipOptions): Ownership {
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
