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
  step: 'start' | 'done' | 'reduce';
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

const readLines = (): Line[] => existsSync(recordFile)
  ? readFileSync(recordFile, 'utf8').split('\n').filter(Boolean).map((line) => JSON.parse(line) as Line)
  : [];

describe('a worker killed mid-map', () => {
  it('its in-flight sub-tasks run again elsewhere, only they run twice, and the count is exact', { timeout: 180_000 }, async () => {
    const { appName, api } = await stack.newApp('map-faults');
    for (const n of [1, 2, 3]) {
      const workerId = `map-worker-${n}`;
      workers.set(workerId, spawnTs('test/fixtures/map-worker.ts', { TEMPORAL_ADDRESS: inject('temporalAddress'), RECORD_FILE: recordFile, RECORD_APP: appName, RECORD_WORKER_ID: workerId }, /map worker .* ready/));
    }
    await Promise.all([...workers.values()].map((w) => w.ready));
    // A batch sizes its window (concurrency × live workers) from Temporal's view of the app's
    // workers: run only once Temporal lists all three, or the gated sub-tasks fill one worker.
    await eventually(() => liveAppWorkers(stack.client, appName), (live) => live.length === workers.size, 30_000);
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
