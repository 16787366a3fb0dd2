/**
 * `npm run bench`: how long runJob takes to reach SUCCEED for a no-op processor, and how
 * many runs per second the stack sustains, through the API ("api") against the same
 * instance workflow started straight with the Temporal client ("direct"). The ratio is
 * what the API adds on top of Temporal.
 *
 * Options (flag or env): --runs/BENCH_RUNS per path, --concurrency/BENCH_CONCURRENCY runs
 * in flight, --rounds/BENCH_ROUNDS (the runs are split over rounds that alternate the
 * order of the paths, so drift — SQLite growth, JIT, a busy neighbour — hits both alike),
 * --warmup/BENCH_WARMUP unmeasured runs per path, --json/BENCH_JSON file for the results.
 */
import { randomInt } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { parseArgs } from 'node:util';
import { WorkflowExecutionAlreadyStartedError } from '@temporalio/client';
import { DefaultLogger, Runtime } from '@temporalio/worker';
import type { Envelope } from '../src/api/envelope.js';
import { freshId } from '../src/domain/ids.js';
import type { InstanceInput } from '../src/domain/instance.js';
import { instanceStartOptions } from '../src/temporal/instance-start.js';
import { instanceWorkflowId } from '../src/temporal/names.js';
import { instanceWorkflow } from '../src/workflows/instance.js';
import { startBenchStack, type BenchStack } from './stack.js';

interface Options {
  runs: number;
  concurrency: number;
  rounds: number;
  warmup: number;
  json: string | undefined;
}

function readOptions(): Options {
  const { values } = parseArgs({
    options: {
      runs: { type: 'string' },
      concurrency: { type: 'string' },
      rounds: { type: 'string' },
      warmup: { type: 'string' },
      json: { type: 'string' },
    },
  });
  const count = (name: keyof Omit<Options, 'json'>, env: string, fallback: number, min: number) => {
    const raw = values[name] ?? process.env[env];
    if (raw === undefined || raw === '') return fallback;
    const value = Number(raw);
    if (!Number.isSafeInteger(value) || value < min) throw new Error(`--${name} (${env}) must be a whole number >= ${min}, got "${raw}"`);
    return value;
  };
  const options = {
    runs: count('runs', 'BENCH_RUNS', 1000, 1),
    concurrency: count('concurrency', 'BENCH_CONCURRENCY', 32, 1),
    rounds: count('rounds', 'BENCH_ROUNDS', 3, 1),
    warmup: count('warmup', 'BENCH_WARMUP', 50, 0),
    json: values.json ?? (process.env.BENCH_JSON || undefined),
  };
  if (options.rounds > options.runs) throw new Error(`--rounds (${options.rounds}) must not exceed --runs (${options.runs})`);
  return options;
}

type Path = 'direct' | 'api';
/** Starts one instance and resolves to its id once it is accepted. */
type Starter = () => Promise<number>;

/** The baseline: the very start InstanceService.run makes, minus HTTP, auth and the job lookup. */
function directStarter(stack: BenchStack): Starter {
  return async () => {
    for (let attempt = 0; ; attempt++) {
      const now = Date.now();
      const input: InstanceInput = {
        instanceId: freshId(now, randomInt(1024)),
        appName: stack.appName,
        job: stack.job,
        instanceParams: null,
        expectedTriggerTime: now,
        previousRunningTimes: 0,
        createdAt: now,
        createdBy: null,
        heartbeatTimeoutMs: stack.config.TEMPOJOB_HEARTBEAT_TIMEOUT_MS,
      };
      try {
        await stack.client.workflow.start(instanceWorkflow, {
          ...instanceStartOptions(input),
          taskQueue: stack.config.TEMPOJOB_CORE_TASK_QUEUE,
          workflowIdReusePolicy: 'REJECT_DUPLICATE',
          workflowIdConflictPolicy: 'FAIL',
        });
        return input.instanceId;
      } catch (err) {
        // Same as the API: a fresh id clash (same ms, same 10 random bits) draws again.
        if (!(err instanceof WorkflowExecutionAlreadyStartedError) || attempt >= 5) throw err;
      }
    }
  };
}

