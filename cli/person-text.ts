/**
 * One hire's status (person-status.ts) as a few lines for people: a headline, the facts, the
 * last failure with the runbook's advice, the next sweep, the executions, and what was searched.
 */
import { TAG } from '../functions/lib/managed-user.ts';
import { formatTime, keyValues, oneLine, table } from './output.ts';
import type { NextSweep, PersonStatus, UserFacts } from './person-status.ts';

const when = (value: Date | string | undefined): string | undefined => {
  if (value === undefined) return undefined;
  const date = value instanceof Date ? value : new Date(value);
  return Number.isNaN(date.getTime()) ? String(value) : formatTime(date);
};

function who(status: PersonStatus): string {
  const { employeeId, userName, email } = status.query;
  if (status.user) return status.user.userName;
  return employeeId !== undefined ? `employee ${employeeId}` : (userName ?? email ?? '');
}

const ONBOARDING_WORDS: Record<string, string> = {
  complete: 'onboarded',
  failed: 'onboarding failed',
  'in-progress': 'onboarding in progress',
  waiting: 'waiting for the start date',
  offboarded: 'offboarded (access removed, the user kept until the sweep deletes it)',
  'console-access-removed': 'console access removed',
};

function headline(status: PersonStatus): string {
  const { user, lastFailure } = status;
  if (!user) {
    if (status.executions.length === 0) return `${who(status)}: nothing found (no IAM user, no execution among those searched)`;
    const last = status.executions[0]!;
    const how = last.status === 'SUCCEEDED' ? 'its last execution succeeded' : `its last execution ${last.status ?? 'is gone'}${last.error ? `: ${last.error}` : ''}`;
    return `${who(status)}: never reached IAM (no user); ${how}`;
  }
  if (!user.ours) return `${user.userName}: exists, and is not the workflow's user (${user.notOursBecause})`;
  const onboarding = user.status ? (ONBOARDING_WORDS[user.status] ?? user.status) : 'no onboarding status';
  const failure = user.status === 'failed' ? (user.failure ?? lastFailure?.error) : undefined;
  if (user.status === 'offboarded') return `${user.userName}: ${onboarding}`;
  return [
    `${user.userName}: ${onboarding}${failure ? ` (${failure})` : ''}`,
    user.credentialsDelivered ? 'credentials sent' : 'credentials not sent',
    user.passwordLastUsed ? 'signed in' : 'not signed in yet',
  ].join('; ');
}

function userLines(status: PersonStatus, user: UserFacts): Array<[string, unknown]> {
  const ownership = `${status.ownership.managedPath}, ${TAG.managedBy}=${status.ownership.managedBy}`;
  const credentials = user.credentialsSentAt
    ? `${user.credentialsDelivered ? 'sent' : 'not sent for the current password (last mail'} ${when(user.credentialsSentAt)}${user.credentialsDelivered ? '' : ')'}`
    : 'not sent';
  const password = user.loginProfile
    ? `${credentials}; password issued ${when(user.passwordIssuedAt ?? user.loginProfile.createDate)}${user.passwordResets > 0 ? `, reset ${user.passwordResets} time(s) by the sweep` : ''}`
    : `no console password${user.credentialsSentAt ? ` (last mail ${when(user.credentialsSentAt)})` : ''}`;
  return [
    ['user', `${user.userName}  ${user.arn ?? ''}`.trimEnd()],
    ['ours', user.ours ? `yes (${ownership})` : `no: ${user.notOursBecause}`],
    ['employee', [user.employeeId ?? '(no employee-id tag)', user.email].filter(Boolean).join('  ')],
    ['onboarding', user.status ? `${user.status} since ${when(user.statusAt) ?? '-'}` : 'no status tag'],
    ...(user.credentialsAt ? [['start date', `${user.startDate ?? '-'}: password and email at ${when(user.credentialsAt)}`] as [string, unknown]] : []),
    ['credentials', password],
    ['signed in', user.passwordLastUsed ? when(user.passwordLastUsed) : user.loginProfile ? 'not yet (the password must be changed at first sign-in)' : 'no'],
  ];
}

