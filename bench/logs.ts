/**
 * `npm run bench:logs`: instance logs (issue #15), on one stack in one run. Shipping: how
 * many lines per second one worker gets from ctx.logger into the store, with a buffer large
 * enough to drop none, and how many the default buffer (10,000) drops. Overhead: runJob →
 * SUCCEED of a processor logging `--lines-per-run` lines beside the same processor logging
 * none (target ≥ 0.90 of its throughput), and bare Temporal. Storage: the store's bytes per
 * million lines. See bench/README.md.
 */
import { randomInt } from 'node:crypto';
import { availableParallelism, loadavg } from 'node:os';
import { setImmediate as yieldToLoop, setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { DefaultLogger, Runtime } from '@temporalio/worker';
import { liveAppWorkers } from '../src/activities/workers.js';
import type { Envelope } from '../src/api/envelope.js';
import { instanceWorkflowId } from '../src/contract/names.js';
import type { InstanceWorkflow } from '../src/contract/workflows.js';
import { createWorker, type ProcessorDefinition, type ProcessorWorker, type TaskContext } from '../src/workers/index.js';
import { benchTemporalAddress, postOpenApi, startBareWorker, startBenchStack, type BenchStack } from './stack.js';
import { report, runBenchmark } from './report.js';
import { percentile, wholeNumber } from './stats.js';

const { values } = parseArgs({
  options: {
    lines: { type: 'string' },
    'lines-per-run': { type: 'string' },
    runs: { type: 'string' },
    concurrency: { type: 'string' },
    rounds: { type: 'string' },
    warmup: { type: 'string' },
    'temporal-address': { type: 'string' },
  },
});
const options = {
  lines: wholeNumber(values.lines, 200_000, 1, 'lines'),
  linesPerRun: wholeNumber(values['lines-per-run'], 100, 1, 'lines-per-run'),
  runs: wholeNumber(values.runs, 300, 1, 'runs'),
  concurrency: wholeNumber(values.concurrency, 10, 1, 'concurrency'),
  rounds: wholeNumber(values.rounds, 3, 1, 'rounds'),
  warmup: wholeNumber(values.warmup, 50, 0, 'warmup'),
  temporalAddress: benchTemporalAddress(values['temporal-address']),
};
if (options.rounds > options.runs) throw new Error(`--rounds (${options.rounds}) must not exceed --runs (${options.runs})`);

const TARGET = 0.9;
const DEFAULT_BUFFER = 10_000;
/** The flood yields to the event loop between chunks, so the worker's own work (heartbeats, shipping) goes on while it writes. */
const CHUNK = 1_000;
const FLOOD = 'flood';
const SILENT = 'silent';
const CHATTY = 'chatty';
const UNBOUNDED_WORKER = 'bench-logs-unbounded';

interface Flood {
  instanceId: number;
  lines: number;
  /** Time spent inside ctx.logger.info only, and first line written → last written. */
  callMs: number;
  writeMs: number;
  /** First line written → the worker's shipper had every line acknowledged (stored) by the API. */
  endToEndMs: number;
  unsent: number;
}

/**
 * A processor that writes `lines` lines as fast as it can, then has its worker flush: the
 * flush resolves once the API acknowledged the last line, i.e. once it is stored.
 */
function floodProcessor(lines: number, workerOf: () => ProcessorWorker, done: (flood: Flood) => void): ProcessorDefinition {
  return async (ctx: TaskContext) => {
    let callMs = 0;
    const began = performance.now();
    for (let i = 0; i < lines; i += CHUNK) {
      const chunkBegan = performance.now();
      for (let j = i; j < Math.min(lines, i + CHUNK); j++) ctx.logger.info('processed record', { record: j, ok: true });
      callMs += performance.now() - chunkBegan;
      await yieldToLoop();
    }
    const writeMs = performance.now() - began;
    void workerOf().flushLogs(600_000).then((unsent) => {
      done({ instanceId: ctx.instanceId, lines, callMs, writeMs, endToEndMs: performance.now() - began, unsent });
    });
    return { success: true };
  };
}

async function saveJob(stack: BenchStack, processorInfo: string, designatedWorkers?: string): Promise<number> {
  return postOpenApi<number>(stack.url, 'saveJob', {
    jobName: `bench-logs-${processorInfo}`,
    timeExpressionType: 'API',
    executeType: 'STANDALONE',
    processorType: 'BUILT_IN',
    processorInfo,
    ...(designatedWorkers ? { designatedWorkers } : {}),
  }, stack.authHeaders);
}

/** runJob as PowerJob's Java client sends it; resolves to the instance id once it ended SUCCEED. */
async function runJob(stack: BenchStack, jobId: number): Promise<number> {
  const res = await fetch(`${stack.url}/openApi/runJob`, {
    method: 'POST',
    headers: { ...stack.authHeaders, 'Content-Type': 'application/x-www-form-urlencoded' },
    body: `jobId=${jobId}`,
  });
  const envelope = (await res.json()) as Envelope<number>;
  if (!envelope.success || typeof envelope.data !== 'number') throw new Error(`runJob answered: ${envelope.message}`);
  const workflowId = instanceWorkflowId(envelope.data);
  const state = await stack.client.workflow.getHandle<InstanceWorkflow>(workflowId).result();
  if (state.status !== 'SUCCEED') throw new Error(`${workflowId} ended ${state.status}: ${state.result}`);
  return envelope.data;
}

/** Runs a flood job and waits for its lines to be stored; `flooded` is resolved by the processor. */
async function flood(stack: BenchStack, jobId: number, flooded: Promise<Flood>): Promise<Flood & { stored: number; dropped: number }> {
  await runJob(stack, jobId);
  const result = await flooded;
  const { total } = await stack.logStore.read(stack.appId, result.instanceId, {}, 0, 0);
  // The shipper says what it dropped in the instance's own log, one WARN line per attempt.
  const { lines: warnings } = await stack.logStore.read(stack.appId, result.instanceId, { minLevel: 'WARN' }, 0, 10_000);
  const dropped = warnings.reduce((sum, line) => sum + Number(/^(\d+) log lines dropped/.exec(line.message)?.[1] ?? 0), 0);
  return { ...result, stored: total, dropped };
}

const PATHS = ['bare', 'none', 'logging'] as const;
type Path = (typeof PATHS)[number];

interface Batch {
  latenciesMs: number[];
  wallMs: number;
  failures: number;
  firstError: string | undefined;
}

/** `runs` runs with `concurrency` clients, each starting its next run when its last one ended. */
async function closedLoop(run: () => Promise<unknown>, runs: number, concurrency: number): Promise<Batch> {
  const batch: Batch = { latenciesMs: [], wallMs: 0, failures: 0, firstError: undefined };
  let issued = 0;
  const began = performance.now();
  const lane = async () => {
    while (issued < runs) {
      issued++;
      const sent = performance.now();
      try {
        await run();
        batch.latenciesMs.push(performance.now() - sent);
      } catch (err) {
        batch.failures++;
        batch.firstError ??= err instanceof Error ? err.message : String(err);
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, runs) }, lane));
  batch.wallMs = performance.now() - began;
  return batch;
}

