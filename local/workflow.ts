/**
 * Runs the real state machine definitions with the real Lambda handlers, in-process, on
 * aws-local-stepfunctions. Used by the state-machine tests and by the local stack.
 *
 * Which handler serves which Task state is read from the same places the deployment uses:
 * `Resource: { Fn::GetAtt: [functionKey, Arn] }` in the definition and `functions.<key>.handler`
 * in serverless.yml. There is no second list to keep in sync.
 */
import './polyfills.ts';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Context } from 'aws-lambda';
import { ExecutionError, ExecutionTimeoutError, StateMachine, type StateMachineDefinition } from 'aws-local-stepfunctions';
import { parse } from 'yaml';
import { LOCAL_STAGE, PROJECT_ROOT, readServerlessYaml, SERVICE } from './serverless-yaml.ts';

export { PROJECT_ROOT, readServerlessYaml };

type JSONValue = null | boolean | number | string | JSONValue[] | { [key: string]: JSONValue };
export type TaskHandler = (input: JSONValue) => Promise<JSONValue>;
type LambdaHandler = (event: unknown, context: Context) => Promise<unknown>;

export function loadDefinition(file: string): StateMachineDefinition {
  return parse(readFileSync(path.resolve(PROJECT_ROOT, file), 'utf8'), { merge: true }) as StateMachineDefinition;
}

export interface Retrier {
  ErrorEquals: string[];
  IntervalSeconds?: number;
  MaxAttempts?: number;
  BackoffRate?: number;
  MaxDelaySeconds?: number;
  JitterStrategy?: string;
}

interface StateShape {
  Type: string;
  Resource?: unknown;
  Retry?: Retrier[];
  Iterator?: { States: Record<string, unknown> };
  ItemProcessor?: { States: Record<string, unknown> };
  Branches?: Array<{ States: Record<string, unknown> }>;
}

/** Every state (including those inside Map and Parallel), by name. */
function allStates(definition: { States: Record<string, unknown> }): Array<[string, StateShape]> {
  const found: Array<[string, StateShape]> = [];
  for (const [name, raw] of Object.entries(definition.States)) {
    const state = raw as StateShape;
    found.push([name, state]);
    for (const inner of [state.Iterator, state.ItemProcessor, ...(state.Branches ?? [])]) {
      if (inner) found.push(...allStates(inner));
    }
  }
  return found;
}

/** Every Task state (including those inside Map and Parallel), by name, with its Resource. */
function taskStates(definition: { States: Record<string, unknown> }): Array<[string, unknown]> {
  return allStates(definition)
    .filter(([, state]) => state.Type === 'Task')
    .map(([name, state]) => [name, state.Resource]);
}

/** The serverless.yml function key a Task's `Resource` points at (`Fn::GetAtt: [key, Arn]`). */
export function functionKeyOf(resource: unknown): string | undefined {
  if (resource && typeof resource === 'object' && 'Fn::GetAtt' in resource) {
    const [key] = (resource as { 'Fn::GetAtt': [string, string] })['Fn::GetAtt'];
    return key;
  }
  return undefined;
}

/** The serverless.yml function key of each Task state, by state name. */
export function taskFunctionKeys(definition: StateMachineDefinition): Record<string, string> {
  const keys: Record<string, string> = {};
  for (const [name, resource] of taskStates(definition as unknown as { States: Record<string, unknown> })) {
    const key = functionKeyOf(resource);
    if (key) keys[name] = key;
  }
  return keys;
}

export interface LambdaIdentity {
  region: string;
  accountId: string;
  /** Function names as deployed: `<service>-<stage>-<key>`. */
  namePrefix: string;
}

export const LOCAL_IDENTITY: LambdaIdentity = {
  region: 'us-east-1',
  accountId: '123456789012',
  namePrefix: `${SERVICE}-${LOCAL_STAGE}-`,
};

/** The ARN a serverless.yml function deploys as. */
export function functionArnFor(identity: LambdaIdentity, functionKey: string): string {
  return `arn:aws:lambda:${identity.region}:${identity.accountId}:function:${identity.namePrefix}${functionKey}`;
}

/** The ARN a state machine deploys as. */
export function stateMachineArnFor(identity: Pick<LambdaIdentity, 'region' | 'accountId'>, name: string): string {
  return `arn:aws:states:${identity.region}:${identity.accountId}:stateMachine:${name}`;
}

let invocation = 0;

/** A Lambda context like the one AWS passes, enough for Powertools and the handlers. */
export function lambdaContext(functionKey: string, identity: LambdaIdentity = LOCAL_IDENTITY): Context {
  const functionName = `${identity.namePrefix}${functionKey}`;
  invocation += 1;
  return {
    callbackWaitsForEmptyEventLoop: false,
    functionName,
    functionVersion: '$LATEST',
    invokedFunctionArn: functionArnFor(identity, functionKey),
    memoryLimitInMB: '256',
    awsRequestId: `local-${process.pid}-${invocation}`,
    logGroupName: `/aws/lambda/${functionName}`,
    logStreamName: 'local',
    getRemainingTimeInMillis: () => 30_000,
    done: () => undefined,
    fail: () => undefined,
    succeed: () => undefined,
  };
}

