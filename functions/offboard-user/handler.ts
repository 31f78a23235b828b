import { iamClient, ssmClient } from '../lib/clients.ts';
import { config, ownershipOf } from '../lib/config.ts';
import { lambdaHandler, logger } from '../lib/lambda.ts';
import { count } from '../lib/metrics.ts';
import { offboardUser, type OffboardResult } from '../lib/offboarding.ts';
import { offboardingConfig } from '../lib/offboarding-settings.ts';
import { hireIdentitySchema } from '../lib/user-hire.ts';
import { InvalidHrEvent } from '../lib/errors.ts';
import { validate } from '../lib/validation.ts';

/**
 * Removes the leaver's access (or, for a dry run, says what would go). Its reserved concurrency of
 * 1 makes offboardings take turns, so that each one's mass-change guard counts the ones before it.
 */
export const handler = lambdaHandler(
  async (event: { leaver: unknown; dryRun?: boolean; executionId: string }): Promise<OffboardResult> => {
    const identity = validate(hireIdentitySchema, event.leaver, '(leaver)');
    if (!identity.success) throw new InvalidHrEvent(identity.issues);
    const settings = config();
    const offboarding = offboardingConfig();
    const result = await offboardUser(
      { iam: iamClient(), ssm: ssmClient() },
      { ...identity.data, executionId: event.executionId, dryRun: event.dryRun === true },
      { ownership: ownershipOf(settings), guard: offboarding.guard, confirmationParameter: offboarding.confirmationParameter, allowedGroups: settings.ALLOWED_GROUPS },
    );
    logger.warn('offboarding', { userName: result.userName, employeeId: result.employeeId, status: result.status });
    if (result.status === 'OFFBOARDED') count('Offboarded');
    return result;
  },
);
