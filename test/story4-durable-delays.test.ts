import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { randomBytes } from 'node:crypto';
import type { Client } from '@temporalio/client';
import { afterAll, describe, expect, inject, it } from 'vitest';
import type { InstanceState } from '../src/domain/instance.js';
import { loadConfig } from '../src/config.js';
import { closeServer, startApi } from '../src/stack/services.js';
import { connectClient } from '../src/temporal/connection.js';
import { startDevServer, type DevServer } from '../src/temporal/dev-server.js';
import { instanceWorkflowId } from '../src/temporal/names.js';
import { OpenApiCaller } from './support/api-client.js';
import { freePort } from './support/ports.js';
import { spawnTs, type ChildHandle } from './support/processes.js';
import { uniqueName } from './support/stack.js';

/**
 * Failure story 4: delayed runs must survive a restart of everything. Twenty runs delayed
 * 1–10 s; while they wait, the Temporal dev server and every worker are killed (SIGKILL),
 * then started again on the same database file. Every run fires exactly once, none early,
 * each late by at most the downtime plus 2 s.
 */

const RUNS = 20;
const DOWNTIME_MS = 3_000;

const dir = mkdtempSync(join(tmpdir(), 'tempojob-story4-'));
const cleanups: (() => Promise<unknown>)[] = [];
afterAll(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup().catch(() => {});
  rmSync(dir, { recursive: true, force: true });
});

describe('story 4: delayed runs survive a full restart', () => {
  it('fires every delayed run exactly once, never early, late by at most the downtime + 2 s', { timeout: 180_000 }, async () => {
    const port = await freePort();
    const dbFile = join(dir, 'temporal.db');
    const recordFile = join(dir, 'executions.jsonl');
    const appName = uniqueName('story4');
    const coreQueue = uniqueName('core');
    const childEnv = {
      TEMPORAL_ADDRESS: `127.0.0.1:${port}`,
      TEMPOJOB_CORE_TASK_QUEUE: coreQueue,
      TEMPOJOB_WORKFLOW_BUNDLE: inject('workflowBundlePath'),
      RECORD_FILE: recordFile,
      RECORD_APP: appName,
    };
    let server: DevServer;
    let children: ChildHandle[] = [];
    const startAll = async () => {
      server = await startDevServer({ cliPath: inject('temporalCliPath'), dbFile, port });
      children = [
        spawnTs('src/workers/core-main.ts', childEnv, /core worker ready/),
        spawnTs('test/fixtures/recording-worker.ts', childEnv, /processor worker ready/),
      ];
      await Promise.all(children.map((c) => c.ready));
    };
    cleanups.push(async () => {
      for (const c of children) await c.kill();
      await server.kill();
    });
    await startAll();

    const config = loadConfig({ TEMPORAL_ADDRESS: `127.0.0.1:${port}`, TEMPOJOB_CORE_TASK_QUEUE: coreQueue, TEMPOJOB_HOST: '127.0.0.1' });
    const client: Client = await connectClient({ address: `127.0.0.1:${port}`, namespace: 'default' });
    cleanups.push(() => client.connection.close());
    const api = await startApi({ client, config, jwtSecret: randomBytes(32).toString('hex'), port: 0 });
    cleanups.push(() => closeServer(api.server));
    await api.apps.put(appName, 'story-four-password', 'create');
    const caller = await OpenApiCaller.login(api.url, appName, 'story-four-password');
    const jobId = await caller.data<number>('saveJob', {
      jobName: 'delayed', timeExpressionType: 'API', executeType: 'STANDALONE', processorType: 'BUILT_IN', processorInfo: 'record',
    });

    const instanceIds: number[] = [];
    for (let i = 0; i < RUNS; i++) {
      const delay = 1_000 + Math.round((9_000 * i) / (RUNS - 1));
      instanceIds.push(await caller.data<number>('runJob', { jobId, delay }, { form: true }));
    }

    const killedAt = Date.now();
    await Promise.all(children.map((c) => c.kill()));
    await server!.kill();
    await sleep(DOWNTIME_MS); // the outage itself, not a synchronisation
    await startAll();
    const downtime = Date.now() - killedAt;

    const states = await Promise.all(instanceIds.map((id) =>
      client.workflow.getHandle(instanceWorkflowId(id)).result() as Promise<InstanceState>));
    expect(states.every((s) => s.status === 'SUCCEED')).toBe(true);

    const executions = readFileSync(recordFile, 'utf8').trim().split('\n').map((line) => JSON.parse(line) as { instanceId: number; at: number });
    for (const instanceId of instanceIds) {
      const runs = executions.filter((e) => e.instanceId === instanceId);
      expect(runs, `instance ${instanceId}`).toHaveLength(1);
      const info = await caller.data<{ expectedTriggerTime: number }>('fetchInstanceInfo', { instanceId }, { form: true });
      const lateness = runs[0]!.at - info.expectedTriggerTime;
      expect(lateness, `instance ${instanceId} fired early`).toBeGreaterThanOrEqual(0);
      expect(lateness, `instance ${instanceId} too late (downtime ${downtime} ms)`).toBeLessThanOrEqual(downtime + 2_000);
    }
    expect(executions).toHaveLength(RUNS);
  });
});