async function importHandler(handlerPath: string, root: string): Promise<LambdaHandler> {
  // "functions/create-user/handler.handler" -> module functions/create-user/handler.ts, export handler
  const dot = handlerPath.lastIndexOf('.');
  const modulePath = path.join(root, `${handlerPath.slice(0, dot)}.ts`);
  const exported = handlerPath.slice(dot + 1);
  const mod = (await import(pathToFileURL(modulePath).href)) as Record<string, unknown>;
  const handler = mod[exported];
  if (typeof handler !== 'function') throw new Error(`${handlerPath}: no exported function "${exported}"`);
  return handler as LambdaHandler;
}

/**
 * Invokes any serverless.yml function's TypeScript handler in this process with a Lambda
 * context, by function key (a direct Invoke, for functions no state machine calls).
 */
export function sourceInvoker(options: { root?: string; identity?: LambdaIdentity } = {}): (functionKey: string, input: unknown) => Promise<unknown> {
  const root = options.root ?? PROJECT_ROOT;
  const loaded = new Map<string, Promise<LambdaHandler>>();
  return async (functionKey, input) => {
    let handler = loaded.get(functionKey);
    if (!handler) {
      const fn = readServerlessYaml(root).functions[functionKey];
      if (!fn) throw new Error(`serverless.yml declares no function "${functionKey}"`);
      handler = importHandler(fn.handler, root);
      loaded.set(functionKey, handler);
    }
    const output = await (await handler)(input, lambdaContext(functionKey, options.identity));
    return JSON.parse(JSON.stringify(output ?? null)) as unknown;
  };
}

export interface ResolveOptions {
  root?: string;
  identity?: LambdaIdentity;
  /** Wraps each invocation: fault injection and call counting in tests and the local stack. */
  around?: (stateName: string, functionKey: string, invoke: () => Promise<unknown>) => Promise<unknown>;
  /**
   * Runs the function elsewhere instead of importing its TypeScript handler into this process:
   * the local stack's packaged mode (the deployed zips on node 22, local/packaged/).
   */
  invoke?: (functionKey: string, input: JSONValue) => Promise<unknown>;
}

/**
 * For each Task state, a local handler that calls the real Lambda handler the deployment
 * would invoke, with a Lambda context. Keyed by state name, as aws-local-stepfunctions wants.
 */
export async function resolveTaskHandlers(
  definition: StateMachineDefinition,
  options: ResolveOptions = {},
): Promise<Record<string, TaskHandler>> {
  const root = options.root ?? PROJECT_ROOT;
  const { functions } = readServerlessYaml(root);
  const handlers: Record<string, TaskHandler> = {};
  for (const [stateName, resource] of taskStates(definition as unknown as { States: Record<string, unknown> })) {
    const key = functionKeyOf(resource);
    if (!key) continue;
    const fn = functions[key];
    if (!fn) throw new Error(`State ${stateName} names function "${key}", which serverless.yml does not declare`);
    let run: (input: JSONValue) => Promise<unknown>;
    if (options.invoke) {
      const elsewhere = options.invoke;
      run = (input) => elsewhere(key, input);
    } else {
      const handler = await importHandler(fn.handler, root);
      run = (input) => handler(input, lambdaContext(key, options.identity));
    }
    handlers[stateName] = async (input) => {
      const invoke = () => run(input);
      const output = options.around ? await options.around(stateName, key, invoke) : await invoke();
      // Lambda returns JSON: drop undefined and anything else JSON would.
      return JSON.parse(JSON.stringify(output ?? null)) as JSONValue;
    };
  }
  return handlers;
}

/** Every Retry in the definition made instant (for tests and the local stack). */
export function instantRetries(definition: StateMachineDefinition): Record<string, number> {
  const overrides: Record<string, number> = {};
  for (const [name] of taskStates(definition as unknown as { States: Record<string, unknown> })) overrides[name] = 0;
  return overrides;
}

/** Every Wait state made to wait `ms` (for tests; 0: a start date or a last day is reached at once). */
export function fixedWaits(definition: StateMachineDefinition, ms = 0): Record<string, number> {
  const overrides: Record<string, number> = {};
  for (const [name, state] of allStates(definition as unknown as { States: Record<string, unknown> })) {
    if (state.Type === 'Wait') overrides[name] = ms;
  }
  return overrides;
}

/**
 * Each state's retry wait in milliseconds, one per retrier in its Retry list, as
 * aws-local-stepfunctions' `retryIntervalOverrides` takes them: a fixed wait per retrier,
 * chosen by `wait` (the local stack shortens the definition's waits with it).
 */
