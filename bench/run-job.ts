/**
 * `npm run bench`: how long runJob takes to reach SUCCEED for a no-op processor, and how
 * many runs per second the stack sustains, on three paths with the same load: through the
 * API ("api"), the same instance workflow started straight with the Temporal client
 * ("direct"), and bare Temporal ("bare": a workflow that runs one no-op activity, on its own
 * worker in the same process). api/direct is what the API adds; direct/bare what the
 * instance workflow and the processor worker add. See bench/README.md.
 */
import { randomInt } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { availableParallelism, loadavg } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { DefaultLogger, Runtime } from '@temporalio/worker';
import type { Envelope } from '../src/api/envelope.js';
import { createIdempotently } from '../src/api/idempotency.js';
import { freshId } from '../src/domain/ids.js';
import { newInstanceInput } from '../src/domain/instance.js';
import { instanceStartOptions } from '../src/contract/start-options.js';
import { instanceWorkflowId } from '../src/contract/names.js';
import { type InstanceWorkflow, WorkflowType } from '../src/contract/workflows.js';
import { TempojobMetrics } from '../src/metrics/metrics.js';
import { benchTemporalAddress, startBareWorker, startBenchLane, startBenchStack, type BenchLane, type BenchStack } from './stack.js';
import { report, runBenchmark } from './report.js';
import { percentile } from './stats.js';
import { benchTracing, compareTracing, startOtlpSink, tracingMode, type TracingMode } from './tracing.js';

interface Options {
  runs: number;
  concurrency: number;
  rounds: number;
  warmup: number;
  /** Runs per second of the open-loop phase (0: none), and how many runs it starts. */
  rate: number;
  rateRuns: number;
  json: string | undefined;
  temporalAddress: string | undefined;
  /** off: no metrics (the default); on: every component counts and the API serves them; both: the on/off comparison alone. */
  metrics: 'off' | 'on' | 'both';
  /** bench/tracing.ts: off (default), on (the stack traces), both (then tracing on vs off). */
  tracing: TracingMode;
}

const COUNTS = {
  runs: { env: 'BENCH_RUNS', fallback: 300, min: 1 },
  concurrency: { env: 'BENCH_CONCURRENCY', fallback: 10, min: 1 },
  rounds: { env: 'BENCH_ROUNDS', fallback: 3, min: 1 },
  warmup: { env: 'BENCH_WARMUP', fallback: 50, min: 0 },
  // PowerJob 5.1.1's throughput on this machine kind (issue #13): the latency a caller sees at the load PowerJob sustains.
  rate: { env: 'BENCH_RATE', fallback: 46, min: 0 },
  'rate-runs': { env: 'BENCH_RATE_RUNS', fallback: 300, min: 1 },
} as const;

/** Flags win over env variables, which win over defaults. */
function readOptions(): Options {
  const { values } = parseArgs({
    options: {
      runs: { type: 'string' },
      concurrency: { type: 'string' },
      rounds: { type: 'string' },
      warmup: { type: 'string' },
      rate: { type: 'string' },
      'rate-runs': { type: 'string' },
      json: { type: 'string' },
      'temporal-address': { type: 'string' },
      metrics: { type: 'string' },
      tracing: { type: 'string' },
    },
  });
  const metrics = values.metrics ?? process.env.BENCH_METRICS ?? 'off';
  if (metrics !== 'off' && metrics !== 'on' && metrics !== 'both') throw new Error(`--metrics (BENCH_METRICS) must be off, on or both, got "${metrics}"`);
  const count = (name: keyof typeof COUNTS) => {
    const { env, fallback, min } = COUNTS[name];
    const raw = values[name] ?? process.env[env];
    if (raw === undefined || raw === '') return fallback;
    const value = Number(raw);
    if (!Number.isSafeInteger(value) || value < min) throw new Error(`--${name} (${env}) must be a whole number >= ${min}, got "${raw}"`);
    return value;
  };
  const options: Options = {
    runs: count('runs'),
    concurrency: count('concurrency'),
    rounds: count('rounds'),
    warmup: count('warmup'),
    rate: count('rate'),
    rateRuns: count('rate-runs'),
    json: values.json ?? (process.env.BENCH_JSON || undefined),
    temporalAddress: benchTemporalAddress(values['temporal-address']),
    metrics,
    tracing: tracingMode(values.tracing ?? process.env.BENCH_TRACING),
  };
  if (options.rounds > options.runs) throw new Error(`--rounds (${options.rounds}) must not exceed --runs (${options.runs})`);
  return options;
}

