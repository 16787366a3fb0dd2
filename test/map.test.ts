import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mapProcessor, type MapTaskContext, type ProcessorDefinition, type TaskResult } from '../src/workers/index.js';
import type { OpenApiCaller } from './support/api-client.js';
import { startTestStack, type TestStack } from './support/stack.js';

/**
 * MAP and MAP_REDUCE against the real dev server: every sub-task is counted where it runs,
 * so "exactly once" is measured, not assumed. One worker here (Temporal's runtime allows
 * one worker per queue in a process); spreading over workers, and a worker killed
 * mid-map, are in map-faults.test.ts with worker processes.
 */

let stack: TestStack;
let api: OpenApiCaller;
/** Executions per `<instanceId>/<taskName>/<item>`. */
const runs = new Map<string, number>();
const reduced = new Map<number, TaskResult[]>();
const aborted = new Set<string>();
const count = (ctx: MapTaskContext) => {
  const key = `${ctx.instanceId}/${ctx.taskName}/${JSON.stringify(ctx.subTask)}`;
  runs.set(key, (runs.get(key) ?? 0) + 1);
  return key;
};
const runsOf = (instanceId: number, taskName: string) =>
  [...runs.entries()].filter(([key]) => key.startsWith(`${instanceId}/${taskName}/`)).map(([, n]) => n);
/** Per instance: sub-tasks running now by batch (1,000 items each), and the most batches seen running at once. */
const runningByBatch = new Map<number, Map<number, number>>();
const mostBatchesAtOnce = new Map<number, number>();
async function asPartOfBatch(ctx: MapTaskContext, work: () => Promise<void>): Promise<void> {
  const batch = Math.floor((ctx.subTask as number) / 1_000);
  const running = runningByBatch.get(ctx.instanceId) ?? new Map<number, number>();
  runningByBatch.set(ctx.instanceId, running);
  running.set(batch, (running.get(batch) ?? 0) + 1);
  mostBatchesAtOnce.set(ctx.instanceId, Math.max(mostBatchesAtOnce.get(ctx.instanceId) ?? 0, running.size));
  try {
    await work();
  } finally {
    const left = running.get(batch)! - 1;
    if (left === 0) running.delete(batch);
    else running.set(batch, left);
  }
}

const processors: Record<string, ProcessorDefinition> = {
  /** Root maps `instanceParams` numbers 0..n-1; each doubles its number; reduce sums them. */
  sum: mapProcessor({
    async process(ctx) {
      if (ctx.isRootTask) {
        await ctx.map(Array.from({ length: Number(ctx.instanceParams) }, (_, i) => i), 'double');
        return { success: true, msg: 'mapped' };
      }
      count(ctx);
      // A millisecond of work, so sub-tasks of different batches would overlap if they could.
      await asPartOfBatch(ctx, () => new Promise((resolve) => setTimeout(resolve, 1)));
      return { success: true, msg: String((ctx.subTask as number) * 2) };
    },
    reduce(ctx, results) {
      reduced.set(ctx.instanceId, results);
      const sum = results.filter((r) => r.success).reduce((acc, r) => acc + Number(r.result), 0);
      return { success: results.every((r) => r.success), msg: `sum=${sum} of ${results.length}` };
    },
  }),
  /** 20 sub-tasks; number 7 always fails. Without reduce: for MAP jobs. */
  flaky: mapProcessor({
    async process(ctx) {
      if (ctx.isRootTask) {
        await ctx.map(Array.from({ length: 20 }, (_, i) => i), 'item');
        return { success: true };
      }
      count(ctx);
      if (ctx.subTask === 7) throw new Error('item 7 is broken');
      return { success: true, msg: 'ok' };
    },
    reduce(ctx, results) {
      reduced.set(ctx.instanceId, results);
      const failed = results.filter((r) => !r.success);
      return { success: true, msg: `reduced despite ${failed.map((r) => `${r.taskId}: ${r.result}`).join('; ')}` };
    },
  }),
  /** Sub-tasks map again: 3 regions × 4 shops. */
  nested: mapProcessor({
    async process(ctx) {
      if (ctx.isRootTask) {
        await ctx.map(['eu', 'us', 'asia'], 'region');
      } else if (ctx.taskName === 'region') {
        count(ctx);
        await ctx.map([1, 2, 3, 4].map((n) => `${ctx.subTask as string}-${n}`), 'shop');
      } else {
        count(ctx);
      }
      return { success: true, msg: ctx.taskId };
    },
    reduce(ctx, results) {
      reduced.set(ctx.instanceId, results);
      return { success: true, msg: `${results.length} results` };
    },
  }),
  /** `instanceParams` sub-tasks (default 30) that run until stopped. */
  endless: mapProcessor({
    async process(ctx) {
      if (ctx.isRootTask) {
        await ctx.map(Array.from({ length: ctx.instanceParams ? Number(ctx.instanceParams) : 30 }, (_, i) => i), 'wait');
        return { success: true };
      }
      const key = count(ctx);
      await new Promise((resolve) => ctx.signal.addEventListener('abort', resolve));
      aborted.add(key);
      return { success: true };
    },
  }),
  /** Maps an item over the size limit. */
  oversized: mapProcessor({
    async process(ctx) {
      await ctx.map(['small', 'x'.repeat(70_000)], 'big');
      return { success: true };
    },
  }),
};

