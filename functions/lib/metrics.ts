import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';

/**
 * The workflow's own counts, as CloudWatch metrics in the embedded metric format (Powertools
 * writes them to the function's log; CloudWatch Logs turns them into metrics, so no IAM beyond
 * the log group's is needed).
 *
 * What a metric carries is fixed here, not by callers: a name from {@link WORKFLOW_METRICS},
 * the `service` dimension, and for `Failed` an `ErrorName` dimension taken from
 * {@link FAILURE_NAMES} (anything else is counted as `Other`). No caller can attach a value of
 * its own, so no user name, address or password can ever reach a metric.
 */

/** Every count the workflow publishes, and what one unit of it means. */
export const WORKFLOW_METRICS = {
  /** An onboarding execution tagged its user complete: the credentials went out. */
  Onboarded: 'an onboarding finished: user created, credentials emailed, user tagged complete',
  /** A repeated onboarding found the login profile in place and changed nothing. */
  AlreadyProvisioned: 'a repeated onboarding found the hire already provisioned and changed nothing',
  /** A duplicate delivery stood back while the execution that created the user is still running. */
  InProgressElsewhere: 'a duplicate onboarding stood back: the execution that created the user was still running',
  /** An onboarding woke from waiting for a start date that HR had moved meanwhile (or the hire had left), and stood back. */
  Superseded: 'an onboarding that waited for a start date stood back: HR moved the date (a newer execution onboards the hire) or the hire left',
  /** An execution failed and ops were emailed; dimension `ErrorName`. */
  Failed: 'an execution failed and ops were emailed (dimension ErrorName)',
  /** The reprovision state machine gave a user a new temporary password. */
  PasswordsReset: 'a temporary password was reset for the sweep (to be emailed again)',
  /** The reprovision state machine removed the console access of a user whose password went unused. */
  ConsoleAccessRemoved: "a user's console access was removed after its resets were used up",
  /** The move state machine changed a user's groups (a repeated move changes nothing and counts nothing). */
  Moved: "an employee's user was moved: groups added or removed for an HR change",
  /** The offboarding state machine removed a leaver's access (a duplicate termination counts nothing). */
  Offboarded: "a leaver's access was removed: password, keys, MFA devices, assigned groups",
  /** The reprovision state machine deleted an offboarded user whose retention period was over. */
  LeaversDeleted: 'an offboarded user was deleted after its retention period',
} as const;

export type WorkflowMetric = keyof typeof WORKFLOW_METRICS;

/**
 * The error names an onboarding or reprovision execution can end with: the workflow's own
 * (functions/lib/errors.ts), the AWS errors its steps can end with once retries are spent or
 * that are never retried, and Lambda's and Step Functions' own. The runbook (cli/runbook.ts)
 * says for each what it means and what to do; the `ErrorName` dimension takes only these.
 */
export const FAILURE_NAMES = [
  // The workflow's own refusals and failures.
  'InvalidHrEvent',
  'GroupNotAllowed',
  'EmailDomainNotAllowed',
  'UserNameConflict',
  'GroupNotFound',
  'ConfigurationError',
  'CredentialsUnavailable',
  'InvalidReprovisionRequest',
  'HireNotRebuildable',
  'SweepIncomplete',
  'MassOffboardingHeld',
  // IAM.
  'EntityTemporarilyUnmodifiableException',
  'NoSuchEntityException',
  'EntityAlreadyExistsException',
  'LimitExceededException',
  'PasswordPolicyViolationException',
  'ConcurrentModificationException',
  'InvalidInputException',
  'AccessDenied',
  'Throttling',
  'ServiceFailure',
  'ServiceFailureException',
  // KMS.
  'AccessDeniedException',
  'KMSInternalException',
  'KMSInvalidStateException',
  'DisabledException',
  'NotFoundException',
  'InvalidCiphertextException',
  'IncorrectKeyException',
  'KeyUnavailableException',
  'DependencyTimeoutException',
  // SES.
  'MessageRejected',
  'MailFromDomainNotVerifiedException',
  'ConfigurationSetDoesNotExistException',
  'ConfigurationSetSendingPausedException',
  'AccountSendingPausedException',
  // Any AWS service, and the SDK itself.
  'ThrottlingException',
  'TooManyRequestsException',
  'ServiceUnavailable',
  'ServiceUnavailableException',
  'InternalFailure',
  'InternalError',
  'TimeoutError',
  // Lambda, as Step Functions reports it.
  'Lambda.Unknown',
  'Lambda.ServiceException',
  'Lambda.AWSLambdaException',
  'Lambda.SdkClientException',
  'Lambda.TooManyRequestsException',
  'Sandbox.Timedout',
  'Runtime.ExitError',
  'Runtime.ImportModuleError',
  // Step Functions.
  'States.Timeout',
  'States.TaskFailed',
  'States.Runtime',
  'States.Permissions',
] as const;

export type FailureName = (typeof FAILURE_NAMES)[number];

const KNOWN_FAILURES: ReadonlySet<string> = new Set(FAILURE_NAMES);

export function isFailureName(name: string): name is FailureName {
  return KNOWN_FAILURES.has(name);
}

/** The `ErrorName` dimension of a failure: the name when it is a known one, else `Other`. */
export function failureDimension(errorName: string | undefined): FailureName | 'Other' {
  return errorName !== undefined && isFailureName(errorName) ? errorName : 'Other';
}

/**
 * The one Metrics instance of a Lambda. Namespace and service come from the environment
 * (serverless.yml: `POWERTOOLS_METRICS_NAMESPACE`, `POWERTOOLS_SERVICE_NAME`).
 */
export const metrics = new Metrics({
  namespace: process.env.POWERTOOLS_METRICS_NAMESPACE ?? 'iam-onboarding',
  serviceName: process.env.POWERTOOLS_SERVICE_NAME ?? 'iam-onboarding',
});

/** Counts one of a workflow metric that has no dimension of its own; published when the invocation ends. */
export function count(metric: Exclude<WorkflowMetric, 'Failed'>): void {
  metrics.addMetric(metric, MetricUnit.Count, 1);
}

/**
 * Counts one failed execution under its error name. Published at once, on its own, so that the
 * dimension never applies to another metric of the same invocation.
 */
export function countFailure(errorName: string | undefined): void {
  const single = metrics.singleMetric();
  single.addDimension('ErrorName', failureDimension(errorName));
  single.addMetric('Failed', MetricUnit.Count, 1);
}

/** Publishes what the invocation counted, if anything (an invocation that counted nothing writes nothing). */
export function publishMetrics(): void {
  if (metrics.hasStoredMetrics()) metrics.publishStoredMetrics();
}

/**
 * `Onboarded` when the execution (its ARN, `$$.Execution.Id`) is the onboarding state
 * machine's. The reprovision state machine completes users too (a password sent again), so
 * serverless.yml names the onboarding state machine to markComplete
 * (`ONBOARDING_STATE_MACHINE_NAME`); with no name, nothing is counted.
 */
export function countCompletion(executionArn: string | undefined): void {
  // arn:aws:states:<region>:<account>:execution:<state machine>:<execution>
  const stateMachineName = executionArn?.split(':')[6];
  const onboarding = process.env.ONBOARDING_STATE_MACHINE_NAME;
  if (stateMachineName !== undefined && onboarding !== undefined && stateMachineName === onboarding) count('Onboarded');
}
