/**
 * `npm run bench:all`: every benchmark of the repository, one after another (each alone on
 * the machine, each with its own private dev server), and one markdown table of their
 * figures, tempojob beside bare Temporal measured in the same run. The table goes to stdout
 * and to `--out` (default bench-results.md); each benchmark's own output to `--log`.
 *
 *   npm run bench:all                        # the default profile, ~15 minutes on 2 cores
 *   npm run bench:all -- --quick             # smaller runs, ~7 minutes: a smoke test
 *
 * A benchmark that fails (exit status ≠ 0: a run lost, a duplicate, a target it checks
 * itself missed) is named under the table, and bench:all exits 1.
 */
import { spawn } from 'node:child_process';
import { createWriteStream, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import type { ReportRow } from './report.js';

const { values } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    out: { type: 'string', default: 'bench-results.md' },
    log: { type: 'string', default: 'bench-all.log' },
  },
});

interface Benchmark {
  script: string;
  args: string[];
  env?: Record<string, string>;
}

const BENCHMARKS: Benchmark[] = values.quick
  ? [
    { script: 'bench/run-job.ts', args: ['--runs', '150', '--warmup', '20'] },
    { script: 'bench/delays.ts', args: ['--lateness-runs', '50', '--pending', '1000'] },
    { script: 'bench/map.ts', args: ['--sizes', '2000'] },
    { script: 'bench/broadcast.ts', args: ['--workers', '10', '--runs', '5', '--warmup', '1'] },
    { script: 'bench/dag.ts', args: ['--runs', '1', '--warmup', '0'] },
    { script: 'bench/logs.ts', args: ['--lines', '50000', '--runs', '150', '--warmup', '20'] },
    { script: 'bench/cron-second.ts', args: ['--seconds', '15'] },
    { script: 'bench/cron-fleet.ts', args: [], env: { BENCH_CRON_JOBS: '200' } },
  ]
  : [
    { script: 'bench/run-job.ts', args: [] },
    { script: 'bench/delays.ts', args: [] },
    { script: 'bench/map.ts', args: ['--sizes', '10000'] },
    { script: 'bench/broadcast.ts', args: [] },
    { script: 'bench/dag.ts', args: [] },
    { script: 'bench/logs.ts', args: [] },
    { script: 'bench/cron-second.ts', args: [] },
    { script: 'bench/cron-fleet.ts', args: [] },
  ];

function run(benchmark: Benchmark, reportFile: string, log: NodeJS.WritableStream): Promise<number> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', '--expose-gc', benchmark.script, ...benchmark.args], {
      env: { ...process.env, ...benchmark.env, BENCH_REPORT: reportFile },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.stdout.pipe(log, { end: false });
    child.stderr.pipe(log, { end: false });
    child.once('exit', (code) => resolve(code ?? 1));
  });
}

const dir = mkdtempSync(join(tmpdir(), 'tempojob-bench-all-'));
const reportFile = join(dir, 'rows.jsonl');
writeFileSync(reportFile, '');
const log = createWriteStream(values.log);
const failed: string[] = [];
const began = Date.now();
for (const benchmark of BENCHMARKS) {
  const line = `${benchmark.script} ${benchmark.args.join(' ')}`.trim();
  console.error(`▶ ${line} (load ${loadavg()[0]!.toFixed(1)})`);
  log.write(`\n===== ${line}\n`);
  const code = await run(benchmark, reportFile, log);
  if (code !== 0) failed.push(`${line} exited ${code}`);
}
log.end();

const rows = readFileSync(reportFile, 'utf8').split('\n').filter(Boolean).map((line) => JSON.parse(line) as ReportRow & { load: number });
rmSync(dir, { recursive: true, force: true });
const table = [
  `Benchmarks of ${new Date().toISOString()}: ${availableParallelism()} CPUs, Node ${process.version}, ${((Date.now() - began) / 60_000).toFixed(0)} min${values.quick ? ' (quick profile)' : ''}.`,
  '',
  '| benchmark | measure | tempojob | bare Temporal, same run | tempojob ÷ bare | load | command |',
  '|---|---|---|---|---|---|---|',
  ...rows.map((r) => `| ${r.benchmark} | ${r.measure} | ${r.tempojob} | ${r.bare} | ${r.ratio === undefined ? '—' : r.ratio.toFixed(2)} | ${r.load} | \`${r.command}\` |`),
  '',
  'tempojob ÷ bare: throughput ratio (higher is better) for rates and DAG fire → finish (bare p50 ÷ tempojob p50), p99 ratio (lower is better) for lateness, p50 ratio (lower is better) for broadcast fire → finish.',
  ...failed.map((f) => `FAILED: ${f} (see ${values.log})`),
].join('\n');
writeFileSync(values.out, `${table}\n`);
console.log(table);
process.exit(failed.length > 0 ? 1 : 0);
