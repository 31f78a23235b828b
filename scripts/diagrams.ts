/**
 * The README's state machine diagrams, drawn from the definitions: one Mermaid flowchart per
 * statemachines/<key>.asl.yaml, written between `<!-- diagram:<key> -->` and
 * `<!-- /diagram:<key> -->` in README.md. `npm run diagrams` rewrites them; `--check` only says
 * whether they are current (test/unit/diagrams.test.ts fails when they are not).
 *
 * Drawn: every state (Task, Choice, Pass, Wait, Succeed, Fail; Map and Parallel as subgraphs
 * with their inner states), Next, End, each Choice rule with its condition, Default, and each
 * Catch (dotted, labelled with the errors it catches).
 */
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { parse } from 'yaml';

const ROOT = path.resolve(import.meta.dirname, '..');
export const README = path.join(ROOT, 'README.md');

export interface ChoiceRule {
  Next?: string;
  Variable?: string;
  And?: ChoiceRule[];
  Or?: ChoiceRule[];
  Not?: ChoiceRule;
  /** JSONata. */
  Condition?: string;
  [operator: string]: unknown;
}

export interface AslState {
  Type: string;
  Next?: string;
  End?: boolean;
  Default?: string;
  Choices?: ChoiceRule[];
  Catch?: Array<{ ErrorEquals: string[]; Next: string }>;
  Iterator?: Asl;
  ItemProcessor?: Asl;
  Branches?: Asl[];
}

export interface Asl {
  StartAt: string;
  States: Record<string, AslState>;
}

/** Every state machine definition: statemachines/<key>.asl.yaml. */
export function stateMachineFiles(root = ROOT): Array<{ key: string; file: string }> {
  return readdirSync(path.join(root, 'statemachines'))
    .filter((file) => file.endsWith('.asl.yaml'))
    .sort()
    .map((file) => ({ key: file.slice(0, -'.asl.yaml'.length), file: `statemachines/${file}` }));
}

export function readAsl(file: string, root = ROOT): Asl {
  return parse(readFileSync(path.resolve(root, file), 'utf8'), { merge: true }) as Asl;
}

