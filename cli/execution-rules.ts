/**
 * Step Functions' rules for executions: the names StartExecution takes, the ARN an execution
 * gets, the statuses it can have. Stated once for the CLI (checking what it is given, naming
 * what it starts) and the local stack (answering as the API does).
 */
import { MAX_EXECUTION_NAME_LENGTH } from '../functions/lib/execution-name.ts';

/** Every status an execution can have, in the order the API reference lists them. */
export const EXECUTION_STATUSES = ['RUNNING', 'SUCCEEDED', 'FAILED', 'TIMED_OUT', 'ABORTED', 'PENDING_REDRIVE'] as const;

export function isExecutionStatus(value: string): value is (typeof EXECUTION_STATUSES)[number] {
  return (EXECUTION_STATUSES as readonly string[]).includes(value);
}

/** Step Functions: 1-80 characters, none of whitespace, brackets, wildcards, reserved punctuation or control characters. */
const EXECUTION_NAME = new RegExp(`^[^\\s<>{}[\\]?*"#%\\\\^|~\`$&,;:/\\p{Cc}]{1,${MAX_EXECUTION_NAME_LENGTH}}$`, 'u');

/** A name StartExecution accepts. The names the project starts itself are plainer: see functions/lib/execution-name.ts. */
export function isExecutionName(name: string): boolean {
  return EXECUTION_NAME.test(name);
}

/** The ARN of the execution `name` of a state machine. */
export function executionArnFor(stateMachineArn: string, name: string): string {
  return `${stateMachineArn.replace(':stateMachine:', ':execution:')}:${name}`;
}
