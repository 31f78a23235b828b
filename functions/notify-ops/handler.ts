import { sesClient } from '../lib/clients.ts';
import { config } from '../lib/config.ts';
import type { Hire } from '../lib/hire.ts';
import { lambdaHandler, logger } from '../lib/lambda.ts';
import type { CaughtError } from '../lib/caught-error.ts';
import { countFailure } from '../lib/metrics.ts';
import { notifyOps, type Flow } from '../lib/ops-notice.ts';

/**
 * Emails the ops address about a failed onboarding. `state` is the whole execution state at
 * the failure: `hire` is there unless validation itself failed.
 */
export const handler = lambdaHandler(
  async (event: { executionId: string; flow?: Flow; state: { hire?: Hire; error: CaughtError } }) => {
    const { SENDER_EMAIL, OPS_EMAIL } = config();
    const { hire, error } = event.state;
    const result = await notifyOps(
      sesClient(),
      {
        executionId: event.executionId,
        ...(event.flow && { flow: event.flow }),
        error,
        ...(hire && { hire: { employeeId: hire.employeeId, userName: hire.userName, email: hire.email } }),
      },
      { sender: SENDER_EMAIL, opsEmail: OPS_EMAIL },
    );
    logger.info('ops notified', { errorName: error.Error, messageId: result.messageId });
    // Counted once ops know (a retry after a failed send counts nothing twice). A removal of
    // console access is mailed the same way but is no failure: its own step counted it.
    if (error.Error !== 'ConsoleAccessRemoved') countFailure(error.Error);
    return result;
  },
);
