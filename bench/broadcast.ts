/**
 * `npm run bench:broadcast`: how long a BROADCAST of a no-op processor takes from fire to
 * finish with N workers (default 20, each its own identity, connection and queues), beside
 * bare Temporal doing the same work on N workers of its own (`bareBroadcast` in
 * bench/bare/workflows.ts: a no-op activity for preProcess, one child workflow per worker
 * running one no-op activity on that worker's own queue, a no-op activity for postProcess),
 * and beside the same tempojob broadcast to 1 worker (what each member adds), in the same run
 * and on the same stack.
 *
 * It starts a private stack in this process (its own Temporal dev server on a fresh SQLite
 * file and a free port, the core worker, the API), two apps — one served by 1 worker, one by
 * N — and one API/BROADCAST job in each, then a bare worker hosting the bare workflows and N
 * bare workers (each its own connection, polling only a queue of its own). Runs go one at a
 * time, rotating which of the three goes first so drift hits them alike. Per run it reports:
 * - fire → finish: the instance's actualTriggerTime → finishedTime (what the broadcast itself
 *   takes: membership snapshot, preProcess, N children and their pinned activities,
 *   postProcess); bare: its first workflow task → its last, on the same workflow clock;
 * - request → closed: runJob sent → instance workflow closed (adds the API and the start);
 *   bare: start sent → workflow closed.
 *
 *   npm run bench:broadcast                         # 20 workers, 15 runs each
 *   npm run bench:broadcast -- --workers 50 --runs 10
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import type { bareBroadcast } from './bare/workflows.js';
import { report } from './report.js';
import { freePort, postOpenApi, startBareWorker } from './stack.js';
import { percentile, wholeNumber } from './stats.js';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { DefaultLogger, NativeConnection, Runtime, Worker } from '@temporalio/worker';
import { loadConfig } from '../src/config.js';
import type { InstanceState } from '../src/domain/instance.js';
import { liveAppWorkers } from '../src/activities/workers.js';
import { ensureTemporalCli } from '../src/temporal/cli.js';
import { connectTemporal, targetOf } from '../src/temporal/connection.js';
import { startDevServer } from '../src/temporal/dev-server.js';
import { instanceWorkflowId } from '../src/contract/names.js';
import { closeServer, startApi } from '../src/api/server.js';
import { startCoreWorker } from '../src/core/worker.js';
import { createWorker, type ProcessorWorker } from '../src/workers/index.js';

const { values } = parseArgs({
  options: { workers: { type: 'string' }, runs: { type: 'string' }, warmup: { type: 'string' } },
});
const WORKERS = wholeNumber(values.workers ?? process.env.BENCH_BROADCAST_WORKERS, 20, 2, 'workers');
const RUNS = wholeNumber(values.runs ?? process.env.BENCH_BROADCAST_RUNS, 15, 1, 'runs');
const WARMUP = wholeNumber(values.warmup ?? process.env.BENCH_BROADCAST_WARMUP, 2, 0, 'warmup');

// ERROR: every Worker without workflows (processor and bare ones) warns that it hosts none.
Runtime.install({ logger: new DefaultLogger('ERROR'), shutdownSignals: [] });

interface Sample {
  fireToFinish: number;
  closed: number;
}

function stats(values: number[]) {
  return { p50: percentile(values, 50), p95: percentile(values, 95), min: percentile(values, 0), max: percentile(values, 100) };
}

const cleanups: (() => Promise<unknown> | unknown)[] = [];
async function main(): Promise<void> {
  const loadBefore = loadavg()[0]!;
  const dir = mkdtempSync(join(tmpdir(), 'tempojob-bench-broadcast-'));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  const cliPath = await ensureTemporalCli((line) => console.log(line));
  const port = await freePort();
  console.log(`Starting a Temporal dev server on 127.0.0.1:${port}…`);
  const server = await startDevServer({ cliPath, dbFile: join(dir, 'temporal.db'), port });
  cleanups.push(() => server.stop());
  const config = loadConfig({ TEMPORAL_ADDRESS: server.address, TEMPOJOB_HOST: '127.0.0.1' });
  const temporal = await connectTemporal(targetOf(config));
  cleanups.push(() => temporal.close());
  const { client, connection } = temporal;
  console.log('Bundling workflows and starting the core worker…');
  const core = await startCoreWorker({ connection, client, config });
  cleanups.push(async () => { core.worker.shutdown(); await core.done; });
  const api = await startApi({ client, config, jwtSecret: randomBytes(32).toString('hex'), port: 0 });
  cleanups.push(() => closeServer(api.server));

  const setUp = async (size: number) => {
    const appName = `bench-bcast-${size}-${randomBytes(3).toString('hex')}`;
    const password = randomBytes(12).toString('hex');
    await api.apps.put(appName, password, 'create');
    const workers: { worker: ProcessorWorker; done: Promise<void> }[] = [];
    cleanups.push(async () => {
      for (const { worker } of workers) await worker.shutdown();
      await Promise.all(workers.map((w) => w.done));
    });
    for (let i = 0; i < size; i++) {
      // Separate identities and connections, as separate worker processes would have.
      const worker = await createWorker({
        appName, workerId: `bench-w${String(i + 1).padStart(2, '0')}`, address: server.address, shutdownGraceMs: 0,
        processors: { noop: () => ({ success: true }) },
      });
      workers.push({ worker, done: worker.run() });
    }
    const live = await liveWorkersSeen(appName, size);
    const { appId, token } = await postOpenApi<{ appId: number; token: string }>(api.url, 'authApp', { appName, encryptedPassword: password, encryptType: 'none' });
    const headers = { 'X-POWERJOB-APP-ID': String(appId), 'X-POWERJOB-ACCESS-TOKEN': token };
    const jobId = await postOpenApi<number>(api.url, 'saveJob', {
      jobName: `broadcast-${size}`, timeExpressionType: 'API', executeType: 'BROADCAST', processorType: 'BUILT_IN', processorInfo: 'noop',
    }, headers);
    console.log(`app ${appName}: ${live} live workers`);
    return async () => {
      const sent = Date.now();
      const instanceId = await postOpenApi<number>(api.url, 'runJob', { jobId }, headers);
      const state = (await client.workflow.getHandle(instanceWorkflowId(instanceId)).result()) as InstanceState;
      const closed = Date.now() - sent;
      const ran = state.broadcast?.filter((s) => s.status === 'SUCCEED').length ?? 0;
      if (state.status !== 'SUCCEED' || ran !== size) throw new Error(`instance ${instanceId} ended ${state.status} with ${ran}/${size} shares: ${state.result}`);
      return { fireToFinish: state.finishedTime! - state.actualTriggerTime!, closed };
    };
  };
  /** Bare Temporal: N workers, each on a connection and a queue of its own, and the host of the bare workflows. */
  const setUpBare = async (size: number) => {
    const host = await startBareWorker({ connection });
    cleanups.push(() => host.stop());
    const connections: NativeConnection[] = [];
    const members: { worker: Worker; done: Promise<void> }[] = [];
    cleanups.push(async () => {
      for (const { worker } of members) worker.shutdown();
      await Promise.all(members.map((m) => m.done));
      await Promise.all(connections.map((c) => c.close()));
    });
    const queues: string[] = [];
    for (let i = 0; i < size; i++) {
      const suffix = `w${String(i + 1).padStart(2, '0')}`;
      const memberConnection = await NativeConnection.connect({ address: server.address });
      connections.push(memberConnection);
      const taskQueue = `${host.taskQueue}-${suffix}`;
      const worker = await Worker.create({ connection: memberConnection, taskQueue, identity: `bench-bare-${suffix}`, activities: { noop: async () => {} } });
      members.push({ worker, done: worker.run() });
      queues.push(taskQueue);
    }
    console.log(`bare: ${size} workers on queues of their own`);
    let next = 0;
    return async () => {
      const sent = Date.now();
      const { ran, fireToFinishMs } = await client.workflow.execute<typeof bareBroadcast>('bareBroadcast', {
        taskQueue: host.taskQueue, workflowId: `${host.taskQueue}-${next++}`, args: [queues],
      });
      const closed = Date.now() - sent;
      if (ran !== size) throw new Error(`bare broadcast ran ${ran}/${size} shares`);
      return { fireToFinish: fireToFinishMs, closed };
    };
  };
  const liveWorkersSeen = async (appName: string, size: number) => {
    const deadline = Date.now() + 60_000;
    for (;;) {
      const live = (await liveAppWorkers(client, appName)).length;
      if (live === size) return live;
      if (Date.now() > deadline) throw new Error(`only ${live}/${size} workers of ${appName} visible to Temporal`);
      await new Promise((r) => setTimeout(r, 200));
    }
  };

  console.log(`Starting 1 + ${WORKERS} processor workers and ${WORKERS} bare workers…`);
  const broadcasts = { one: await setUp(1), many: await setUp(WORKERS), bare: await setUpBare(WORKERS) };
  const KINDS = ['one', 'many', 'bare'] as const;
  console.log(`Warm-up: ${WARMUP} runs each…`);
  for (let i = 0; i < WARMUP; i++) for (const kind of KINDS) await broadcasts[kind]();

  const results: Record<(typeof KINDS)[number], Sample[]> = { one: [], many: [], bare: [] };
  for (let i = 0; i < RUNS; i++) {
    // Rotate which one goes first.
    for (let k = 0; k < KINDS.length; k++) {
      const kind = KINDS[(i + k) % KINDS.length]!;
      results[kind].push(await broadcasts[kind]());
    }
  }
  const fire = { one: stats(results.one.map((r) => r.fireToFinish)), many: stats(results.many.map((r) => r.fireToFinish)), bare: stats(results.bare.map((r) => r.fireToFinish)) };
  const row = (label: string, kind: (typeof KINDS)[number]) => {
    const f = fire[kind];
    const c = stats(results[kind].map((r) => r.closed));
    return `| ${label} | ${f.p50} | ${f.p95} | ${f.min}–${f.max} | ${c.p50} | ${c.p95} |`;
  };
  const overBare = fire.many.p50 / fire.bare.p50;
  const command = `npm run bench:broadcast -- --workers ${WORKERS} --runs ${RUNS} --warmup ${WARMUP}`;
  console.log(`
Broadcast of a no-op processor, ${RUNS} runs each (ms)

| run | fire→finish p50 | p95 | min–max | request→closed p50 | p95 |
|---|---|---|---|---|---|
${row('tempojob, 1 worker', 'one')}
${row(`tempojob, ${WORKERS} workers`, 'many')}
${row(`bare Temporal, ${WORKERS} workers`, 'bare')}

fire→finish tempojob ÷ bare, ${WORKERS} workers: p50 ${overBare.toFixed(2)}, p95 ${(fire.many.p95 / fire.bare.p95).toFixed(2)}
fire→finish p50 tempojob ${WORKERS} workers ÷ 1 worker: ${(fire.many.p50 / fire.one.p50).toFixed(2)}
load average (1 min) before ${loadBefore.toFixed(2)}, after ${loadavg()[0]!.toFixed(2)}, on ${availableParallelism()} cores
reproduce: ${command}`);
  report({
    benchmark: 'bench:broadcast',
    measure: `BROADCAST of a no-op processor to ${WORKERS} workers, ${RUNS} runs: fire → finish (ratio on p50)`,
    tempojob: `p50 ${fire.many.p50} ms, p95 ${fire.many.p95} ms (1 worker: p50 ${fire.one.p50} ms)`,
    bare: `p50 ${fire.bare.p50} ms, p95 ${fire.bare.p95} ms (a child workflow per worker, one no-op activity on its queue)`,
    ratio: overBare,
    command,
  });
}

let failed = false;
try {
  await main();
} catch (err) {
  failed = true;
  console.error(err);
} finally {
  for (const cleanup of cleanups.reverse()) {
    try {
      await cleanup();
    } catch (err) {
      console.error('while stopping:', (err as Error).message);
    }
  }
}
process.exit(failed ? 1 : 0);
