/**
 * The attacks the trust boundary exists for, tried on the local stack the way an outsider with
 * access to the HR bus would, with the AWS CLI: a privileged group that exists, an outside
 * mail domain, markup in a name, a spoofed source. Each ends refused: nothing granted in IAM,
 * no credentials mailed, ops told. (The bus policy that keeps other principals off the bus is
 * not enforced by the emulator; test/package/trust-boundary.test.ts evaluates it.)
 */
import { describe, expect, it } from 'vitest';
import { useAwsCliStack } from '../support/aws-cli.ts';

const local = useAwsCliStack();
const { aws } = local;

const hire = (employeeId: string, changes: Record<string, unknown>) => ({
  employeeId,
  firstName: 'Mallory',
  lastName: 'Example',
  email: `${employeeId.toLowerCase()}@example.com`,
  ...changes,
});

describe('attacks through the HR bus, with the AWS CLI', () => {
  it('refuses each one: nothing granted, nothing mailed outside, ops told', async () => {
    const bus = local.stack.stateMachines.find((m) => m.key === 'onboarding')?.routes[0]?.eventBusName ?? '';
    expect(bus).toBe('iam-onboarding-local-hr');

    // A privileged group that exists in the account.
    await aws('iam', 'create-group', '--group-name', 'Admins');
    await aws('iam', 'attach-group-policy', '--group-name', 'Admins', '--policy-arn', 'arn:aws:iam::aws:policy/AdministratorAccess');

    const entry = (detail: unknown, source = 'hr.system') => ({ EventBusName: bus, Source: source, DetailType: 'Employee Hired', Detail: JSON.stringify(detail) });
    const attacks = {
      'privileged group': entry(hire('E-ATK1', { groups: ['developers', 'Admins'] })),
      'outside domain': entry(hire('E-ATK2', { email: 'mallory@evil.example.net' })),
      'markup in a name': entry(hire('E-ATK3', { firstName: '<a href="https://evil.example.net">Reset</a>' })),
      'spoofed source': entry(hire('E-ATK4', { groups: ['Admins'] }), 'hr.attacker'),
    };
    const put = await aws('events', 'put-events', '--entries', JSON.stringify(Object.values(attacks)));
    expect(put.FailedEntryCount).toBe(0);
    await local.stack.waitForIdle(60_000);

    // What Step Functions shows: three refusals with their named errors; the spoofed source started nothing.
    const { executions = [] } = (await aws('stepfunctions', 'list-executions', '--state-machine-arn', local.stack.stateMachines[0]!.arn)) as {
      executions?: Array<{ executionArn: string }>;
    };
    const outcomes = await Promise.all(
      executions.map(async (e) => {
        const described = await aws('stepfunctions', 'describe-execution', '--execution-arn', e.executionArn);
        return `${String(described.status)} ${String(described.error)}`;
      }),
    );
    expect(outcomes.sort()).toEqual(['FAILED EmailDomainNotAllowed', 'FAILED GroupNotAllowed', 'FAILED InvalidHrEvent']);

    // What IAM shows: no user was created, nobody is in Admins.
    const users = (await aws('iam', 'list-users', '--path-prefix', '/onboarding/')) as { Users?: unknown[] };
    expect(users.Users ?? []).toEqual([]);
    const admins = (await aws('iam', 'get-group', '--group-name', 'Admins')) as { Users?: unknown[] };
    expect(admins.Users ?? []).toEqual([]);
    expect(local.stack.requests({ service: 'iam' }).filter((r) => !/^(Get|List)/.test(r.operation) && r.operation !== 'CreateGroup' && r.operation !== 'AttachGroupPolicy')).toEqual([]);

    // What SES sent: one ops email per refusal, nothing else, no password anywhere.
    const mail = await local.stack.mail();
    expect(mail.map((m) => m.to).flat()).toEqual(Array(3).fill(local.stack.functionEnv.OPS_EMAIL));
    expect(mail.map((m) => m.subject).sort()).toEqual([
      expect.stringContaining('EmailDomainNotAllowed'),
      expect.stringContaining('GroupNotAllowed'),
      expect.stringContaining('InvalidHrEvent'),
    ]);
    expect(local.stack.passwordsSent()).toEqual([]);
  }, 120_000);
});
