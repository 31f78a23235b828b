import * as z from 'zod/mini';
import { iamClient, sfnClient, ssmClient } from '../../lib/clients.ts';
import { sweepConfig } from '../../lib/config.ts';
import { InvalidReprovisionRequest, MassOffboardingHeld, SweepIncomplete } from '../../lib/errors.ts';
import { lambdaHandler, logger } from '../../lib/lambda.ts';
import { sweep, type SweepReport } from '../../lib/sweep.ts';
import { describeIssues, validate } from '../../lib/validation.ts';

// The schedule's input, or `{"dryRun": true}` given by hand; other fields (a raw scheduled
// event's) are ignored.
const eventSchema = z.object({ dryRun: z.optional(z.boolean('must be true or false')) });

/**
 * Where in the list of users an invocation that starts at `now` begins, as a fraction of it: a
 * day, or a minute of the day, later begins 0.618 (the golden ratio's fraction) further round,
 * so the daily runs, and the retries minutes apart, begin at well-spread places.
 */
export function startOf(now: Date): number {
  const minutes = Math.floor(now.getTime() / 60_000);
  const steps = Math.floor(minutes / 1440) + (minutes % 1440);
  return (steps * 0.6180339887498949) % 1;
}

/**
 * Sweeps the managed users and starts the executions that heal them. The report is logged and
 * returned; if some users could not be handled the invocation fails afterwards, so the failure
 * shows in the function's error metrics (a retry does not act twice: execution names are per day).
 *
 * It is never cut off halfway: it begins no user in the last tenth of its time, and reports
 * the ones it did not get to as deferred, which fails the invocation too. Lambda then invokes it
 * again (the schedule's invocation is asynchronous: two more tries, a minute or two apart), and
 * each invocation begins at another place in the list ({@link startOf}): the users one left
 * are soon reached by another, today or at the latest on the following days.
 */
export const handler = lambdaHandler(async (event: unknown, context): Promise<SweepReport> => {
  const parsed = validate(eventSchema, event ?? {}, '(event)');
  if (!parsed.success) throw new InvalidReprovisionRequest(`Invalid sweep input: ${describeIssues(parsed.issues)}`);

  const remaining = context.getRemainingTimeInMillis();
  const report = await sweep({ iam: iamClient(), sfn: sfnClient(), ssm: ssmClient() }, sweepConfig(), {
    dryRun: parsed.data.dryRun ?? false,
    deadline: Date.now() + remaining - remaining / 10,
    startAt: startOf(new Date()),
    skipActedOnToday: true,
  });
  for (const user of report.users) {
    if (user.outcome === 'error') logger.error('user not handled', { ...user });
    else if (user.outcome === 'deferred') logger.warn('user left for the next invocation', { userName: user.userName });
    else if (user.action !== 'none') logger.info('user reprovisioned', { ...user });
  }
  logger.info('sweep finished', {
    dryRun: report.dryRun,
    scanned: report.scanned,
    actions: report.actions,
    outcomes: report.outcomes,
    guard: report.guard,
  });
  const { error, deferred } = report.outcomes;
  if (error + deferred > 0) {
    const left = deferred > 0 ? ` (${deferred} not begun before the time ran out)` : '';
    throw new SweepIncomplete(`${error + deferred} of ${report.scanned} users could not be handled${left}; see the log`);
  }
  // The deletions the guard held fail the invocation too, so that it alarms and ops look.
  if (report.outcomes.held > 0) {
    const { deletionsDue, deletionsAllowed, recentlyOffboarded, managed, allowance } = report.guard;
    throw new MassOffboardingHeld(
      `${deletionsDue - deletionsAllowed} of ${deletionsDue} deletions of offboarded users held: ${recentlyOffboarded} of ${managed} managed users ` +
        `lost their access within a day, and at most ${allowance} may without a confirmation; run "onboarding confirm-offboarding" if this is intended`,
    );
  }
  return report;
});
