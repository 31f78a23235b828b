import type { IAMClient } from '@aws-sdk/client-iam';
import type { Delivery } from './credentials-delivery.ts';
import type { Hire } from './hire.ts';
import { toTagValue } from './iam-names.ts';
import { tagStatus, TAG } from './managed-user.ts';

export interface OnboardingSummary {
  status: 'ONBOARDED';
  employeeId: string;
  userName: string;
  arn: string;
  path: string;
  groups: string[];
  signInUrl: string;
  emailsSent: number;
  completedAt: string;
}

/** Tags the user complete (and by which execution) and returns the execution's summary (never the password). */
export async function markComplete(
  iam: IAMClient,
  input: { hire: Hire; user: { arn: string; path: string; userName?: string }; delivery: Delivery; executionId?: string },
  now: Date = new Date(),
): Promise<OnboardingSummary> {
  const completedAt = now.toISOString();
  const userName = input.user.userName ?? input.hire.userName;
  await tagStatus(iam, userName, 'complete', now, {
    [TAG.credentialsSentAt]: input.delivery.sentAt,
    ...(input.executionId && { [TAG.completedBy]: toTagValue(input.executionId) }),
  });
  return {
    status: 'ONBOARDED',
    employeeId: input.hire.employeeId,
    userName,
    arn: input.user.arn,
    path: input.user.path,
    groups: input.hire.groups,
    signInUrl: input.delivery.signInUrl,
    emailsSent: input.delivery.messageIds.length,
    completedAt,
  };
}
