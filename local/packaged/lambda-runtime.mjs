/**
 * A Lambda-like runtime for one packaged function, run by the local stack (local/packaged/
 * workers.ts) on node 22 in a process of its own, like one Lambda execution environment.
 * Plain JavaScript: it runs on the bare node 22 binary, with no TypeScript loader.
 *
 * - INIT: loads the handler named by `_HANDLER` from `LAMBDA_TASK_ROOT` (the unpacked zip) as
 *   Lambda's node runtime does (`<file>.js|.mjs|.cjs`, then the export), then reports `ready`
 *   with the node version, or `init-error`.
 * - INVOKE: one invocation at a time, with a Lambda context (function name and ARN, request id,
 *   deadline...); async and callback handlers. The result is sent as Lambda returns it (JSON
 *   text); a thrown error as Lambda reports it: `errorType` (the error's `name`, which Step
 *   Functions routes on), `errorMessage` and the trace.
 * - Logs: what the function writes to stdout and stderr goes to the stack on the same channel
 *   as the results, so every log line of an invocation arrives before its result.
 *
 * The channel is node's IPC (JSON messages on a pipe of their own): no port, and stdout stays
 * the function's. The process exits when the channel closes, so it never outlives the stack.
 */
import { Buffer } from 'node:buffer';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { pathToFileURL } from 'node:url';

/** Sends a message to the stack; `then` runs once it is written (or at once, without a channel). */
const send = (message, then) => {
  if (process.connected) process.send(message, then);
  else then?.();
};

for (const name of ['stdout', 'stderr']) {
  const stream = process[name];
  stream.write = (chunk, encoding, callback) => {
    const done = typeof encoding === 'function' ? encoding : callback;
    const text = typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString(typeof encoding === 'string' ? encoding : 'utf8');
    send({ type: 'log', stream: name, text });
    if (typeof done === 'function') process.nextTick(done);
    return true;
  };
}

process.on('disconnect', () => process.exit(0));

/** An error as the Lambda runtime reports it; the trace holds frames only, never a message twice. */
function errorPayload(error) {
  if (error instanceof Error || (error && typeof error === 'object' && 'message' in error)) {
    const errorType = error.name || error.constructor?.name || 'Error';
    const errorMessage = String(error.message);
    const frames = String(error.stack ?? '')
      .split('\n')
      .filter((line) => /^\s+at /.test(line));
    return { errorType, errorMessage, trace: [`${errorType}: ${errorMessage}`, ...frames] };
  }
  return { errorType: typeof error, errorMessage: String(error), trace: [] };
}

class RuntimeError extends Error {
  constructor(name, message) {
    super(message);
    this.name = name;
  }
}

/** `functions/create-user/handler.handler` -> module `functions/create-user/handler`, export `handler`. */
async function loadHandler(taskRoot, spec) {
  const slash = spec.lastIndexOf('/');
  const dot = spec.indexOf('.', slash + 1);
  if (dot < 0) throw new RuntimeError('Runtime.MalformedHandlerName', `Bad handler ${spec}`);
  const modulePath = spec.slice(0, dot);
  const exportPath = spec.slice(dot + 1).split('.');
  const base = path.resolve(taskRoot, modulePath);
  const file = ['.js', '.mjs', '.cjs'].map((ext) => `${base}${ext}`).find((candidate) => existsSync(candidate));
  if (!file) throw new RuntimeError('Runtime.ImportModuleError', `Error: Cannot find module '${modulePath}'`);
  let mod;
  try {
    mod = await import(pathToFileURL(file).href);
  } catch (error) {
    if (error instanceof SyntaxError) throw new RuntimeError('Runtime.UserCodeSyntaxError', `${error.name}: ${error.message}`);
    if (error?.code === 'ERR_MODULE_NOT_FOUND' || error?.code === 'MODULE_NOT_FOUND') {
      throw new RuntimeError('Runtime.ImportModuleError', `Error: ${error.message}`);
    }
    throw error;
  }
  const lookup = (root) => exportPath.reduce((value, key) => (value == null ? undefined : value[key]), root);
  const handler = lookup(mod) ?? lookup(mod.default);
  if (typeof handler !== 'function') {
    throw new RuntimeError('Runtime.HandlerNotFound', `${spec} is undefined or not exported`);
  }
  return handler;
}

/** Runs the handler as Lambda does: a returned promise, or the callback (node 22 still has both). */
function runHandler(handler, event, context) {
  return new Promise((resolve, reject) => {
    const callback = (error, result) => (error != null ? reject(error) : resolve(result));
    context.done = callback;
    context.succeed = (result) => resolve(result);
    context.fail = (error) => reject(error ?? new Error('handled'));
    let returned;
    try {
      returned = handler(event, context, callback);
    } catch (error) {
      reject(error);
      return;
    }
    if (returned && typeof returned.then === 'function') returned.then(resolve, reject);
    else if (handler.length < 3) resolve(returned);
  });
}

let current;

async function invoke({ id, event, context: given }) {
  current = id;
  const context = {
    callbackWaitsForEmptyEventLoop: true,
    functionName: given.functionName,
    functionVersion: given.functionVersion,
    invokedFunctionArn: given.invokedFunctionArn,
    memoryLimitInMB: given.memoryLimitInMB,
    awsRequestId: given.awsRequestId,
    logGroupName: given.logGroupName,
    logStreamName: given.logStreamName,
    getRemainingTimeInMillis: () => Math.max(0, given.deadlineMs - Date.now()),
  };
  let answer;
  try {
    const result = await runHandler(handler, event, context);
    answer = { type: 'result', id, payload: JSON.stringify(result === undefined ? null : result) };
  } catch (error) {
    answer = { type: 'result', id, error: errorPayload(error) };
  }
  current = undefined;
  send(answer);
}

// An error nobody awaited ends the invocation (and this environment), as on Lambda.
process.on('uncaughtException', (error) => {
  const exit = () => process.exit(129);
  if (current !== undefined) send({ type: 'result', id: current, error: errorPayload(error) }, exit);
  else send({ type: 'crash', error: errorPayload(error) }, exit);
});
process.on('unhandledRejection', (reason) => {
  const error = errorPayload(reason);
  const payload = { errorType: 'Runtime.UnhandledPromiseRejection', errorMessage: `${error.errorType}: ${error.errorMessage}`, trace: error.trace };
  const exit = () => process.exit(128);
  if (current !== undefined) send({ type: 'result', id: current, error: payload }, exit);
  else send({ type: 'crash', error: payload }, exit);
});

let handler;
const started = performance.now();
try {
  handler = await loadHandler(process.env.LAMBDA_TASK_ROOT ?? process.cwd(), process.env._HANDLER ?? '');
  send({ type: 'ready', node: process.version, initMs: Math.round(performance.now() - started) });
} catch (error) {
  send({ type: 'init-error', node: process.version, error: errorPayload(error) }, () => process.exit(1));
}

process.on('message', (message) => {
  if (message?.type === 'invoke') void invoke(message);
});
