/**
 * `npm start`: onboards the example hire (examples/events/employee-hired.json) end to end on the
 * local AWS stack and shows it happen. The stack runs as a child process (local/serve.ts); this
 * script talks to it only as any AWS client would (SDK calls to the endpoint) plus the stack's
 * admin calls, then stops it and checks that nothing is left running.
 *
 * `npm start -- --packaged` does the same with what is deployed: the service packaged, each
 * function's zip run on node 22 (see local/packaged/).
 */
import { fork, type ChildProcess } from 'node:child_process';
import { mkdirSync, openSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import {
  GetLoginProfileCommand,
  GetUserCommand,
  IAMClient,
  ListAttachedUserPoliciesCommand,
  ListGroupsForUserCommand,
  ListUserTagsCommand,
} from '@aws-sdk/client-iam';
import { ListExecutionsCommand, SFNClient, type DescribeExecutionCommandOutput } from '@aws-sdk/client-sfn';
import { follow } from '../cli/execution-history.ts';
import type { DeliveredMail, RecordedRequest } from './request-journal.ts';
import type { FailedMessage, ReadyMessage } from './serve.ts';
import type { RouteInfo, StateMachineInfo } from './stack.ts';
import { TimelinePrinter } from './timeline.ts';
import { PROJECT_ROOT } from './serverless-yaml.ts';

// The SDK warns on node 20 about releases a year away; it would only clutter the demo.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

const EXAMPLE = 'examples/events/employee-hired.json';
// Counted in attempts rather than milliseconds, so the demo shows retries however busy the machine.
const SETTLE_CALLS = 2;
/** How often the timeline polls the execution's history. */
const POLL_MS = 50;
const started = Date.now();
const PACKAGED = process.argv.slice(2).includes('--packaged');
const out = (line = '') => process.stdout.write(`${line}\n`);
const seconds = (since: number) => ((Date.now() - since) / 1000).toFixed(1);

interface HrEvent {
  source: string;
  'detail-type': string;
  resources?: string[];
  detail: { employeeId: string; firstName: string; lastName: string; email: string };
}

interface Clients {
  iam: IAMClient;
  sfn: SFNClient;
  events: EventBridgeClient;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function admin<T>(endpoint: string, pathname: string, init?: RequestInit): Promise<T> {
  const response = await fetch(`${endpoint}${pathname}`, init);
  if (!response.ok) throw new Error(`${pathname}: ${response.status} ${await response.text()}`);
  return (await response.json()) as T;
}

/** local/serve.ts as a child process, its output in `logFile`; `ready` settles once it has started (or could not). */
function startStack(logFile: string): { child: ChildProcess; exited: Promise<number | null>; ready: Promise<ReadyMessage> } {
  const log = openSync(logFile, 'w');
  const child = fork(path.join(import.meta.dirname, 'serve.ts'), PACKAGED ? ['--packaged'] : [], { stdio: ['ignore', log, log, 'ipc'] });
  const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
  const ready = new Promise<ReadyMessage>((resolve, reject) => {
    child.once('message', (message: ReadyMessage | FailedMessage) => {
      if (message.type === 'ready') resolve(message);
      else reject(new Error(message.message));
    });
    void exited.then((code) => reject(new Error(`The local stack exited with code ${code}; see ${path.relative(process.cwd(), logFile)}`)));
  });
  return { child, exited, ready };
}

/** Puts the example HR event on the rule's bus, as HR would. */
async function putExampleEvent(events: EventBridgeClient, route: RouteInfo): Promise<HrEvent['detail']> {
  const event = JSON.parse(readFileSync(path.join(PROJECT_ROOT, EXAMPLE), 'utf8')) as HrEvent;
  const put = await events.send(
    new PutEventsCommand({
      Entries: [
        {
          EventBusName: route.eventBusName,
          Source: event.source,
          DetailType: event['detail-type'],
          Resources: event.resources ?? [],
          Detail: JSON.stringify(event.detail),
        },
      ],
    }),
  );
  const { detail } = event;
  out(`HR event (${EXAMPLE}) put on bus "${route.eventBusName}": ${event.source} / ${event['detail-type']}`);
  out(`  ${detail.firstName} ${detail.lastName} <${detail.email}>, employee ${detail.employeeId}; event id ${put.Entries?.[0]?.EventId}`);
  return detail;
}

/** Finds the execution the event started and prints its timeline until it ends. */
async function followExecution(sfn: SFNClient, machine: StateMachineInfo, route: RouteInfo): Promise<DescribeExecutionCommandOutput> {
  const { executions = [] } = await sfn.send(new ListExecutionsCommand({ stateMachineArn: machine.arn }));
  const executionArn = executions[0]?.executionArn;
  if (!executionArn) throw new Error(`The event started no execution of ${machine.name}`);
  out(`Rule ${route.ruleName} started ${machine.name}, execution ${executions[0]?.name}:`);
  out();
  const timeline = new TimelinePrinter(out);
  const { execution } = await follow(sfn, executionArn, {
    intervalMs: POLL_MS,
    sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
    onEvent: (event, steps) => timeline.add(event, steps),
  });
  return execution;
}

/** The user the onboarding created, its login profile and the mail it sent, as IAM, the request journal and SES saw them. */
async function showOnboarded(iam: IAMClient, endpoint: string, userName: string, email: string): Promise<void> {
  const [{ User: user }, { Tags = [] }, { Groups = [] }, { AttachedPolicies = [] }, { LoginProfile: profile }] = await Promise.all([
    iam.send(new GetUserCommand({ UserName: userName })),
    iam.send(new ListUserTagsCommand({ UserName: userName })),
    iam.send(new ListGroupsForUserCommand({ UserName: userName })),
    iam.send(new ListAttachedUserPoliciesCommand({ UserName: userName })),
    iam.send(new GetLoginProfileCommand({ UserName: userName })),
  ]);
  const { requests } = await admin<{ requests: RecordedRequest[] }>(endpoint, '/_local/requests?service=iam&operation=CreateLoginProfile');
  const sent = requests.filter((r) => r.status === 200).pop();
  const { messages } = await admin<{ messages: DeliveredMail[] }>(endpoint, '/_local/mail');

  out(`IAM user ${user?.UserName}`);
  out(`  arn       ${user?.Arn}`);
  out(`  path      ${user?.Path}`);
  out(`  groups    ${Groups.map((g) => g.GroupName).join(', ') || '(none)'}`);
  out(`  policies  ${AttachedPolicies.map((p) => p.PolicyName).join(', ') || '(none)'}`);
  Tags.forEach((tag, i) => out(`  ${i === 0 ? 'tags' : '    '}      ${tag.Key} = ${tag.Value}`));
  out(`Login profile: ${profile ? 'present (GetLoginProfile)' : 'missing'}`);
  out(
    `  password reset required at first sign-in: ${sent?.params.PasswordResetRequired === 'true' ? 'yes' : 'NO'} ` +
      '(from the CreateLoginProfile request; moto does not keep the flag)',
  );
  for (const mail of messages.filter((m) => m.to.includes(email))) {
    out(`Email delivered by SES (password masked)`);
    out(`  From:    ${mail.source}`);
    out(`  To:      ${mail.to.join(', ')}`);
    out(`  Subject: ${mail.subject}`);
    (mail.text ?? mail.body).split('\n').forEach((line) => out(`  | ${line}`));
  }
}

/** Prepares the stack, puts the HR event on the bus and follows the execution it starts to its end. */
async function onboard(ready: ReadyMessage, clients: Clients, logFile: string): Promise<{ execution: DescribeExecutionCommandOutput; hire: HrEvent['detail'] }> {
  const { endpoint } = ready;
  const machine = ready.stateMachines.find((m) => m.routes.length > 0);
  const route = machine?.routes[0];
  if (!machine || !route) throw new Error('serverless.yml declares no EventBridge rule for a state machine');

  out(`Stack ready at ${endpoint} in ${seconds(started)} s (function logs: ${path.relative(process.cwd(), logFile)})`);
  if (ready.functions.mode === 'packaged') {
    out(`Functions: the packaged zips (${path.relative(process.cwd(), ready.functions.packageDir ?? '')}), run on node ${ready.functions.node}`);
  }
  out(
    `Prepared: sender ${ready.seeded.sender} verified; group ${ready.seeded.groups.join(', ')}; ` +
      `password policy (min ${ready.seeded.passwordPolicy?.MinimumPasswordLength}, users may not change their own)`,
  );
  await admin(endpoint, '/_local/faults', {
    method: 'POST',
    body: JSON.stringify({ service: 'iam', operation: 'CreateLoginProfile', error: 'NoSuchEntity', afterCreateUserCalls: SETTLE_CALLS }),
  });
  out(`IAM eventual consistency on: CreateLoginProfile answers NoSuchEntity to the first ${SETTLE_CALLS} attempts after CreateUser`);
  out();

  const hire = await putExampleEvent(clients.events, route);
  const execution = await followExecution(clients.sfn, machine, route);
  out();
  return { execution, hire };
}

const logDir = path.join(PROJECT_ROOT, '.home');
mkdirSync(logDir, { recursive: true });
const logFile = path.join(logDir, 'local-stack.log');

out('Onboarding the example hire on the local AWS stack (no AWS account needed)');
out('Starting the stack: moto for IAM, SES, KMS, STS; the state machines, handlers and rules from serverless.yml');
if (PACKAGED) out('Packaging the service first (serverless package): the functions run from their zips on node 22');
const stack = startStack(logFile);
process.on('SIGINT', () => {
  stack.child.kill('SIGTERM');
  process.exit(130);
});
const ready = await stack.ready.catch((error: Error) => {
  out(error.message);
  process.exit(1);
});

let succeeded = false;
try {
  const client = { endpoint: ready.endpoint, region: 'us-east-1', credentials: { accessKeyId: 'test', secretAccessKey: 'test' } };
  const iam = new IAMClient(client);
  const { execution, hire } = await onboard(ready, { iam, sfn: new SFNClient(client), events: new EventBridgeClient(client) }, logFile);
  if (execution.status !== 'SUCCEEDED') {
    out(`The onboarding ended ${execution.status}: ${execution.error ?? ''}`);
  } else {
    succeeded = true;
    const summary = JSON.parse(execution.output ?? '{}') as { userName: string; status: string; signInUrl: string };
    out(`Execution output: ${summary.status}, sign-in URL ${summary.signInUrl}`);
    out();
    await showOnboarded(iam, ready.endpoint, summary.userName, hire.email);
  }
} catch (error) {
  out(`npm start failed: ${(error as Error).message}`);
} finally {
  stack.child.disconnect();
  await stack.exited;
  const left = alive(ready.motoPid);
  out();
  out(left ? `moto (pid ${ready.motoPid}) is still running` : `Stack stopped, moto exited; nothing left running. Done in ${seconds(started)} s.`);
  process.exitCode = succeeded && !left ? 0 : 1;
}
