/**
 * What the deployment would give the workflow for a stage, read from serverless.yml by the
 * Serverless Framework itself (`serverless print`): the functions' environment, the state
 * machines with their definitions, and their EventBridge rules. No second copy to drift.
 */
import { spawn } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import type { StateMachineDefinition } from 'aws-local-stepfunctions';

/** A CloudFormation value as printed: a string, or an intrinsic such as `{ "Fn::GetAtt": [...] }`. */
export type CfnValue = string | number | boolean | { [intrinsic: string]: unknown };

export interface EventBridgeRoute {
  eventBusName: string;
  /** The rule's event pattern, as EventBridge takes it. */
  pattern: Record<string, unknown>;
  /** What the rule passes to the state machine: the whole event unless the rule narrows it. */
  inputPath?: string;
  input?: unknown;
}

export interface StateMachineConfig {
  key: string;
  /** CloudFormation logical id, for `Ref`s to the state machine. */
  logicalId: string;
  name: string;
  definition: StateMachineDefinition;
  loggingConfig?: { level?: string; includeExecutionData?: boolean };
  routes: EventBridgeRoute[];
}

export interface ServiceConfig {
  service: string;
  stage: string;
  region: string;
  /** provider.environment merged with every function's environment. */
  environment: Record<string, CfnValue>;
  /** Function-level SDK settings (`function.VARIABLE`) that cannot apply to one function in-process. */
  skippedEnvironment: string[];
  stateMachines: StateMachineConfig[];
  resources: Record<string, { Type: string; Properties?: Record<string, unknown> }>;
}

interface Printed {
  service: string | { name: string };
  provider: { region?: string; environment?: Record<string, CfnValue> };
  functions?: Record<string, { handler: string; environment?: Record<string, CfnValue> }>;
  stepFunctions?: {
    stateMachines?: Record<
      string,
      {
        id?: string;
        name?: string;
        definition: StateMachineDefinition;
        loggingConfig?: StateMachineConfig['loggingConfig'];
        events?: Array<Record<string, unknown>>;
      }
    >;
  };
  resources?: { Resources?: ServiceConfig['resources'] };
}

const printed = new Map<string, Promise<Printed>>();

/** `serverless print --stage <stage> --format json`, once per process and stage. */
async function print(stage: string, root: string, signal?: AbortSignal): Promise<Printed> {
  const key = `${root}\0${stage}`;
  let pending = printed.get(key);
  if (!pending) {
    const bin = createRequire(import.meta.url).resolve('serverless/bin/serverless.js');
    // The framework writes ~/.serverlessrc and ~/.serverless: keep them in the project's ignored .home/.
    const home = path.join(root, '.home');
    mkdirSync(home, { recursive: true });
    pending = new Promise<Printed>((resolve, reject) => {
      const child = spawn(process.execPath, [bin, 'print', '--stage', stage, '--format', 'json'], {
        cwd: root,
        env: { ...process.env, HOME: home, SLS_TELEMETRY_DISABLED: '1', SLS_NOTIFICATIONS_MODE: 'off' },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
      child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
      // Settles only once the framework has exited, so a stack that gives up leaves nothing behind.
      const stop = () => child.kill('SIGKILL');
      signal?.addEventListener('abort', stop, { once: true });
      child.once('error', reject);
      child.once('close', (code) => {
        signal?.removeEventListener('abort', stop);
        try {
          if (code !== 0) throw new Error((stderr || `exit code ${code}`).trim().slice(-2000));
          resolve(JSON.parse(stdout) as Printed);
        } catch (error) {
          printed.delete(key);
          reject(new Error(`serverless print --stage ${stage} failed: ${(error as Error).message}`));
        }
      });
    });
    printed.set(key, pending);
  }
  return pending;
}

/** The `eventBridge` events of a state machine, as rules; refuses what the local stack cannot do. */
export function eventBridgeRoutes(stateMachine: string, events: Array<Record<string, unknown>> = []): EventBridgeRoute[] {
  const routes: EventBridgeRoute[] = [];
  for (const event of events) {
    const rule = event.eventBridge as Record<string, unknown> | undefined;
    if (!rule || rule.enabled === false) continue;
    const pattern = (rule.event ?? rule.pattern) as Record<string, unknown> | undefined;
    if (!pattern) throw new Error(`${stateMachine}: an eventBridge event has no "event" pattern`);
    if (rule.inputTransformer) {
      throw new Error(`${stateMachine}: eventBridge inputTransformer is not supported by the local stack`);
    }
    routes.push({
      eventBusName: typeof rule.eventBusName === 'string' && rule.eventBusName !== '' ? rule.eventBusName : 'default',
      pattern,
      ...(typeof rule.inputPath === 'string' && { inputPath: rule.inputPath }),
      ...(rule.input !== undefined && { input: rule.input }),
    });
  }
  return routes;
}

/** The stage's configuration; `signal` stops the framework early (the stack gave up starting). */
/**
 * Every function runs in one process here, with one environment: the provider's, plus each
 * function's own variables. The SDK's settings (AWS_*) of one function would change every
 * function's clients, so those keep the provider's values and are reported as skipped.
 */
export function mergeEnvironment(
  provider: Record<string, CfnValue>,
  functions: Record<string, { environment?: Record<string, CfnValue> }>,
): { environment: Record<string, CfnValue>; skipped: string[] } {
  const environment: Record<string, CfnValue> = { ...provider };
  const skipped: string[] = [];
  const owner: Record<string, string> = {};
  for (const [key, fn] of Object.entries(functions)) {
    for (const [name, value] of Object.entries(fn.environment ?? {})) {
      if (name.startsWith('AWS_') && !(name in provider)) {
        skipped.push(`${key}.${name}`);
        continue;
      }
      const previous = owner[name];
      if (previous !== undefined && JSON.stringify(environment[name]) !== JSON.stringify(value)) {
        throw new Error(`Functions ${previous} and ${key} set ${name} differently; the local stack runs all functions in one process`);
      }
      environment[name] = value;
      owner[name] = key;
    }
  }
  return { environment, skipped };
}

export async function loadServiceConfig(stage: string, root: string, signal?: AbortSignal): Promise<ServiceConfig> {
  const doc = await print(stage, root, signal);
  const service = typeof doc.service === 'string' ? doc.service : doc.service.name;

  const { environment, skipped } = mergeEnvironment(doc.provider.environment ?? {}, doc.functions ?? {});

  const stateMachines = Object.entries(doc.stepFunctions?.stateMachines ?? {}).map(([key, sm]) => ({
    key,
    logicalId: sm.id ?? `${key.charAt(0).toUpperCase()}${key.slice(1)}StepFunctionsStateMachine`,
    name: sm.name ?? `${service}-${stage}-${key}`,
    definition: sm.definition,
    ...(sm.loggingConfig && { loggingConfig: sm.loggingConfig }),
    routes: eventBridgeRoutes(key, sm.events),
  }));

  return {
    service,
    stage,
    region: doc.provider.region ?? 'us-east-1',
    environment,
    skippedEnvironment: skipped,
    stateMachines,
    resources: doc.resources?.Resources ?? {},
  };
}
