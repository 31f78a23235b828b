import * as z from 'zod/mini';
import { iamClient, sfnClient } from '../../lib/clients.ts';
import { sweepConfig } from '../../lib/config.ts';
import { InvalidReprovisionRequest, SweepIncomplete } from '../../lib/errors.ts';
import { lambdaHandler, logger } from '../../lib/lambda.ts';
import { sweep, type SweepReport } from '../../lib/sweep.ts';
import { describeIssues, validate } from '../../lib/validation.ts';

// The schedule's input, or `{"dryRun": true}` given by hand; other fields (a raw scheduled
// event's) are ignored.
const eventSchema = z.object({ dryRun: z.optional(z.boolean('must be true or false')) });

/**
 * Sweeps the managed users and starts the executions that heal them. The report is logged and
 * returned; if some users could not be handled the invocation fails afterwards, so the failure
 * shows in the function's error metrics (a retry does not act twice: execution names are per day).
 */
export const handler = lambdaHandler(async (event: unknown): Promise<SweepReport> => {
  const parsed = validate(eventSchema, event ?? {}, '(event)');
  if (!parsed.success) throw new InvalidReprovisionRequest(`Invalid sweep input: ${describeIssues(parsed.issues)}`);

  const report = await sweep({ iam: iamClient(), sfn: sfnClient() }, sweepConfig(), { dryRun: parsed.data.dryRun ?? false });
  for (const user of report.users) {
    if (user.outcome === 'error') logger.error('user not handled', { ...user });
    else if (user.action !== 'none') logger.info('user reprovisioned', { ...user });
  }
  logger.info('sweep finished', {
    dryRun: report.dryRun,
    scanned: report.scanned,
    actions: report.actions,
    outcomes: report.outcomes,
  });
  if (report.outcomes.error > 0) {
    throw new SweepIncomplete(`${report.outcomes.error} of ${report.scanned} users could not be handled; see the log`);
  }
  return report;
});
