import { iamClient } from '../lib/clients.ts';
import type { Hire } from '../lib/hire.ts';
import { lambdaHandler, logger } from '../lib/lambda.ts';
import { markComplete } from '../lib/completion.ts';
import { countCompletion } from '../lib/metrics.ts';
import type { Delivery } from '../lib/credentials-delivery.ts';

/** Tags the user complete and returns the execution's summary. */
export const handler = lambdaHandler(
  async (event: { hire: Hire; user: { arn: string; path: string; userName?: string }; delivery: Delivery; executionId?: string }) => {
    const summary = await markComplete(iamClient(), event);
    logger.info('onboarding complete', { userName: summary.userName });
    countCompletion(event.executionId);
    return summary;
  },
);
