import { sesClient } from '../lib/clients.ts';
import { config } from '../lib/config.ts';
import type { Hire } from '../lib/hire.ts';
import { lambdaHandler, logger } from '../lib/lambda.ts';
import type { CaughtError } from '../lib/caught-error.ts';
import { notifyOps } from '../lib/ops-notice.ts';

/**
 * Emails the ops address about a failed onboarding. `state` is the whole execution state at
 * the failure: `hire` is there unless validation itself failed.
 */
export const handler = lambdaHandler(
  async (event: { executionId: string; state: { hire?: Hire; error: CaughtError } }) => {
    const { SENDER_EMAIL, OPS_EMAIL } = config();
    const { hire, error } = event.state;
    const result = await notifyOps(
      sesClient(),
      {
        executionId: event.executionId,
        error,
        ...(hire && { hire: { employeeId: hire.employeeId, userName: hire.userName, email: hire.email } }),
      },
      { sender: SENDER_EMAIL, opsEmail: OPS_EMAIL },
    );
    logger.info('ops notified', { errorName: error.Error, messageId: result.messageId });
    return result;
  },
);
