import type { SESClient } from '@aws-sdk/client-ses';
import { causeMessage, type CaughtError } from './caught-error.ts';
import { escapeHtml, sendEmails } from './email.ts';
import type { Hire } from './hire.ts';

/** Which workflow failed, as ops read it: the sentence's subject, then the email subject's. */
const FLOWS = {
  onboarding: ['An onboarding', 'Onboarding'],
  move: ['A move', 'Move'],
} as const;

export type Flow = keyof typeof FLOWS;

export interface OpsNotice {
  executionId: string;
  /** Default: onboarding. */
  flow?: Flow;
  error: CaughtError;
  hire?: Partial<Pick<Hire, 'employeeId' | 'userName' | 'email'>>;
}

/** Emails the ops address that an onboarding (or another flow) failed, with the error name and message. */
export async function notifyOps(
  ses: SESClient,
  notice: OpsNotice,
  settings: { sender: string; opsEmail: string },
): Promise<{ messageId: string }> {
  const who = notice.hire?.userName ?? notice.hire?.employeeId ?? 'an unidentified hire';
  const [flow, Flow] = FLOWS[notice.flow ?? 'onboarding'];
  const lines = [
    `${flow} failed with ${notice.error.Error}.`,
    `User: ${notice.hire?.userName ?? '(not determined)'}`,
    `Employee id: ${notice.hire?.employeeId ?? '(not determined)'}`,
    `Execution: ${notice.executionId}`,
    `Cause: ${causeMessage(notice.error.Cause).slice(0, 2000)}`,
  ];
  const [messageId] = await sendEmails(ses, settings.sender, settings.opsEmail, [
    {
      subject: `${Flow} failed for ${who}: ${notice.error.Error}`.replace(/[\r\n]/g, ' '),
      text: lines.join('\n'),
      html: `<!doctype html><html><body>${lines.map((l) => `<p>${escapeHtml(l)}</p>`).join('')}</body></html>`,
    },
  ]);
  return { messageId: messageId ?? '' };
}
