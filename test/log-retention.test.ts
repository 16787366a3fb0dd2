import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { loadConfig } from '../src/config.js';
import { logRetentionScheduleId } from '../src/contract/names.js';
import type { LogPurge } from '../src/contract/workflows.js';
import { startCoreWorker } from '../src/core/worker.js';
import { openLogStore, type LogStore } from '../src/logs/store.js';
import type { ShippedLogLine } from '../src/logs/types.js';
import { connectTemporal, targetOf } from '../src/temporal/connection.js';
import { isNotFound } from '../src/temporal/errors.js';
import { eventually } from './support/eventually.js';
import { uniqueName } from './support/stack.js';
import { temporalTlsEnv } from './support/temporal-env.js';

/**
 * Log retention end to end: a core worker with a log store creates its log-retention
 * schedule; a fire of it purges exactly the lines past TEMPOJOB_LOG_RETENTION_DAYS (3 by
 * default) from that store. The core worker runs on its own core queue, so its schedule and
 * purge queue are its own too: the run's shared core worker (no store) and other files never
 * see them.
 */

const DAY_MS = 24 * 60 * 60 * 1000;
const HOUR_MS = 60 * 60 * 1000;
const APP_ID = 7;
const INSTANCE_ID = 4242;

const config = loadConfig({ TEMPORAL_ADDRESS: inject('temporalAddress'), ...temporalTlsEnv(), TEMPOJOB_CORE_TASK_QUEUE: uniqueName('core-retention') });
const scheduleId = logRetentionScheduleId(config.TEMPOJOB_CORE_TASK_QUEUE);
const workflowBundle = { code: readFileSync(inject('workflowBundlePath'), 'utf8') };

let store: LogStore;
let temporal: Awaited<ReturnType<typeof connectTemporal>>;
const cleanups: (() => Promise<void>)[] = [];

/** A core worker with the store, on its own connection (two Workers of one connection cannot poll one queue). */
async function startCore(): Promise<void> {
  const own = await connectTemporal(targetOf(config));
  cleanups.push(() => own.close());
  const core = await startCoreWorker({ ...own, config, workflowBundle, logStore: store });
  cleanups.push(async () => {
    core.worker.shutdown();
    await core.done;
  });
}

function line(seq: number, time: number): ShippedLogLine {
  return { instanceId: INSTANCE_ID, attempt: 1, taskId: null, workerId: 'w', stream: 's', seq, level: 'INFO', time, message: `line ${seq}`, fields: null };
}

beforeAll(async () => {
  store = await openLogStore({});
  cleanups.push(() => store.close());
  temporal = await connectTemporal(targetOf(config));
  cleanups.push(() => temporal.close());
});

afterAll(async () => {
  await temporal.client.schedule.getHandle(scheduleId).delete().catch((err: unknown) => {
    if (!isNotFound(err)) throw err;
  });
  for (const cleanup of cleanups.reverse()) await cleanup();
});

describe('log retention', () => {
  it('a fire of the schedule purges exactly the lines older than the retention', async () => {
    const now = Date.now();
    const old = [line(1, now - 30 * DAY_MS), line(2, now - 4 * DAY_MS), line(3, now - 3 * DAY_MS - HOUR_MS)];
    const kept = [line(4, now - 3 * DAY_MS + HOUR_MS), line(5, now - DAY_MS), line(6, now)];
    await store.append(APP_ID, [...old, ...kept]);

    await startCore();
    const { client } = temporal;
    const schedule = client.schedule.getHandle(scheduleId);
    const described = await schedule.describe();
    expect(described.spec.intervals?.map((i) => i.every)).toEqual([HOUR_MS]);
    expect(described.policies.overlap).toBe('SKIP');

    await schedule.trigger();
    // The trigger is taken by the schedule's own workflow, a moment later.
    const { info } = await eventually(() => schedule.describe(), (d) => d.info.recentActions.length > 0);
    // Every run so far: a natural hourly fire may have joined the triggered one, and either purges.
    const results = await Promise.all(info.recentActions.map((a) => client.workflow.getHandle(a.action.workflow.workflowId).result() as Promise<LogPurge>));
    expect(results.reduce((sum, r) => sum + r.purged, 0)).toBe(old.length);
    for (const result of results) expect(result.before).toBeGreaterThanOrEqual(now - 3 * DAY_MS);

    const { lines } = await store.read(APP_ID, INSTANCE_ID, {}, 0, 100);
    expect(lines.map((l) => l.seq)).toEqual(kept.map((l) => l.seq));
  });

  it('another core worker starting keeps the one schedule, brought back to hourly', async () => {
    const schedule = temporal.client.schedule.getHandle(scheduleId);
    const { info: before } = await schedule.describe();
    await schedule.update((previous) => ({ ...previous, spec: { intervals: [{ every: 2 * HOUR_MS }] } }));

    await startCore();
    const after = await schedule.describe();
    expect(after.info.createdAt).toEqual(before.createdAt);
    expect(after.spec.intervals?.map((i) => i.every)).toEqual([HOUR_MS]);
  });
});
