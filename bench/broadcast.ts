/**
 * `npm run bench:broadcast`: how long a BROADCAST of a no-op processor takes from fire to
 * finish with N workers (default 20, each its own identity, connection and queues), against
 * the same broadcast to 1 worker as the baseline, in the same run and on the same stack.
 *
 * It starts a private stack in this process (its own Temporal dev server on a fresh SQLite
 * file and a free port, the core worker, the API), two apps — one served by 1 worker, one by
 * N — and one API/BROADCAST job in each. Runs go one at a time, alternating the two sizes so
 * drift hits both alike. Per run it reports:
 * - fire → finish: the instance's actualTriggerTime → finishedTime (what the broadcast itself
 *   takes: membership snapshot, preProcess, N children and their pinned activities, postProcess);
 * - request → closed: runJob sent → instance workflow closed (adds the API and the start).
 *
 *   npm run bench:broadcast                         # 20 workers vs 1, 15 runs each
 *   npm run bench:broadcast -- --workers 50 --runs 10
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { freePort, postOpenApi } from './stack.js';
import { percentile } from './stats.js';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { DefaultLogger, Runtime } from '@temporalio/worker';
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
const count = (raw: string | undefined, fallback: number, min: number, name: string) => {
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isSafeInteger(value) || value < min) throw new Error(`--${name} must be a whole number >= ${min}, got "${raw}"`);
  return value;
};
const WORKERS = count(values.workers ?? process.env.BENCH_BROADCAST_WORKERS, 20, 2, 'workers');
const RUNS = count(values.runs ?? process.env.BENCH_BROADCAST_RUNS, 15, 1, 'runs');
const WARMUP = count(values.warmup ?? process.env.BENCH_BROADCAST_WARMUP, 2, 0, 'warmup');

// ERROR: 42 Workers each warn that they host no workflows.
Runtime.install({ logger: new DefaultLogger('ERROR'), shutdownSignals: [] });

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
  const liveWorkersSeen = async (appName: string, size: number) => {
    const deadline = Date.now() + 60_000;
    for (;;) {
      const live = (await liveAppWorkers(client, appName)).length;
      if (live === size) return live;
      if (Date.now() > deadline) throw new Error(`only ${live}/${size} workers of ${appName} visible to Temporal`);
      await new Promise((r) => setTimeout(r, 200));
    }
  };

  console.log(`Starting 1 + ${WORKERS} processor workers…`);
  const one = await setUp(1);
  const many = await setUp(WORKERS);
  console.log(`Warm-up: ${WARMUP} runs per size…`);
  for (let i = 0; i < WARMUP; i++) { await one(); await many(); }

  const results = { one: [] as { fireToFinish: number; closed: number }[], many: [] as { fireToFinish: number; closed: number }[] };
  for (let i = 0; i < RUNS; i++) {
    // Alternate which size goes first.
    if (i % 2 === 0) { results.one.push(await one()); results.many.push(await many()); } else { results.many.push(await many()); results.one.push(await one()); }
  }
  const row = (label: string, runs: { fireToFinish: number; closed: number }[]) => {
    const f = stats(runs.map((r) => r.fireToFinish));
    const c = stats(runs.map((r) => r.closed));
    return `| ${label} | ${f.p50} | ${f.p95} | ${f.min}–${f.max} | ${c.p50} | ${c.p95} |`;
  };
  const ratio = stats(results.many.map((r) => r.fireToFinish)).p50 / stats(results.one.map((r) => r.fireToFinish)).p50;
  console.log(`
Broadcast of a no-op processor, ${RUNS} runs per size (ms)

| workers | fire→finish p50 | p95 | min–max | request→closed p50 | p95 |
|---|---|---|---|---|---|
${row('1', results.one)}
${row(String(WORKERS), results.many)}

fire→finish p50 ratio ${WORKERS} workers / 1 worker: ${ratio.toFixed(2)}
load average (1 min) before ${loadBefore.toFixed(2)}, after ${loadavg()[0]!.toFixed(2)}, on ${(await import('node:os')).availableParallelism()} cores
reproduce: npm run bench:broadcast -- --workers ${WORKERS} --runs ${RUNS} --warmup ${WARMUP}`);
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
