/**
 * The runbook covers every error name an execution can end with, and README's "Runbook"
 * section is the runbook's own table: they cannot drift apart.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { FAILURE_NAMES } from '../../functions/lib/metrics.ts';
import { PROJECT_ROOT } from '../../local/serverless-yaml.ts';
import { adviceFor, RUN_AGAIN, RUNBOOK, runbookMarkdown } from '../../cli/runbook.ts';
import { cli } from './support.ts';

const read = (file: string) => readFileSync(path.join(PROJECT_ROOT, file), 'utf8');

/** Every `ErrorEquals` name and every literal `Error` of a state machine definition. */
function definitionErrorNames(file: string): string[] {
  const names: string[] = [];
  const visit = (node: unknown): void => {
    if (Array.isArray(node)) return node.forEach(visit);
    if (!node || typeof node !== 'object') return;
    for (const [key, value] of Object.entries(node)) {
      if (key === 'ErrorEquals') names.push(...(value as string[]));
      else if (key === 'Error' && typeof value === 'string') names.push(value);
      else visit(value);
    }
  };
  visit(parse(read(file), { merge: true }));
  return [...new Set(names)];
}

describe('the runbook', () => {
  it('has an entry for every error the workflow names (functions/lib/errors.ts)', () => {
    const named = [...read('functions/lib/errors.ts').matchAll(/override readonly name = '(\w+)'/g)].map((m) => m[1]!);
    expect(named.length).toBeGreaterThan(5);
    for (const name of named) expect(FAILURE_NAMES, name).toContain(name);
  });

  it('has an entry for every error the state machines retry or catch by name: each can end an execution once retries are spent', () => {
    for (const file of ['statemachines/onboarding.asl.yaml', 'statemachines/reprovision.asl.yaml']) {
      // States.ALL is a wildcard; ConsoleAccessRemoved is what ops are told on a removal, not a failure.
      const names = definitionErrorNames(file).filter((name) => name !== 'States.ALL' && name !== 'ConsoleAccessRemoved');
      expect(names.length, file).toBeGreaterThan(10);
      for (const name of names) expect(FAILURE_NAMES, `${file}: ${name}`).toContain(name);
    }
  });

  it('has an entry for the AWS, Lambda and Step Functions errors executions are seen to end with', () => {
    for (const name of [
      'Throttling',
      'AccessDenied',
      'AccessDeniedException',
      'MessageRejected',
      'EntityTemporarilyUnmodifiableException',
      'NoSuchEntityException',
      'LimitExceededException',
      'Lambda.Unknown',
      'Sandbox.Timedout',
      'Runtime.ExitError',
      'States.Timeout',
      'States.Runtime',
    ]) {
      expect(FAILURE_NAMES, name).toContain(name);
    }
  });

  it('says for each what it means and what to do, once', () => {
    expect(RUNBOOK.map((entry) => entry.name)).toEqual([...FAILURE_NAMES]);
    expect(new Set(FAILURE_NAMES).size).toBe(FAILURE_NAMES.length);
    for (const entry of RUNBOOK) {
      expect(entry.meaning.length, entry.name).toBeGreaterThan(20);
      expect(entry.action.length, entry.name).toBeGreaterThan(10);
      expect(entry.meaning.endsWith('.'), entry.name).toBe(true);
      expect(entry.action.endsWith('.') || entry.action.endsWith(')'), entry.name).toBe(true);
    }
    expect(adviceFor('MessageRejected').known).toBe(true);
    expect(adviceFor('SomethingNew')).toMatchObject({ known: false, action: expect.stringContaining('onboarding history') });
    // An own property only: no error name finds Object's.
    expect(adviceFor('constructor').known).toBe(false);
  });

  it('is README\'s "Runbook" section, word for word (regenerate it with `npx onboarding runbook --markdown`)', () => {
    const readme = read('README.md');
    const section = /<!-- runbook -->\n([\s\S]*?)\n<!-- \/runbook -->/.exec(readme)?.[1];
    expect(section, 'README.md has no <!-- runbook --> ... <!-- /runbook --> block').toBeDefined();
    expect(section).toBe(runbookMarkdown());
    expect(readme).toContain(RUN_AGAIN);
  });
});

describe('onboarding runbook', () => {
  it('prints one entry, exit 0; an unknown name is said to be unknown, exit 1', async () => {
    const known = await cli(['runbook', 'States.Timeout']);
    expect(known.code).toBe(0);
    expect(known.stdout).toBe(`States.Timeout\n  ${adviceFor('States.Timeout').meaning}\n  What to do: ${adviceFor('States.Timeout').action}\n`);

    const unknown = await cli(['runbook', 'Nope\u001b[31m']);
    expect(unknown.code).toBe(1);
    expect(unknown.stdout.split('\n')[0]).toBe('Nope\\u001b[31m (not in the runbook)');
  });

  it('prints the README table with --markdown, and everything as JSON with --json', async () => {
    expect((await cli(['runbook', '--markdown'])).stdout).toBe(`${runbookMarkdown()}\n`);
    const doc = JSON.parse((await cli(['runbook', '--json'])).stdout);
    expect(doc.errors.map((e: { name: string }) => e.name)).toEqual([...FAILURE_NAMES]);
    expect(doc.runAgain).toBe(RUN_AGAIN);
  });
});