/** runJob as a PowerJob client sends it: a form body with the job id. */
function apiStarter(stack: BenchStack): Starter {
  const headers = { ...stack.authHeaders, 'Content-Type': 'application/x-www-form-urlencoded' };
  const body = `jobId=${stack.jobId}`;
  return async () => {
    const res = await fetch(`${stack.url}/openApi/runJob`, { method: 'POST', headers, body });
    const envelope = (await res.json()) as Envelope<number>;
    if (!envelope.success || typeof envelope.data !== 'number') throw new Error(`runJob failed: ${envelope.message}`);
    return envelope.data;
  };
}

interface Sample {
  /** Request sent → instance workflow closed as SUCCEED. */
  totalMs: number;
  /** Request sent → instance accepted (start returned / HTTP answered). */
  acceptMs: number;
}

/** Runs `runs` instances with at most `concurrency` in flight; each is awaited to SUCCEED. */
async function measure(stack: BenchStack, start: Starter, runs: number, concurrency: number): Promise<{ samples: Sample[]; wallMs: number }> {
  const samples: Sample[] = [];
  let issued = 0;
  let failed = false;
  const began = performance.now();
  const lane = async () => {
    while (issued < runs && !failed) {
      issued++;
      const sent = performance.now();
      try {
        const instanceId = await start();
        const accepted = performance.now();
        // result() long-polls the close event: no polling interval inflates the latency.
        const state = await stack.client.workflow.getHandle<typeof instanceWorkflow>(instanceWorkflowId(instanceId)).result();
        if (state.status !== 'SUCCEED') throw new Error(`instance ${instanceId} ended ${state.status}: ${state.result}`);
        samples.push({ totalMs: performance.now() - sent, acceptMs: accepted - sent });
      } catch (err) {
        failed = true; // the other lanes stop issuing; the first error is reported
        throw err;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, runs) }, lane));
  return { samples, wallMs: performance.now() - began };
}

/** Nearest-rank percentile. */
function percentile(sorted: number[], p: number): number {
  return sorted[Math.max(0, Math.ceil((p / 100) * sorted.length) - 1)] ?? NaN;
}

interface Summary {
  runs: number;
  concurrency: number;
  wallMs: number;
  throughput: number;
  p50Ms: number;
  p99Ms: number;
  acceptP50Ms: number;
  acceptP99Ms: number;
  roundThroughputs: number[];
}

function summarize(samples: Sample[], wallMs: number, concurrency: number, roundThroughputs: number[]): Summary {
  const totals = samples.map((s) => s.totalMs).sort((a, b) => a - b);
  const accepts = samples.map((s) => s.acceptMs).sort((a, b) => a - b);
  return {
    runs: samples.length,
    concurrency,
    wallMs,
    throughput: (samples.length / wallMs) * 1000,
    p50Ms: percentile(totals, 50),
    p99Ms: percentile(totals, 99),
    acceptP50Ms: percentile(accepts, 50),
    acceptP99Ms: percentile(accepts, 99),
    roundThroughputs,
  };
}

function table(rows: string[][]): string {
  const widths = rows[0]!.map((_, col) => Math.max(...rows.map((row) => row[col]!.length)));
  return rows.map((row) => row.map((cell, col) => (col === 0 ? cell.padEnd(widths[col]!) : cell.padStart(widths[col]!))).join('  ')).join('\n');
}

