import { iamClient } from '../lib/clients.ts';
import { config, ownershipOf } from '../lib/config.ts';
import { lambdaHandler, logger } from '../lib/lambda.ts';
import { findLeaver, type Leaver } from '../lib/offboarding.ts';
import { parseLeaverQuery, type Termination } from '../lib/termination.ts';

/** Finds the managed user created for the terminated employee (reads only). */
export const handler = lambdaHandler(async (event: { termination: Termination; executionId?: string }): Promise<Leaver> => {
  // Checked again: this step must never act on a termination that did not pass validation.
  const leaver = await findLeaver(iamClient(), parseLeaverQuery(event.termination), ownershipOf(config()));
  logger.info('leaver looked up', { ...leaver });
  return leaver;
});
