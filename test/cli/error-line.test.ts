/**
 * Regressions found by fuzzing the command line (test/reliability/cli-input.test.ts): an error
 * is one printable line whatever the input it quotes back, and bad input never prints a stack.
 */
import { CloudFormationClient } from '@aws-sdk/client-cloudformation';
import { SFNClient } from '@aws-sdk/client-sfn';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { oneLine } from '../../cli/output.ts';
import { cli } from './support.ts';

const sfn = mockClient(SFNClient);
const cfn = mockClient(CloudFormationClient);
beforeEach(() => {
  sfn.reset();
  cfn.reset();
});

const hireFlags = ['--employee-id', 'E-1', '--first-name', 'Bob', '--last-name', 'Builder', '--email', 'bob@example.com'];

describe('error lines', () => {
  it('a suggestion stays on the error\'s line', async () => {
    const { code, stderr } = await cli(['start', '--frist-name', 'Bob']);

    expect(code).toBe(2);
    expect(stderr).toBe("onboarding: unknown option '--frist-name' (Did you mean --first-name?) (see --help)\n");
    expect((await cli(['strat'])).stderr).toBe("onboarding: unknown command 'strat' (Did you mean start?) (see --help)\n");
  });

  it('line breaks and terminal escape sequences in a quoted value are shown escaped, not acted on', async () => {
    const arn = await cli(['start', ...hireFlags, '--state-machine-arn', 'x\r\nBcc: y']);
    expect(arn.code).toBe(2);
    expect(arn.stderr).toBe(
      'onboarding: --state-machine-arn: "x\\r\\nBcc: y" is not a state machine ARN (arn:aws:states:<region>:<account>:stateMachine:<name>)\n',
    );

    const region = await cli(['start', ...hireFlags, '--region', 'us-east-1\u001b[2J\u202e']);
    expect(region.stderr).toBe('onboarding: --region: "us-east-1\\u001b[2J\\u202e" is not an AWS region (like eu-west-1)\n');

    const file = await cli(['start', '--input', '/nowhere/hire\n.json']);
    expect(file.stderr).toBe('onboarding: --input /nowhere/hire\\n.json: no such file\n');

    // Commander's own messages quote input too.
    const option = await cli(['list', '--limit', '1\n2']);
    expect(option.stderr).toBe("onboarding: option '--limit <n>' argument '1\\n2' is invalid. must be a whole number from 1 to 10000 (see --help)\n");
    expect(sfn.calls()).toHaveLength(0);
  });

  it('a huge value is cut in the middle: the flag and what to do stay readable', async () => {
    const { code, stderr } = await cli(['start', '--input', 'p'.repeat(5000)]);

    expect(code).toBe(2);
    expect(stderr).toMatch(/^onboarding: --input p{220,}p …\[\d+ characters\]… p+: cannot be read \(ENAMETOOLONG\)\n$/);
    expect(stderr.length).toBeLessThan(450);
  });

  it('--debug adds no stack to bad input', async () => {
    const { code, stderr } = await cli(['start', '--employee-id', 'E 1', '--debug']);

    expect(code).toBe(2);
    expect(stderr.split('\n')).toHaveLength(2);
    expect(stderr).not.toMatch(/\n\s+at /);
  });
});

describe('oneLine', () => {
  it('escapes control, format and separator characters, astral ones included', () => {
    expect(oneLine('a\tb\u0000c\u2028d\u200be\u{e0001}f')).toBe('a\\tb\\u0000c\\u2028d\\u200be\\u{e0001}f');
    expect(oneLine('Zoë 🙂 名前')).toBe('Zoë 🙂 名前');
  });

  it('never cuts a surrogate pair in half', () => {
    const line = oneLine('🙂'.repeat(1000));
    expect(line).toMatch(/^(🙂)+ …\[640 characters\]… (🙂)+$/u);
    // No lone surrogate anywhere in the line.
    expect(line).not.toMatch(/\p{Cs}/u);
  });
});
