import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  currentBlock,
  definitions,
  describeRule,
  diagramBlock,
  markers,
  mermaidFlowchart,
  README,
  stateMachineFiles,
  withDiagrams,
  type Asl,
} from '../../scripts/diagrams.ts';

describe('README diagrams', () => {
  const readme = readFileSync(README, 'utf8');

  it('has one diagram for every state machine', () => {
    expect(stateMachineFiles().map((m) => m.key)).toEqual(expect.arrayContaining(['onboarding', 'reprovision']));
    for (const { key } of stateMachineFiles()) expect(() => currentBlock(readme, key)).not.toThrow();
  });

  it.each(definitions())('draws $key as its definition says (npm run diagrams redraws it)', ({ key, asl }) => {
    expect(currentBlock(readme, key).block, `README.md's diagram of statemachines/${key}.asl.yaml is out of date: run npm run diagrams`).toBe(
      diagramBlock(asl),
    );
  });
});

describe('diagram of a definition', () => {
  const onboarding = definitions().find((d) => d.key === 'onboarding')!.asl;

  it('draws the onboarding: every state, the happy path, the choice, and the failure path', () => {
    const chart = mermaidFlowchart(onboarding).split('\n').map((line) => line.trim());

    for (const state of Object.keys(onboarding.States)) expect(chart.some((line) => new RegExp(`^${state}[[({>]{1,2}"${state}"`).test(line)), state).toBe(true);
    expect(chart).toEqual(
      expect.arrayContaining([
        'start --> ValidateInput',
        'ValidateInput --> CreateUser',
        'CreateUser -.->|"States.ALL"| RecordFailure',
        'IsNewLoginProfile -->|"$.loginProfile.status == #quot;CREATED#quot;"| SendCredentials',
        'IsNewLoginProfile -->|"otherwise"| AlreadyProvisioned',
        'MarkComplete --> finish',
        'NotifyOps --> OnboardingFailed',
        'OnboardingFailed>"OnboardingFailed"]:::fail',
      ]),
    );
  });

  it('draws every kind of state, with Map and Parallel as subgraphs of their own states', () => {
    const asl: Asl = {
      StartAt: 'Pause',
      States: {
        Pause: { Type: 'Wait', Next: 'Each' },
        Each: {
          Type: 'Map',
          ItemProcessor: { StartAt: 'Work', States: { Work: { Type: 'Task', End: true } } },
          Catch: [{ ErrorEquals: ['Oops', 'States.Timeout'], Next: 'Failed' }],
          Next: 'Both',
        },
        Both: {
          Type: 'Parallel',
          Branches: [
            { StartAt: 'Work', States: { Work: { Type: 'Pass', End: true } } },
            { StartAt: 'Fine', States: { Fine: { Type: 'Succeed' } } },
          ],
          Next: 'Pick',
        },
        Pick: { Type: 'Choice', Choices: [{ Variable: '$.n', NumericGreaterThan: 3, Next: 'Done' }], Default: 'Failed' },
        Done: { Type: 'Succeed' },
        Failed: { Type: 'Fail' },
      },
    };

    expect(mermaidFlowchart(asl)).toBe(
      [
        'flowchart TD',
        '  start((Start))',
        '  Pause{{"Pause"}}',
        '  subgraph Each ["Each (Map)"]',
        '    direction TB',
        '    Each_start((Start))',
        '    Each_Work["Work"]',
        '    Each_end((End))',
        '    Each_start --> Each_Work',
        '    Each_Work --> Each_end',
        '  end',
        '  subgraph Both ["Both (Parallel)"]',
        '    direction TB',
        '    subgraph Both_branch1 ["branch 1"]',
        '      direction TB',
        '      Both_branch1_start((Start))',
        '      Both_branch1_Work("Work")',
        '      Both_branch1_end((End))',
        '      Both_branch1_start --> Both_branch1_Work',
        '      Both_branch1_Work --> Both_branch1_end',
        '    end',
        '    subgraph Both_branch2 ["branch 2"]',
        '      direction TB',
        '      Both_branch2_start((Start))',
        '      Both_branch2_Fine(["Fine"]):::succeed',
        '      Both_branch2_start --> Both_branch2_Fine',
        '    end',
        '  end',
        '  Pick{"Pick"}',
        '  Done(["Done"]):::succeed',
        '  Failed>"Failed"]:::fail',
        '  start --> Pause',
        '  Pause --> Each',
        '  Each --> Both',
        '  Each -.->|"Oops, States.Timeout"| Failed',
        '  Both --> Pick',
        '  Pick -->|"$.n #gt; 3"| Done',
        '  Pick -->|"otherwise"| Failed',
        '  classDef fail fill:#fde2e1,stroke:#c0392b',
        '  classDef succeed fill:#e3f6e5,stroke:#2e7d32',
        '',
      ].join('\n'),
    );
  });

  it('keeps node ids clear of Mermaid keywords and of each other', () => {
    const asl: Asl = { StartAt: 'end', States: { end: { Type: 'Pass', Next: 'a-b' }, 'a-b': { Type: 'Pass', Next: 'a_b' }, a_b: { Type: 'Succeed' } } };
    expect(mermaidFlowchart(asl)).toContain('start --> s_end\n  s_end --> a_b\n  a_b --> a_b_2\n');
  });

  it('refuses a transition to a state that does not exist', () => {
    expect(() => mermaidFlowchart({ StartAt: 'A', States: { A: { Type: 'Pass', Next: 'Nowhere' } } })).toThrow(/Nowhere/);
  });

  it.each([
    [{ Variable: '$.s', StringEquals: 'CREATED' }, '$.s == "CREATED"'],
    [{ Variable: '$.s', StringEqualsPath: '$.t' }, '$.s == $.t'],
    [{ Variable: '$.n', NumericLessThanEquals: 2 }, '$.n <= 2'],
    [{ Variable: '$.b', BooleanEquals: false }, '$.b == false'],
    [{ Variable: '$.t', TimestampGreaterThanEquals: '2025-01-01T00:00:00Z' }, '$.t >= "2025-01-01T00:00:00Z"'],
    [{ Variable: '$.s', StringMatches: 'log-*' }, '$.s matches "log-*"'],
    [{ Variable: '$.x', IsPresent: true }, '$.x is present'],
    [{ Variable: '$.x', IsPresent: false }, '$.x is not present'],
    [{ Variable: '$.x', IsString: true }, '$.x is a string'],
    [{ Not: { Variable: '$.x', IsNull: true } }, 'not ($.x is null)'],
    [{ Or: [{ Variable: '$.a', IsPresent: true }, { And: [{ Variable: '$.b', NumericEquals: 1 }, { Variable: '$.c', NumericEquals: 2 }] }] }, '$.a is present or ($.b == 1 and $.c == 2)'],
    [{ Condition: '{% $states.input.n > 3 %}' }, '{% $states.input.n > 3 %}'],
  ])('describes the choice rule %j as %s', (rule, expected) => {
    expect(describeRule(rule)).toBe(expected);
  });
});

describe('writing the README', () => {
  const asl: Asl = { StartAt: 'A', States: { A: { Type: 'Succeed' } } };
  const { open, close } = markers('demo');

  it('replaces only what is between the markers, and again gives the same text', () => {
    const before = `# Title\n\ntext before\n${open}\nold drawing\n${close}\ntext after\n`;
    const after = withDiagrams(before, [{ key: 'demo', asl }]);

    expect(after).toBe(`# Title\n\ntext before\n${open}${diagramBlock(asl)}${close}\ntext after\n`);
    expect(diagramBlock(asl)).toMatch(/^\n```mermaid\nflowchart TD\n[\s\S]*\n```\n$/);
    expect(withDiagrams(after, [{ key: 'demo', asl }])).toBe(after);
  });

  it('says which markers to add when a state machine has none', () => {
    expect(() => withDiagrams('# Title\n', [{ key: 'demo', asl }])).toThrow(`put "${open}" and "${close}" where it belongs`);
  });
});
