import type { Reporter, TestCase, TestModule } from 'vitest/node';
import './figures.ts';

// Figures every suite that scans for passwords records; the run's totals are printed last.
const TOTALLED = ['places scanned for passwords', 'password hits'];

/**
 * Prints every figure the reliability tests recorded, one per line, grouped by test, after
 * vitest's own summary.
 */
export default class FiguresReporter implements Reporter {
  private readonly lines: string[] = [];
  private readonly totals = new Map<string, number>();

  onTestCaseResult(testCase: TestCase): void {
    const figures = testCase.meta().figures ?? [];
    if (figures.length === 0) return;
    this.lines.push(`${testCase.result().state === 'passed' ? 'PASS' : 'FAIL'} ${testCase.fullName}`);
    for (const [name, value] of figures) {
      this.lines.push(`  ${name}: ${value}`);
      if (TOTALLED.includes(name) && typeof value === 'number') this.totals.set(name, (this.totals.get(name) ?? 0) + value);
    }
  }

  onTestRunEnd(_modules: ReadonlyArray<TestModule>): void {
    if (this.lines.length === 0) return;
    const totals = [...this.totals].map(([name, value]) => `  ${name}: ${value}`);
    const summary = totals.length > 0 ? `\nAll suites\n${totals.join('\n')}\n` : '';
    process.stdout.write(`\nReliability and security figures\n${this.lines.join('\n')}\n${summary}`);
  }
}