const PATHS = ['bare', 'direct', 'api'] as const;
type Path = (typeof PATHS)[number];
/** Starts one run and resolves to its workflow id once it is accepted. */
type Starter = () => Promise<string>;

/** The bare-Temporal baseline: a workflow that runs one no-op activity, on a worker of its own. */
function bareStarter(stack: BenchStack, taskQueue: string): Starter {
  let next = 0;
  const prefix = `bench-bare-${randomInt(1 << 30)}`;
  return async () => {
    const workflowId = `${prefix}-${next++}`;
    await stack.client.workflow.start('bareRun', { taskQueue, workflowId });
    return workflowId;
  };
}

/** The very start InstanceService.run makes, minus HTTP, auth and the job lookup. */
function directStarter(stack: BenchStack): Starter {
  return async () => {
    const now = Date.now();
    const instanceId = await createIdempotently({
      idempotency: null,
      idOf: () => freshId(now, randomInt(1024)),
      create: (id) => stack.client.workflow.start<InstanceWorkflow>(WorkflowType.instance, {
        ...instanceStartOptions(newInstanceInput({
          instanceId: id,
          appName: stack.appName,
          job: stack.job,
          instanceParams: null,
          expectedTriggerTime: now,
          createdAt: now,
          heartbeatTimeoutMs: stack.config.TEMPOJOB_HEARTBEAT_TIMEOUT_MS,
        })),
        taskQueue: stack.config.TEMPOJOB_CORE_TASK_QUEUE,
        workflowIdReusePolicy: 'REJECT_DUPLICATE',
        workflowIdConflictPolicy: 'FAIL',
        requestEagerStart: true,
      }).then(() => undefined),
      createdBy: async () => null,
    });
    return instanceWorkflowId(instanceId);
  };
}

/** runJob as PowerJob's Java client sends it: a form body with the job id. */
function apiStarter(stack: BenchStack): Starter {
  const headers = { ...stack.authHeaders, 'Content-Type': 'application/x-www-form-urlencoded' };
  const body = `jobId=${stack.jobId}`;
  return async () => {
    const res = await fetch(`${stack.url}/openApi/runJob`, { method: 'POST', headers, body });
    const envelope = (await res.json()) as Envelope<number>;
    if (!envelope.success || typeof envelope.data !== 'number') throw new Error(`runJob answered: ${envelope.message}`);
    return instanceWorkflowId(envelope.data);
  };
}

interface Sample {
  /** Request sent → instance workflow closed as SUCCEED. */
  totalMs: number;
  /** Request sent → instance accepted (start returned / HTTP answered). */
  acceptMs: number;
}

interface Batch {
  samples: Sample[];
  wallMs: number;
  failures: number;
  firstError: string | undefined;
}

/** Starts one run and awaits its end; a failed run is counted, not fatal, so one slow call does not hide the rest of the picture. */
async function runOnce(stack: BenchStack, start: Starter, batch: Batch): Promise<void> {
  const sent = performance.now();
  try {
    const workflowId = await start();
    const accepted = performance.now();
    // result() long-polls the close event: no polling interval inflates the latency.
    const state = await stack.client.workflow.getHandle<InstanceWorkflow>(workflowId).result();
    if (state.status !== 'SUCCEED') throw new Error(`${workflowId} ended ${state.status}: ${state.result}`);
    batch.samples.push({ totalMs: performance.now() - sent, acceptMs: accepted - sent });
  } catch (err) {
    batch.failures++;
    batch.firstError ??= err instanceof Error ? err.message : String(err);
  }
}