async function main(): Promise<number> {
  const command = `npm run bench:logs -- --lines ${options.lines} --lines-per-run ${options.linesPerRun} --runs ${options.runs} --concurrency ${options.concurrency} --rounds ${options.rounds} --warmup ${options.warmup}${
    options.temporalAddress ? ` --temporal-address ${options.temporalAddress}` : ''}`;
  Runtime.install({ logger: new DefaultLogger('WARN'), shutdownSignals: [] });
  const startedAt = performance.now();
  const loadBefore = loadavg()[0]!;

  let resolveDefault!: (flood: Flood) => void;
  const defaultFlood = new Promise<Flood>((resolve) => (resolveDefault = resolve));
  const processors: Record<string, ProcessorDefinition> = {
    [FLOOD]: floodProcessor(options.lines, () => stack.worker, resolveDefault),
    [SILENT]: () => ({ success: true }),
    [CHATTY]: (ctx) => {
      for (let i = 0; i < options.linesPerRun; i++) ctx.logger.info('processed record', { record: i, ok: true });
      return { success: true };
    },
  };
  const stack = await startBenchStack((line) => console.log(line), options.temporalAddress, processors, { shipLogs: true });
  process.once('SIGINT', () => void stack.close().finally(() => process.exit(130)));
  const bare = await startBareWorker(stack);
  try {
    // A second worker of the same app whose buffer holds every line, pinned by designatedWorkers.
    let resolveUnbounded!: (flood: Flood) => void;
    const unboundedFlood = new Promise<Flood>((resolve) => (resolveUnbounded = resolve));
    const unboundedWorker: ProcessorWorker = await createWorker({
      appName: stack.appName,
      processors: { [FLOOD]: floodProcessor(options.lines, () => unboundedWorker, resolveUnbounded) },
      // A connection of its own, as another process would have (one connection polls a queue once).
      address: stack.config.TEMPORAL_ADDRESS!,
      namespace: stack.config.TEMPORAL_NAMESPACE,
      workerId: UNBOUNDED_WORKER,
      shutdownGraceMs: 0,
      logs: { apiUrl: stack.url, password: stack.appPassword, maxBufferedLines: options.lines + 10 },
    });
    const unboundedDone = unboundedWorker.run();
    // The run is pinned to it only once Temporal lists it among the app's live workers.
    const deadline = Date.now() + 60_000;
    while (!(await liveAppWorkers(stack.client, stack.appName)).some((w) => w.workerId === UNBOUNDED_WORKER)) {
      if (Date.now() > deadline) throw new Error(`worker ${UNBOUNDED_WORKER} not visible to Temporal after 60 s`);
      await sleep(200);
    }
    const floodUnboundedJob = await saveJob(stack, FLOOD, UNBOUNDED_WORKER);
    // Once the second worker is gone, the app's own worker takes it.
    const floodDefaultJob = await saveJob(stack, FLOOD);

    const bytesAtStart = await stack.logStore.sizeBytes();
    console.log(`Shipping: one run writes ${options.lines} lines, buffer ${options.lines + 10} (none dropped)…`);
    const unbounded = await flood(stack, floodUnboundedJob, unboundedFlood);
    await unboundedWorker.shutdown();
    await unboundedDone;
    const bytesAfterUnbounded = await stack.logStore.sizeBytes();
    console.log(`Shipping: one run writes ${options.lines} lines, default buffer ${DEFAULT_BUFFER}…`);
    const bounded = await flood(stack, floodDefaultJob, defaultFlood);
    const bytesAfterShipping = await stack.logStore.sizeBytes();

    const jobs = { none: await saveJob(stack, SILENT), logging: await saveJob(stack, CHATTY) };
    let bareNext = 0;
    const barePrefix = `bench-logs-bare-${randomInt(1 << 30)}`;
    const runners: Record<Path, () => Promise<unknown>> = {
      bare: () => stack.client.workflow.execute('bareRun', { taskQueue: bare.taskQueue, workflowId: `${barePrefix}-${bareNext++}` }),
      none: () => runJob(stack, jobs.none),
      logging: () => runJob(stack, jobs.logging),
    };
    if (options.warmup > 0) {
      console.log(`Overhead: warm-up, ${options.warmup} runs per path…`);
      for (const path of PATHS) await closedLoop(runners[path], options.warmup, options.concurrency);
    }
    const batches: Record<Path, Batch[]> = { bare: [], none: [], logging: [] };
    for (let round = 0; round < options.rounds; round++) {
      const runs = Math.floor(options.runs / options.rounds) + (round < options.runs % options.rounds ? 1 : 0);
      const line: string[] = [];
      for (const path of PATHS.map((_, i) => PATHS[(i + round) % PATHS.length]!)) {
        const batch = await closedLoop(runners[path], runs, options.concurrency);
        batches[path].push(batch);
        line.push(`${path} ${((batch.latenciesMs.length / batch.wallMs) * 1000).toFixed(1)}/s${batch.failures > 0 ? ` (${batch.failures} FAILED)` : ''}`);
      }
      console.log(`Overhead round ${round + 1}/${options.rounds}: ${line.join(' · ')}`);
    }
    const unsentAfterRuns = await stack.worker.flushLogs(600_000);
    const bytesAtEnd = await stack.logStore.sizeBytes();
    const loadAfter = loadavg()[0]!;

    const summary = (path: Path) => {
      const all = batches[path];
      const latencies = all.flatMap((b) => b.latenciesMs).sort((a, b) => a - b);
      const wallMs = all.reduce((sum, b) => sum + b.wallMs, 0);
      return {
        runs: latencies.length + all.reduce((sum, b) => sum + b.failures, 0),
        failures: all.reduce((sum, b) => sum + b.failures, 0),
        firstError: all.find((b) => b.firstError)?.firstError,
        throughput: (latencies.length / wallMs) * 1000,
        rounds: all.map((b) => (b.latenciesMs.length / b.wallMs) * 1000),
        p50: percentile(latencies, 50),
        p99: percentile(latencies, 99),
      };
    };
    const s = { bare: summary('bare'), none: summary('none'), logging: summary('logging') };
    const ratio = s.logging.throughput / s.none.throughput;
    const roundRatios = s.logging.rounds.map((value, i) => value / s.none.rounds[i]!);
    const overheadLines = (options.warmup + options.runs) * options.linesPerRun;

    const rate = (lines: number, ms: number) => `${Math.round((lines / ms) * 1000).toLocaleString('en')} lines/s`;
    const perMillion = (bytes: number, lines: number) => (bytes / lines) * 1e6;
    const mb = (bytes: number) => `${(bytes / 1e6).toFixed(1)} MB`;
    const shippingBytes = bytesAfterUnbounded - bytesAtStart;
    const runBytes = bytesAtEnd - bytesAfterShipping;
    const figure = (x: ReturnType<typeof summary>) => `${x.throughput.toFixed(1)} runs/s, p50 ${x.p50.toFixed(1)} ms, p99 ${x.p99.toFixed(1)} ms`;
    const floodLine = (f: typeof unbounded) =>
      `${f.stored} of ${f.lines} lines stored, ${f.dropped} dropped (counted from the instance's "N log lines dropped" line)${f.unsent > 0 ? `, ${f.unsent} UNSENT` : ''}; ` +
      `end to end ${rate(f.lines - f.dropped, f.endToEndMs)} (${(f.endToEndMs / 1000).toFixed(2)} s first line written → last stored); ` +
      `written in ${(f.writeMs / 1000).toFixed(2)} s; enqueue ${rate(f.lines, f.callMs)} (time inside ctx.logger.info)`;
    console.log(`
Instance logs, all in one process (processor worker, API, embedded PGlite store on disk, as npm start keeps it); ${availableParallelism()} CPUs, Node ${process.version}, load average ${loadBefore.toFixed(1)} → ${loadAfter.toFixed(1)}
Shipping, one run, buffer ${options.lines + 10}: ${floodLine(unbounded)}
Shipping, one run, default buffer ${DEFAULT_BUFFER}: ${floodLine(bounded)}
runJob → SUCCEED, ${options.runs} runs per path, ${options.concurrency} clients, ${options.rounds} rounds rotating the order:
  bare Temporal (one no-op activity): ${figure(s.bare)}
  tempojob, processor logging none:   ${figure(s.none)}
  tempojob, logging ${options.linesPerRun} lines per run: ${figure(s.logging)}
  logging/none throughput ${ratio.toFixed(2)} (per round ${roundRatios.map((r) => r.toFixed(2)).join(', ')}; target >= ${TARGET.toFixed(2)}: ${ratio >= TARGET ? 'met' : 'MISSED'}); none/bare ${(s.none.throughput / s.bare.throughput).toFixed(2)}${unsentAfterRuns > 0 ? `; ${unsentAfterRuns} lines UNSENT` : ''}
Storage (table + indexes, pg_total_relation_size): ${mb(bytesAtStart)} → ${mb(bytesAfterUnbounded)} after the ${unbounded.stored} lines of the first shipping run: ${mb(perMillion(shippingBytes, unbounded.stored))} per million lines (extrapolated; ${Math.round(shippingBytes / unbounded.stored)} bytes a line); ${mb(bytesAfterShipping)} → ${mb(bytesAtEnd)} after the ${overheadLines} lines of the runJob runs: ${mb(perMillion(runBytes, overheadLines))} per million (extrapolated)
Reproduce: ${command}
Total time ${((performance.now() - startedAt) / 1000).toFixed(0)} s.`);

    report({
      benchmark: 'bench:logs',
      measure: `log lines shipped end to end, one run of ${options.lines} lines, buffer ${options.lines + 10} (none dropped)`,
      tempojob: `${rate(unbounded.stored, unbounded.endToEndMs)}; enqueue ${rate(unbounded.lines, unbounded.callMs)}`,
      bare: '—',
      command,
    });
    report({
      benchmark: 'bench:logs',
      measure: `the same with the default buffer (${DEFAULT_BUFFER} lines)`,
      tempojob: `${bounded.dropped} of ${bounded.lines} lines dropped; ${rate(bounded.stored, bounded.endToEndMs)} stored`,
      bare: '—',
      command,
    });
    report({
      benchmark: 'bench:logs',
      measure: `runJob → SUCCEED logging ${options.linesPerRun} lines per run vs none, ${options.runs} runs, ${options.concurrency} clients (ratio: logging ÷ none, target ≥ ${TARGET})`,
      tempojob: `logging: ${figure(s.logging)}; none: ${figure(s.none)}`,
      bare: figure(s.bare),
      ratio,
      command,
    });
    report({
      benchmark: 'bench:logs',
      measure: `log store bytes per million lines (table + indexes, extrapolated from ${unbounded.stored} lines)`,
      tempojob: mb(perMillion(shippingBytes, unbounded.stored)),
      bare: '—',
      command,
    });

    let code = 0;
    for (const path of PATHS) {
      if (s[path].failures > 0) {
        console.error(`${path}: ${s[path].failures} of ${s[path].runs} runs failed; first error: ${s[path].firstError}`);
        code = 1;
      }
    }
    if (unbounded.stored !== unbounded.lines || unbounded.unsent > 0 || bounded.unsent > 0 || unsentAfterRuns > 0) {
      console.error(`lines lost: ${unbounded.lines - unbounded.stored} of the unbounded run not stored, ${unbounded.unsent + bounded.unsent + unsentAfterRuns} unsent`);
      code = 1;
    }
    if (ratio < TARGET) code = 1;
    return code;
  } finally {
    await bare.stop();
    await stack.close();
  }
}

runBenchmark('bench:logs', main);
