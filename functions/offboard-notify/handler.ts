import type { CaughtError } from '../lib/caught-error.ts';
import { sesClient } from '../lib/clients.ts';
import { config } from '../lib/config.ts';
import { lambdaHandler, logger } from '../lib/lambda.ts';
import { countFailure } from '../lib/metrics.ts';
import type { RemovalPlan } from '../lib/offboarding.ts';
import { notifyOpsOfOffboarding } from '../lib/offboarding-notice.ts';
import { offboardingConfig } from '../lib/offboarding-settings.ts';

interface OffboardingState {
  termination?: { employeeId?: string; userName?: string };
  leaver?: { employeeId?: string; userName?: string };
  offboarding?: { removed?: RemovalPlan };
  error?: CaughtError;
}

/** Emails the ops address that a user was offboarded, or that an offboarding was held or failed. */
export const handler = lambdaHandler(async (event: { executionId: string; state: OffboardingState }) => {
  const { SENDER_EMAIL, OPS_EMAIL } = config();
  const { termination, leaver, offboarding, error } = event.state;
  const employeeId = leaver?.employeeId ?? termination?.employeeId;
  const userName = leaver?.userName ?? termination?.userName;
  const notice =
    error === undefined && offboarding?.removed && employeeId && userName
      ? { executionId: event.executionId, employeeId, userName, removed: offboarding.removed, retentionDays: offboardingConfig().retentionDays }
      : {
          executionId: event.executionId,
          ...(employeeId && { employeeId }),
          ...(userName && { userName }),
          error: error ?? { Error: 'States.Runtime', Cause: 'no outcome in state' },
        };
  const result = await notifyOpsOfOffboarding(sesClient(), notice, { sender: SENDER_EMAIL, opsEmail: OPS_EMAIL });
  logger.info('ops notified of offboarding', { errorName: error?.Error, messageId: result.messageId });
  if (error) countFailure(error.Error);
  return result;
});