function noUserLines(status: PersonStatus): Array<[string, unknown]> {
  const { users } = status.searched;
  const scope = users.listed > 0 || !users.how.startsWith('GetUser')
    ? ` (${users.read} of ${users.listed} users under ${status.ownership.managedPath} read${users.complete ? ', all of them' : `: raise --max-users to read more`})`
    : '';
  const lines: Array<[string, unknown]> = [['user', `none${scope}`]];
  if (status.nameTakenBy) {
    const taken = status.nameTakenBy;
    lines.push([
      'in the way',
      `user ${taken.userName} (the name this email gets) exists and is ${taken.ours ? `the workflow's for employee ${taken.employeeId ?? '?'}` : 'not the workflow\'s'}`,
    ]);
  }
  return lines;
}

const SWEEP_WHY: Record<string, string> = {
  'no-such-user': 'nothing: the sweep heals only users that exist; run the hire again once the cause is fixed (README Runbook)',
  'not-managed': 'nothing: not the workflow\'s user',
  'signed-in': 'nothing, ever: the hire has signed in',
  'console-access-removed': 'nothing, ever: console access was removed (running the hire again restores it)',
  'in-progress': 'nothing yet: the onboarding was touched less than the grace period ago and may still be running',
  'waiting-for-start-date': 'nothing: the onboarding waits for the start date and sets the password then',
  offboarded: 'nothing until its retention period ends (offboardedRetentionDays after it was offboarded); then it deletes the user',
};

function sweepText(next: NextSweep): string {
  if (next.outcome === 'not-swept' || next.outcome === 'nothing') {
    if (next.reason === 'healthy') {
      const later = next.laterAt
        ? `; ${next.laterAction === 'remove-console-access' ? 'removes console access' : 'resets the password'} if it is still unused after ${when(next.laterAt)}`
        : '';
      return `nothing (healthy)${later}`;
    }
    return SWEEP_WHY[next.reason] ?? `nothing (${next.reason})`;
  }
  const action = `${next.action} (${next.reason})`;
  switch (next.outcome) {
    case 'would-start':
      return `${action}: starts ${next.executionName} on the ${next.stateMachine} state machine`;
    case 'already-done-today':
      return `${action}: ${next.executionName} already ran today`;
    case 'not-rebuildable':
      return `${action}, but starts nothing: ${oneLine(next.detail ?? 'the user\'s tags cannot say whose it is')}`;
  }
}

function failureLines(status: PersonStatus): Array<[string, unknown]> {
  const failure = status.lastFailure;
  if (!failure) return [['last failure', 'none']];
  const where = failure.execution
    ? `in ${failure.execution.name} (${failure.execution.stateMachine}, ${failure.execution.status ?? '?'})`
    : `(from the user's ${TAG.failure} tag; its execution is not among those searched)`;
  return [
    ['last failure', [failure.error, when(failure.at), where].filter(Boolean).join(', ')],
    ...(failure.cause ? ([['  cause', oneLine(failure.cause)]] as Array<[string, unknown]>) : []),
    ['  means', failure.advice.meaning],
    ['  what to do', failure.advice.action],
  ];
}

function searchedText(status: PersonStatus): string {
  const { users, executions } = status.searched;
  const parts: string[] = [];
  if (users.how.startsWith('GetUser')) parts.push(users.how);
  else parts.push(`the tags of ${users.read} of the ${users.complete ? '' : 'first '}${users.listed} users under ${status.ownership.managedPath}`);
  for (const search of executions) {
    const inputs = search.inputsRead > 0 ? ` (${search.inputsRead} inputs read)` : '';
    const listed = search.complete ? `all ${search.listed}` : `the ${search.listed} most recent`;
    parts.push(search.listed === 0 && search.complete ? `no ${search.stateMachine} executions` : `${listed} ${search.stateMachine} executions${inputs}`);
  }
  return `Searched: ${parts.join('; ')}\n`;
}

export function personText(status: PersonStatus): string {
  const lines: Array<[string, unknown]> = [
    ...(status.user ? userLines(status, status.user) : noUserLines(status)),
    ...failureLines(status),
    ['next sweep', sweepText(status.nextSweep)],
  ];
  const executions =
    status.executions.length === 0
      ? 'Executions: none found\n'
      : `Executions (newest first)\n${table(
          ['  NAME', 'STATE MACHINE', 'STATUS', 'STARTED', 'FOUND BY'],
          status.executions.map((e) => [`  ${e.name}`, e.stateMachine, e.status ?? 'gone (closed 90+ days ago)', e.startDate, e.found.join(', ')]),
        )}`;
  return `${headline(status)}\n${keyValues(lines, '  ')}${executions}${searchedText(status)}`;
}
