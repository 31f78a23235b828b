/**
 * API-call benchmark: runs one onboarding of a new hire (one group) through the real state
 * machine and the real handlers, with AWS answered by aws-sdk-client-mock, and prints how many
 * calls it makes to each AWS API and how many state transitions Step Functions would bill.
 * Then the same for a repeated event (the hire already onboarded). Each as a cold Lambda would
 * make it (a warm one skips GetAccountPasswordPolicy for a few minutes). Figures only; run with
 * `npm run bench:calls`.
 */
import '../local/polyfills.ts';
import { CreateLoginProfileCommand, EntityAlreadyExistsException, GetUserCommand } from '@aws-sdk/client-iam';
import { forgetPasswordRules } from '../functions/lib/password.ts';
import { fakeAws, managedUser, type FakeAws } from '../testing/aws-fakes.ts';
import { applyTestEnv } from '../testing/lambda-env.ts';
import { inProcessStateMachine } from '../testing/state-machine.ts';

const hire = { employeeId: 'E-1', firstName: 'Ada', lastName: 'Lovelace', email: 'ada@example.com', department: 'engineering' };

function callsByApi(stubs: Record<string, { calls(): Array<{ args: unknown[] }> }>): Array<[string, number]> {
  const counts = new Map<string, number>();
  for (const [service, stub] of Object.entries(stubs)) {
    for (const call of stub.calls()) {
      const name = `${service}:${(call.args[0] as object).constructor.name.replace(/Command$/, '')}`;
      counts.set(name, (counts.get(name) ?? 0) + 1);
    }
  }
  return [...counts.entries()];
}

applyTestEnv();
Object.assign(process.env, { POWERTOOLS_LOG_LEVEL: 'SILENT', POWERTOOLS_METRICS_DISABLED: 'true', AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' });
const onboarding = await inProcessStateMachine('onboarding');

async function measure(label: string, prepare: (aws: FakeAws) => void): Promise<void> {
  const aws = fakeAws();
  forgetPasswordRules();
  prepare(aws);
  const result = await onboarding.run(hire, label);
  const calls = callsByApi({ iam: aws.iam, kms: aws.kms, ses: aws.ses });
  const total = calls.reduce((sum, [, n]) => sum + n, 0);
  const iam = calls.filter(([api]) => api.startsWith('iam:')).reduce((sum, [, n]) => sum + n, 0);
  const transitions = result.events.filter((e) => e.type === 'StateEntered').length;
  aws.reset();
  process.stdout.write(`\n${label}: ${result.status}, ${total} AWS API calls (IAM ${iam}), ${transitions} state transitions\n`);
  for (const [api, n] of calls) process.stdout.write(`  ${api.padEnd(36)} ${n}\n`);
}

await measure('new hire', () => undefined);
await measure('repeated event', (aws) => {
  // As the first onboarding left it: ours, for this employee, its groups recorded.
  const user = managedUser({ userName: 'ada', employeeId: 'E-1' });
  user.Tags = [...(user.Tags ?? []), { Key: 'onboarding:groups', Value: 'developers' }];
  aws.iam.on(GetUserCommand).resolves({ User: user });
  aws.iam.on(CreateLoginProfileCommand).rejects(new EntityAlreadyExistsException({ message: 'exists', $metadata: {} }));
});
