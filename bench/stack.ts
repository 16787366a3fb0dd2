import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Client } from '@temporalio/client';
import type { Envelope } from '../src/api/envelope.js';
import { JobService } from '../src/api/job-service.js';
import { loadConfig, type Config } from '../src/config.js';
import type { JobSnapshot } from '../src/domain/job.js';
import { snapshotOf } from '../src/domain/job.js';
import { ensureTemporalCli } from '../src/temporal/cli.js';
import { connectTemporal, targetOf } from '../src/temporal/connection.js';
import { startDevServer } from '../src/temporal/dev-server.js';
import { closeServer, startApi } from '../src/api/server.js';
import { startCoreWorker } from '../src/core/worker.js';
import { createWorker, type ProcessorDefinition, type ProcessorWorker } from '../src/workers/index.js';
import type { LogStore } from '../src/logs/store.js';
import type { TempojobMetrics } from '../src/metrics/metrics.js';
import { Worker, type NativeConnection } from '@temporalio/worker';
import { DEFAULT_SERVICE_NAMES, startTracing, type TracingSettings } from '../src/tracing/index.js';
import { fileURLToPath } from 'node:url';

/**
 * A private embedded stack for the benchmark: its own dev server (fresh SQLite file in a
 * temp dir, free port, no UI), core worker, API and one app whose only job runs a no-op
 * processor. Nothing is shared with `npm start` or the tests, so runs are reproducible.
 */
export interface BenchStack {
  client: Client;
  connection: NativeConnection;
  config: Config;
  /** API base URL and the headers of an authenticated app. */
  url: string;
  authHeaders: Record<string, string>;
  appId: number;
  appName: string;
  /** The app's password (for more workers that ship their log lines to the API). */
  appPassword: string;
  jobId: number;
  /** The job as the API would freeze it into an instance (for the direct baseline). */
  job: JobSnapshot;
  /** The private dev server's process and SQLite file (absent with a Temporal address). */
  devServer?: { pid: number; dbFile: string };
  /** The app's processor worker, and the API's instance log store (in memory). */
  worker: ProcessorWorker;
  logStore: LogStore;
  close(): Promise<void>;
}

export const NOOP_PROCESSOR = 'noop';

/** `--temporal-address`, else $BENCH_TEMPORAL_ADDRESS, else none (a private dev server). */
export function benchTemporalAddress(flag: string | undefined): string | undefined {
  return flag ?? (process.env.BENCH_TEMPORAL_ADDRESS || undefined);
}

/** A TCP port that was free a moment ago. */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

export async function postOpenApi<T>(url: string, operation: string, body: unknown, headers: Record<string, string> = {}): Promise<T> {
  const res = await fetch(`${url}/openApi/${operation}`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', ...headers },
    body: JSON.stringify(body),
  });
  const envelope = (await res.json()) as Envelope<T>;
  if (!envelope.success) throw new Error(`${operation} failed: ${envelope.message}`);
  return envelope.data as T;
}

/**
 * With `temporalAddress`, runs against that Temporal (e.g. a real cluster) instead of a
 * private dev server; `processors` are registered on the app's worker besides `noop`. With
 * `shipLogs`, the worker ships its processors' ctx.logger lines to the API (default buffer).
 * With `tracing`, API, core worker and processor worker trace to that endpoint (bench/tracing.ts);
 * `coreTaskQueue` sets the core queue (a second stack on the same Temporal).
 */
