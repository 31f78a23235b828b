/**
 * Step Functions' rules for execution names, and the ARN an execution gets, stated once for the
 * CLI (checking what it is given, naming what it starts) and the local stack (StartExecution).
 */

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
