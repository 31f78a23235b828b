/**
 * The runbook: for each error name an execution can end with (functions/lib/metrics.ts
 * FAILURE_NAMES), what it means and what to do. `onboarding status` prints the entry with a
 * failure, `onboarding runbook` prints any or all of it, and README's "Runbook" section is this
 * table as markdown (a test keeps the two equal).
 *
 * "Run the hire again" is said once, in {@link RUN_AGAIN}: every entry that says it means that.
 */
import { FAILURE_NAMES, type FailureName } from '../functions/lib/metrics.ts';

export interface RunbookEntry {
  /** What happened, in a sentence or two. */
  meaning: string;
  /** What to do about it. */
  action: string;
}

/** How a hire is run again, whatever stopped it: what "run the hire again" means below. */
export const RUN_AGAIN =
  'Run the hire again: HR sends the event again, or `onboarding start --input hire.json --name <new name>` (a new name: ' +
  'Step Functions keeps a used one for 90 days). A user the workflow created is adopted, never duplicated, and no ' +
  'password is reset twice. A user that exists without a password is finished by the next sweep on its own.';

const TRANSIENT = 'Transient: run the hire again, or leave a user that exists to the next sweep.';

const retriedOut = (what: string) => `${what}, and every retry of the state machine failed the same way.`;

const KEY_ACTION =
  'Check the `CredentialsKey` KMS key of the stack: enabled, not pending deletion, its key policy intact (redeploy to restore ' +
  'it). Then run the hire again; a user whose password was set but never mailed gets a new one from the next sweep.';

const SES_RESEND = 'The user has a password nobody received: the next sweep resets it and mails it again (`onboarding reprovision` does it now).';

