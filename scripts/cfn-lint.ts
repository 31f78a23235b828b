/**
 * cfn-lint on a template `serverless package` wrote: the one way the tests run it. It runs from
 * the project, so .cfnlintrc.yaml applies. A missing cfn-lint is an error that says how to
 * install it, never a pass.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { PROJECT_ROOT } from './package-service.ts';

export const CFN_LINT_INSTALL = 'pip install cfn-lint';

export interface CfnLintResult {
  /** cfn-lint's exit code, a bitmask: 1 fatal, 2 error, 4 warning, 8 informational. */
  code: number;
  /** What it printed. */
  output: string;
  /** The finding lines (E..., W..., I...). */
  findings: string[];
}

export async function cfnLint(templatePath: string, options: { env?: NodeJS.ProcessEnv } = {}): Promise<CfnLintResult> {
  const result = await promisify(execFile)('cfn-lint', [templatePath], { cwd: PROJECT_ROOT, env: options.env ?? process.env }).then(
    ({ stdout, stderr }) => ({ code: 0 as number | string | null, output: `${stdout}${stderr}` }),
    (error: NodeJS.ErrnoException & { code?: number | string | null; stdout?: string; stderr?: string }) => {
      if (error.code === 'ENOENT') throw new Error(`cfn-lint is not installed (not on PATH): ${CFN_LINT_INSTALL}`, { cause: error });
      return { code: error.code ?? null, output: `${error.stdout ?? ''}${error.stderr ?? ''}` };
    },
  );
  if (typeof result.code !== 'number') throw new Error(`cfn-lint did not finish (${String(result.code)}):\n${result.output}`);
  return { code: result.code, output: result.output, findings: result.output.split('\n').filter((line) => /^[EWI]\d{4}/.test(line)) };
}
