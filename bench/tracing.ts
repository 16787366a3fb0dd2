/**
 * `npm run bench -- --tracing on|off|both` (bench/run-job.ts): what tracing (docs/tracing.md)
 * costs runJob. Spans go to an OTLP/HTTP receiver in this process that reads each request
 * and throws it away, so the figure includes building, batching, serialising and sending
 * every span, not a collector's work.
 *
 * - off (default): no tracing; the benchmark as before.
 * - on: the benchmark's stack traces (API, core worker, processor worker).
 * - both: the benchmark as before, then a second stack that traces, on the same Temporal
 *   (its own core queue, API and processor worker), and `api` runs on each, in rounds that
 *   alternate which goes first: the ratio of their throughputs is tracing's cost.
 */
import { createServer } from 'node:http';
import { randomBytes } from 'node:crypto';
import type { TracingSettings } from '../src/tracing/index.js';
import { percentile } from './stats.js';
import { startBenchStack, type BenchStack } from './stack.js';

export type TracingMode = 'on' | 'off' | 'both';

export function tracingMode(raw: string | undefined): TracingMode {
  if (raw === undefined || raw === '') return 'off';
  if (raw === 'on' || raw === 'off' || raw === 'both') return raw;
  throw new Error(`--tracing (BENCH_TRACING) must be on, off or both, got "${raw}"`);
}

/** An OTLP/HTTP receiver that discards what it gets: answers 200 once a request's body is read. */
export async function startOtlpSink(): Promise<{ tracesUrl: string; requests: () => number; bytes: () => number; close(): Promise<void> }> {
  let requests = 0;
  let bytes = 0;
  const server = createServer((req, res) => {
    req.on('data', (chunk: Buffer) => { bytes += chunk.length; });
    req.on('end', () => {
      requests++;
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  await new Promise<void>((resolveListen) => server.listen(0, '127.0.0.1', resolveListen));
  const { port } = server.address() as { port: number };
  return {
    tracesUrl: `http://127.0.0.1:${port}/v1/traces`,
    requests: () => requests,
    bytes: () => bytes,
    close: () => new Promise<void>((resolveClose) => { server.close(() => resolveClose()); server.closeAllConnections(); }),
  };
}

/** What startBenchStack needs to trace to the sink. */
export const benchTracing = (tracesUrl: string): TracingSettings => ({ tracesUrl, serviceName: 'bench' });

export interface TracingComparison {
  runs: number;
  concurrency: number;
  /** Runs per second, all rounds, of the untraced and the traced stack. */
  off: number;
  on: number;
  /** on ÷ off: throughput overall and the median of the per-round ratios; latency p50/p99. */
  ratio: number;
  ratioMedianRound: number;
  ratioRounds: number[];
  p50Ratio: number;
  p99Ratio: number;
  spansExported: { requests: number; bytes: number };
}

interface Measured { succeeded: number; failures: number; wallMs: number; latenciesMs: number[] }

/**
 * Starts the traced twin of `off` and compares `api` runs on both. `measureApi` is the
 * benchmark's own closed loop (run-job.ts), so both sides are measured as the main table is.
 */
export async function compareTracing(
  off: BenchStack,
  sink: { tracesUrl: string; requests: () => number; bytes: () => number },
  options: { runs: number; rounds: number; warmup: number; concurrency: number },
  measureApi: (stack: BenchStack, runs: number) => Promise<Measured>,
  log: (line: string) => void,
): Promise<TracingComparison> {
  log('Tracing: a second stack that traces, on the same Temporal (own core queue, API and processor worker)…');
  const on = await startBenchStack(log, off.config.TEMPORAL_ADDRESS, {}, {
    tracing: benchTracing(sink.tracesUrl), coreTaskQueue: `bench-core-traced-${randomBytes(3).toString('hex')}`,
  });
  try {
    const stacks = { off, on };
    if (options.warmup > 0) for (const stack of [off, on]) await measureApi(stack, options.warmup);
    const before = { requests: sink.requests(), bytes: sink.bytes() };
    const batches: Record<'off' | 'on', Measured[]> = { off: [], on: [] };
    for (let round = 0; round < options.rounds; round++) {
      const runs = Math.floor(options.runs / options.rounds) + (round < options.runs % options.rounds ? 1 : 0);
      const line: string[] = [];
      for (const side of round % 2 === 0 ? (['off', 'on'] as const) : (['on', 'off'] as const)) {
        const batch = await measureApi(stacks[side], runs);
        batches[side].push(batch);
        line.push(`tracing ${side} ${(batch.succeeded / batch.wallMs * 1000).toFixed(1)}/s${batch.failures ? `, ${batch.failures} FAILED` : ''}`);
      }
      log(`Tracing round ${round + 1}/${options.rounds}: ${line.join(' · ')}`);
    }
    const throughput = (list: Measured[]) => list.reduce((n, b) => n + b.succeeded, 0) / list.reduce((ms, b) => ms + b.wallMs, 0) * 1000;
    const latency = (list: Measured[], p: number) => percentile(list.flatMap((b) => b.latenciesMs), p);
    const ratioRounds = batches.on.map((b, i) => (b.succeeded / b.wallMs) / (batches.off[i]!.succeeded / batches.off[i]!.wallMs));
    const result: TracingComparison = {
      runs: options.runs,
      concurrency: options.concurrency,
      off: throughput(batches.off),
      on: throughput(batches.on),
      ratio: throughput(batches.on) / throughput(batches.off),
      ratioMedianRound: percentile(ratioRounds, 50),
      ratioRounds,
      p50Ratio: latency(batches.on, 50) / latency(batches.off, 50),
      p99Ratio: latency(batches.on, 99) / latency(batches.off, 99),
      spansExported: { requests: sink.requests() - before.requests, bytes: sink.bytes() - before.bytes },
    };
    log(`
Tracing on vs off, api path, ${options.runs} runs each, ${options.concurrency} clients:
  off ${result.off.toFixed(1)} runs/s · on ${result.on.toFixed(1)} runs/s
  on/off: throughput ${result.ratio.toFixed(3)} (per round ${ratioRounds.map((r) => r.toFixed(3)).join(', ')}; median ${result.ratioMedianRound.toFixed(3)}), `
      + `p50 ${result.p50Ratio.toFixed(2)}, p99 ${result.p99Ratio.toFixed(2)} (target throughput >= 0.95: ${result.ratioMedianRound >= 0.95 ? 'met' : 'MISSED'})
  exported while measuring: ${result.spansExported.requests} OTLP requests, ${(result.spansExported.bytes / 1024 / 1024).toFixed(1)} MiB`);
    return result;
  } finally {
    await on.close();
  }
}
