import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { liveAppWorkers } from '../src/activities/workers.js';
import type { TaskResult } from '../src/workers/index.js';
import { eventually } from './support/eventually.js';
import { spawnTs, type ChildHandle } from './support/processes.js';
import { startTestStack, type TestStack } from './support/stack.js';

/**
 * A worker dies mid-map: three worker processes run a MAP_REDUCE's sub-tasks, one is
 * SIGKILLed while its sub-tasks run. Its in-flight sub-tasks run again on the others (same
 * attempt, same idempotency key), nothing else runs twice, and reduce sees every result
 * once. Executions are counted from the processors' own append-only log.
 */

const WORKER_LOST_MS = 3_000;
const ITEMS = 60;

interface Line {
  step: 'root' | 'start' | 'done' | 'reduce';
  workerId: string;
  instanceId: number;
  key: string;
  item?: number;
  results?: TaskResult[];
}

const dir = mkdtempSync(join(tmpdir(), 'tempojob-map-'));
const recordFile = join(dir, 'executions.jsonl');
const gate = join(dir, 'gate');
const workers = new Map<string, ChildHandle>();
let stack: TestStack;

beforeAll(async () => {
  stack = await startTestStack({ TEMPOJOB_HEARTBEAT_TIMEOUT_MS: String(WORKER_LOST_MS) });
});
afterAll(async () => {
  for (const worker of workers.values()) await worker.kill();
  await stack?.close();
  rmSync(dir, { recursive: true, force: true });
});

const readLines = (file = recordFile): Line[] => existsSync(file)
  ? readFileSync(file, 'utf8').split('\n').filter(Boolean).map((line) => JSON.parse(line) as Line)
  : [];

/** Starts the three map workers of a test, on its own record file, once Temporal lists them all. */
async function startWorkers(appName: string, file: string): Promise<void> {
  for (const n of [1, 2, 3]) {
    const workerId = `map-worker-${n}`;
    workers.set(workerId, spawnTs('test/fixtures/map-worker.ts', { TEMPORAL_ADDRESS: inject('temporalAddress'), RECORD_FILE: file, RECORD_APP: appName, RECORD_WORKER_ID: workerId }, /map worker .* ready/));
  }
  await Promise.all([...workers.values()].map((w) => w.ready));
  // A batch sizes its window (concurrency × live workers) from Temporal's view of the app's
  // workers: run only once Temporal lists all three, or the gated sub-tasks fill one worker.
  await eventually(() => liveAppWorkers(stack.client, appName), (live) => live.length === workers.size, 30_000);
}

async function stopWorkers(): Promise<void> {
  for (const worker of workers.values()) await worker.kill();
  workers.clear();
}

