/**
 * Bundle benchmark: packages the service, then prints each function's zip size and the
 * cold-start cost of loading its bundled handler: the time to import the built .mjs in a
 * fresh `node` process (median of several runs), beside a bare `node` start for reference.
 * Figures only; nothing is asserted. Run with `npm run bench [-- --runs 9]`.
 */
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, readdir, rm, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify, parseArgs } from 'node:util';
import { packageService } from './package-service.ts';

const run = promisify(execFile);

// Imports the module given in argv and prints how long the import took, in ms.
const IMPORT_PROBE =
  'const t = performance.now(); await import(process.argv[1]); process.stdout.write(String(performance.now() - t));';

const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
};

async function timeNode(args: string[], env: NodeJS.ProcessEnv): Promise<{ wallMs: number; stdout: string }> {
  const started = performance.now();
  const { stdout } = await run(process.execPath, args, { env });
  return { wallMs: performance.now() - started, stdout };
}

async function filesUnder(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  return entries.filter((e) => e.isFile()).map((e) => path.join(e.parentPath, e.name));
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { runs: { type: 'string', default: '7' } } });
  const runs = Math.max(1, Number(values.runs));
  const work = await mkdtemp(path.join(os.tmpdir(), 'iam-onboarding-bench-'));
  try {
    const packaged = await packageService({ outDir: path.join(work, 'package') });
    console.log(`serverless package: ${packaged.seconds.toFixed(1)} s, ${packaged.functions.length} functions, ${runs} runs each\n`);

    // The handlers read nothing at import; the region keeps the SDK from looking for one.
    const env = { PATH: process.env.PATH, AWS_REGION: 'us-east-1', AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' };
    const baseline: number[] = [];
    for (let i = 0; i < runs; i++) baseline.push((await timeNode(['-e', ''], env)).wallMs);

    const rows: string[][] = [];
    for (const fn of packaged.functions) {
      const dir = path.join(work, 'unzipped', fn.key);
      await mkdir(dir, { recursive: true });
      await run('unzip', ['-q', '-o', fn.zip, '-d', dir]);
      const handler = (await filesUnder(dir)).find((file) => file.endsWith('.mjs'));
      if (!handler) throw new Error(`${fn.key}.zip holds no .mjs bundle`);
      const importMs: number[] = [];
      const wallMs: number[] = [];
      for (let i = 0; i < runs; i++) {
        const probe = await timeNode(['--input-type=module', '-e', IMPORT_PROBE, pathToFileURL(handler).href], env);
        importMs.push(Number(probe.stdout));
        wallMs.push(probe.wallMs);
      }
      rows.push([
        fn.key,
        (fn.bytes / 1024).toFixed(1),
        ((await stat(handler)).size / 1024).toFixed(1),
        median(importMs).toFixed(1),
        median(wallMs).toFixed(0),
        (median(wallMs) - median(baseline)).toFixed(0),
      ]);
    }

    const header = ['function', 'zip KB', 'bundle KB', 'import ms', 'node+import ms', 'over bare node ms'];
    const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
    const line = (cells: string[]) => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
    console.log(line(header));
    for (const row of rows) console.log(line(row));
    console.log(`\nbare node start: ${median(baseline).toFixed(0)} ms (median); node ${process.version} on ${os.cpus().length} CPU(s)`);
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

await main();
