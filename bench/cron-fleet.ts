/**
 * `npm run bench:cron`: 1,000 enabled CRON jobs due at the same second. Measures fire
 * lateness (instance dispatched − nominal fire time) p50/p99, counts duplicate instances
 * (must be 0) and fires the misfire policy dropped, and how long the fleet took to drain;
 * against a baseline in the same run: the same number of bare Temporal schedules with the
 * same spec, each fire a workflow that runs one no-op activity (the work of a fire, without
 * tempojob's), whose lateness is its first task − nominal, and how long they took to drain.
 *
 * Each job fires once a day, at the measured minute: the burst is measured alone. (As
 * one-minute jobs, a fleet that takes longer than a minute to drain would be measured
 * against its own next fires; the drain rate printed says how many fires per second the
 * stack sustains.)
 */
import { parseArgs } from 'node:util';
import { DefaultLogger, Runtime } from '@temporalio/worker';
import { SA } from '../src/contract/search-attributes.js';
import { bareFires, duplicates, instanceFires, latenessFigure, latenessOf, latenessRow } from './fires.js';
import { benchTemporalAddress, postOpenApi, startBareWorker, startBenchStack, NOOP_PROCESSOR, type BenchStack } from './stack.js';
import { report, runBenchmark } from './report.js';
import { percentile } from './stats.js';

const { values } = parseArgs({ options: { 'temporal-address': { type: 'string' } } });
const TEMPORAL_ADDRESS = benchTemporalAddress(values['temporal-address']);
const JOBS = Number(process.env.BENCH_CRON_JOBS ?? 1000);
/** How long a fleet may take to drain: on a small machine, minutes. */
const DRAIN_TIMEOUT_MS = 30 * 60_000;
const CONCURRENCY = 16;

async function inParallel<T>(count: number, fn: (i: number) => Promise<T>): Promise<T[]> {
  const results: T[] = [];
  let next = 0;
  await Promise.all(Array.from({ length: CONCURRENCY }, async () => {
    while (next < count) {
      const i = next++;
      results[i] = await fn(i);
    }
  }));
  return results;
}

/** The next whole minute far enough away to create every job before it. */
function nextFireMinute(): number {
  return Math.ceil((Date.now() + JOBS * 60 + 10_000) / 60_000) * 60_000;
}

/** A Quartz expression (and the same calendar for Temporal) due once a day, at `fire`. */
function dailyAt(fire: number) {
  const at = new Date(fire);
  return {
    cron: `0 ${at.getUTCMinutes()} ${at.getUTCHours()} * * ?`,
    calendar: { second: 0, minute: at.getUTCMinutes(), hour: at.getUTCHours() },
  };
}

async function waitFor(what: string, fire: number): Promise<void> {
  if (Date.now() > fire) throw new Error(`${what} only after their fire time; run again`);
  console.log(`${what}; waiting for ${new Date(fire).toISOString()}…`);
  await new Promise((r) => setTimeout(r, fire - Date.now()));
}

/**
 * A visibility range of ±1 s around a whole-second instant. SQL visibility compares these
 * as text, where "…:00Z" sorts after "…:00.001Z": bounds are written without fractions.
 */
function around(ms: number): string {
  const format = (t: number) => new Date(t).toISOString().replace('.000Z', 'Z');
  return `'${format(ms - 1000)}' AND '${format(ms + 1000)}'`;
}

/**
 * Polls a visibility read until it holds, printing the reading every 10 s; a failed read
 * (an overloaded server) is retried.
 */
async function until<T>(what: string, read: () => Promise<T>, done: (value: T) => boolean, timeoutMs: number): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  let shownAt = Date.now();
  for (;;) {
    if (Date.now() - shownAt >= 10_000) {
      console.log(`  ${what}: ${JSON.stringify(last)}`);
      shownAt = Date.now();
    }
    try {
      last = await read();
      if (done(last as T)) return last as T;
    } catch (err) {
      last = (err as Error).message;
    }
    if (Date.now() > deadline) throw new Error(`gave up waiting; last reading: ${JSON.stringify(last)}`);
    await new Promise((r) => setTimeout(r, 1_000));
  }
}

interface BaselineResult {
  lateness: number[];
  /** From the fire time until every bare fire had finished. */
  drainedMs: number;
}

async function baseline(stack: BenchStack): Promise<BaselineResult> {
  const ids = Array.from({ length: JOBS }, (_, i) => `bench-raw-${i}`);
  const worker = await startBareWorker(stack);
  try {
    const fire = nextFireMinute();
    await inParallel(JOBS, (i) => stack.client.schedule.create({
      scheduleId: ids[i]!,
      spec: { calendars: [dailyAt(fire).calendar] },
      action: { type: 'startWorkflow', workflowType: 'bareScheduledRun', taskQueue: worker.taskQueue, args: [] },
      policies: { overlap: 'ALLOW_ALL', catchupWindow: '10 minutes' },
    }));
    await waitFor(`baseline: ${JOBS} bare schedules created`, fire);
    const query = `WorkflowType = 'bareScheduledRun' AND TemporalScheduledStartTime BETWEEN ${around(fire)}`;
    await until('bare fires finished', async () => (await stack.client.workflow.count(`${query} AND ExecutionStatus = 'Completed'`)).count, (n) => n >= JOBS, DRAIN_TIMEOUT_MS);
    const drainedMs = Date.now() - fire;
    const lateness = await bareFires(stack.client, query);
    await inParallel(JOBS, (i) => stack.client.schedule.getHandle(ids[i]!).delete());
    return { lateness, drainedMs };
  } finally {
    await worker.stop();
  }
}

