/**
 * Step Functions' rules for executions: the names StartExecution takes, the ARN an execution
 * gets, the statuses it can have. Stated once for the CLI (checking what it is given, naming
 * what it starts) and the local stack (answering as the API does).
 */

/** Every status an execution can have, in the order the API reference lists them. */
export const EXECUTION_STATUSES = ['RUNNING', 'SUCCEEDED', 'FAILED', 'TIMED_OUT', 'ABORTED', 'PENDING_REDRIVE'] as const;

export function isExecutionStatus(value: string): value is (typeof EXECUTION_STATUSES)[number] {
  return (EXECUTION_STATUSES as readonly string[]).includes(value);
}

/** Step Functions: 1-80 characters, none of whitespace, brackets, wildcards, reserved punctuation or control characters. */
const EXECUTION_NAME = /^[^\s<>{}[\]?*"#%\\^|~`$&,;:/\p{Cc}]{1,80}$/u;

export const MAX_EXECUTION_NAME_LENGTH = 80;

/** Only letters, digits, `-` and `_`: what Step Functions asks of names when executions are logged. */
const PLAIN_EXECUTION_NAME = /^[A-Za-z0-9_-]{1,80}$/;

/** A name StartExecution accepts. */
export function isExecutionName(name: string): boolean {
  return EXECUTION_NAME.test(name);
}

/** A name the CLI starts executions with: letters, digits, `-` and `_`. */
export function isPlainExecutionName(name: string): boolean {
  return PLAIN_EXECUTION_NAME.test(name);
}

/** The ARN of the execution `name` of a state machine. */
export function executionArnFor(stateMachineArn: string, name: string): string {
  return `${stateMachineArn.replace(':stateMachine:', ':execution:')}:${name}`;
}