/** Text Mermaid shows as written inside a quoted label. */
function text(value: string): string {
  return value.replace(/#/g, '#35;').replace(/"/g, '#quot;').replace(/</g, '#lt;').replace(/>/g, '#gt;').replace(/\|/g, '#124;');
}

const COMPARISONS: Record<string, string> = {
  Equals: '==',
  LessThan: '<',
  GreaterThan: '>',
  LessThanEquals: '<=',
  GreaterThanEquals: '>=',
  Matches: 'matches',
};
const TYPE_TESTS: Record<string, string> = {
  IsPresent: 'present',
  IsNull: 'null',
  IsString: 'a string',
  IsNumeric: 'a number',
  IsBoolean: 'a boolean',
  IsTimestamp: 'a timestamp',
};
const RULE_FIELDS = new Set(['Next', 'Variable', 'Comment', 'Assign', 'Output']);

/** A Choice rule as a condition a reader can follow: `$.status == "CREATED"`, `$.x is present and ...`. */
export function describeRule(rule: ChoiceRule): string {
  const group = (rules: ChoiceRule[], joiner: string) =>
    rules.map((r) => (r.And || r.Or ? `(${describeRule(r)})` : describeRule(r))).join(joiner);
  if (rule.Condition !== undefined) return rule.Condition;
  if (rule.And) return group(rule.And, ' and ');
  if (rule.Or) return group(rule.Or, ' or ');
  if (rule.Not) return `not (${describeRule(rule.Not)})`;
  const operator = Object.keys(rule).find((key) => !RULE_FIELDS.has(key));
  if (!operator) return '?';
  const value = rule[operator];
  const variable = rule.Variable ?? '?';
  if (operator in TYPE_TESTS) return `${variable} is ${value === false ? 'not ' : ''}${TYPE_TESTS[operator]}`;
  const [, comparison = '', byPath] = /^(?:String|Numeric|Boolean|Timestamp)(\w+?)(Path)?$/.exec(operator) ?? [];
  const symbol = COMPARISONS[comparison];
  if (!symbol) return `${variable} ${operator} ${JSON.stringify(value)}`;
  return `${variable} ${symbol} ${byPath || typeof value !== 'string' ? String(value) : JSON.stringify(value)}`;
}

/** Node ids: readable where the state name allows, unique across nested scopes, never a Mermaid keyword. */
class NodeIds {
  private readonly used = new Set<string>();

  take(wanted: string): string {
    let base = wanted.replace(/[^A-Za-z0-9_]/g, '_');
    if (!/^[A-Za-z]/.test(base) || /^(end|graph|subgraph|flowchart|style|class|classDef|click|linkStyle|direction)$/i.test(base)) base = `s_${base}`;
    let id = base;
    for (let n = 2; this.used.has(id); n++) id = `${base}_${n}`;
    this.used.add(id);
    return id;
  }
}

const SHAPES: Record<string, (label: string) => string> = {
  Task: (l) => `["${l}"]`,
  Pass: (l) => `("${l}")`,
  Choice: (l) => `{"${l}"}`,
  Wait: (l) => `{{"${l}"}}`,
  Succeed: (l) => `(["${l}"])`,
  Fail: (l) => `>"${l}"]`,
};

/** Draws one scope (the machine, a Map's item processor, a Parallel branch) into `out`. */
function drawScope(asl: Asl, scope: string, ids: NodeIds, out: string[], indent: string): void {
  const node = new Map<string, string>();
  for (const name of Object.keys(asl.States)) node.set(name, ids.take(scope ? `${scope}_${name}` : name));
  const start = ids.take(scope ? `${scope}_start` : 'start');
  const idOf = (name: string | undefined): string => {
    const id = name === undefined ? undefined : node.get(name);
    if (!id) throw new Error(`Transition to ${String(name)}, which is not a state of this scope`);
    return id;
  };
  let end: string | undefined;
  const endNode = () => (end ??= ids.take(scope ? `${scope}_end` : 'finish'));

  out.push(`${indent}${start}((Start))`);
  const edges: string[] = [`${start} --> ${idOf(asl.StartAt)}`];
  for (const [name, state] of Object.entries(asl.States)) {
    const id = idOf(name);
    const inner = state.Type === 'Map' ? [state.ItemProcessor ?? state.Iterator] : state.Type === 'Parallel' ? (state.Branches ?? []) : undefined;
    if (inner) {
      out.push(`${indent}subgraph ${id} ["${text(`${name} (${state.Type})`)}"]`, `${indent}  direction TB`);
      inner.forEach((branch, i) => {
        if (!branch) return;
        if (inner.length > 1) {
          const branchId = ids.take(`${id}_branch${i + 1}`);
          out.push(`${indent}  subgraph ${branchId} ["branch ${i + 1}"]`, `${indent}    direction TB`);
          drawScope(branch, branchId, ids, out, `${indent}    `);
          out.push(`${indent}  end`);
        } else {
          drawScope(branch, id, ids, out, `${indent}  `);
        }
      });
      out.push(`${indent}end`);
    } else {
      const shape = SHAPES[state.Type];
      if (!shape) throw new Error(`State ${name}: type ${state.Type} cannot be drawn`);
      out.push(`${indent}${id}${shape(text(name))}${state.Type === 'Fail' || state.Type === 'Succeed' ? `:::${state.Type.toLowerCase()}` : ''}`);
    }
    for (const rule of state.Choices ?? []) edges.push(`${id} -->|"${text(describeRule(rule))}"| ${idOf(rule.Next)}`);
    if (state.Default) edges.push(`${id} -->|"otherwise"| ${idOf(state.Default)}`);
    if (state.Next) edges.push(`${id} --> ${idOf(state.Next)}`);
    if (state.End) edges.push(`${id} --> ${endNode()}`);
    for (const caught of state.Catch ?? []) edges.push(`${id} -.->|"${text(caught.ErrorEquals.join(', '))}"| ${idOf(caught.Next)}`);
  }
  if (end) out.push(`${indent}${end}((End))`);
  out.push(...edges.map((edge) => `${indent}${edge}`));
}

/** The definition as a Mermaid flowchart (no code fence). */
export function mermaidFlowchart(asl: Asl): string {
  const out = ['flowchart TD'];
  drawScope(asl, '', new NodeIds(), out, '  ');
  out.push('  classDef fail fill:#fde2e1,stroke:#c0392b', '  classDef succeed fill:#e3f6e5,stroke:#2e7d32');
  return `${out.join('\n')}\n`;
}

export const markers = (key: string) => ({ open: `<!-- diagram:${key} -->`, close: `<!-- /diagram:${key} -->` });

/** What goes between a state machine's markers. */
export const diagramBlock = (asl: Asl): string => `\n\`\`\`mermaid\n${mermaidFlowchart(asl)}\`\`\`\n`;

/** What is between the key's markers now; an error that says what to add if they are missing. */
export function currentBlock(readme: string, key: string): { start: number; end: number; block: string } {
  const { open, close } = markers(key);
  const start = readme.indexOf(open);
  const end = readme.indexOf(close, start);
  if (start < 0 || end < 0) {
    throw new Error(`README.md has no diagram of statemachines/${key}.asl.yaml: put "${open}" and "${close}" where it belongs`);
  }
  return { start: start + open.length, end, block: readme.slice(start + open.length, end) };
}

/** The README with every state machine's diagram drawn afresh from its definition. */
export function withDiagrams(readme: string, machines: Array<{ key: string; asl: Asl }>): string {
  let result = readme;
  for (const { key, asl } of machines) {
    const { start, end } = currentBlock(result, key);
    result = `${result.slice(0, start)}${diagramBlock(asl)}${result.slice(end)}`;
  }
  return result;
}

export function definitions(root = ROOT): Array<{ key: string; asl: Asl }> {
  return stateMachineFiles(root).map(({ key, file }) => ({ key, asl: readAsl(file, root) }));
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const check = process.argv.includes('--check');
  const readme = readFileSync(README, 'utf8');
  const machines = definitions();
  const updated = withDiagrams(readme, machines);
  const keys = machines.map((m) => m.key).join(', ');
  if (updated === readme) {
    process.stdout.write(`README.md diagrams are current (${keys}).\n`);
  } else if (check) {
    process.stderr.write('README.md diagrams differ from statemachines/: run npm run diagrams\n');
    process.exitCode = 1;
  } else {
    writeFileSync(README, updated);
    process.stdout.write(`README.md diagrams redrawn (${keys}).\n`);
  }
}