export function retryIntervals(
  definition: StateMachineDefinition,
  wait: (retrier: Retrier) => number,
): Record<string, number[]> {
  const overrides: Record<string, number[]> = {};
  for (const [name, state] of allStates(definition as unknown as { States: Record<string, unknown> })) {
    if (state.Retry?.length) overrides[name] = state.Retry.map(wait);
  }
  return overrides;
}

export type ExecutionEvent = Record<string, unknown> & { type: string; timestamp: number };

export interface ExecutionResult {
  status: 'SUCCEEDED' | 'FAILED' | 'ABORTED' | 'TIMED_OUT';
  output?: JSONValue;
  error?: string;
  cause?: string;
  events: ExecutionEvent[];
}

export interface RunOptions {
  handlers: Record<string, TaskHandler>;
  executionArn: string;
  executionName: string;
  stateMachineArn: string;
  /** Milliseconds per retry, by state name; default: the definition's own waits. */
  retryIntervalOverrides?: Record<string, number | number[]>;
  /** Milliseconds a Wait state waits, by state name; default: the definition's own wait. */
  waitTimeOverrides?: Record<string, number>;
  /** Called with each event as it happens (for live timelines). */
  onEvent?: (event: ExecutionEvent) => void;
  /** Receives the abort function once the execution starts. */
  onStart?: (abort: () => void) => void;
}

/** A JSON copy of an event, as Step Functions would record it; the event itself if it is too deep to copy. */
function snapshot(event: ExecutionEvent): ExecutionEvent {
  try {
    return JSON.parse(JSON.stringify(event)) as ExecutionEvent;
  } catch {
    return event;
  }
}

/** The IAM role a state machine runs with: `<state machine name>-role`, in the state machine's account. */
export function roleArnFor(stateMachineArn: string): string {
  const [, partition, , , accountId, , name] = stateMachineArn.split(':');
  return `arn:${partition}:iam::${accountId}:role/${name}-role`;
}

// Validating a definition costs 100-300 ms of CPU; a machine can run any number of executions.
const machines = new WeakMap<StateMachineDefinition, StateMachine>();
function stateMachineFor(definition: StateMachineDefinition): StateMachine {
  let machine = machines.get(definition);
  if (!machine) {
    machine = new StateMachine(definition, { validationOptions: { checkArn: false, checkPaths: true } });
    machines.set(definition, machine);
  }
  return machine;
}

/** Runs one execution to its end and returns its outcome and its events. */
export async function runExecution(
  definition: StateMachineDefinition,
  input: JSONValue,
  options: RunOptions,
): Promise<ExecutionResult> {
  const machine = stateMachineFor(definition);
  const startTime = new Date().toISOString();
  const execution = machine.run(input, {
    overrides: {
      taskResourceLocalHandlers: options.handlers,
      ...(options.retryIntervalOverrides && { retryIntervalOverrides: options.retryIntervalOverrides }),
      ...(options.waitTimeOverrides && { waitTimeOverrides: options.waitTimeOverrides }),
    },
    noThrowOnAbort: true,
    context: {
      Execution: {
        Id: options.executionArn,
        Name: options.executionName,
        Input: input,
        StartTime: startTime,
        RoleArn: roleArnFor(options.stateMachineArn),
      },
      StateMachine: { Id: options.stateMachineArn, Name: options.stateMachineArn.split(':').pop() },
    },
  });
  options.onStart?.(execution.abort);

  const events: ExecutionEvent[] = [];
  const collecting = (async () => {
    for await (const event of execution.eventLogs) {
      const copy = snapshot(event as unknown as ExecutionEvent);
      events.push(copy);
      options.onEvent?.(copy);
    }
  })();

  let outcome: { output: JSONValue } | 'failed' | 'timed-out';
  try {
    outcome = { output: await execution.result };
  } catch (error) {
    if (error instanceof ExecutionTimeoutError) outcome = 'timed-out';
    else if (error instanceof ExecutionError) outcome = 'failed';
    else throw error;
  }
  // The library hands its events over asynchronously: decide once all of them are in.
  await collecting;
  let result: ExecutionResult;
  if (events.some((e) => e.type === 'ExecutionAborted')) result = { status: 'ABORTED', events };
  else if (outcome === 'timed-out') result = { status: 'TIMED_OUT', events };
  else if (outcome === 'failed') result = { status: 'FAILED', events };
  else result = { status: 'SUCCEEDED', output: outcome.output, events };
  const failed = events.find((e) => e.type === 'ExecutionFailed');
  if (failed) {
    result.status = 'FAILED';
    result.error = String(failed.Error);
    result.cause = typeof failed.Cause === 'string' ? failed.Cause : JSON.stringify(failed.Cause ?? '');
  }
  return result;
}
