/**
 * Where an AWS call goes: a fault rule may answer or delay it; Step Functions and Lambda's
 * Invoke are served here;
 * everything else is forwarded to moto, and what moto did is followed up (a user created for
 * IAM's settling faults, mail accepted for the journal, events put on a bus for the rules).
 * Every call ends in the request journal.
 */
import type { IncomingMessage } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import { awsError, awsJson, AwsServiceError, errorCodeOf, parseAwsRequest, type AwsRequest, type HttpAnswer } from './aws-protocol.ts';
import type { EventRouter } from './eventbridge.ts';
import type { Fault, FaultInjector } from './faults.ts';
import { invokeAnswer, invokedFunctionName, isLambdaInvoke, type LambdaTarget } from './lambda-api.ts';
import type { RequestJournal } from './request-journal.ts';
import type { StepFunctionsApi } from './step-functions.ts';

export interface AwsRouterParts {
  motoEndpoint: string;
  faults: FaultInjector;
  stepFunctions: StepFunctionsApi;
  rules: EventRouter;
  journal: RequestJournal;
  /** The workflow's functions, for Lambda's Invoke. */
  lambda: LambdaTarget;
  log: (line: string) => void;
  /** Aborted when the stack stops: pending waits and forwarded calls end. */
  signal: AbortSignal;
}

// Hop-by-hop headers, and those fetch sets itself; on the way back, fetch has also decoded the body.
const NOT_FORWARDED = ['connection', 'content-length', 'host', 'transfer-encoding', 'expect', 'keep-alive'];
const NOT_RETURNED = ['connection', 'keep-alive', 'transfer-encoding', 'content-length', 'content-encoding'];

export class AwsRouter {
  constructor(private readonly parts: AwsRouterParts) {}

  async handle(req: IncomingMessage, body: Buffer, url: URL): Promise<HttpAnswer> {
    const { faults, journal } = this.parts;
    const call = parseAwsRequest(req.headers, url, body);
    if (isLambdaInvoke(req.method, url)) {
      // Lambda fault rules are applied by the function invocation itself, as for a Task's.
      const invoke = { ...call, service: 'lambda', operation: 'Invoke', params: { FunctionName: invokedFunctionName(url) } };
      journal.received(invoke);
      const { answer, error } = await invokeAnswer(url, req.headers, body, this.parts.lambda);
      journal.answered(invoke, answer.status, error, undefined);
      return answer;
    }
    journal.received(call);
    // Rules on `lambda` are about the workflow's functions, not the Lambda API.
    const fault = call.service === 'lambda' ? undefined : faults.pick(call);
    if (fault?.delayMs) await sleep(fault.delayMs, undefined, { signal: this.parts.signal });
    let answer: HttpAnswer;
    if (fault?.error && fault.when === 'before') {
      answer = awsError(call, fault.error);
    } else {
      answer = call.service === 'states' ? this.stepFunctions(call) : await this.moto(req, body, call, fault);
      // A fault `after` the work: the service did it, the caller hears the error.
      if (fault?.error) answer = awsError(call, fault.error);
    }
    journal.answered(call, answer.status, errorCodeOf(answer.status, answer.body.toString()), fault?.rule.id);
    return answer;
  }

  /** The request as it came, sent to moto; moto's answer. */
  async forward(req: IncomingMessage, body: Buffer): Promise<HttpAnswer> {
    // fetch leaves its abort listener on the signal it is given until the request is garbage
    // collected: given the stack's own signal, a stack that runs for days would pile them up.
    // Each call gets a signal of its own, which the stack's aborts while the call is pending.
    const { signal: stackSignal } = this.parts;
    stackSignal.throwIfAborted();
    const call = new AbortController();
    const abort = () => call.abort(stackSignal.reason);
    stackSignal.addEventListener('abort', abort, { once: true });
    try {
      const response = await fetch(new URL(req.url ?? '/', this.parts.motoEndpoint), {
        method: req.method ?? 'GET',
        headers: Object.fromEntries(
          Object.entries(req.headers).filter(([k, v]) => typeof v === 'string' && !NOT_FORWARDED.includes(k)),
        ) as Record<string, string>,
        ...(body.length > 0 && { body }),
        signal: call.signal,
      });
      const headers: Record<string, string> = {};
      response.headers.forEach((value, key) => {
        if (!NOT_RETURNED.includes(key)) headers[key] = value;
      });
      return { status: response.status, headers, body: Buffer.from(await response.arrayBuffer()) };
    } finally {
      stackSignal.removeEventListener('abort', abort);
    }
  }

  private stepFunctions(call: AwsRequest): HttpAnswer {
    try {
      return awsJson('states', this.parts.stepFunctions.handle(call.operation, call.json ?? {}));
    } catch (error) {
      if (!(error instanceof AwsServiceError)) throw error;
      return awsError(call, { code: error.code, status: error.status, message: error.message });
    }
  }

  /** Forwards to moto, then does what moto cannot: follows up a created user, accepted mail and put events. */
  private async moto(req: IncomingMessage, body: Buffer, call: AwsRequest, fault: Fault | undefined): Promise<HttpAnswer> {
    // moto does not implement it; no user here can have a service-specific credential anyway.
    if (call.service === 'iam' && call.operation === 'ListServiceSpecificCredentials') return noServiceSpecificCredentials();
    const answer = await this.forward(req, body);
    if (answer.status !== 200) return answer;
    const { faults, journal } = this.parts;
    if (call.service === 'iam' && call.operation === 'CreateUser' && call.params.UserName) faults.userCreated(call.params.UserName);
    if (call.service === 'ses' && call.operation === 'SendEmail' && !fault?.error) journal.mailAccepted(call.params, answer.body.toString());
    if (call.service === 'events' && call.operation === 'PutEvents') await this.deliverEvents();
    return answer;
  }

  private async deliverEvents(): Promise<void> {
    for (const delivery of await this.parts.rules.deliver()) {
      if (delivery.execution) {
        this.parts.log(`EventBridge: event ${delivery.eventId} matched ${delivery.ruleName} -> started ${delivery.execution.arn}`);
      } else {
        this.parts.log(`EventBridge: event ${delivery.eventId} matched ${delivery.ruleName} but its target failed: ${delivery.error}`);
      }
    }
  }
}

/** IAM's answer to ListServiceSpecificCredentials for a user without any. */
function noServiceSpecificCredentials(): HttpAnswer {
  const xml =
    '<ListServiceSpecificCredentialsResponse xmlns="https://iam.amazonaws.com/doc/2010-05-08/">' +
    '<ListServiceSpecificCredentialsResult><ServiceSpecificCredentials/></ListServiceSpecificCredentialsResult>' +
    '<ResponseMetadata><RequestId>local</RequestId></ResponseMetadata></ListServiceSpecificCredentialsResponse>';
  return { status: 200, headers: { 'content-type': 'text/xml' }, body: Buffer.from(xml) };
}
