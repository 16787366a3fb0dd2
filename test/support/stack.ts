import { randomBytes } from 'node:crypto';
import type { Client } from '@temporalio/client';
import type { NativeConnection } from '@temporalio/worker';
import { inject } from 'vitest';
import { loadConfig, type Config } from '../../src/config.js';
import { connectTemporal, targetOf } from '../../src/temporal/connection.js';
import { instanceWorkflowId } from '../../src/contract/names.js';
import { closeServer, startApi } from '../../src/api/server.js';
import type { AppService } from '../../src/api/app-service.js';
import { createWorker, type CreateWorkerOptions, type ProcessorWorker } from '../../src/workers/index.js';
import { OpenApiCaller } from './api-client.js';
import { temporalTlsEnv } from './temporal-env.js';
import { TEST_CORE_TASK_QUEUE } from './core-queue.js';
import { clusterApi } from '../cluster/support/cluster-stack.js';

export const ADMIN_TOKEN = 'test-admin-token-0123456789';

export interface TestStack {
  client: Client;
  connection: NativeConnection;
  config: Config;
  url: string;
  apps: AppService;
  /** The HMAC secret this stack signs access tokens with. */
  jwtSecret: string;
  /** Creates an app with a random name and logs in as it. */
  newApp(prefix?: string): Promise<{ appName: string; password: string; api: OpenApiCaller }>;
  startWorker(appName: string, processors: CreateWorkerOptions['processors'], options?: Partial<CreateWorkerOptions>): Promise<ProcessorWorker>;
  /** Resolves when the instance workflow closes. */
  finished(instanceId: number): Promise<unknown>;
  close(): Promise<void>;
}

export function uniqueName(prefix: string): string {
  return `${prefix}-${randomBytes(4).toString('hex')}`;
}

/**
 * An API in this test process, against the run's real Temporal dev server and its one
 * core worker (test/global-setup.ts).
 * Each test uses its own apps (so its own processor queues), so test files running side
 * by side never see each other's work.
 * In the cluster run (vitest.cluster.config.ts) the API and core workers are the cluster's
 * replica processes instead, and `url` spreads requests over every API replica.
 */
export async function startTestStack(env: Record<string, string> = {}): Promise<TestStack> {
  const address = inject('temporalAddress');
  const cluster = inject('cluster');
  const config = loadConfig({
    TEMPORAL_ADDRESS: address,
    ...temporalTlsEnv(),
    // One core queue for every test file, as in production, served by the run's core
    // worker (test/global-setup.ts) or the cluster's.
    TEMPOJOB_CORE_TASK_QUEUE: cluster?.coreTaskQueue ?? TEST_CORE_TASK_QUEUE,
    TEMPOJOB_ADMIN_TOKEN: ADMIN_TOKEN,
    TEMPOJOB_HOST: '127.0.0.1',
    ...env,
  });
  const temporal = await connectTemporal(targetOf(config));
  const { client, connection } = temporal;
  const jwtSecret = cluster?.jwtSecret ?? randomBytes(32).toString('hex');
  const api = cluster ? await clusterApi(client, cluster, env) : await inProcessApi(client, config, jwtSecret);
  const workers: { worker: ProcessorWorker; done: Promise<void> }[] = [];

  return {
    client, connection, config, url: api.url, apps: api.apps, jwtSecret,
    async newApp(prefix = 'app') {
      const appName = uniqueName(prefix);
      const password = randomBytes(12).toString('hex');
      await api.apps.put(appName, password, 'create');
      return { appName, password, api: await OpenApiCaller.login(api.url, appName, password) };
    },
    async startWorker(appName, processors, options = {}) {
      const worker = await createWorker({ appName, processors, connection, shutdownGraceMs: 0, ...options });
      workers.push({ worker, done: worker.run() });
      return worker;
    },
    finished(instanceId) {
      return client.workflow.getHandle(instanceWorkflowId(instanceId)).result();
    },
    async close() {
      await api.close();
      for (const { worker, done } of workers) {
        await worker.shutdown();
        await done;
      }
      await temporal.close();
    },
  };
}

async function inProcessApi(client: Client, config: Config, jwtSecret: string) {
  const { server, url, apps } = await startApi({ client, config, jwtSecret, port: 0 });
  return { url, apps, close: () => closeServer(server) };
}