export async function startBenchStack(
  log: (line: string) => void,
  temporalAddress?: string,
  processors: Record<string, ProcessorDefinition> = {},
  { shipLogs = false, metrics, tracing, coreTaskQueue }: { shipLogs?: boolean; metrics?: TempojobMetrics; tracing?: TracingSettings; coreTaskQueue?: string } = {},
): Promise<BenchStack> {
  // Cleanups run in reverse order, also when start-up fails halfway.
  const cleanups: (() => Promise<void> | void)[] = [];
  let closed = false;
  const close = async () => {
    if (closed) return;
    closed = true;
    for (const cleanup of cleanups.reverse()) {
      try {
        await cleanup();
      } catch (err) {
        console.error('while stopping:', (err as Error).message);
      }
    }
  };

  try {
    let address = temporalAddress;
    let devServerFacts: BenchStack['devServer'];
    const dir = mkdtempSync(join(tmpdir(), 'tempojob-bench-'));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    if (!address) {
      const cliPath = await ensureTemporalCli(log);
      const port = await freePort();
      log(`Starting a Temporal dev server on 127.0.0.1:${port} (SQLite in ${dir})…`);
      const dbFile = join(dir, 'temporal.db');
      const devServer = await startDevServer({ cliPath, dbFile, port });
      cleanups.push(() => devServer.stop());
      address = devServer.address;
      devServerFacts = { pid: devServer.process.pid!, dbFile };
    }

    // An explicit env, so the caller's TEMPORAL_*/TEMPOJOB_* variables cannot skew the run.
    // The log store on disk, where `npm start` keeps it (.data/logs), not in memory.
    const config = loadConfig({
      TEMPORAL_ADDRESS: address, TEMPOJOB_HOST: '127.0.0.1', TEMPOJOB_LOG_DIR: join(dir, 'logs'),
      ...(coreTaskQueue ? { TEMPOJOB_CORE_TASK_QUEUE: coreTaskQueue } : {}),
    });
    const traced = async (serviceName: string) => {
      if (!tracing) return {};
      const started = await startTracing({ ...tracing, serviceName });
      cleanups.push(() => started.shutdown());
      return { tracing: started };
    };
    const temporal = await connectTemporal(targetOf(config));
    cleanups.push(() => temporal.close());
    const { client, connection } = temporal;

    log('Bundling workflows and starting the core worker…');
    const core = await startCoreWorker({ connection, client, config, ...(metrics ? { metrics } : {}), ...(await traced(DEFAULT_SERVICE_NAMES['core-worker'])) });
    cleanups.push(async () => { core.worker.shutdown(); await core.done; });

    const api = await startApi({ client, config, jwtSecret: randomBytes(32).toString('hex'), port: 0, metrics: metrics ?? false, ...(await traced(DEFAULT_SERVICE_NAMES.api)) });
    cleanups.push(() => closeServer(api.server));

    const appName = `bench-${randomBytes(4).toString('hex')}`;
    const password = randomBytes(12).toString('hex');
    await api.apps.put(appName, password, 'create');
    const worker = await createWorker({
      appName,
      processors: { [NOOP_PROCESSOR]: () => ({ success: true }), ...processors },
      connection,
      namespace: config.TEMPORAL_NAMESPACE,
      workerId: 'bench-worker',
      shutdownGraceMs: 0,
      tracing: tracing ? { ...tracing, serviceName: DEFAULT_SERVICE_NAMES.worker } : false,
      ...(shipLogs ? { logs: { apiUrl: api.url, password } } : {}),
      metrics: metrics ? { into: metrics } : false,
    });
    const workerDone = worker.run();
    cleanups.push(async () => { await worker.shutdown(); await workerDone; });

    const { appId, token } = await postOpenApi<{ appId: number; token: string }>(api.url, 'authApp', {
      appName, encryptedPassword: password, encryptType: 'none',
    });
    const authHeaders = { 'X-POWERJOB-APP-ID': String(appId), 'X-POWERJOB-ACCESS-TOKEN': token };
    const jobId = await postOpenApi<number>(api.url, 'saveJob', {
      jobName: 'bench-noop',
      timeExpressionType: 'API',
      executeType: 'STANDALONE',
      processorType: 'BUILT_IN',
      processorInfo: NOOP_PROCESSOR,
    }, authHeaders);
    // Read back through the same service runJob uses, so both paths run the identical job.
    const jobs = new JobService(client, config.TEMPOJOB_CORE_TASK_QUEUE, config.TEMPOJOB_HEARTBEAT_TIMEOUT_MS, config.TEMPOJOB_DEFAULT_TIME_ZONE);
    const job = snapshotOf(await jobs.get({ appId, appName }, jobId));

    return {
      client, connection, config, url: api.url, authHeaders, appId, appName, appPassword: password, jobId, job,
      ...(devServerFacts ? { devServer: devServerFacts } : {}), worker, logStore: api.logStore, close,
    };
  } catch (err) {
    await close();
    throw err;
  }
}

