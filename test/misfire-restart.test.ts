import { mkdtempSync, readFileSync, rmSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { randomBytes } from 'node:crypto';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { loadConfig } from '../src/config.js';
import { closeServer, startApi } from '../src/stack/services.js';
import { connectClient } from '../src/temporal/connection.js';
import { startDevServer, type DevServer } from '../src/temporal/dev-server.js';
import { OpenApiCaller } from './support/api-client.js';
import { eventually } from './support/eventually.js';
import { freePort } from './support/ports.js';
import { spawnTs, type ChildHandle } from './support/processes.js';
import { uniqueName } from './support/stack.js';

/**
 * The Temporal dev server is down for 20 s while three 2-second CRON jobs are enabled,
 * one per misfire policy. After the restart each policy does what it says: SKIP runs no
 * missed fire, RUN_ONCE exactly one, CATCH_UP(3) exactly three; nothing fires twice.
 */

const THRESHOLD_MS = 5_000;
const OUTAGE_MS = 20_000;
const dir = mkdtempSync(join(tmpdir(), 'tempojob-misfire-'));
const cleanups: (() => Promise<unknown>)[] = [];
afterAll(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup().catch(() => {});
  rmSync(dir, { recursive: true, force: true });
});

describe('misfire policies after an outage', () => {
  it('SKIP, RUN_ONCE and CATCH_UP(3) each do exactly what they say', { timeout: 240_000 }, async () => {
    const port = await freePort();
    const dbFile = join(dir, 'temporal.db');
    const recordFile = join(dir, 'executions.jsonl');
    const appName = uniqueName('misfire');
    const coreQueue = uniqueName('core');
    const env = {
      TEMPORAL_ADDRESS: `127.0.0.1:${port}`, TEMPOJOB_CORE_TASK_QUEUE: coreQueue,
      TEMPOJOB_WORKFLOW_BUNDLE: inject('workflowBundlePath'), RECORD_FILE: recordFile, RECORD_APP: appName,
    };
    let server: DevServer = await startDevServer({ cliPath: inject('temporalCliPath'), dbFile, port });
    const children: ChildHandle[] = [
      spawnTs('src/workers/core-main.ts', env, /core worker ready/),
      spawnTs('test/fixtures/recording-worker.ts', env, /processor worker ready/),
    ];
    cleanups.push(async () => {
      for (const c of children) await c.kill();
      await server.kill();
    });
    await Promise.all(children.map((c) => c.ready));

    const config = loadConfig({ TEMPORAL_ADDRESS: `127.0.0.1:${port}`, TEMPOJOB_CORE_TASK_QUEUE: coreQueue, TEMPOJOB_HOST: '127.0.0.1' });
    const client = await connectClient({ address: `127.0.0.1:${port}`, namespace: 'default' });
    cleanups.push(() => client.connection.close());
    const api = await startApi({ client, config, jwtSecret: randomBytes(32).toString('hex'), port: 0 });
    cleanups.push(() => closeServer(api.server));
    await api.apps.put(appName, 'misfire-password', 'create');
    const caller = await OpenApiCaller.login(api.url, appName, 'misfire-password');

    const policies = {
      SKIP: { type: 'SKIP', thresholdMs: THRESHOLD_MS },
      RUN_ONCE: { type: 'RUN_ONCE', thresholdMs: THRESHOLD_MS },
      CATCH_UP: { type: 'CATCH_UP', maxCatchUp: 3, thresholdMs: THRESHOLD_MS },
    };
    const jobs: Record<string, number> = {};
    for (const [name, misfirePolicy] of Object.entries(policies)) {
      jobs[name] = await caller.data<number>('saveJob', {
        jobName: name, timeExpressionType: 'CRON', timeExpression: '*/2 * * * * ?', misfirePolicy,
        executeType: 'STANDALONE', processorType: 'BUILT_IN', processorInfo: 'record',
      });
    }
    const executions = () => existsSync(recordFile)
      ? readFileSync(recordFile, 'utf8').trim().split('\n').map((line) => JSON.parse(line) as { instanceId: number; at: number })
      : [];
    const infoOf = (instanceId: number) =>
      caller.data<{ jobId: number; expectedTriggerTime: number; actualTriggerTime: number; catchUp: boolean }>('fetchInstanceInfo', { instanceId });
    const firesByJob = async () => {
      const byJob = new Map<number, { expected: number; catchUp: boolean }[]>();
      for (const { instanceId } of executions()) {
        const info = await infoOf(instanceId);
        byJob.set(info.jobId, [...(byJob.get(info.jobId) ?? []), { expected: info.expectedTriggerTime, catchUp: info.catchUp }]);
      }
      return byJob;
    };
    // Every job fires normally before the outage.
    await eventually(firesByJob, (byJob) => Object.values(jobs).every((id) => (byJob.get(id)?.length ?? 0) >= 2), 30_000);

    const stoppedAt = Date.now();
    await server.kill();
    await sleep(OUTAGE_MS); // the outage itself, not a synchronisation
    server = await startDevServer({ cliPath: inject('temporalCliPath'), dbFile, port });
    const restartedAt = Date.now();
    // Normal fires have resumed for every job: the catch-up is over.
    const byJob = await eventually(firesByJob, (fires) =>
      Object.values(jobs).every((id) => (fires.get(id) ?? []).some((f) => f.expected > restartedAt + 4_000)), 60_000);

    const ran = executions();
    expect(new Set(ran.map((e) => e.instanceId)).size).toBe(ran.length);
    const catchUps: Record<string, number> = {};
    for (const [name, jobId] of Object.entries(jobs)) {
      const fires = byJob.get(jobId)!;
      expect(new Set(fires.map((f) => f.expected)).size, `${name}: one instance per fire time`).toBe(fires.length);
      expect(fires.every((f) => f.expected % 2000 === 0)).toBe(true);
      // Fires due while Temporal was down or starting up are late; only the policy's picks run.
      catchUps[name] = fires.filter((f) => f.expected > stoppedAt && f.catchUp).length;
      expect(fires.filter((f) => !f.catchUp && f.expected > stoppedAt && f.expected < restartedAt - THRESHOLD_MS), name).toEqual([]);
    }
    expect(catchUps).toEqual({ SKIP: 0, RUN_ONCE: 1, CATCH_UP: 3 });
  });
});
