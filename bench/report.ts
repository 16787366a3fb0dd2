import { appendFileSync } from 'node:fs';
import { loadavg } from 'node:os';

/**
 * One line of `npm run bench:all`'s table: a measure, tempojob's figure and bare Temporal's
 * figure from the same run. A benchmark started by bench:all (BENCH_REPORT=<file>) appends
 * its rows there as JSON lines; run alone, it only prints its own output.
 */
export interface ReportRow {
  benchmark: string;
  measure: string;
  tempojob: string;
  bare: string;
  /** tempojob ÷ bare on the figure that matters (throughput, or lateness where lower is better). */
  ratio?: number;
  command: string;
}

export function report(row: ReportRow): void {
  const file = process.env.BENCH_REPORT;
  if (!file) return;
  appendFileSync(file, `${JSON.stringify({ ...row, load: Number(loadavg()[0]!.toFixed(1)) })}\n`);
}

/** Runs a benchmark's `main` and exits with its code (1: a target missed), or 1 saying why it failed. */
export function runBenchmark(name: string, main: () => Promise<number>): void {
  main().then(
    (code) => process.exit(code),
    (err: unknown) => {
      console.error(`${name} failed:`, err);
      process.exit(1);
    },
  );
}
