/**
 * `npm start` and `npm run local` as a user runs them: real child processes, real output, the
 * AWS CLI pasting the commands the banner prints, Ctrl-C, and nothing left running after.
 */
import { execFile, spawn, spawnSync } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { PROJECT_ROOT } from '../../local/workflow.ts';
import { describeProcesses, MARK_VARIABLE, newMark, processesMarked } from './processes.ts';

const exec = promisify(execFile);
const AWS_CLI_MISSING =
  'The AWS CLI (`aws`) is not installed or not on PATH; this test pastes the commands `npm run local` prints into it. ' +
  'Install AWS CLI v2 (https://docs.aws.amazon.com/cli/latest/userguide/getting-started-install.html) or `pip install awscli`.';
const TSX = path.join(PROJECT_ROOT, 'node_modules/.bin/tsx');

function launch(command: string, args: string[], env: Record<string, string>) {
  const child = spawn(command, args, {
    cwd: PROJECT_ROOT,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
    // Its own process group, so that a Ctrl-C reaches npm and everything under it, as in a terminal.
    detached: true,
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
  // 'close': the process has exited and so has everything that held its output open.
  const exited = new Promise<number | string | null>((resolve) => child.once('close', (code, signal) => resolve(code ?? signal)));
  return {
    child,
    exited,
    stdout: () => stdout,
    stderr: () => stderr,
    async waitFor(text: string, timeoutMs: number): Promise<void> {
      const until = Date.now() + timeoutMs;
      while (!stdout.includes(text)) {
        if (Date.now() > until || child.exitCode !== null) throw new Error(`"${text}" never appeared:\n${stdout}\n${stderr}`);
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    },
  };
}

/** Whatever the test started must be gone: no process carries its marker. */
function expectNothingLeft(mark: string): void {
  expect(describeProcesses(processesMarked(mark))).toEqual([]);
}

describe('npm start', () => {
  it('onboards the example hire with at least one retry, in well under a minute, and leaves nothing running', async () => {
    const mark = newMark();
    const began = Date.now();
    const run = launch('npm', ['start'], { [MARK_VARIABLE]: mark });

    expect(await run.exited, run.stderr()).toBe(0);

    expect(Date.now() - began).toBeLessThan(60_000);
    const out = run.stdout();
    expect(out).toContain('HR event (examples/events/employee-hired.json) put on bus "iam-onboarding-local-hr": hr.system / Employee Hired');
    expect(out).toMatch(/→ CreateUser\n.*← CreateUser/);
    expect(out).toMatch(/✗ NoSuchEntityException: The user with name ada\.lovelace cannot be found\./);
    expect(out).toMatch(/↻ retry 1 after \d+ ms\n.*✗ NoSuchEntityException.*\n.*↻ retry 2 after \d+ ms/);
    expect(out).toMatch(/← CreateLoginProfile \(\d+ ms, 2 retries\)/);
    expect(out).toContain('execution SUCCEEDED');
    expect(out).toMatch(
      /IAM user ada\.lovelace\n {2}arn {7}arn:aws:iam::123456789012:user\/onboarding\/ada\.lovelace\n {2}path {6}\/onboarding\/\n {2}groups {4}developers\n {2}policies {2}IAMUserChangePassword/,
    );
    expect(out).toContain('onboarding:managed-by = iam-onboarding-local');
    expect(out).toContain('onboarding:status = complete');
    expect(out).toContain('password reset required at first sign-in: yes');
    expect(out).toContain('  To:      ada.lovelace@example.com');
    expect(out).toContain('  | Your temporary password: ********');
    expect(out).toContain('nothing left running');
    expectNothingLeft(mark);
  });
});

describe('npm run local', () => {
  it('serves the AWS CLI the commands it prints, until Ctrl-C stops everything', async () => {
    expect(spawnSync('aws', ['--version']).status, AWS_CLI_MISSING).toBe(0);
    const mark = newMark();
    // A fault rule given on the command line: the first CreateLoginProfile after CreateUser is refused.
    const fault = { service: 'iam', operation: 'CreateLoginProfile', error: 'EntityTemporarilyUnmodifiable', afterCreateUserCalls: 1 };
    const run = launch('npm', ['run', 'local', '--', '--fault', JSON.stringify(fault)], { [MARK_VARIABLE]: mark });
    try {
      await run.waitFor('Ctrl-C stops everything.', 60_000);
      const printed = run.stdout().split('\n').map((line) => line.trim());
      const exportLine = printed.find((line) => line.startsWith('export AWS_ACCESS_KEY_ID=')) ?? '';
      const command = (prefix: string) => printed.find((line) => line.startsWith('aws ') && line.includes(prefix)) ?? '';
      // Each command exactly as printed, in a shell with the printed credentials.
      const paste = async (line: string) => {
        expect(line).not.toBe('');
        const { stdout } = await exec('bash', ['-c', `${exportLine} && ${line}`], { cwd: PROJECT_ROOT });
        return JSON.parse(stdout) as Record<string, unknown>;
      };

      const put = await paste(command('events put-events --entries file://examples/events/put-events.json'));
      expect(put).toMatchObject({ FailedEntryCount: 0 });
      let described: Record<string, unknown> = {};
      for (let i = 0; i < 100 && described.status !== 'SUCCEEDED'; i++) {
        described = await paste(command('stepfunctions describe-execution'));
        if (described.status === 'FAILED') break;
        await new Promise((resolve) => setTimeout(resolve, 200));
      }
      expect(described).toMatchObject({ status: 'SUCCEEDED' });
      expect(JSON.parse(String(described.input))).toMatchObject({ employeeId: 'E-1906', email: 'grace.hopper@example.com' });
      const history = await paste(command('stepfunctions get-execution-history').replace('<executionArn>', String(described.executionArn)));
      const failures = (history.events as Array<{ type: string; lambdaFunctionFailedEventDetails?: { error: string } }>).filter(
        (e) => e.type === 'LambdaFunctionFailed',
      );
      expect(failures.map((e) => e.lambdaFunctionFailedEventDetails?.error)).toEqual(['EntityTemporarilyUnmodifiableException']);
      expect(run.stderr()).toMatch(/EventBridge: event \S+ matched iam-onboarding-local-onboarding-rule-1 -> started /);
      const listed = await paste(command('stepfunctions list-executions'));
      expect(listed.executions).toEqual([expect.objectContaining({ executionArn: described.executionArn, status: 'SUCCEEDED' })]);
      const user = await paste(command('iam get-user --user-name grace.hopper'));
      expect(user.User).toMatchObject({ UserName: 'grace.hopper', Path: '/onboarding/' });
      const groups = await paste(command('iam list-groups-for-user'));
      expect(groups.Groups).toEqual([expect.objectContaining({ GroupName: 'developers' })]);
      const started = await paste(command('stepfunctions start-execution'));
      expect(String(started.executionArn)).toMatch(/:execution:iam-onboarding-local-onboarding:E-2001$/);
    } finally {
      process.kill(-(run.child.pid as number), 'SIGINT');
    }
    // npm itself dies of the Ctrl-C; the stack under it stops cleanly.
    expect([0, 'SIGINT']).toContain(await run.exited);
    expect(run.stderr()).toContain('Local AWS stack stopped.');
    expectNothingLeft(mark);
  });

  it('says in one line how to install moto when it is missing, and exits non-zero', async () => {
    const mark = newMark();
    // Python without its site-packages: moto cannot be imported, as on a machine without it.
    const run = launch(TSX, ['local/serve.ts'], { [MARK_VARIABLE]: mark, MOTO_PYTHON: 'python3 -S' });

    expect(await run.exited).toBe(1);
    expect(run.stderr().trim().split('\n')).toEqual([expect.stringMatching(/^moto is not installed: pip install "moto\[server\]"/)]);
    expectNothingLeft(mark);
  });
});
