/**
 * One employee's whole lifecycle on the local stack, driven the way HR drives it: events put on
 * the HR bus with the AWS CLI (`aws events put-events`), and the user's state read back with the
 * AWS CLI after each step, printed. The steps are a list: each puts one event and says what the
 * user must look like after it.
 */
import { describe, expect, it } from 'vitest';
import { useAwsCliStack } from '../support/aws-cli.ts';

const local = useAwsCliStack();
const { aws } = local;

/** What the user is, as the AWS CLI shows it: the tags that tell its story, its groups, its credentials. */
interface UserState {
  exists: boolean;
  status?: string;
  groups: string[];
  loginProfile: boolean;
  accessKeys: string[];
  tags: Record<string, string>;
}

async function userState(userName: string): Promise<UserState> {
  try {
    await aws('iam', 'get-user', '--user-name', userName);
  } catch {
    return { exists: false, groups: [], loginProfile: false, accessKeys: [], tags: {} };
  }
  const { Tags = [] } = (await aws('iam', 'list-user-tags', '--user-name', userName)) as { Tags?: Array<{ Key: string; Value: string }> };
  const { Groups = [] } = (await aws('iam', 'list-groups-for-user', '--user-name', userName)) as { Groups?: Array<{ GroupName: string }> };
  const { AccessKeyMetadata = [] } = (await aws('iam', 'list-access-keys', '--user-name', userName)) as { AccessKeyMetadata?: Array<{ Status: string }> };
  const loginProfile = await aws('iam', 'get-login-profile', '--user-name', userName).then(
    () => true,
    () => false,
  );
  const tags = Object.fromEntries(Tags.filter((t) => t.Key.startsWith('onboarding:')).map((t) => [t.Key, t.Value]));
  return { exists: true, status: tags['onboarding:status'], groups: Groups.map((g) => g.GroupName).sort(), loginProfile, accessKeys: AccessKeyMetadata.map((k) => k.Status), tags };
}

function printed(step: string, state: UserState): string {
  const lines = state.exists
    ? [
        `  status        ${state.status ?? '(none)'}`,
        `  groups        ${state.groups.join(', ') || '(none)'}`,
        `  console login ${state.loginProfile ? 'yes' : 'no'}`,
        `  access keys   ${state.accessKeys.join(', ') || '(none)'}`,
        ...Object.entries(state.tags)
          .filter(([key]) => /status|offboarded|employee-id|groups/.test(key))
          .map(([key, value]) => `  ${key.padEnd(28)} ${value}`),
      ]
    : ['  (no such user)'];
  return `After "${step}":\n${lines.join('\n')}\n`;
}

const EMPLOYEE = { employeeId: 'E-LIFE-1', userName: 'grace.lifecycle' };

interface Step {
  name: string;
  /** The HR event, as `aws events put-events` puts it. */
  detailType: string;
  detail: Record<string, unknown>;
  /** Before the event: what an administrator or the user did meanwhile. */
  before?: () => Promise<void>;
  /** The execution's outcome (its output's status). */
  outcome: string;
  expect: (state: UserState) => void;
}