const emptyBatch = (): Batch => ({ samples: [], wallMs: 0, failures: 0, firstError: undefined });

/** Runs `runs` instances with at most `concurrency` in flight (a closed loop: how many runs per second the stack sustains). */
async function measure(stack: BenchStack, start: Starter, runs: number, concurrency: number): Promise<Batch> {
  const batch = emptyBatch();
  let issued = 0;
  const began = performance.now();
  const lane = async () => {
    while (issued < runs) {
      issued++;
      await runOnce(stack, start, batch);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, runs) }, lane));
  batch.wallMs = performance.now() - began;
  return batch;
}

/**
 * Starts `runs` instances at a steady `rate` per second whatever their latency (an open
 * loop: callers that arrive on their own), each awaited to its end: the latency a caller
 * sees at that load, which a closed loop cannot show (there, latency = clients ÷ throughput).
 */
async function measureAtRate(stack: BenchStack, start: Starter, runs: number, rate: number): Promise<Batch> {
  const batch = emptyBatch();
  const began = performance.now();
  const inFlight: Promise<void>[] = [];
  for (let i = 0; i < runs; i++) {
    const due = began + (i * 1000) / rate;
    if (due > performance.now()) await sleep(due - performance.now());
    inFlight.push(runOnce(stack, start, batch));
  }
  await Promise.all(inFlight);
  batch.wallMs = performance.now() - began;
  return batch;
}

interface Summary {
  runs: number;
  succeeded: number;
  failures: number;
  firstError: string | undefined;
  concurrency: number;
  wallMs: number;
  /** Succeeded runs per second of wall time, over all rounds. */
  throughput: number;
  roundThroughputs: number[];
  p50Ms: number;
  p99Ms: number;
  acceptP50Ms: number;
  acceptP99Ms: number;
}

function summarize(batches: Batch[], concurrency: number): Summary {
  const samples = batches.flatMap((b) => b.samples);
  const wallMs = batches.reduce((sum, b) => sum + b.wallMs, 0);
  const failures = batches.reduce((sum, b) => sum + b.failures, 0);
  const totals = samples.map((s) => s.totalMs).sort((a, b) => a - b);
  const accepts = samples.map((s) => s.acceptMs).sort((a, b) => a - b);
  return {
    runs: samples.length + failures,
    succeeded: samples.length,
    failures,
    firstError: batches.find((b) => b.firstError)?.firstError,
    concurrency,
    wallMs,
    throughput: (samples.length / wallMs) * 1000,
    roundThroughputs: batches.map((b) => (b.samples.length / b.wallMs) * 1000),
    p50Ms: percentile(totals, 50),
    p99Ms: percentile(totals, 99),
    acceptP50Ms: percentile(accepts, 50),
    acceptP99Ms: percentile(accepts, 99),
  };
}

function table(rows: string[][]): string {
  const widths = rows[0]!.map((_, col) => Math.max(...rows.map((row) => row[col]!.length)));
  return rows.map((row) => row.map((cell, col) => (col === 0 ? cell.padEnd(widths[col]!) : cell.padStart(widths[col]!))).join('  ')).join('\n');
}

