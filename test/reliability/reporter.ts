import type { Reporter, TestCase, TestModule } from 'vitest/node';
import './figures.ts';

/**
 * Prints every figure the reliability tests recorded, one per line, grouped by test, after
 * vitest's own summary.
 */
export default class FiguresReporter implements Reporter {
  private readonly lines: string[] = [];

  onTestCaseResult(testCase: TestCase): void {
    const figures = testCase.meta().figures ?? [];
    if (figures.length === 0) return;
    this.lines.push(`${testCase.result().state === 'passed' ? 'PASS' : 'FAIL'} ${testCase.fullName}`);
    for (const [name, value] of figures) this.lines.push(`  ${name}: ${value}`);
  }

  onTestRunEnd(_modules: ReadonlyArray<TestModule>): void {
    if (this.lines.length === 0) return;
    process.stdout.write(`\nReliability and security figures\n${this.lines.join('\n')}\n`);
  }
}
