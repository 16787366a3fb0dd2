import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, inject, it } from 'vitest';
import { createClient, type TempojobClient } from '../src/client/index.js';
import { createWorker, type ProcessorWorker } from '../src/workers/index.js';
import { OpenApiCaller } from './support/api-client.js';
import { TEST_CORE_TASK_QUEUE } from './support/core-queue.js';
import { freePort } from './support/ports.js';
import { spawnTs, type ChildHandle } from './support/processes.js';
import { startTestStack, uniqueName } from './support/stack.js';

/**
 * Instance logs under faults: the API killed while a worker ships, and a worker stopped
 * while its processor writes. Either way every line written is stored, once, in order.
 */

const SUCCEED = 5;

/** The numbers of `line N` lines, in store order (the download is the store's order). */
async function lineNumbers(logs: TempojobClient, instanceId: number): Promise<number[]> {
  const text = (await logs.downloadInstanceLog(instanceId)).trimEnd();
  return text.split('\n').map((line) => Number(/ INFO \[[^\]]+\] \[attempt 1\] line (\d+)$/.exec(line)?.[1]));
}

function oneTo(n: number): number[] {
  return Array.from({ length: n }, (_, i) => i + 1);
}

describe('instance logs under faults', () => {
  it('the API SIGKILLed and restarted while a worker ships 10,000 lines: all stored once, in order; the processor never waited', { timeout: 180_000 }, async () => {
    const appName = uniqueName('log-api-kill');
    const password = randomBytes(12).toString('hex');
    const port = await freePort();
    const url = `http://127.0.0.1:${port}`;
    const dir = mkdtempSync(join(tmpdir(), 'tempojob-log-faults-'));
    const cluster = inject('cluster');
    // The cluster's PostgreSQL when the run can see it (scripts/cluster/env.sh exports the
    // variable to whoever sources it); else the embedded store, in `dir`, which outlives the
    // process: the restarted API opens the same files.
    const databaseUrl = cluster ? process.env.TEMPOJOB_CLUSTER_LOG_DATABASE_URL : undefined;
    const env = {
      TEMPORAL_ADDRESS: inject('temporalAddress'),
      TEMPOJOB_CORE_TASK_QUEUE: cluster?.coreTaskQueue ?? TEST_CORE_TASK_QUEUE,
      TEMPOJOB_JWT_SECRET: randomBytes(32).toString('hex'),
      TEMPOJOB_APPS: `${appName}:${password}`,
      TEMPOJOB_PORT: String(port),
      TEMPOJOB_HOST: '127.0.0.1',
      ...(databaseUrl ? { TEMPOJOB_LOG_DATABASE_URL: databaseUrl } : { TEMPOJOB_LOG_DIR: dir }),
    };
    const startApi = async () => {
      const handle = spawnTs('src/api/main.ts', env, /API ready/);
      await handle.ready;
      return handle;
    };

    let written = 0;
    let finishedAt: number | undefined;
    let api: ChildHandle | undefined;
    let worker: ProcessorWorker | undefined;
    try {
      api = await startApi();
      worker = await createWorker({
        appName,
        address: inject('temporalAddress'),
        workerId: 'shipping-worker',
        shutdownGraceMs: 0,
        logs: { apiUrl: url, password },
        processors: {
          /** `jobParams` numbered lines, 100 every 10 ms on schedule (a late timer is caught up on, not added up). */
          numbered: async (ctx) => {
            const total = Number(ctx.jobParams);
            const start = Date.now();
            while (written < total) {
              ctx.logger.info(`line ${++written}`);
              if (written % 100 === 0) await sleep(Math.max(0, start + written / 10 - Date.now()));
            }
            finishedAt = Date.now();
            return { success: true, msg: `wrote ${total}` };
          },
        },
      });
      void worker.run();
      const caller = await OpenApiCaller.login(url, appName, password);
      const logs = createClient({ baseUrl: url, appName, password });
      const jobId = await caller.data<number>('saveJob', {
        jobName: 'numbered', timeExpressionType: 'API', executeType: 'STANDALONE', processorType: 'BUILT_IN', processorInfo: 'numbered', jobParams: '10000',
      });
      const instanceId = await caller.data<number>('runJob', { jobId }, { form: true });

      await expect.poll(async () => (await logs.fetchInstanceLog(instanceId)).totalPages, { timeout: 30_000, interval: 20 }).toBeGreaterThan(0);
      const writtenAtKill = written;
      await api.kill();
      // Lines were stored, and the processor was still writing: shipping was under way.
      expect(writtenAtKill).toBeLessThan(10_000);

      // The outage itself, not a synchronisation: the API stays down for 2 s while the
      // processor writes on and the shipper's sends fail.
      await sleep(2_000);
      const restartedAt = Date.now();
      api = await startApi();
      // The processor did not wait for the API: it was done before the API came back.
      expect(finishedAt).toBeLessThan(restartedAt);

      // Every line acknowledged by the restarted API (the shipper re-sends a batch left
      // unanswered, with the same seqs).
      expect(await worker.flushLogs(60_000)).toBe(0);
      const again = await OpenApiCaller.login(url, appName, password);
      await expect.poll(() => again.data('fetchInstanceStatus', { instanceId }, { form: true }), { timeout: 30_000 }).toBe(SUCCEED);
      expect(await lineNumbers(logs, instanceId)).toEqual(oneTo(10_000));
    } finally {
      await worker?.shutdown();
      await api?.kill();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('a worker SIGTERMed mid-run ships every line its processor wrote, once, in order, before it exits', { timeout: 120_000 }, async () => {
    const stack = await startTestStack();
    const dir = mkdtempSync(join(tmpdir(), 'tempojob-log-faults-'));
    const countFile = join(dir, 'written');
    let worker: ChildHandle | undefined;
    try {
      const { appName, password, api } = await stack.newApp('log-sigterm');
      worker = spawnTs('test/fixtures/logging-worker.ts', {
        TEMPORAL_ADDRESS: inject('temporalAddress'), TEMPOJOB_API_URL: stack.url, TEMPOJOB_APP_PASSWORD: password,
        LOGGING_APP: appName, LOGGING_COUNT_FILE: countFile,
      }, /processor worker ready/);
      await worker.ready;
      const logs = createClient({ baseUrl: stack.url, appName, password });
      // Far more lines than the run lasts: the processor writes until the shutdown cancels it.
      const jobId = await api.data<number>('saveJob', {
        jobName: 'stream', timeExpressionType: 'API', executeType: 'STANDALONE', processorType: 'BUILT_IN', processorInfo: 'stream', jobParams: '1000000',
      });
      const instanceId = await api.data<number>('runJob', { jobId }, { form: true });
      await expect.poll(async () => (await logs.fetchInstanceLog(instanceId)).totalPages, { timeout: 30_000, interval: 20 }).toBeGreaterThan(0);

      // The processor writes on through the shutdown grace (10 s), is cancelled, and the
      // worker exits only once the API acknowledged every line.
      expect(await worker.stop('SIGTERM')).toBe(0);
      const written = Number(readFileSync(countFile, 'utf8'));
      expect(written).toBeGreaterThan(100);
      // Read at once: the lines were stored before the worker exited.
      expect(await lineNumbers(logs, instanceId)).toEqual(oneTo(written));
    } finally {
      await worker?.kill();
      await stack.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