interface FleetResult {
  lateness: number[];
  instances: number;
  duplicates: number;
  /** Fires the misfire policy dropped (the fire was later than its threshold). */
  dropped: number;
  /** From the fire time until every fire was decided and every instance had finished. */
  drainedMs: number;
}

async function tempojob(stack: BenchStack): Promise<FleetResult> {
  const fire = nextFireMinute();
  await inParallel(JOBS, (i) => postOpenApi<number>(stack.url, 'saveJob', {
    jobName: `cron-${i}`, timeExpressionType: 'CRON', timeExpression: dailyAt(fire).cron, timeZone: 'UTC',
    executeType: 'STANDALONE', processorType: 'BUILT_IN', processorInfo: NOOP_PROCESSOR,
  }, stack.authHeaders));
  await waitFor(`tempojob: ${JOBS} CRON jobs saved through the API`, fire);
  const count = async (query: string) => (await stack.client.workflow.count(query)).count;
  // Each fire is one scheduledRunWorkflow, which starts the instance or (misfire policy) drops the fire.
  const runs = `WorkflowType = 'scheduledRunWorkflow' AND TemporalScheduledStartTime BETWEEN ${around(fire)}`;
  await until('fires decided', () => count(`${runs} AND ExecutionStatus != 'Running'`), (n) => n >= JOBS, DRAIN_TIMEOUT_MS);
  const query = `WorkflowType = 'instanceWorkflow' AND ${SA.expectedTriggerTime.name} BETWEEN ${around(fire)}`;
  await until('instances still running', () => count(`${query} AND ExecutionStatus = 'Running'`), (n) => n === 0, DRAIN_TIMEOUT_MS);
  const drainedMs = Date.now() - fire;
  const fires = await instanceFires(stack.client, query);
  const jobsFired = new Set(fires.map((f) => f.jobId)).size;
  return { lateness: latenessOf(fires), instances: fires.length, duplicates: duplicates(fires, (f) => f.jobId), dropped: JOBS - jobsFired, drainedMs };
}


async function main(): Promise<number> {
  Runtime.install({ logger: new DefaultLogger('WARN') });
  const stack = await startBenchStack((line) => console.log(line), TEMPORAL_ADDRESS);
  try {
    const bare = await baseline(stack);
    console.log(latenessRow('bare schedules', bare.lateness));
    const ours = await tempojob(stack);
    const rateOf = (ms: number) => JOBS / (ms / 1000);
    console.log(`\n${latenessRow('bare schedules', bare.lateness)}\n${latenessRow('tempojob CRON jobs', ours.lateness)}`);
    console.log(`instances: ${ours.instances} for ${JOBS} jobs, duplicates: ${ours.duplicates}, fires dropped by the misfire policy: ${ours.dropped}`);
    console.log(`drained ${(ours.drainedMs / 1000).toFixed(1)} s after the fire: ${rateOf(ours.drainedMs).toFixed(1)} fires/s (bare: ${(bare.drainedMs / 1000).toFixed(1)} s, ${rateOf(bare.drainedMs).toFixed(1)} fires/s)`);
    console.log(`ratio tempojob/bare: drain rate ${(bare.drainedMs / ours.drainedMs).toFixed(2)}, p50 ${(percentile(ours.lateness, 50) / percentile(bare.lateness, 50)).toFixed(2)}, p99 ${(percentile(ours.lateness, 99) / percentile(bare.lateness, 99)).toFixed(2)}`);
    const command = `BENCH_CRON_JOBS=${JOBS} npm run bench:cron${TEMPORAL_ADDRESS ? ` -- --temporal-address ${TEMPORAL_ADDRESS}` : ''}`;
    console.log(`reproduce: ${command}`);
    report({
      benchmark: 'bench:cron',
      measure: `${JOBS} CRON jobs due at the same second: fire lateness`,
      tempojob: `${latenessFigure(ours.lateness)}; drained at ${rateOf(ours.drainedMs).toFixed(1)} fires/s, ${ours.duplicates} duplicates, ${ours.dropped} dropped`,
      bare: `${latenessFigure(bare.lateness)}; drained at ${rateOf(bare.drainedMs).toFixed(1)} fires/s`,
      ratio: percentile(ours.lateness, 99) / percentile(bare.lateness, 99),
      command,
    });
    return ours.duplicates === 0 ? 0 : 1;
  } finally {
    await stack.close();
  }
}

runBenchmark('bench:cron', main);