const ENTRIES: Record<FailureName, RunbookEntry> = {
  InvalidHrEvent: {
    meaning: 'The HR event (or manual input) is not a valid hire; the cause names every bad field. Nothing was written to AWS.',
    action: 'Correct the record in HR (or the input file) and run the hire again.',
  },
  GroupNotAllowed: {
    meaning: 'The hire asks for a group the stage may not assign (`assignableGroups`, `departmentGroups`). Refused before any write.',
    action: 'Correct the hire\'s groups or department; if the group should be assignable, add it to `assignableGroups` and deploy. Then run the hire again.',
  },
  EmailDomainNotAllowed: {
    meaning: 'An address that would receive credentials or the manager\'s notice is outside `allowedEmailDomains`: the hire\'s `email`, the `managerEmail`, or one on the user for a re-send. Refused before any write.',
    action: 'Correct the address in HR (or add the domain to `allowedEmailDomains`, if credentials may go there, and deploy). Then run the hire again.',
  },
  UserNameConflict: {
    meaning: 'A user of that name exists and is not this workflow\'s for this employee (another path, managed-by tag or employee). It was left unchanged.',
    action: 'See whose it is: `onboarding status --user <name>`. For another person, give the hire its own `userName` and run it again. Never tag someone else\'s user to make it the workflow\'s.',
  },
  GroupNotFound: {
    meaning: 'A group the hire should join does not exist in the account.',
    action: 'Create the group (see "Deploy") or correct `departmentGroups`; run the hire again.',
  },
  ConfigurationError: {
    meaning: 'A function\'s settings (its environment) are missing or invalid; the cause names the variable.',
    action: 'Fix the stage param and deploy again, then run the failed hires again.',
  },
  CredentialsUnavailable: {
    meaning: 'The sealed password could not be opened for this user and execution, so it was not mailed.',
    action: `${SES_RESEND} If it happens again, check the \`CredentialsKey\` KMS key and its policy.`,
  },
  InvalidReprovisionRequest: {
    meaning: 'The reprovision state machine was started with input that is not a request (by hand, most likely).',
    action: 'Leave reprovisioning to the sweep (`onboarding reprovision`), or start it with `{"action": "RESET_PASSWORD", "hire": {"userName": ..., "employeeId": ...}}`.',
  },
  HireNotRebuildable: {
    meaning: 'A managed user\'s tags no longer hold a valid hire (a tag removed or edited), so its onboarding cannot be finished or its password re-sent; or `credentialsRecipient` is `manager` or `split` and the user has no `onboarding:manager-email` tag to re-send to.',
    action: 'Restore the tags the cause names, or run the hire again from the HR record, which writes them again. For a missing `onboarding:manager-email` (a user onboarded without a manager, or before the setting): `aws iam tag-user --user-name <name> --tags Key=onboarding:manager-email,Value=<address>`, then `onboarding reprovision`.',
  },
  SweepIncomplete: {
    meaning: 'The reprovisioning sweep could not inspect or act on some users; it handled the others (the sweep Lambda\'s error, not an execution\'s).',
    action: '`onboarding reprovision --dry-run` lists every user with its outcome and error. Fix what it names (often permissions or throttling); the next sweep tries those users again.',
  },
  MassOffboardingHeld: {
    meaning:
      'More of the managed users would lose their access within a day than `offboardingGuardShare` allows (offboarded, or deleted ' +
      'by the sweep): this offboarding or deletion was not done and the user is untouched. Ops were told.',
    action:
      'Check with HR that the terminations are real. If they are, `onboarding confirm-offboarding` (valid for an hour, at most a day), ' +
      'then offboard the held employees again (`onboarding list --status FAILED --state-machine-arn <OffboardingStateMachineArn>`, ' +
      'then `onboarding offboard --employee-id <id>` each); the next sweep does the held deletions. If not, stop the source of the events.',
  },
  EntityTemporarilyUnmodifiableException: {
    meaning: retriedOut('IAM had not settled the login profile after about 7 minutes'),
    action: TRANSIENT,
  },
  NoSuchEntityException: {
    meaning: retriedOut('IAM did not find the user (eventual consistency that never settled), or the user was deleted while its onboarding ran'),
    action: '`onboarding status --user <name>`: if the user exists, run the hire again; if it was deleted on purpose, there is nothing to do.',
  },
  EntityAlreadyExistsException: {
    meaning: 'IAM found an entity where the workflow expected none (a race it could not adopt).',
    action: 'Run the hire again: a user that is the workflow\'s is adopted.',
  },
  LimitExceededException: {
    meaning: 'An IAM quota is reached: 5,000 users per account, 10 groups per user or 50 tags per user.',
    action: 'Delete users nobody needs or reduce the groups, then run the hire again.',
  },
  PasswordPolicyViolationException: {
    meaning: 'IAM refused the generated password under the account\'s password policy.',
    action: 'Read the policy (`aws iam get-account-password-policy`); raise `passwordLength` if it asks for more and deploy. Then run the hire again.',
  },
  ConcurrentModificationException: {
    meaning: 'IAM refused a change because another change to the same user was under way.',
    action: TRANSIENT,
  },
  InvalidInputException: {
    meaning: 'IAM rejected a value (a name, a tag) that passed the workflow\'s own checks; the cause names it.',
    action: 'Correct the record in HR and run the hire again; if the value looks valid, report it with the execution.',
  },
  AccessDenied: {
    meaning: 'A function\'s role may not make this IAM or SES call: usually something the trust boundary does not allow (a group, a recipient), or an SCP or boundary of the account.',
    action: 'The cause names the action and resource. If the request is legitimate, change the setting that governs it ("Trust boundary") and deploy; never widen a role by hand.',
  },
  Throttling: {
    meaning: retriedOut('IAM or SES refused calls for rate (IAM\'s account-wide token bucket, SES\'s sending rate)'),
    action: `${TRANSIENT} If it recurs, hires come in bursts beyond IAM's rate: spread them out.`,
  },
  ServiceFailure: {
    meaning: retriedOut('IAM failed on its side (5xx)'),
    action: 'Check the AWS Health Dashboard; run the hire again once IAM is healthy.',
  },
  ServiceFailureException: {
    meaning: retriedOut('IAM failed on its side (5xx)'),
    action: 'Check the AWS Health Dashboard; run the hire again once IAM is healthy.',
  },
  AccessDeniedException: {
    meaning: 'KMS refused to use the credentials key for this role (key policy, or a role changed by hand).',
    action: KEY_ACTION,
  },
  KMSInternalException: {
    meaning: retriedOut('KMS failed on its side'),
    action: TRANSIENT,
  },
  KMSInvalidStateException: {
    meaning: 'The credentials key is disabled or pending deletion.',
    action: KEY_ACTION,
  },
  DisabledException: {
    meaning: 'The credentials key is disabled.',
    action: KEY_ACTION,
  },
  NotFoundException: {
    meaning: 'The credentials key does not exist (deleted, or the functions name another one).',
    action: KEY_ACTION,
  },
  InvalidCiphertextException: {
    meaning: 'The sealed password does not belong to this user and execution, so KMS would not open it.',
    action: `${SES_RESEND} If it recurs, something changes the state between steps: report it with the execution.`,
  },
  IncorrectKeyException: {
    meaning: 'The sealed password was sealed under another key than the one the function uses.',
    action: KEY_ACTION,
  },
  KeyUnavailableException: {
    meaning: retriedOut('KMS could not use the key for now'),
    action: TRANSIENT,
  },
  DependencyTimeoutException: {
    meaning: retriedOut('KMS timed out'),
    action: TRANSIENT,
  },
  MessageRejected: {
    meaning: 'SES refused the email: the sender (`senderEmail`) is not verified or, in the SES sandbox, the recipient is not.',
    action: `Verify the sender in SES (in the sandbox, the recipient too, or ask for production access). ${SES_RESEND}`,
  },
  MailFromDomainNotVerifiedException: {
    meaning: 'SES refused the email: the sender\'s MAIL FROM domain is not verified.',
    action: `Verify the MAIL FROM domain in SES. ${SES_RESEND}`,
  },
  ConfigurationSetDoesNotExistException: {
    meaning: 'The TLS-only SES configuration set of the credentials mail is missing.',
    action: `Deploy the stack again (it creates the set). ${SES_RESEND}`,
  },
  ConfigurationSetSendingPausedException: {
    meaning: 'Sending through the credentials configuration set is paused.',
    action: `Resume sending for the set in SES. ${SES_RESEND}`,
  },
  AccountSendingPausedException: {
    meaning: 'SES sending is paused for the whole account (its reputation).',
    action: `Resolve the pause with AWS in the SES console. ${SES_RESEND}`,
  },
  ThrottlingException: {
    meaning: retriedOut('KMS or another service refused calls for rate'),
    action: TRANSIENT,
  },
  TooManyRequestsException: {
    meaning: retriedOut('A service refused calls for rate'),
    action: TRANSIENT,
  },
  ServiceUnavailable: {
    meaning: retriedOut('An AWS service was unavailable'),
    action: 'Check the AWS Health Dashboard; run the hire again once the service is back.',
  },
  ServiceUnavailableException: {
    meaning: retriedOut('An AWS service was unavailable'),
    action: 'Check the AWS Health Dashboard; run the hire again once the service is back.',
  },
  InternalFailure: {
    meaning: retriedOut('An AWS service failed on its side'),
    action: TRANSIENT,
  },
  InternalError: {
    meaning: retriedOut('An AWS service failed on its side'),
    action: TRANSIENT,
  },
  TimeoutError: {
    meaning: retriedOut('A call to AWS timed out in the SDK (network or service trouble)'),
    action: TRANSIENT,
  },
  'Lambda.Unknown': {
    meaning: 'A function died without reporting an error (out of memory, the runtime crashed), possibly after its AWS calls succeeded.',
    action: 'Read the function\'s log for the execution (its id is the correlation id); run the hire again: every step is safe to repeat.',
  },
  'Lambda.ServiceException': {
    meaning: retriedOut('Lambda could not run the function'),
    action: 'Check the AWS Health Dashboard; run the hire again.',
  },
  'Lambda.AWSLambdaException': {
    meaning: retriedOut('Lambda could not run the function'),
    action: 'Check the AWS Health Dashboard; run the hire again.',
  },
  'Lambda.SdkClientException': {
    meaning: retriedOut('Step Functions could not reach Lambda'),
    action: 'Check the AWS Health Dashboard; run the hire again.',
  },
  'Lambda.TooManyRequestsException': {
    meaning: retriedOut('Lambda throttled the function: on CreateUser, the hire waited over an hour for its turn (README "Bursts"); elsewhere, the account\'s concurrency was used up'),
    action: 'On CreateUser: a burst larger than IAM\'s quota of users, or createUserConcurrency set too low; run the hire again. Elsewhere: see the throttles alarm and raise the account\'s Lambda concurrency. Then run the hire again.',
  },
  'Sandbox.Timedout': {
    meaning: 'A function ran past its timeout (30 s; the sweep 15 minutes).',
    action: 'Read the function\'s log for the execution (a slow AWS call, a hang); run the hire again.',
  },
  'Runtime.ExitError': {
    meaning: 'A function\'s process exited before it answered (a crash, or memory used up), possibly after its AWS calls succeeded.',
    action: 'Read the function\'s log for the execution (its id is the correlation id); run the hire again: every step is safe to repeat.',
  },
  'Runtime.ImportModuleError': {
    meaning: 'A function\'s code could not be loaded: the deployment is broken.',
    action: 'Deploy again from a green build, then run the failed hires again.',
  },
  'States.Timeout': {
    meaning: 'The execution, or one of its states, ran out of time.',
    action: '`onboarding history <execution>` shows where it stopped; run the hire again.',
  },
  'States.TaskFailed': {
    meaning: 'A task failed without a more precise error name.',
    action: '`onboarding history <execution>` and the function\'s log show why; run the hire again.',
  },
  'States.Runtime': {
    meaning: 'Step Functions could not process a state (a path missing from the state): a defect in the definition or in the input it was given.',
    action: '`onboarding history <execution> --events` shows the state; report it with the execution.',
  },
  'States.Permissions': {
    meaning: 'The state machine\'s role may not invoke a function.',
    action: 'Deploy the stack again to restore the role, then run the failed hires again.',
  },
};

