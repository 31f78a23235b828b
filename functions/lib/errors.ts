import { describeIssues, type ValidationIssue } from './validation.ts';

/**
 * Errors the state machine routes on. Each class's `name` is the contract with the
 * `ErrorEquals` lists in statemachines/*.asl.yaml: the Lambda runtime reports a thrown
 * error's `name` as its error type, and Step Functions matches on it.
 *
 * Messages must never contain a password: they reach execution history and logs.
 */
abstract class OnboardingError extends Error {
  abstract override readonly name: string;
}

/**
 * The HR event (or manual input) is not a valid hire. Never retried. Its issues are data, so a
 * caller that names the fields otherwise (a tag, a CLI flag) renames them, not the message.
 */
export class InvalidHrEvent extends OnboardingError {
  override readonly name = 'InvalidHrEvent';

  constructor(readonly issues: readonly ValidationIssue[]) {
    super(`Invalid HR event: ${describeIssues(issues)}`);
  }

  /** The same error with each field renamed. */
  withFieldsRenamed(rename: (field: string) => string): InvalidHrEvent {
    return new InvalidHrEvent(this.issues.map((issue) => ({ ...issue, field: rename(issue.field) })));
  }
}

/** A user with the requested name exists and is not one this workflow created for this employee. */
export class UserNameConflict extends OnboardingError {
  override readonly name = 'UserNameConflict';
}

/** A group named by the hire (or by the department map) does not exist. */
export class GroupNotFound extends OnboardingError {
  override readonly name = 'GroupNotFound';
}

/** A group named by the hire (or by the department map) is not one the stage's settings allow. Never retried. */
export class GroupNotAllowed extends OnboardingError {
  override readonly name = 'GroupNotAllowed';
}

/** An address that would receive credentials is outside the stage's allowed email domains. Never retried. */
export class EmailDomainNotAllowed extends OnboardingError {
  override readonly name = 'EmailDomainNotAllowed';
}

/** The Lambda's environment is missing or has an invalid setting. */
export class ConfigurationError extends OnboardingError {
  override readonly name = 'ConfigurationError';
}

/** The encrypted credentials could not be opened for this user and execution. */
export class CredentialsUnavailable extends OnboardingError {
  override readonly name = 'CredentialsUnavailable';
}

/** The input of the reprovision state machine is not a valid request. Never retried. */
export class InvalidReprovisionRequest extends OnboardingError {
  override readonly name = 'InvalidReprovisionRequest';
}

/** A managed user's tags do not hold a valid hire, so its onboarding cannot be repeated or re-sent. */
export class HireNotRebuildable extends OnboardingError {
  override readonly name = 'HireNotRebuildable';
}

/** The reprovisioning sweep could not inspect or act on some users; the others were handled. */
export class SweepIncomplete extends OnboardingError {
  override readonly name = 'SweepIncomplete';
}

/**
 * More of the managed users would lose their access within a day than the stage allows
 * (offboardingGuardShare): the offboarding or deletion was not done, and waits for an admin's
 * `onboarding confirm-offboarding`. Never retried.
 */
export class MassOffboardingHeld extends OnboardingError {
  override readonly name = 'MassOffboardingHeld';
}

/** Names of errors that mean "bad request, do not retry": the state machine never retries these. */
export const NON_RETRYABLE_ERRORS = [
  'InvalidHrEvent',
  'UserNameConflict',
  'GroupNotFound',
  'GroupNotAllowed',
  'EmailDomainNotAllowed',
  'ConfigurationError',
  'CredentialsUnavailable',
  'InvalidReprovisionRequest',
  'HireNotRebuildable',
  'MassOffboardingHeld',
] as const;