beforeAll(async () => {
  stack = await startTestStack();
  const app = await stack.newApp('map');
  api = app.api;
  await stack.startWorker(app.appName, processors, { workerId: 'map-worker' });
});
afterAll(() => stack?.close());

const saveMapJob = (executeType: 'MAP' | 'MAP_REDUCE', processorInfo: string, extra: Record<string, unknown> = {}) =>
  api.data<number>('saveJob', {
    jobName: `${executeType}-${processorInfo}`, timeExpressionType: 'API', executeType, processorType: 'BUILT_IN', processorInfo,
    concurrency: 20, ...extra,
  });
const info = (instanceId: number) => api.data<Record<string, unknown>>('fetchInstanceInfo', { instanceId });

describe('MAP and MAP_REDUCE', () => {
  it('MAP_REDUCE over 10,000 sub-tasks: each processed exactly once, reduce sees exactly 10,000 results, two batches run at a time', { timeout: 600_000 }, async () => {
    const jobId = await saveMapJob('MAP_REDUCE', 'sum');
    const instanceId = await api.data<number>('runJob', { jobId, instanceParams: '10000' });
    await stack.finished(instanceId);

    const perItem = runsOf(instanceId, 'double');
    expect(perItem).toHaveLength(10_000);
    expect(perItem.every((n) => n === 1)).toBe(true);
    const results = reduced.get(instanceId)!;
    expect(results).toHaveLength(10_000);
    expect(new Set(results.map((r) => r.taskId)).size).toBe(10_000);
    expect(results[0]).toMatchObject({ taskId: '0.0', success: true, result: '0' });
    const expectedSum = 2 * ((9_999 * 10_000) / 2);
    expect(await info(instanceId)).toMatchObject({
      status: 5,
      result: `sum=${expectedSum} of 10000`,
      map: { total: 10_000, succeeded: 10_000, failed: 0, running: 0 },
    });
    // Ten batches; the instance lets two run at a time, so the app's queue never holds ten windows.
    expect(mostBatchesAtOnce.get(instanceId)).toBe(2);
  });

  it('a sub-task failing beyond its retries: MAP fails by PowerJob\'s rule; MAP_REDUCE still reduces and sees the failure', { timeout: 120_000 }, async () => {
    const mapJob = await saveMapJob('MAP', 'flaky', { taskRetryNum: 1, retryBackoff: { initialIntervalMs: 100, backoffCoefficient: 1, maximumIntervalMs: 100 } });
    const mapInstance = await api.data<number>('runJob', { jobId: mapJob });
    await stack.finished(mapInstance);
    expect(await info(mapInstance)).toMatchObject({
      status: 4, result: 'total:20,succeed:19,failed:1', map: { total: 20, succeeded: 19, failed: 1, running: 0 },
    });
    const tries = runsOf(mapInstance, 'item');
    expect(tries).toHaveLength(20);
    expect(tries.filter((n) => n === 2)).toHaveLength(1); // item 7: its first try and one retry
    expect(tries.filter((n) => n === 1)).toHaveLength(19);

    const reduceJob = await saveMapJob('MAP_REDUCE', 'flaky', { taskRetryNum: 0 });
    const reduceInstance = await api.data<number>('runJob', { jobId: reduceJob });
    await stack.finished(reduceInstance);
    expect(reduced.get(reduceInstance)).toHaveLength(20);
    expect(await info(reduceInstance)).toMatchObject({ status: 5, result: 'reduced despite 0.7: item 7 is broken' });
    expect(runsOf(reduceInstance, 'item').every((n) => n === 1)).toBe(true);
  });

  it('sub-tasks may map again; reduce sees every task below the root', { timeout: 120_000 }, async () => {
    const jobId = await saveMapJob('MAP_REDUCE', 'nested');
    const instanceId = await api.data<number>('runJob', { jobId });
    await stack.finished(instanceId);
    expect(runsOf(instanceId, 'region')).toEqual([1, 1, 1]);
    expect(runsOf(instanceId, 'shop')).toEqual(Array(12).fill(1));
    const taskIds = reduced.get(instanceId)!.map((r) => r.taskId);
    expect(taskIds).toEqual(['0.0', '0.0.0', '0.0.1', '0.0.2', '0.0.3', '0.1', '0.1.0', '0.1.1', '0.1.2', '0.1.3', '0.2', '0.2.0', '0.2.1', '0.2.2', '0.2.3']);
    expect(await info(instanceId)).toMatchObject({ status: 5, result: '15 results', map: { total: 15, succeeded: 15, failed: 0 } });
  });

  it('stop cancels every outstanding sub-task and batch', { timeout: 120_000 }, async () => {
    const jobId = await saveMapJob('MAP', 'endless', { concurrency: 2 });
    const instanceId = await api.data<number>('runJob', { jobId });
    // concurrency 2 on the one worker: two sub-tasks run, the rest wait.
    await expect.poll(() => runsOf(instanceId, 'wait').length, { timeout: 30_000 }).toBe(2);
    await expect.poll(async () => (await info(instanceId)).map, { timeout: 10_000 }).toMatchObject({ total: 30, succeeded: 0, failed: 0, running: 30 });

    await api.data('stopInstance', { instanceId });
    await stack.finished(instanceId);
    expect(await info(instanceId)).toMatchObject({ status: 10, map: { total: 30, succeeded: 0, failed: 0, running: 0 } });
    const started = runsOf(instanceId, 'wait');
    expect(started).toEqual([1, 1]);
    await expect.poll(() => [...aborted].filter((key) => key.startsWith(`${instanceId}/`)).length, { timeout: 10_000 }).toBe(started.length);
    await expect.poll(async () => (await stack.client.workflow.count(
      `WorkflowType = 'mapBatchWorkflow' AND TempojobInstanceId = ${instanceId} AND ExecutionStatus = 'Running'`,
    )).count, { timeout: 10_000 }).toBe(0);
    expect(runsOf(instanceId, 'wait')).toHaveLength(started.length);
  });

  it('a large map does not hold up the app\'s other jobs', { timeout: 120_000 }, async () => {
    // A worker with 10 task slots. Ten batches with two sub-tasks in flight each would fill
    // them all; two batches at a time leave room for a STANDALONE job of the same app.
    const busy = await stack.newApp('map-busy');
    await stack.startWorker(busy.appName, { ...processors, echo: () => ({ success: true, msg: 'ran' }) }, { workerId: 'busy-worker', maxConcurrentTasks: 10 });
    const mapJob = await busy.api.data<number>('saveJob', {
      jobName: 'big-map', timeExpressionType: 'API', executeType: 'MAP', processorType: 'BUILT_IN', processorInfo: 'endless', concurrency: 2,
    });
    const mapInstance = await busy.api.data<number>('runJob', { jobId: mapJob, instanceParams: '10000' });
    await expect.poll(() => runsOf(mapInstance, 'wait').length, { timeout: 30_000 }).toBe(2);

    const echoJob = await busy.api.data<number>('saveJob', {
      jobName: 'echo', timeExpressionType: 'API', executeType: 'STANDALONE', processorType: 'BUILT_IN', processorInfo: 'echo',
    });
    const echoInstance = await busy.api.data<number>('runJob', { jobId: echoJob });
    const busyInfo = (instanceId: number) => busy.api.data<Record<string, unknown>>('fetchInstanceInfo', { instanceId });
    await expect.poll(async () => (await busyInfo(echoInstance)).status, { timeout: 30_000 }).toBe(5);
    expect(await busyInfo(echoInstance)).toMatchObject({ result: 'ran' });
    await expect.poll(() => busyInfo(mapInstance), { timeout: 10_000 })
      .toMatchObject({ status: 3, map: { total: 10_000, succeeded: 0, failed: 0, running: 10_000 } });

    // What Temporal holds: two batches running, eight marked waiting for their turn.
    const waiting = async () => {
      let count = 0;
      for await (const batch of stack.client.workflow.list({ query: `WorkflowType = 'mapBatchWorkflow' AND TempojobInstanceId = ${mapInstance}` })) {
        if ((batch.memo?.batch as { waiting?: boolean } | undefined)?.waiting) count++;
      }
      return count;
    };
    await expect.poll(waiting, { timeout: 10_000 }).toBe(8);

    await busy.api.data('stopInstance', { instanceId: mapInstance });
    await stack.finished(mapInstance);
    expect(runsOf(mapInstance, 'wait')).toEqual([1, 1]);
  });

  it('an item over the size limit fails its task with a message saying what to do, and maps nothing', { timeout: 60_000 }, async () => {
    const jobId = await saveMapJob('MAP', 'oversized');
    const instanceId = await api.data<number>('runJob', { jobId });
    await stack.finished(instanceId);
    const result = (await info(instanceId)).result as string;
    expect(result).toMatch(/root task failed: ctx.map: item 1 is 70002 bytes of JSON, over the 65536-byte limit; map ids or keys/);
    const batches = await stack.client.workflow.count(`WorkflowType = 'mapBatchWorkflow' AND TempojobInstanceId = ${instanceId}`);
    expect(batches.count).toBe(0);
  });
});