/** The lifecycle, in order: joiner, mover, leaver, and the same person back. */
const STEPS: Step[] = [
  {
    name: 'hired',
    detailType: 'Employee Hired',
    detail: { ...EMPLOYEE, firstName: 'Grace', lastName: 'Lifecycle', email: 'grace.lifecycle@example.com', department: 'engineering' },
    outcome: 'ONBOARDED',
    expect: (state) => {
      expect(state).toMatchObject({ exists: true, status: 'complete', groups: ['developers'], loginProfile: true });
    },
  },
  {
    name: 'moved (to the readers group; an admin had added the auditors group by hand)',
    detailType: 'Employee Changed',
    detail: { ...EMPLOYEE, groups: ['readers'] },
    before: async () => {
      await aws('iam', 'create-group', '--group-name', 'readers');
      await aws('iam', 'create-group', '--group-name', 'auditors');
      await aws('iam', 'add-user-to-group', '--user-name', EMPLOYEE.userName, '--group-name', 'auditors');
    },
    outcome: 'MOVED',
    expect: (state) => {
      // The workflow's group is swapped for the new one; the one it never assigned stays.
      expect(state).toMatchObject({ exists: true, status: 'complete', groups: ['auditors', 'readers'], loginProfile: true });
      expect(state.tags['onboarding:groups']).toBe('readers');
    },
  },
  {
    name: 'terminated',
    detailType: 'Employee Terminated',
    detail: { employeeId: EMPLOYEE.employeeId },
    // The user made itself an access key while employed.
    before: async () => {
      await aws('iam', 'create-access-key', '--user-name', EMPLOYEE.userName);
    },
    outcome: 'OFFBOARDED',
    expect: (state) => {
      expect(state).toMatchObject({ exists: true, status: 'offboarded', groups: ['auditors'], loginProfile: false, accessKeys: ['Inactive'] });
      expect(state.tags['onboarding:offboarded-by']).toContain(':execution:iam-onboarding-local-offboarding:');
      expect(Date.parse(state.tags['onboarding:offboarded-at'] ?? '')).toBeGreaterThan(0);
    },
  },
  {
    name: 'terminated again (a duplicate delivery)',
    detailType: 'Employee Terminated',
    detail: { employeeId: EMPLOYEE.employeeId, userName: EMPLOYEE.userName },
    outcome: 'ALREADY_OFFBOARDED',
    expect: (state) => {
      expect(state).toMatchObject({ exists: true, status: 'offboarded', loginProfile: false });
    },
  },
  {
    name: 'hired again (a rehire)',
    detailType: 'Employee Hired',
    detail: { ...EMPLOYEE, firstName: 'Grace', lastName: 'Lifecycle', email: 'grace.lifecycle@example.com', department: 'engineering' },
    outcome: 'ONBOARDED',
    expect: (state) => {
      // Access restored: a new password and the new hire's groups (the access key stays inactive).
      expect(state).toMatchObject({ exists: true, status: 'complete', groups: ['auditors', 'developers'], loginProfile: true, accessKeys: ['Inactive'] });
      expect(state.tags['onboarding:groups']).toBe('developers');
    },
  },
];

async function lastExecutionOutput(machineKey: string): Promise<{ status?: string; output?: { status?: string } }> {
  const machine = local.stack.stateMachines.find((m) => m.key === machineKey);
  if (!machine) throw new Error(`the local stack runs no ${machineKey} state machine`);
  const { executions = [] } = (await aws('stepfunctions', 'list-executions', '--state-machine-arn', machine.arn)) as {
    executions?: Array<{ executionArn: string; startDate: string }>;
  };
  const [latest] = [...executions].sort((a, b) => String(b.startDate).localeCompare(String(a.startDate)));
  if (!latest) return {};
  const described = await aws('stepfunctions', 'describe-execution', '--execution-arn', latest.executionArn);
  return { status: String(described.status), ...(typeof described.output === 'string' && { output: JSON.parse(described.output) as { status?: string } }) };
}

const MACHINE_OF: Record<string, string> = { 'Employee Hired': 'onboarding', 'Employee Terminated': 'offboarding', 'Employee Changed': 'move' };

describe('one employee\'s lifecycle, with the AWS CLI', () => {
  it('hires, moves, terminates and rehires: each step changes only what it should, and a duplicate nothing', async () => {
    const bus = local.stack.stateMachines.find((m) => m.key === 'onboarding')?.routes[0]?.eventBusName ?? '';
    const story: string[] = [];
    for (const step of STEPS) {
      await step.before?.();
      const entry = { EventBusName: bus, Source: 'hr.system', DetailType: step.detailType, Detail: JSON.stringify(step.detail) };
      const put = await aws('events', 'put-events', '--entries', JSON.stringify([entry]));
      expect(put.FailedEntryCount, step.name).toBe(0);
      await local.stack.waitForIdle(60_000);

      const execution = await lastExecutionOutput(MACHINE_OF[step.detailType] ?? '');
      expect(execution.status, step.name).toBe('SUCCEEDED');
      expect(execution.output?.status, step.name).toBe(step.outcome);
      const state = await userState(EMPLOYEE.userName);
      story.push(printed(step.name, state));
      step.expect(state);
    }
    local.showOutput();
    console.log(story.join('\n'));
  }, 120_000);
});