describe('a worker killed mid-map', () => {
  it('its in-flight sub-tasks run again elsewhere, only they run twice, and the count is exact', { timeout: 180_000 }, async () => {
    const { appName, api } = await stack.newApp('map-faults');
    await startWorkers(appName, recordFile);
    const jobId = await api.data<number>('saveJob', {
      jobName: 'gated map', timeExpressionType: 'API', executeType: 'MAP_REDUCE', processorType: 'BUILT_IN', processorInfo: 'gatedMap',
      concurrency: 2, taskRetryNum: 0,
    });
    const instanceId = await api.data<number>('runJob', { jobId, instanceParams: JSON.stringify({ n: ITEMS, gate }) });

    // Sub-tasks hold at the gate: once a worker runs its full share (concurrency 2), kill the
    // one with the most in flight. (A worker may also hold sub-tasks it has taken but not
    // started, waiting for one of its slots: those never ran, and must run once elsewhere.)
    const before = await eventually(async () => readLines(), (lines) => lines.length >= 2, 60_000);
    const inFlight = (lines: Line[], workerId: string) => lines.filter((l) => l.step === 'start' && l.workerId === workerId).map((l) => l.item!);
    const victim = [...workers.keys()].sort((a, b) => inFlight(before, b).length - inFlight(before, a).length)[0]!;
    await workers.get(victim)!.kill();
    const lost = inFlight(readLines(), victim);
    expect(lost.length).toBeGreaterThan(0);
    writeFileSync(gate, 'open');
    await stack.finished(instanceId);

    const lines = readLines();
    const starts = lines.filter((l) => l.step === 'start');
    const startsOf = (item: number) => starts.filter((l) => l.item === item);
    // Every item ran to the end exactly once, none of them on the dead worker.
    const done = lines.filter((l) => l.step === 'done');
    expect(done.map((l) => l.item).sort((a, b) => a! - b!)).toEqual(Array.from({ length: ITEMS }, (_, i) => i));
    expect(done.filter((l) => l.workerId === victim)).toEqual([]);
    // Only the sub-tasks in flight on the dead worker ran twice, under the same idempotency key.
    const twice = Array.from({ length: ITEMS }, (_, i) => i).filter((item) => startsOf(item).length > 1);
    expect(twice.sort()).toEqual([...lost].sort());
    for (const item of lost) {
      const [first, again] = startsOf(item);
      expect(startsOf(item)).toHaveLength(2);
      expect(first!.workerId).toBe(victim);
      expect(again!.workerId).not.toBe(victim);
      expect(again!.key).toBe(first!.key);
    }
    // reduce ran once and saw every sub-task once, all succeeded.
    const reduce = lines.filter((l) => l.step === 'reduce');
    expect(reduce).toHaveLength(1);
    expect(reduce[0]!.results!.map((r) => r.taskId).sort()).toEqual(Array.from({ length: ITEMS }, (_, i) => `0.${i}`).sort());
    expect(reduce[0]!.results!.every((r) => r.success)).toBe(true);
    expect(await api.data('fetchInstanceInfo', { instanceId })).toMatchObject({
      status: 5, result: `reduced ${ITEMS}`, map: { total: ITEMS, succeeded: ITEMS, failed: 0, running: 0 },
    });
  });
});

describe('a worker frozen while Temporal hands it sub-tasks', () => {
  it('after it wakes, the sub-tasks given to others meanwhile do not run on it again: each runs once', { timeout: 180_000 }, async () => {
    await stopWorkers();
    const { appName, api } = await stack.newApp('map-frozen');
    const file = join(dir, 'frozen.jsonl');
    const openGate = join(dir, 'open-gate');
    writeFileSync(openGate, 'open');
    await startWorkers(appName, file);
    const rootGate = join(dir, 'root-gate');
    const jobId = await api.data<number>('saveJob', {
      jobName: 'quick map', timeExpressionType: 'API', executeType: 'MAP_REDUCE', processorType: 'BUILT_IN', processorInfo: 'gatedMap',
      concurrency: 4, taskRetryNum: 0,
    });
    const instanceId = await api.data<number>('runJob', { jobId, instanceParams: JSON.stringify({ n: ITEMS, gate: openGate, rootGate }) });
    // Once the root task runs, freeze another worker with its long polls open: Temporal still
    // hands it sub-tasks, which sit there undelivered.
    const root = await eventually(async () => readLines(file).find((l) => l.step === 'root'), (line) => line !== undefined, 60_000);
    const frozenId = [...workers.keys()].find((id) => id !== root!.workerId)!;
    const frozen = workers.get(frozenId)!;
    process.kill(-frozen.child.pid!, 'SIGSTOP');
    try {
      writeFileSync(rootGate, 'open');
      // The frozen worker's sub-tasks are declared lost after WORKER_LOST_MS and run on the others.
      await stack.finished(instanceId);
      expect(await api.data('fetchInstanceInfo', { instanceId })).toMatchObject({ status: 5, result: `reduced ${ITEMS}` });
    } finally {
      process.kill(-frozen.child.pid!, 'SIGCONT');
    }
    // Awake, it gets the tasks it was handed while frozen, and runs none of them.
    await eventually(async () => frozen.output(), (output) => /stale delivery/.test(output), 30_000);
    const starts = readLines(file).filter((l) => l.step === 'start');
    expect(starts.filter((l) => l.workerId === frozenId)).toEqual([]);
    const items = starts.map((l) => l.item!).sort((a, b) => a - b);
    expect(items).toEqual(Array.from({ length: ITEMS }, (_, i) => i));
  });
});
