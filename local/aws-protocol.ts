/**
 * Just enough of AWS's wire protocols to route a request and to answer errors as AWS does:
 * awsQuery (IAM, SES, STS: form-encoded POST, XML errors) and awsJson (Step Functions,
 * EventBridge, KMS, SQS: `x-amz-target`, JSON errors with `__type`).
 */
import { randomUUID } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';

export type Protocol = 'query' | 'json';

export interface AwsRequest {
  /** The SigV4 credential scope's service name (`iam`, `states`, ...), or '' when unsigned. */
  service: string;
  operation: string;
  protocol: Protocol;
  /** Form parameters (query) or top-level JSON fields as strings (json). */
  params: Record<string, string>;
  /** The parsed JSON body (json protocol). */
  json?: Record<string, unknown>;
}

/** x-amz-target prefixes, for requests that carry no usable credential scope. */
const TARGET_SERVICES: Record<string, string> = {
  AWSStepFunctions: 'states',
  AWSEvents: 'events',
  TrentService: 'kms',
  AmazonSQS: 'sqs',
};

function header(headers: IncomingHttpHeaders, name: string): string {
  const value = headers[name];
  return Array.isArray(value) ? (value[0] ?? '') : (value ?? '');
}

/** `Credential=AKID/20260101/us-east-1/iam/aws4_request` -> `iam` */
export function scopeService(authorization: string): string {
  const match = /Credential=[^/]+\/\d{8}\/[^/]+\/([^/]+)\/aws4_request/.exec(authorization);
  return match?.[1] ?? '';
}

export function parseAwsRequest(headers: IncomingHttpHeaders, url: URL, body: Buffer): AwsRequest {
  const target = header(headers, 'x-amz-target');
  const contentType = header(headers, 'content-type');
  let service = scopeService(header(headers, 'authorization'));

  if (target) {
    const [prefix = '', operation = ''] = target.split('.');
    service ||= TARGET_SERVICES[prefix] ?? '';
    let json: Record<string, unknown> = {};
    try {
      const parsed: unknown = body.length > 0 ? JSON.parse(body.toString('utf8')) : {};
      if (parsed && typeof parsed === 'object' && !Array.isArray(parsed)) json = parsed as Record<string, unknown>;
    } catch {
      // Left to the service to reject (SerializationException).
    }
    const params = Object.fromEntries(
      Object.entries(json).map(([k, v]) => [k, typeof v === 'string' ? v : JSON.stringify(v)]),
    );
    return { service, operation, protocol: 'json', params, json };
  }

  const form = new URLSearchParams(url.search);
  if (contentType.startsWith('application/x-www-form-urlencoded')) {
    for (const [k, v] of new URLSearchParams(body.toString('utf8'))) form.set(k, v);
  }
  const params = Object.fromEntries(form);
  return { service, operation: params.Action ?? '', protocol: 'query', params };
}

export interface HttpAnswer {
  status: number;
  headers: Record<string, string>;
  body: string | Buffer;
}

const QUERY_NAMESPACES: Record<string, string> = {
  iam: 'https://iam.amazonaws.com/doc/2010-05-08/',
  ses: 'http://ses.amazonaws.com/doc/2010-12-01/',
  sts: 'https://sts.amazonaws.com/doc/2011-06-15/',
  sqs: 'http://queue.amazonaws.com/doc/2012-11-05/',
};

function xmlEscape(text: string): string {
  return text.replace(/[<>&'"]/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** An error as the service would send it: awsQuery XML or awsJson. */
export function awsError(
  request: Pick<AwsRequest, 'service' | 'protocol'>,
  error: { code: string; status: number; message: string },
): HttpAnswer {
  const requestId = randomUUID();
  if (request.protocol === 'json') {
    return {
      status: error.status,
      headers: {
        'content-type': request.service === 'states' ? 'application/x-amz-json-1.0' : 'application/x-amz-json-1.1',
        'x-amzn-requestid': requestId,
        'x-amzn-errortype': error.code,
      },
      body: JSON.stringify({ __type: error.code, message: error.message }),
    };
  }
  const ns = QUERY_NAMESPACES[request.service] ?? QUERY_NAMESPACES.iam;
  return {
    status: error.status,
    headers: { 'content-type': 'text/xml', 'x-amzn-requestid': requestId },
    body:
      `<ErrorResponse xmlns="${ns}"><Error><Type>${error.status >= 500 ? 'Receiver' : 'Sender'}</Type>` +
      `<Code>${xmlEscape(error.code)}</Code><Message>${xmlEscape(error.message)}</Message></Error>` +
      `<RequestId>${requestId}</RequestId></ErrorResponse>`,
  };
}

/** A successful awsJson answer. */
export function awsJson(service: string, result: unknown): HttpAnswer {
  return {
    status: 200,
    headers: {
      'content-type': service === 'states' ? 'application/x-amz-json-1.0' : 'application/x-amz-json-1.1',
      'x-amzn-requestid': randomUUID(),
    },
    body: JSON.stringify(result ?? {}),
  };
}

/** The error code of a service's answer (query XML `<Code>` or JSON `__type`), if it is an error. */
export function errorCodeOf(status: number, body: string): string | undefined {
  if (status < 300) return undefined;
  const xml = /<Code>([^<]+)<\/Code>/.exec(body);
  if (xml) return xml[1];
  try {
    const type = (JSON.parse(body) as { __type?: string }).__type;
    return type?.split('#').pop();
  } catch {
    return `HTTP${status}`;
  }
}

/** An error the stack raises itself (Step Functions, EventBridge routing): becomes an AWS error answer. */
export class AwsServiceError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly status = 400,
  ) {
    super(message);
    this.name = code;
  }
}
