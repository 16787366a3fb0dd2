import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Client } from '@temporalio/client';
import { inject } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { closeServer, startApi } from '../../src/api/server.js';
import { connectClient, targetOf } from '../../src/temporal/connection.js';
import { startDevServer, type DevServer } from '../../src/temporal/dev-server.js';
import { OpenApiCaller } from './api-client.js';
import { freePort } from './ports.js';
import { spawnTs, type ChildHandle } from './processes.js';
import { uniqueName } from './stack.js';
import { plainTemporal } from './temporal-env.js';

export interface Execution {
  instanceId: number;
  attempt: number;
  at: number;
  workerId: string;
}

/**
 * A stack whose parts a fault test can kill and restart: its own Temporal dev server (on a
 * SQLite file, so state survives), a core worker and a processor worker as processes
 * (test/fixtures/recording-worker.ts: every run of `record` is a line in a file), and an
 * API in this process, logged in as a fresh app.
 */
export interface CrashableStack {
  client: Client;
  caller: OpenApiCaller;
  /** Every execution of the `record` processor that finished so far, across crashes and restarts. */
  executions(): Execution[];
  /** Every execution of the `record` processor that started so far (finished or not). */
  starts(): Execution[];
  startServer(): Promise<void>;
  /** SIGKILL of the dev server. */
  killServer(): Promise<void>;
  startWorkers(): Promise<void>;
  /** SIGKILL of the core and processor worker processes. */
  killWorkers(): Promise<void>;
  /** SIGKILL of the core worker process alone (processor workers keep running). */
  killCoreWorker(): Promise<void>;
  startCoreWorker(): Promise<void>;
  close(): Promise<void>;
}

export async function startCrashableStack(prefix: string): Promise<CrashableStack> {
  const dir = mkdtempSync(join(tmpdir(), `tempojob-${prefix}-`));
  const port = await freePort();
  const address = `127.0.0.1:${port}`;
  const recordFile = join(dir, 'executions.jsonl');
  const startsFile = join(dir, 'starts.jsonl');
  const appName = uniqueName(prefix);
  const coreQueue = uniqueName('core');
  const env = {
    // Its own dev server speaks plain gRPC, whatever TLS the run's Temporal asks for (the cluster's mTLS).
    TEMPORAL_ADDRESS: address, ...plainTemporal(), TEMPOJOB_CORE_TASK_QUEUE: coreQueue,
    TEMPOJOB_WORKFLOW_BUNDLE: inject('workflowBundlePath'), RECORD_FILE: recordFile, RECORD_STARTS_FILE: startsFile,
    RECORD_APP: appName,
  };
  let server: DevServer | undefined;
  let workers: ChildHandle[] = [];
  const startCore = () => spawnTs('src/core/main.ts', env, /core worker ready/);
  const stack = {
    async startServer() {
      server = await startDevServer({ cliPath: inject('temporalCliPath'), dbFile: join(dir, 'temporal.db'), port });
    },
    async killServer() {
      await server?.kill();
    },
    async startWorkers() {
      workers = [startCore(), spawnTs('test/fixtures/recording-worker.ts', env, /processor worker ready/)];
      await Promise.all(workers.map((w) => w.ready));
    },
    async killWorkers() {
      await Promise.all(workers.map((w) => w.kill()));
    },
    async killCoreWorker() {
      await workers[0]?.kill();
    },
    async startCoreWorker() {
      workers[0] = startCore();
      await workers[0].ready;
    },
  };
  await stack.startServer();
  await stack.startWorkers();

  const config = loadConfig({ TEMPORAL_ADDRESS: address, TEMPOJOB_CORE_TASK_QUEUE: coreQueue, TEMPOJOB_HOST: '127.0.0.1' });
  const client = await connectClient(targetOf(config));
  const api = await startApi({ client, config, jwtSecret: randomBytes(32).toString('hex'), port: 0 });
  const password = randomBytes(12).toString('hex');
  await api.apps.put(appName, password, 'create');
  return {
    ...stack,
    client,
    caller: await OpenApiCaller.login(api.url, appName, password),
    executions: () => readRecords(recordFile),
    starts: () => readRecords(startsFile),
    async close() {
      await closeServer(api.server);
      await client.connection.close();
      await stack.killWorkers();
      await stack.killServer();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

function readRecords(file: string): Execution[] {
  return existsSync(file) ? readFileSync(file, 'utf8').trim().split('\n').map((line) => JSON.parse(line) as Execution) : [];
}