async function main(): Promise<number> {
  const options = readOptions();
  const command = `npm run bench -- --runs ${options.runs} --concurrency ${options.concurrency} --rounds ${options.rounds} --warmup ${options.warmup} --rate ${options.rate} --rate-runs ${options.rateRuns}${
    options.temporalAddress ? ` --temporal-address ${options.temporalAddress}` : ''}${options.metrics !== 'off' ? ` --metrics ${options.metrics}` : ''}${
    options.tracing !== 'off' ? ` --tracing ${options.tracing}` : ''}`;
  if (options.metrics === 'both') return compareMetrics(options, command);
  // Before any worker exists, or the SDK logs every worker start at INFO. No SDK signal
  // handlers: Ctrl-C is handled below so the stack is torn down in order.
  Runtime.install({ logger: new DefaultLogger('WARN'), shutdownSignals: [] });
  const startedAt = performance.now();
  // Figures from a machine busy with other work are not comparable; the load says whether it was.
  const loadBefore = loadavg()[0]!;
  const sink = options.tracing !== 'off' ? await startOtlpSink() : undefined;
  const stack = await startBenchStack((line) => console.log(line), options.temporalAddress, {}, {
    ...(options.metrics === 'on' ? { metrics: new TempojobMetrics() } : {}),
    ...(options.tracing === 'on' && sink ? { tracing: benchTracing(sink.tracesUrl) } : {}),
  });
  process.once('SIGINT', () => void stack.close().finally(() => process.exit(130)));
  const bare = await startBareWorker(stack);
  const bareQueue = bare.taskQueue;
  try {
    const starters: Record<Path, Starter> = { bare: bareStarter(stack, bareQueue), direct: directStarter(stack), api: apiStarter(stack) };
    if (options.warmup > 0) {
      console.log(`Warm-up: ${options.warmup} runs per path (JIT, caches, SQLite pages)…`);
      for (const path of PATHS) {
        const batch = await measure(stack, starters[path], options.warmup, options.concurrency);
        if (batch.failures > 0) console.warn(`Warm-up ${path}: ${batch.failures} runs failed; first error: ${batch.firstError}`);
      }
    }

    // The runs are split over rounds that rotate which path goes first, so drift over time
    // (SQLite growth, a busy neighbour on a shared machine) hits every path alike.
    const batches: Record<Path, Batch[]> = { bare: [], direct: [], api: [] };
    for (let round = 0; round < options.rounds; round++) {
      const runs = Math.floor(options.runs / options.rounds) + (round < options.runs % options.rounds ? 1 : 0);
      const order = PATHS.map((_, i) => PATHS[(i + round) % PATHS.length]!);
      const line: string[] = [];
      for (const path of order) {
        const batch = await measure(stack, starters[path], runs, options.concurrency);
        batches[path].push(batch);
        const failed = batch.failures > 0 ? `, ${batch.failures} FAILED` : '';
        line.push(`${path} ${runs} runs in ${(batch.wallMs / 1000).toFixed(1)} s (${((batch.samples.length / batch.wallMs) * 1000).toFixed(1)}/s${failed})`);
      }
      console.log(`Round ${round + 1}/${options.rounds}: ${line.join(' · ')}`);
    }

    const summaries = Object.fromEntries(PATHS.map((path) => [path, summarize(batches[path], options.concurrency)])) as Record<Path, Summary>;

    let atRate: Record<Path, Summary> | undefined;
    if (options.rate > 0) {
      console.log(`Open loop: ${options.rateRuns} runs per path started at ${options.rate}/s…`);
      // In rounds that rotate the order, as above.
      const rateBatches: Record<Path, Batch[]> = { bare: [], direct: [], api: [] };
      for (let round = 0; round < options.rounds; round++) {
        const runs = Math.max(1, Math.floor(options.rateRuns / options.rounds) + (round < options.rateRuns % options.rounds ? 1 : 0));
        for (const path of PATHS.map((_, i) => PATHS[(i + round) % PATHS.length]!)) {
          rateBatches[path].push(await measureAtRate(stack, starters[path], runs, options.rate));
        }
      }
      atRate = Object.fromEntries(PATHS.map((path) => [path, summarize(rateBatches[path], 0)])) as Record<Path, Summary>;
    }
    // Each round runs every path back to back, so its ratio is the least exposed to load
    // that comes and goes; the median round discards one bad stretch.
    const ratio = (over: Path, under: Path) => {
      const rounds = summaries[over].roundThroughputs.map((value, round) => value / summaries[under].roundThroughputs[round]!);
      return {
        throughput: summaries[over].throughput / summaries[under].throughput,
        throughputMedianRound: percentile([...rounds].sort((a, b) => a - b), 50),
        throughputRounds: rounds,
        p50: summaries[over].p50Ms / summaries[under].p50Ms,
        p99: summaries[over].p99Ms / summaries[under].p99Ms,
      };
    };
    const ratios = { apiOverDirect: ratio('api', 'direct'), apiOverBare: ratio('api', 'bare'), directOverBare: ratio('direct', 'bare') };
    const ms = (value: number) => value.toFixed(1);
    const load = { before: loadBefore, after: loadavg()[0]! };
    const ratioLine = (name: string, r: ReturnType<typeof ratio>) =>
      `${name}: throughput ${r.throughput.toFixed(2)} (per round ${r.throughputRounds.map((x) => x.toFixed(2)).join(', ')}; median ${r.throughputMedianRound.toFixed(2)}), p50 ${r.p50.toFixed(2)}, p99 ${r.p99.toFixed(2)}`;
    console.log(`
runJob → SUCCEED, no-op processor, all in one process; ${availableParallelism()} CPUs, Node ${process.version}, load average ${load.before.toFixed(1)} → ${load.after.toFixed(1)}
${table([
  ['path', 'runs', 'failed', 'concurrency', 'runs/s', 'p50 ms', 'p99 ms', 'accept p50 ms', 'accept p99 ms'],
  ...PATHS.map((name) => {
    const s = summaries[name];
    return [name, String(s.runs), String(s.failures), String(s.concurrency), s.throughput.toFixed(1), ms(s.p50Ms), ms(s.p99Ms), ms(s.acceptP50Ms), ms(s.acceptP99Ms)];
  }),
])}
${ratioLine('api/bare', ratios.apiOverBare)} (target >= 0.80: ${ratios.apiOverBare.throughput >= 0.8 ? 'met' : 'MISSED'})
${ratioLine('api/direct', ratios.apiOverDirect)}
${ratioLine('direct/bare', ratios.directOverBare)}
${atRate ? `
Open loop, ${options.rateRuns} runs per path started at ${options.rate}/s whatever their latency:
${table([
  ['path', 'runs', 'failed', 'p50 ms', 'p99 ms', 'accept p50 ms', 'accept p99 ms'],
  ...PATHS.map((name) => {
    const s = atRate[name];
    return [name, String(s.runs), String(s.failures), ms(s.p50Ms), ms(s.p99Ms), ms(s.acceptP50Ms), ms(s.acceptP99Ms)];
  }),
])}
` : ''}latency = request sent → run closed SUCCEED; accept = request sent → start returned / HTTP answered
Reproduce: ${command}
Total time ${((performance.now() - startedAt) / 1000).toFixed(0)} s.`);
    const figure = (s: Summary) => `${s.throughput.toFixed(1)} runs/s, p50 ${ms(s.p50Ms)} ms, p99 ${ms(s.p99Ms)} ms`;
    report({
      benchmark: 'bench',
      measure: `runJob → SUCCEED, no-op, ${options.runs} runs, ${options.concurrency} clients`,
      tempojob: figure(summaries.api),
      bare: figure(summaries.bare),
      ratio: ratios.apiOverBare.throughput,
      command,
    });
    if (atRate) {
      report({
        benchmark: 'bench',
        measure: `runJob → SUCCEED, no-op, ${options.rateRuns} runs started at ${options.rate}/s (open loop)`,
        tempojob: `p50 ${ms(atRate.api.p50Ms)} ms, p99 ${ms(atRate.api.p99Ms)} ms`,
        bare: `p50 ${ms(atRate.bare.p50Ms)} ms, p99 ${ms(atRate.bare.p99Ms)} ms`,
        ratio: atRate.api.p99Ms / atRate.bare.p99Ms,
        command,
      });
    }
    const phases = atRate ? [summaries, atRate] : [summaries];
    for (const [phase, of] of phases.entries()) {
      for (const path of PATHS) {
        const s = of[path];
        if (s.failures > 0) console.error(`${path}${phase === 1 ? ' (open loop)' : ''}: ${s.failures} of ${s.runs} runs failed; first error: ${s.firstError}`);
      }
    }

    const tracing = options.tracing === 'both' && sink
      ? await compareTracing(stack, sink, options, async (traced, runs) => {
        const batch = await measure(traced, apiStarter(traced), runs, options.concurrency);
        return { succeeded: batch.samples.length, failures: batch.failures, wallMs: batch.wallMs, latenciesMs: batch.samples.map((s) => s.totalMs) };
      }, (line) => console.log(line))
      : undefined;

    if (options.json) {
      const report = {
        benchmark: 'runJob-noop', date: new Date().toISOString(), node: process.version, cpus: availableParallelism(), load,
        options: { runs: options.runs, concurrency: options.concurrency, rounds: options.rounds, warmup: options.warmup, rate: options.rate, rateRuns: options.rateRuns },
        ...summaries, ratios, ...(atRate ? { openLoop: { rate: options.rate, runs: options.rateRuns, ...atRate } } : {}), ...(tracing ? { tracing } : {}), command,
      };
      writeFileSync(options.json, `${JSON.stringify(report, null, 2)}\n`);
      console.log(`Results written to ${options.json}.`);
    }
    return phases.some((of) => PATHS.some((path) => of[path].failures > 0)) ? 1 : 0;
  } finally {
    await bare.stop();
    await stack.close();
    await sink?.close();
  }
}

