/**
 * `npm run bench:delays`: delayed runs, beside bare Temporal in the same run (a workflow
 * started with the same start delay as an instance, that waits out the rest on a durable
 * timer, then runs one no-op activity, cancelled by an update; see bench/bare/workflows.ts).
 *
 * 1. Fire lateness: `--lateness-runs` runs delayed 5–20 s each way, submitted together;
 *    lateness = when the run woke − when it was due (tempojob: actualTriggerTime −
 *    expectedTriggerTime of fetchInstanceInfo).
 * 2. Pending delays: `--pending` runs delayed 1 h through runJob, `--concurrency` clients;
 *    submit rate, then the memory of this process (API, core worker and processor worker, as
 *    `npm start` runs them) and of the Temporal dev server, and its SQLite files, against idle
 *    once the core worker's queue is empty; then cancelInstance on each, or on the first
 *    `--cancel` of them (cancel rate). The same count of bare delayed workflows, started and cancelled the same way.
 *
 *   npm run bench:delays                               # 100 lateness runs, 5,000 pending
 *   npm run bench:delays -- --pending 100000 --cancel 5000   # cancel rate over 5,000 of them
 */
import { randomInt } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import { availableParallelism, loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import proto from '@temporalio/proto';
import { DefaultLogger, Runtime } from '@temporalio/worker';
import type { Envelope } from '../src/api/envelope.js';
import { instanceStartDelay } from '../src/contract/start-options.js';
import { cancelBareRun } from './bare/workflows.js';
import { postOpenApi, startBareWorker, startBenchStack, type BenchStack } from './stack.js';
import { report } from './report.js';
import { percentile } from './stats.js';

const { values } = parseArgs({
  options: {
    'lateness-runs': { type: 'string', default: '100' },
    pending: { type: 'string', default: '5000' },
    concurrency: { type: 'string', default: '32' },
    cancel: { type: 'string' },
  },
});
const LATENESS_RUNS = Number(values['lateness-runs']);
const PENDING = Number(values.pending);
const CONCURRENCY = Number(values.concurrency);
/** How many of the pending runs are cancelled each way (the cancel rate's sample); default all. */
const CANCEL = Math.min(PENDING, Number(values.cancel ?? PENDING));
const CANCEL_ARG = CANCEL < PENDING ? ` --cancel ${CANCEL}` : '';
const HOUR_MS = 3_600_000;
const MIB = 1024 * 1024;

const { TaskQueueType, TaskQueueKind } = proto.temporal.api.enums.v1;

/** Runs `each` for 0..count-1, `lanes` at a time; resolves to the wall time in ms. */
async function inLanes(count: number, lanes: number, each: (index: number) => Promise<void>): Promise<number> {
  let next = 0;
  const began = performance.now();
  await Promise.all(Array.from({ length: Math.min(lanes, count) }, async () => {
    while (next < count) await each(next++);
  }));
  return performance.now() - began;
}

function processRssMib(pid: number): number {
  const line = readFileSync(`/proc/${pid}/status`, 'utf8').split('\n').find((l) => l.startsWith('VmRSS:'));
  return Number(line?.replace(/\D+/g, '') ?? 0) / 1024;
}

function sqliteMib(dbFile: string): number {
  let bytes = 0;
  for (const suffix of ['', '-wal', '-shm', '-journal']) {
    try { bytes += statSync(dbFile + suffix).size; } catch { /* that file does not exist in this journal mode */ }
  }
  return bytes / MIB;
}

interface Memory { selfMib: number; heapMib: number; temporalMib: number | null; diskMib: number | null }

function memory(stack: BenchStack): Memory {
  global.gc?.();
  const { rss, heapUsed } = process.memoryUsage();
  return {
    selfMib: rss / MIB,
    heapMib: heapUsed / MIB,
    temporalMib: stack.devServer ? processRssMib(stack.devServer.pid) : null,
    diskMib: stack.devServer ? sqliteMib(stack.devServer.dbFile) : null,
  };
}

/** Waits until the core worker has taken every workflow task (its queue's backlog is empty twice in a row). */
async function coreQueueDrained(stack: BenchStack): Promise<void> {
  let emptyTimes = 0;
  while (emptyTimes < 2) {
    const { stats } = await stack.client.workflowService.describeTaskQueue({
      namespace: stack.config.TEMPORAL_NAMESPACE,
      taskQueue: { name: stack.config.TEMPOJOB_CORE_TASK_QUEUE, kind: TaskQueueKind.TASK_QUEUE_KIND_NORMAL },
      taskQueueType: TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW,
      reportStats: true,
    });
    emptyTimes = Number(stats?.approximateBacklogCount ?? 0) === 0 ? emptyTimes + 1 : 0;
    await new Promise((resolve) => setTimeout(resolve, 1_000));
  }
}

async function runJob(stack: BenchStack, delay: number): Promise<number> {
  return postOpenApi<number>(stack.url, 'runJob', { jobId: stack.jobId, delay }, stack.authHeaders);
}

async function instanceCall(stack: BenchStack, operation: string, instanceId: number) {
  const res = await fetch(`${stack.url}/openApi/${operation}`, {
    method: 'POST',
    headers: { ...stack.authHeaders, 'Content-Type': 'application/x-www-form-urlencoded' },
    body: `instanceId=${instanceId}`,
  });
  return (await res.json()) as Envelope<{ expectedTriggerTime: number; actualTriggerTime: number | null; status: number } | null>;
}

async function lateness(stack: BenchStack, bareQueue: string): Promise<{ tempojob: number[]; bare: number[] }> {
  const delays = Array.from({ length: LATENESS_RUNS }, () => 5_000 + randomInt(15_000));
  const tempojob: Promise<number>[] = [];
  const bare: Promise<number>[] = [];
  await inLanes(LATENESS_RUNS, CONCURRENCY, async (i) => {
    const delay = delays[i]!;
    const instanceId = await runJob(stack, delay);
    tempojob.push((async () => {
      await stack.client.workflow.getHandle(`tempojob-instance-${instanceId}`).result();
      const { data } = await instanceCall(stack, 'fetchInstanceInfo', instanceId);
      return data!.actualTriggerTime! - data!.expectedTriggerTime;
    })());
    const handle = await stack.client.workflow.start('bareDelayedRun', {
      taskQueue: bareQueue, workflowId: `bench-delay-${randomInt(1 << 30)}-${i}`, args: [Date.now() + delay], startDelay: instanceStartDelay(delay),
    });
    bare.push(handle.result().then((r: { latenessMs: number }) => r.latenessMs));
  });
  return { tempojob: await Promise.all(tempojob), bare: await Promise.all(bare) };
}

function quantiles(samples: number[]): string {
  const sorted = [...samples].sort((a, b) => a - b);
  return `p50 ${percentile(sorted, 50).toFixed(0)} ms, p99 ${percentile(sorted, 99).toFixed(0)} ms, max ${sorted.at(-1)!.toFixed(0)} ms`;
}

const rate = (count: number, ms: number) => (count / ms) * 1000;

async function main(): Promise<void> {
  Runtime.install({ logger: new DefaultLogger('WARN'), shutdownSignals: [] });
  const loadBefore = loadavg()[0]!;
  const stack = await startBenchStack((line) => console.log(line));
  const bare = await startBareWorker(stack);
  const bareQueue = bare.taskQueue;
  try {
    console.log(`Fire lateness: ${LATENESS_RUNS} runs each way, delayed 5–20 s…`);
    const late = await lateness(stack, bareQueue);

    await coreQueueDrained(stack);
    const idle = memory(stack);
    console.log(`Pending: ${PENDING} runs delayed 1 h through runJob, ${CONCURRENCY} clients…`);
    const ids: number[] = [];
    const submitMs = await inLanes(PENDING, CONCURRENCY, async () => { ids.push(await runJob(stack, HOUR_MS)); });
    await coreQueueDrained(stack);
    const pending = memory(stack);
    console.log(`Cancelling ${CANCEL} of the pending runs (cancelInstance)…`);
    let notCancelled = 0;
    const cancelMs = await inLanes(CANCEL, CONCURRENCY, async (i) => {
      if (!(await instanceCall(stack, 'cancelInstance', ids[i]!)).success) notCancelled++;
    });

    console.log(`Bare: ${PENDING} delayed workflows, started and cancelled (update) the same way…`);
    const bareIds: string[] = [];
    const bareSubmitMs = await inLanes(PENDING, CONCURRENCY, async (i) => {
      const workflowId = `bench-pending-${randomInt(1 << 30)}-${i}`;
      await stack.client.workflow.start('bareDelayedRun', { taskQueue: bareQueue, workflowId, args: [Date.now() + HOUR_MS], startDelay: instanceStartDelay(HOUR_MS) });
      bareIds.push(workflowId);
    });
    const bareCancelMs = await inLanes(CANCEL, CONCURRENCY, async (i) => {
      await stack.client.workflow.getHandle(bareIds[i]!).executeUpdate(cancelBareRun);
    });

    const grow = (key: keyof Memory) => {
      const before = idle[key];
      const after = pending[key];
      return before === null || after === null ? 'n/a' : `${before.toFixed(0)} → ${after.toFixed(0)} MiB (+${(after - before).toFixed(0)})`;
    };
    console.log(`
Delayed runs; ${availableParallelism()} CPUs, Node ${process.version}, load average ${loadBefore.toFixed(1)} → ${loadavg()[0]!.toFixed(1)}
| measure | tempojob | bare Temporal |
|---|---|---|
| fire lateness, ${LATENESS_RUNS} runs delayed 5–20 s | ${quantiles(late.tempojob)} | ${quantiles(late.bare)} |
| submit ${PENDING} runs delayed 1 h, ${CONCURRENCY} clients | ${rate(PENDING, submitMs).toFixed(0)}/s | ${rate(PENDING, bareSubmitMs).toFixed(0)}/s |
| cancel ${CANCEL} of them, ${CONCURRENCY} clients | ${rate(CANCEL, cancelMs).toFixed(0)}/s${notCancelled ? ` (${notCancelled} refused)` : ''} | ${rate(CANCEL, bareCancelMs).toFixed(0)}/s |
| memory of API + core worker + processor worker, idle → ${PENDING} pending | ${grow('selfMib')} (heap ${grow('heapMib')}) | — |
| Temporal dev server memory | ${grow('temporalMib')} | — |
| Temporal SQLite files | ${grow('diskMib')} | — |
Reproduce: npm run bench:delays -- --lateness-runs ${LATENESS_RUNS} --pending ${PENDING} --concurrency ${CONCURRENCY}${CANCEL_ARG}`);
    const command = `npm run bench:delays -- --lateness-runs ${LATENESS_RUNS} --pending ${PENDING} --concurrency ${CONCURRENCY}${CANCEL_ARG}`;
    const p99 = (samples: number[]) => percentile([...samples].sort((a, b) => a - b), 99);
    report({ benchmark: 'bench:delays', measure: `fire lateness, ${LATENESS_RUNS} runs delayed 5–20 s`, tempojob: quantiles(late.tempojob), bare: quantiles(late.bare), ratio: p99(late.tempojob) / p99(late.bare), command });
    report({ benchmark: 'bench:delays', measure: `submit ${PENDING} runs delayed 1 h, ${CONCURRENCY} clients`, tempojob: `${rate(PENDING, submitMs).toFixed(0)}/s`, bare: `${rate(PENDING, bareSubmitMs).toFixed(0)}/s`, ratio: bareSubmitMs / submitMs, command });
    report({ benchmark: 'bench:delays', measure: `cancel ${CANCEL} of ${PENDING} pending runs, ${CONCURRENCY} clients`, tempojob: `${rate(CANCEL, cancelMs).toFixed(0)}/s`, bare: `${rate(CANCEL, bareCancelMs).toFixed(0)}/s`, ratio: bareCancelMs / cancelMs, command });
    report({ benchmark: 'bench:delays', measure: `memory, idle → ${PENDING} pending (API + workers; Temporal)`, tempojob: `${grow('selfMib')}; Temporal ${grow('temporalMib')}, SQLite ${grow('diskMib')}`, bare: '—', command });
    if (notCancelled > 0) process.exitCode = 1;
  } finally {
    await bare.stop();
    await stack.close();
  }
}

main().catch((err: unknown) => {
  console.error('bench failed:', err instanceof Error ? err.message : err);
  process.exit(1);
});
