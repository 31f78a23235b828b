/**
 * One state machine of statemachines/, run in-process (aws-local-stepfunctions) with the real
 * Lambda handlers: what the state-machine tests, the least-privilege suite and the API-call
 * benchmarks run. AWS is whatever the handlers' clients reach: the aws-sdk-client-mock fakes of
 * ./aws-fakes.ts, or the local stack; or the functions run elsewhere (`invoke`: the burst
 * benchmark's Lambda environments, ./lambda-instances.ts). Retries are instant unless the
 * definition's own waits are asked for, and every execution gets its own name.
 */
import type { StateMachineDefinition } from 'aws-local-stepfunctions';
import { executionArnFor } from '../cli/execution-rules.ts';
import {
  instantRetries,
  fixedWaits,
  loadDefinition,
  resolveTaskHandlers,
  runExecution,
  type ExecutionResult,
  type ResolveOptions,
  type TaskHandler,
} from '../local/workflow.ts';

export type { ExecutionResult } from '../local/workflow.ts';

export interface InProcessStateMachine {
  /** The definition's file name: statemachines/<key>.asl.yaml. */
  key: string;
  arn: string;
  definition: StateMachineDefinition;
  handlers: Record<string, TaskHandler>;
  /** Runs one execution to its end; the name defaults to `<namePrefix>-<n>`, unique in this process. */
  run(input: unknown, name?: string): Promise<ExecutionResult>;
}

export interface InProcessOptions {
  /** Default: arn:aws:states:us-east-1:123456789012:stateMachine:<key>. */
  arn?: string;
  /** Wraps each Lambda invocation: fault injection, attribution of AWS calls. */
  around?: ResolveOptions['around'];
  /** Runs each Task's function elsewhere instead of importing its handler into this process. */
  invoke?: ResolveOptions['invoke'];
  /**
   * `instant` (default): every retry at once. `definition`: the definition's own waits,
   * backoff and jitter (`Math.random`), in whatever time `setTimeout` keeps (a fake clock's).
   */
  retryWaits?: 'instant' | 'definition';
  /**
   * Wait states (a start date, a last day): `instant` (default) ends them at once; `definition`
   * waits until their timestamp, in whatever time `setTimeout` keeps (a fake clock's).
   */
  waits?: 'instant' | 'definition';
  /** Default: `run`. */
  namePrefix?: string;
}

let executions = 0;

export async function inProcessStateMachine(key: string, options: InProcessOptions = {}): Promise<InProcessStateMachine> {
  const arn = options.arn ?? `arn:aws:states:us-east-1:123456789012:stateMachine:${key}`;
  const definition = loadDefinition(`statemachines/${key}.asl.yaml`);
  const handlers = await resolveTaskHandlers(definition, {
    ...(options.around && { around: options.around }),
    ...(options.invoke && { invoke: options.invoke }),
  });
  const retryIntervalOverrides = options.retryWaits === 'definition' ? undefined : instantRetries(definition);
  const waitTimeOverrides = options.waits === 'definition' ? undefined : fixedWaits(definition);
  return {
    key,
    arn,
    definition,
    handlers,
    run: (input, name = `${options.namePrefix ?? 'run'}-${++executions}`) =>
      runExecution(definition, input as never, {
        handlers,
        stateMachineArn: arn,
        executionName: name,
        executionArn: executionArnFor(arn, name),
        ...(retryIntervalOverrides && { retryIntervalOverrides }),
        ...(waitTimeOverrides && { waitTimeOverrides }),
      }),
  };
}
