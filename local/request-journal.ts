/**
 * What the stack answered, kept for tests and the admin API: every AWS call with only its
 * non-secret parameters, the passwords the functions sent to IAM (so that they can be masked,
 * and proven absent elsewhere), and the mail SES accepted, passwords masked.
 */
import { escapeHtml } from '../functions/lib/email.ts';
import type { AwsRequest } from './aws-protocol.ts';

/** One AWS call the stack answered, with only non-secret parameters. */
export interface RecordedRequest {
  at: number;
  service: string;
  operation: string;
  params: Record<string, string>;
  status: number;
  /** The error code of the answer, if it was an error. */
  error?: string;
  /** Set when a fault rule produced or delayed the answer. */
  faultRuleId?: string;
}

/** An email SES (moto) accepted, every password the stack saw masked. */
export interface DeliveredMail {
  id: string;
  source: string;
  to: string[];
  cc: string[];
  subject: string;
  text?: string;
  html?: string;
  /** The HTML part when there is one, else the text (what moto keeps). */
  body: string;
}

const SAFE_PARAM =
  /^(UserName|GroupName|Path|PathPrefix|PasswordResetRequired|PolicyArn|Source|Destination\.(To|Cc|Bcc)Addresses\.member\.\d+|Tags\.member\.\d+\.(Key|Value)|TagKeys\.member\.\d+|EmailAddress|KeyId|EncryptionContext|stateMachineArn|executionArn|name|statusFilter|Name|EventBusName|FunctionName)$/;
const PASSWORD_OPERATIONS = ['CreateLoginProfile', 'UpdateLoginProfile', 'ChangePassword'];
const SECRET_PARAMS = ['Password', 'NewPassword', 'OldPassword'];
const MASK = '********';

/** SendEmail's parameters (awsQuery) and moto's answer, as one delivered message. */
function acceptedMail(params: Record<string, string>, answer: string): DeliveredMail {
  const list = (prefix: string) =>
    Object.keys(params)
      .filter((k) => k.startsWith(prefix))
      .sort((a, b) => Number(a.slice(prefix.length)) - Number(b.slice(prefix.length)))
      .map((k) => params[k] ?? '');
  const text = params['Message.Body.Text.Data'];
  const html = params['Message.Body.Html.Data'];
  return {
    id: /<MessageId>([^<]+)<\/MessageId>/.exec(answer)?.[1] ?? '',
    source: params.Source ?? '',
    to: list('Destination.ToAddresses.member.'),
    cc: list('Destination.CcAddresses.member.'),
    subject: params['Message.Subject.Data'] ?? '',
    ...(text !== undefined && { text }),
    ...(html !== undefined && { html }),
    body: html ?? text ?? '',
  };
}

export class RequestJournal {
  private requests: RecordedRequest[] = [];
  private secrets: string[] = [];
  // What was sent, kept here: moto's own store is only readable through a dump of every service.
  private mailbox: DeliveredMail[] = [];

  /** Keeps the passwords a call sends to IAM, before anything else happens to it. */
  received(call: AwsRequest): void {
    if (call.service !== 'iam' || !PASSWORD_OPERATIONS.includes(call.operation)) return;
    for (const name of SECRET_PARAMS) if (call.params[name]) this.secrets.push(call.params[name]);
  }

  answered(call: AwsRequest, status: number, error: string | undefined, faultRuleId: string | undefined): void {
    this.requests.push({
      at: Date.now(),
      service: call.service,
      operation: call.operation,
      params: Object.fromEntries(Object.entries(call.params).filter(([k]) => SAFE_PARAM.test(k))),
      status,
      ...(error !== undefined && { error }),
      ...(faultRuleId !== undefined && { faultRuleId }),
    });
  }

  /** SES (moto) accepted a SendEmail call: `answer` is its response body. */
  mailAccepted(params: Record<string, string>, answer: string): void {
    this.mailbox.push(acceptedMail(params, answer));
  }

  list(filter: { service?: string; operation?: string } = {}): RecordedRequest[] {
    return this.requests
      .filter((r) => (!filter.service || r.service === filter.service) && (!filter.operation || r.operation === filter.operation))
      .map((r) => ({ ...r, params: { ...r.params } }));
  }

  passwordsSent(): string[] {
    return [...this.secrets];
  }

  mail(): DeliveredMail[] {
    const mask = (text: string) => this.secrets.reduce((masked, secret) => masked.split(secret).join(MASK).split(escapeHtml(secret)).join(MASK), text);
    return this.mailbox.map((m) => ({
      ...m,
      subject: mask(m.subject),
      body: mask(m.body),
      ...(m.text !== undefined && { text: mask(m.text) }),
      ...(m.html !== undefined && { html: mask(m.html) }),
    }));
  }

  clear(): void {
    this.requests = [];
    this.secrets = [];
    this.mailbox = [];
  }
}