/** Every entry, in the order of {@link FAILURE_NAMES}. */
export const RUNBOOK: ReadonlyArray<{ name: FailureName } & RunbookEntry> = FAILURE_NAMES.map((name) => ({ name, ...ENTRIES[name] }));

/** An execution stopped by hand has no error name; its entry. */
export const ABORTED: RunbookEntry = {
  meaning: 'Someone stopped the execution (StopExecution); it did nothing more after that.',
  action: 'Find out why it was stopped before running the hire again.',
};

/** What to do about an error name the runbook does not list. */
export function adviceFor(name: string | undefined): RunbookEntry & { known: boolean } {
  const entry = name !== undefined && Object.hasOwn(ENTRIES, name) ? ENTRIES[name as FailureName] : undefined;
  if (entry) return { ...entry, known: true };
  return {
    known: false,
    meaning: 'An error this runbook does not list; the cause says what the code or AWS reported.',
    action: '`onboarding history <execution>` shows the state that failed and its retries; the function\'s log has the rest.',
  };
}

/** The runbook as the markdown table of README's "Runbook" section. */
export function runbookMarkdown(): string {
  const cell = (text: string) => text.replace(/\|/g, '\\|');
  return [
    '| Error | What it means | What to do |',
    '|---|---|---|',
    ...RUNBOOK.map((entry) => `| \`${entry.name}\` | ${cell(entry.meaning)} | ${cell(entry.action)} |`),
    `| (aborted, no error) | ${cell(ABORTED.meaning)} | ${cell(ABORTED.action)} |`,
  ].join('\n');
}