async function main(): Promise<void> {
  const options = readOptions();
  const command = `npm run bench -- --runs ${options.runs} --concurrency ${options.concurrency} --rounds ${options.rounds} --warmup ${options.warmup}`;
  // Before any worker exists: the SDK logs every worker start at INFO. No signal handlers:
  // Ctrl-C is ours, so the stack is torn down in order.
  Runtime.install({ logger: new DefaultLogger('WARN'), shutdownSignals: [] });
  const startedAt = performance.now();
  const stack = await startBenchStack((line) => console.log(line));
  process.once('SIGINT', () => void stack.close().finally(() => process.exit(130)));
  try {
    const starters: Record<Path, Starter> = { direct: directStarter(stack), api: apiStarter(stack) };
    if (options.warmup > 0) {
      console.log(`Warm-up: ${options.warmup} runs per path…`);
      for (const path of ['direct', 'api'] as const) await measure(stack, starters[path], options.warmup, options.concurrency);
    }

    const results: Record<Path, { samples: Sample[]; wallMs: number; roundThroughputs: number[] }> = {
      direct: { samples: [], wallMs: 0, roundThroughputs: [] },
      api: { samples: [], wallMs: 0, roundThroughputs: [] },
    };
    for (let round = 0; round < options.rounds; round++) {
      // Split the runs evenly; the first rounds take the remainder.
      const runs = Math.floor(options.runs / options.rounds) + (round < options.runs % options.rounds ? 1 : 0);
      const order: Path[] = round % 2 === 0 ? ['direct', 'api'] : ['api', 'direct'];
      const line: string[] = [];
      for (const path of order) {
        const { samples, wallMs } = await measure(stack, starters[path], runs, options.concurrency);
        const result = results[path];
        result.samples.push(...samples);
        result.wallMs += wallMs;
        result.roundThroughputs.push((runs / wallMs) * 1000);
        line.push(`${path} ${runs} runs in ${(wallMs / 1000).toFixed(1)} s (${((runs / wallMs) * 1000).toFixed(0)}/s)`);
      }
      console.log(`Round ${round + 1}/${options.rounds}: ${line.join(' · ')}`);
    }

    const direct = summarize(results.direct.samples, results.direct.wallMs, options.concurrency, results.direct.roundThroughputs);
    const api = summarize(results.api.samples, results.api.wallMs, options.concurrency, results.api.roundThroughputs);
    const ratios = { throughput: api.throughput / direct.throughput, p50: api.p50Ms / direct.p50Ms, p99: api.p99Ms / direct.p99Ms };
    const ms = (value: number) => value.toFixed(1);
    console.log(`
runJob → SUCCEED, no-op processor; ${options.rounds} rounds, all in one process, ${availableParallelism()} CPUs, Node ${process.version}
${table([
  ['path', 'runs', 'concurrency', 'runs/s', 'p50 ms', 'p99 ms', 'accept p50 ms', 'accept p99 ms'],
  ...([['direct', direct], ['api', api]] as const).map(([name, s]) => [
    name, String(s.runs), String(s.concurrency), s.throughput.toFixed(1), ms(s.p50Ms), ms(s.p99Ms), ms(s.acceptP50Ms), ms(s.acceptP99Ms),
  ]),
])}
api/direct: throughput ${ratios.throughput.toFixed(2)} (target >= 0.80: ${ratios.throughput >= 0.8 ? 'met' : 'MISSED'}), p50 ${ratios.p50.toFixed(2)}, p99 ${ratios.p99.toFixed(2)}
(latency = request sent → instance closed SUCCEED; accept = request sent → instance started / HTTP answered)
Reproduce: ${command}
Total time ${((performance.now() - startedAt) / 1000).toFixed(0)} s.`);

    if (options.json) {
      const report = {
        benchmark: 'runJob-noop', date: new Date().toISOString(), node: process.version, cpus: availableParallelism(),
        options: { runs: options.runs, concurrency: options.concurrency, rounds: options.rounds, warmup: options.warmup },
        direct, api, ratios, command,
      };
      writeFileSync(options.json, `${JSON.stringify(report, null, 2)}\n`);
      console.log(`Results written to ${options.json}.`);
    }
  } finally {
    await stack.close();
  }
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error('bench failed:', err instanceof Error ? err.message : err);
    process.exit(1);
  },
);
