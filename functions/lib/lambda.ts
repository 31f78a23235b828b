import { Logger } from '@aws-lambda-powertools/logger';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import middy from '@middy/core';
import type { Context } from 'aws-lambda';
import { publishMetrics } from './metrics.ts';

/**
 * The shared logger. Events are never logged whole (`logEvent` stays off): some carry sealed
 * credentials, and the input of a failed validation is whatever a caller sent.
 */
export const logger = new Logger({ serviceName: process.env.POWERTOOLS_SERVICE_NAME ?? 'iam-onboarding' });

/** Every workflow Lambda receives the execution id; it is the logs' correlation id. */
export interface WorkflowEvent {
  executionId?: string;
}

/** The account id of the running Lambda, from its ARN: no API call needed for the sign-in URL. */
export function accountIdOf(context: Pick<Context, 'invokedFunctionArn'>): string {
  return context.invokedFunctionArn.split(':')[4] ?? '';
}

/**
 * Wraps a handler body with middy: Lambda context and correlation id in every log line, one
 * error line (name and message only) before the error goes back to Step Functions, and the
 * workflow metrics the body counted (metrics.ts) published as the invocation ends, whether it
 * returns or throws.
 */
export function lambdaHandler<TEvent, TResult>(
  body: (event: TEvent, context: Context) => Promise<TResult>,
) {
  return middy(body)
    // logEvent: false wins over POWERTOOLS_LOGGER_LOG_EVENT, so no setting can log an event.
    .use(injectLambdaContext(logger, { resetKeys: true, logEvent: false }))
    .use({
      before: (request) => {
        // Workflow steps get the execution id; the raw input of ValidateInput may be any JSON.
        const event = request.event as WorkflowEvent | null | undefined;
        const executionId = typeof event === 'object' && typeof event?.executionId === 'string' ? event.executionId : undefined;
        logger.setCorrelationId(executionId ?? request.context.awsRequestId);
      },
      onError: (request) => {
        const error = request.error;
        logger.error('step failed', { errorName: error?.name, errorMessage: error?.message });
      },
    })
    .use({ after: publishMetrics, onError: publishMetrics });
}
