import { StopExecutionCommand, type SFNClient } from '@aws-sdk/client-sfn';

/**
 * Stops an onboarding that waits for a start date HR has since changed: another execution took
 * its claim over (functions/lib/onboarding-claim.ts) and waits for the new date. Stopping it is
 * tidiness, not safety: were it left, it would find on waking that the claim is no longer its
 * own and end without a password (SUPERSEDED). So a failure to stop it is reported, not thrown.
 */
export async function stopSupersededExecution(
  sfn: SFNClient,
  executionArn: string,
  supersededBy: string,
): Promise<{ stopped: true } | { stopped: false; error: string }> {
  try {
    await sfn.send(
      new StopExecutionCommand({
        executionArn,
        error: 'StartDateMoved',
        cause: `The hire's start date changed; ${supersededBy} onboards it instead`,
      }),
    );
    return { stopped: true };
  } catch (error) {
    return { stopped: false, error: error instanceof Error ? error.name : 'UnknownError' };
  }
}