/** How often the metrics-on lane is scraped, as Prometheus would (its default is 15 s; 5 s is a busy setup). */
const SCRAPE_EVERY_MS = 5_000;

/**
 * `--metrics both`: what metrics cost. Two lanes on one dev server, in one process: each its
 * own core worker, API, processor worker and no-op job; one counts everything (API, the core
 * worker's workflow sinks, the processor worker) into one registry with Node's default
 * metrics, scraped through its /metrics every 5 s; the other counts nothing. Rounds rotate
 * which lane goes first; the ratio is on ÷ off throughput (target >= 0.95).
 */
async function compareMetrics(options: Options, command: string): Promise<number> {
  Runtime.install({ logger: new DefaultLogger('WARN'), shutdownSignals: [] });
  const startedAt = performance.now();
  const loadBefore = loadavg()[0]!;
  const stack = await startBenchStack((line) => console.log(line), options.temporalAddress);
  process.once('SIGINT', () => void stack.close().finally(() => process.exit(130)));
  const lanes: { off?: BenchLane; on?: BenchLane } = {};
  let scraper: NodeJS.Timeout | undefined;
  try {
    lanes.off = await startBenchLane(stack);
    const onMetrics = new TempojobMetrics();
    lanes.on = await startBenchLane(stack, { metrics: onMetrics });
    const on = lanes.on;
    let scrapes = 0;
    let scrapeBytes = 0;
    scraper = setInterval(() => void fetch(`${on.url}/metrics`, { headers: { Authorization: `Bearer ${on.adminToken}` } })
      .then(async (res) => { if (res.ok) { scrapes++; scrapeBytes = (await res.text()).length; } })
      .catch(() => undefined), SCRAPE_EVERY_MS);
    const laneStack = (lane: BenchLane): BenchStack => ({ ...stack, url: lane.url, authHeaders: lane.authHeaders, jobId: lane.jobId });
    const starters = { off: apiStarter(laneStack(lanes.off)), on: apiStarter(laneStack(lanes.on)) };
    const LANES = ['off', 'on'] as const;
    if (options.warmup > 0) {
      console.log(`Warm-up: ${options.warmup} runs per lane…`);
      for (const lane of LANES) await measure(stack, starters[lane], options.warmup, options.concurrency);
    }
    const batches: Record<(typeof LANES)[number], Batch[]> = { off: [], on: [] };
    for (let round = 0; round < options.rounds; round++) {
      const runs = Math.floor(options.runs / options.rounds) + (round < options.runs % options.rounds ? 1 : 0);
      const line: string[] = [];
      for (const lane of round % 2 === 0 ? LANES : [...LANES].reverse()) {
        const batch = await measure(stack, starters[lane], runs, options.concurrency);
        batches[lane].push(batch);
        line.push(`metrics ${lane} ${runs} runs in ${(batch.wallMs / 1000).toFixed(1)} s (${((batch.samples.length / batch.wallMs) * 1000).toFixed(1)}/s${batch.failures ? `, ${batch.failures} FAILED` : ''})`);
      }
      console.log(`Round ${round + 1}/${options.rounds}: ${line.join(' · ')}`);
    }
    const off = summarize(batches.off, options.concurrency);
    const onSummary = summarize(batches.on, options.concurrency);
    const rounds = onSummary.roundThroughputs.map((value, i) => value / off.roundThroughputs[i]!);
    const ratio = onSummary.throughput / off.throughput;
    const load = { before: loadBefore, after: loadavg()[0]! };
    const ms = (value: number) => value.toFixed(1);
    const counted = (await onMetrics.instancesFinished.get()).values.reduce((sum, v) => sum + v.value, 0);
    const attempts = (await onMetrics.attemptDuration.get()).values.filter((v) => v.metricName === 'tempojob_attempt_duration_seconds_count').reduce((sum, v) => sum + v.value, 0);
    console.log(`
runJob → SUCCEED, no-op processor, metrics on vs off, one process; ${availableParallelism()} CPUs, Node ${process.version}, load average ${load.before.toFixed(1)} → ${load.after.toFixed(1)}
${table([
  ['metrics', 'runs', 'failed', 'concurrency', 'runs/s', 'p50 ms', 'p99 ms'],
  ...([['off', off], ['on', onSummary]] as const).map(([name, s]) => [name, String(s.runs), String(s.failures), String(s.concurrency), s.throughput.toFixed(1), ms(s.p50Ms), ms(s.p99Ms)]),
])}
on/off: throughput ${ratio.toFixed(3)} (per round ${rounds.map((x) => x.toFixed(3)).join(', ')}; median ${percentile([...rounds].sort((a, b) => a - b), 50).toFixed(3)}), p50 ${(onSummary.p50Ms / off.p50Ms).toFixed(2)}, p99 ${(onSummary.p99Ms / off.p99Ms).toFixed(2)} (target throughput >= 0.95: ${ratio >= 0.95 ? 'met' : 'MISSED'})
/metrics of the on lane scraped ${scrapes} times (every ${SCRAPE_EVERY_MS / 1000} s; last ${scrapeBytes} bytes); it counted ${counted} finished runs and ${attempts} attempts (warm-up included)
Reproduce: ${command}
Total time ${((performance.now() - startedAt) / 1000).toFixed(0)} s.`);
    report({
      benchmark: 'bench',
      measure: `runJob → SUCCEED, no-op, ${options.runs} runs, ${options.concurrency} clients: metrics on vs off`,
      tempojob: `on ${onSummary.throughput.toFixed(1)} runs/s, off ${off.throughput.toFixed(1)} runs/s`,
      bare: '—',
      ratio,
      command,
    });
    if (options.json) {
      writeFileSync(options.json, `${JSON.stringify({ benchmark: 'runJob-metrics', date: new Date().toISOString(), load, off, on: onSummary, ratio, rounds, command }, null, 2)}\n`);
    }
    return off.failures + onSummary.failures > 0 ? 1 : 0;
  } finally {
    if (scraper) clearInterval(scraper);
    await lanes.on?.close();
    await lanes.off?.close();
    await stack.close();
  }
}

runBenchmark('bench', main);
