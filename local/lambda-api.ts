/**
 * Lambda's Invoke on the stack's endpoint (`POST /2015-03-31/functions/<name>/invocations`):
 * enough for `aws lambda invoke` and the SDK's InvokeCommand. The function is named by its
 * deployed name or ARN (`iam-onboarding-local-reprovisionSweep`); `RequestResponse` answers
 * with its result, or its error with `X-Amz-Function-Error: Unhandled` as Lambda does, `Event`
 * runs it in the background (202), `DryRun` only checks the name (204).
 */
import { randomUUID } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import type { HttpAnswer } from './aws-protocol.ts';

const INVOKE_PATH = /^\/2015-03-31\/functions\/([^/]+)\/invocations$/;

export interface LambdaTarget {
  /** Deployed function names are `<namePrefix><key>`. */
  namePrefix: string;
  region: string;
  accountId: string;
  /** The serverless.yml keys of the functions that can be invoked. */
  functionKeys: () => string[];
  /** Runs the function; a failure is Lambda's report (a JSON message) or a Lambda fault (its name). */
  invoke: (functionKey: string, payload: unknown) => Promise<unknown>;
}

export function isLambdaInvoke(method: string | undefined, url: URL): boolean {
  return method === 'POST' && INVOKE_PATH.test(url.pathname);
}

/** The function name in the path: a name, `name:qualifier`, or an ARN. */
export function invokedFunctionName(url: URL): string {
  const raw = decodeURIComponent(INVOKE_PATH.exec(url.pathname)?.[1] ?? '');
  return raw.startsWith('arn:') ? (raw.split(':')[6] ?? '') : (raw.split(':')[0] ?? '');
}

function answer(status: number, body: unknown, headers: Record<string, string> = {}): HttpAnswer {
  return {
    status,
    headers: { 'content-type': 'application/json', 'x-amzn-requestid': randomUUID(), ...headers },
    body: body === undefined ? '' : JSON.stringify(body),
  };
}

function lambdaError(status: number, code: string, message: string): HttpAnswer {
  return answer(status, { Type: status >= 500 ? 'Service' : 'User', message }, { 'x-amzn-errortype': code });
}

/** Lambda faults the stack can inject, as Invoke answers them. */
const SERVICE_FAULTS: Record<string, number> = {
  'Lambda.TooManyRequestsException': 429,
  'Lambda.ServiceException': 500,
  'Lambda.AWSLambdaException': 502,
};

/** Answers an Invoke; `error` is what the journal records (the function's errorType, or the API error). */
export async function invokeAnswer(
  url: URL,
  headers: IncomingHttpHeaders,
  body: Buffer,
  target: LambdaTarget,
): Promise<{ answer: HttpAnswer; error?: string }> {
  const name = invokedFunctionName(url);
  const key = name.startsWith(target.namePrefix) ? name.slice(target.namePrefix.length) : undefined;
  if (!key || !target.functionKeys().includes(key)) {
    const arn = `arn:aws:lambda:${target.region}:${target.accountId}:function:${name}`;
    return { answer: lambdaError(404, 'ResourceNotFoundException', `Function not found: ${arn}`), error: 'ResourceNotFoundException' };
  }
  let payload: unknown = {};
  if (body.length > 0) {
    try {
      payload = JSON.parse(body.toString('utf8'));
    } catch {
      const message = 'Could not parse request body into json: the payload is not valid JSON';
      return { answer: lambdaError(400, 'InvalidRequestContentException', message), error: 'InvalidRequestContentException' };
    }
  }
  const type = String(headers['x-amz-invocation-type'] ?? 'RequestResponse');
  const executed = { 'x-amz-executed-version': '$LATEST' };
  if (type === 'DryRun') return { answer: answer(204, undefined, executed) };
  if (type === 'Event') {
    target.invoke(key, payload).catch(() => undefined);
    return { answer: answer(202, undefined) };
  }
  try {
    return { answer: answer(200, (await target.invoke(key, payload)) ?? null, executed) };
  } catch (error) {
    const e = error instanceof Error ? error : new Error(String(error));
    const status = SERVICE_FAULTS[e.name];
    if (status) return { answer: lambdaError(status, e.name.slice('Lambda.'.length), e.message), error: e.name };
    let report: unknown;
    try {
      report = JSON.parse(e.message);
    } catch {
      report = { errorType: e.name, errorMessage: e.message };
    }
    return { answer: answer(200, report, { ...executed, 'x-amz-function-error': 'Unhandled' }), error: e.name };
  }
}