/** A worker of the bare-Temporal baselines (bench/bare/workflows.ts, a no-op activity) on a queue of its own. */
export async function startBareWorker(stack: Pick<BenchStack, 'connection'>, maxConcurrentActivityTaskExecutions?: number): Promise<{ taskQueue: string; stop(): Promise<void> }> {
  const taskQueue = `bench-bare-${randomBytes(3).toString('hex')}`;
  const worker = await Worker.create({
    connection: stack.connection,
    taskQueue,
    workflowsPath: fileURLToPath(new URL('./bare/workflows.ts', import.meta.url)),
    activities: { noop: async () => {} },
    ...(maxConcurrentActivityTaskExecutions ? { maxConcurrentActivityTaskExecutions } : {}),
  });
  const done = worker.run();
  return {
    taskQueue,
    async stop() {
      worker.shutdown();
      await done;
    },
  };
}

/** A second API path on a stack's dev server and connection: its own core queue, core worker, API, app, worker and no-op job. */
export interface BenchLane {
  url: string;
  /** The lane API's admin token: the bearer token of its /metrics. */
  adminToken: string;
  authHeaders: Record<string, string>;
  jobId: number;
  close(): Promise<void>;
}

/**
 * Another lane beside the stack's (e.g. with metrics on, the stack's off): nothing is shared
 * but the dev server, the connection and this process, so two lanes measured in alternating
 * rounds differ only in what they were started with.
 */
export async function startBenchLane(stack: Pick<BenchStack, 'client' | 'connection' | 'config'>, { metrics }: { metrics?: TempojobMetrics } = {}): Promise<BenchLane> {
  const cleanups: (() => Promise<void>)[] = [];
  const close = async () => {
    for (const cleanup of cleanups.reverse()) await cleanup().catch((err: unknown) => console.error('while stopping:', (err as Error).message));
  };
  try {
    const adminToken = randomBytes(16).toString('hex');
    const config = { ...stack.config, TEMPOJOB_CORE_TASK_QUEUE: `bench-core-${randomBytes(3).toString('hex')}`, TEMPOJOB_ADMIN_TOKEN: adminToken };
    const { client, connection } = stack;
    const core = await startCoreWorker({ connection, client, config, ...(metrics ? { metrics } : {}) });
    cleanups.push(async () => { core.worker.shutdown(); await core.done; });
    const api = await startApi({ client, config: { ...config, TEMPOJOB_LOG_DIR: undefined }, jwtSecret: randomBytes(32).toString('hex'), port: 0, metrics: metrics ?? false });
    cleanups.push(() => closeServer(api.server));
    const appName = `bench-${randomBytes(4).toString('hex')}`;
    const password = randomBytes(12).toString('hex');
    await api.apps.put(appName, password, 'create');
    const worker = await createWorker({
      appName, processors: { [NOOP_PROCESSOR]: () => ({ success: true }) }, connection, namespace: config.TEMPORAL_NAMESPACE,
      workerId: 'bench-worker', shutdownGraceMs: 0, metrics: metrics ? { into: metrics } : false,
    });
    const workerDone = worker.run();
    cleanups.push(async () => { await worker.shutdown(); await workerDone; });
    const { appId, token } = await postOpenApi<{ appId: number; token: string }>(api.url, 'authApp', { appName, encryptedPassword: password, encryptType: 'none' });
    const authHeaders = { 'X-POWERJOB-APP-ID': String(appId), 'X-POWERJOB-ACCESS-TOKEN': token };
    const jobId = await postOpenApi<number>(api.url, 'saveJob', {
      jobName: 'bench-noop', timeExpressionType: 'API', executeType: 'STANDALONE', processorType: 'BUILT_IN', processorInfo: NOOP_PROCESSOR,
    }, authHeaders);
    return { url: api.url, adminToken, authHeaders, jobId, close };
  } catch (err) {
    await close();
    throw err;
  }
}
