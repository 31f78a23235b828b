import type { SESClient } from '@aws-sdk/client-ses';
import { causeMessage, type CaughtError } from './caught-error.ts';
import { escapeHtml, sendEmails, type EmailMessage } from './email.ts';
import type { RemovalPlan } from './offboarding.ts';

/**
 * The ops email of the leaver flow: a user was offboarded (what was removed, and when the sweep
 * deletes it), or an offboarding did not happen (held by the mass-change guard, or failed). The
 * same shape as the onboarding's failure notice (ops-notice.ts): plain lines, no secrets.
 */
export type OffboardingNotice =
  | { executionId: string; employeeId: string; userName: string; removed: RemovalPlan; retentionDays: number }
  | { executionId: string; employeeId?: string; userName?: string; error: CaughtError };

function removedLines(removed: RemovalPlan): string[] {
  return [
    `Console password: ${removed.loginProfile ? 'deleted' : 'there was none'}`,
    `Access keys deactivated: ${removed.accessKeys.length}`,
    `Groups left: ${removed.groups.length > 0 ? removed.groups.join(', ') : 'none'}`,
    `MFA devices deactivated: ${removed.mfaDevices.length}`,
  ];
}

export function offboardingEmail(notice: OffboardingNotice): EmailMessage {
  const who = notice.userName ?? notice.employeeId ?? 'an unidentified employee';
  let subject: string;
  let lines: string[];
  if ('removed' in notice) {
    subject = `User ${who} offboarded`;
    lines = [
      `The access of user ${notice.userName} (employee ${notice.employeeId}) was removed.`,
      ...removedLines(notice.removed),
      `The user is kept, tagged offboarded, and deleted by the sweep ${notice.retentionDays} days from now.`,
      `Execution: ${notice.executionId}`,
    ];
  } else {
    const held = notice.error.Error === 'MassOffboardingHeld';
    subject = `Offboarding ${held ? 'held' : 'failed'} for ${who}: ${notice.error.Error}`;
    lines = [
      held ? 'An offboarding was held by the mass-change guard; the user was not changed.' : `An offboarding failed with ${notice.error.Error}.`,
      `User: ${notice.userName ?? '(not determined)'}`,
      `Employee id: ${notice.employeeId ?? '(not determined)'}`,
      `Execution: ${notice.executionId}`,
      `Cause: ${causeMessage(notice.error.Cause).slice(0, 2000)}`,
    ];
  }
  return {
    subject: subject.replace(/[\r\n]/g, ' '),
    text: lines.join('\n'),
    html: `<!doctype html><html><body>${lines.map((l) => `<p>${escapeHtml(l)}</p>`).join('')}</body></html>`,
  };
}

export async function notifyOpsOfOffboarding(
  ses: SESClient,
  notice: OffboardingNotice,
  settings: { sender: string; opsEmail: string },
): Promise<{ messageId: string }> {
  const [messageId] = await sendEmails(ses, settings.sender, settings.opsEmail, [offboardingEmail(notice)]);
  return { messageId: messageId ?? '' };
}
