import { EventEmitter } from 'node:events';
import { whenTrue } from './support/recorder.js';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, afterEach, beforeAll, describe, expect, inject, it } from 'vitest';
import type { InstanceState } from '../src/domain/instance.js';
import { broadcastShareWorkflowId } from '../src/contract/names.js';
import { SA } from '../src/contract/search-attributes.js';
import { broadcastProcessor, createWorker, type ProcessorDefinition, type ProcessorWorker, type TaskContext, type TaskResult } from '../src/workers/index.js';
import { liveAppWorkers } from '../src/activities/workers.js';
import type { OpenApiCaller } from './support/api-client.js';
import { eventually } from './support/eventually.js';
import { startTestStack, type TestStack } from './support/stack.js';

/**
 * BROADCAST with in-process workers (each its own Temporal connection and identity):
 * PowerJob's pre/process/post contract, per-worker status, targeting, stop and timeout.
 * Worker crashes (SIGKILL of real processes) are in broadcast-faults.test.ts.
 */

interface Execution {
  phase: 'pre' | 'process' | 'post' | 'standalone';
  instanceId: number;
  workerId: string;
  attempt: number;
  idempotencyKey: string;
  taskName: string | undefined;
  results?: TaskResult[];
  aborted?: boolean;
}

/** Every processor call of this file, awaitable as events (no sleeps as synchronisation). */
class Log {
  readonly executions: Execution[] = [];
  private readonly events = new EventEmitter();

  add(phase: Execution['phase'], ctx: TaskContext, results?: TaskResult[]): Execution {
    const execution: Execution = {
      phase, instanceId: ctx.instanceId, workerId: ctx.workerId, attempt: ctx.attempt,
      idempotencyKey: ctx.idempotencyKey, taskName: ctx.taskName, ...(results ? { results } : {}),
    };
    this.executions.push(execution);
    ctx.signal.addEventListener('abort', () => {
      execution.aborted = true;
      this.events.emit('change');
    });
    this.events.emit('change');
    return execution;
  }

  of(instanceId: number, phase?: Execution['phase']): Execution[] {
    return this.executions.filter((e) => e.instanceId === instanceId && (!phase || e.phase === phase));
  }

  until(predicate: () => boolean, timeoutMs = 30_000): Promise<void> {
    return whenTrue(this.events, predicate, timeoutMs);
  }

}

const log = new Log();
/** Workers on which `flaky` fails its first attempt. */
const failOnce = new Set<string>();
/** Workers on which `flaky` always fails. */
const failAlways = new Set<string>();
let preGate: Promise<void> = Promise.resolve();

const blockUntilAborted = async (ctx: TaskContext) => {
  await sleep(120_000, undefined, { signal: ctx.signal });
  return { success: true, msg: 'never' };
};

const processors: Record<string, ProcessorDefinition> = {
  /** A full BroadcastProcessor: its postProcess result is the instance's. */
  full: {
    preProcess: (ctx) => { log.add('pre', ctx); return { success: true, msg: 'prepared' }; },
    process: (ctx) => { log.add('process', ctx); return { success: true, msg: `done on ${ctx.workerId}` }; },
    postProcess: (ctx, results) => {
      log.add('post', ctx, results);
      return { success: true, msg: `post saw ${results.map((r) => `${r.workerId}=${r.success}`).join(',')}` };
    },
  },
  /** A plain function: PowerJob's default pre/postProcess around it; also runs STANDALONE. */
  plain: (ctx) => { log.add(ctx.taskName ? 'process' : 'standalone', ctx); return { success: true, msg: `plain on ${ctx.workerId}` }; },
  /** Fails on the workers in failOnce (first attempt) and failAlways. */
  flaky: broadcastProcessor({
    process: (ctx) => {
      log.add('process', ctx);
      if (failAlways.has(ctx.workerId) || (failOnce.has(ctx.workerId) && ctx.attempt === 1)) {
        throw new Error(`flaky failure on ${ctx.workerId}`);
      }
      return { success: true, msg: `ok on ${ctx.workerId} attempt ${ctx.attempt}` };
    },
    postProcess: (ctx, results) => {
      log.add('post', ctx, results);
      const failed = results.filter((r) => !r.success).length;
      return { success: failed === 0, msg: `succeed:${results.length - failed}, failed:${failed}` };
    },
  }),
  preFails: {
    preProcess: (ctx) => { log.add('pre', ctx); throw new Error('the config store is read-only'); },
    process: (ctx) => { log.add('process', ctx); return { success: true }; },
    postProcess: (ctx, results) => { log.add('post', ctx, results); return { success: true }; },
  },
  /** preProcess waits for the test's gate (to start a worker mid-broadcast). */
  gated: {
    preProcess: async (ctx) => { log.add('pre', ctx); await preGate; return { success: true }; },
    process: (ctx) => { log.add('process', ctx); return { success: true, msg: ctx.workerId }; },
    postProcess: (ctx, results) => { log.add('post', ctx, results); return { success: true, msg: `${results.length} results` }; },
  },
  block: {
    process: (ctx) => { log.add('process', ctx); return blockUntilAborted(ctx); },
    postProcess: (ctx, results) => { log.add('post', ctx, results); return { success: true }; },
  },
};

let stack: TestStack;
const started: { worker: ProcessorWorker; done: Promise<void> }[] = [];

/** Each worker with its own connection, as separate processes would have. */
async function startWorkers(appName: string, specs: { id: string; tags?: string[] }[]): Promise<void> {
  await Promise.all(specs.map(async ({ id, tags }) => {
    const worker = await createWorker({
      appName, processors, workerId: id, ...(tags ? { tags } : {}), address: inject('temporalAddress'), shutdownGraceMs: 0,
    });
    started.push({ worker, done: worker.run() });
  }));
  // Membership is Temporal's view: fire only once Temporal lists every worker just started.
  const ids = specs.map((s) => s.id);
  await eventually(() => liveAppWorkers(stack.client, appName), (live) => ids.every((id) => live.some((w) => w.workerId === id)), 30_000);
}

async function newApp(workers: { id: string; tags?: string[] }[]) {
  const { appName, api } = await stack.newApp('bcast');
  await startWorkers(appName, workers);
  const saveJob = (processorInfo: string, extra: Record<string, unknown> = {}) => api.data<number>('saveJob', {
    jobName: processorInfo, timeExpressionType: 'API', executeType: 'BROADCAST', processorType: 'BUILT_IN', processorInfo, ...extra,
  });
  const run = (jobId: number) => api.data<number>('runJob', { jobId }, { form: true });
  return { appName, api, saveJob, run };
}

interface InfoDTO {
  status: number;
  result: string | null;
  taskTrackerAddress: string;
  runningTimes: number;
  broadcast?: { workerId: string; status: string; result: string | null; attempts: number }[];
}
const info = (api: OpenApiCaller, instanceId: number) => api.data<InfoDTO>('fetchInstanceInfo', { instanceId }, { form: true });

beforeAll(async () => {
  stack = await startTestStack();
});
afterEach(async () => {
  for (const { worker, done } of started.splice(0)) {
    await worker.shutdown();
    await done;
  }
});
afterAll(() => stack?.close());

describe('broadcast', () => {
  it('runs preProcess once, process once on every live worker, postProcess once with every result', async () => {
    const { api, saveJob, run } = await newApp([{ id: 'w-a' }, { id: 'w-b', tags: ['gpu'] }, { id: 'w-c' }]);
    const jobId = await saveJob('full');
    const instanceId = await run(jobId);
    const state = (await stack.finished(instanceId)) as InstanceState;
    expect(state.status).toBe('SUCCEED');

    expect(log.of(instanceId, 'pre')).toHaveLength(1);
    const processed = log.of(instanceId, 'process');
    expect(processed.map((e) => e.workerId).sort()).toEqual(['w-a', 'w-b', 'w-c']);
    expect(new Set(processed.map((e) => e.idempotencyKey)).size).toBe(3);
    expect(processed.every((e) => e.taskName === 'OMS_BROADCAST_TASK' && e.attempt === 1)).toBe(true);
    const post = log.of(instanceId, 'post');
    expect(post).toHaveLength(1);
    expect(post[0]!.results!.map((r) => [r.workerId, r.success, r.result])).toEqual([
      ['w-a', true, 'done on w-a'], ['w-b', true, 'done on w-b'], ['w-c', true, 'done on w-c'],
    ]);

    const dto = await info(api, instanceId);
    expect(dto).toMatchObject({ status: 5, result: 'post saw w-a=true,w-b=true,w-c=true', runningTimes: 1 });
    expect(['w-a', 'w-b', 'w-c']).toContain(dto.taskTrackerAddress);
    expect(dto.broadcast).toEqual(['w-a', 'w-b', 'w-c'].map((workerId) => ({ workerId, status: 'SUCCEED', result: `done on ${workerId}`, attempts: 1 })));

    // What Temporal holds: one completed child per worker under its deterministic id, findable by instance.
    for (const workerId of ['w-a', 'w-b', 'w-c']) {
      const child = await stack.client.workflow.getHandle(broadcastShareWorkflowId(instanceId, workerId)).describe();
      expect(child.status.name).toBe('COMPLETED');
      expect(child.memo?.share).toMatchObject({ workerId, status: 'SUCCEED', attempts: 1 });
    }
    const query = `WorkflowType = 'broadcastShareWorkflow' AND ${SA.instanceId.name} = ${instanceId} AND ${SA.status.name} = 'SUCCEED'`;
    await expect.poll(async () => (await stack.client.workflow.count(query)).count, { timeout: 10_000 }).toBe(3);
  });

  it('a plain function gets PowerJob\'s defaults: postProcess succeeds iff no worker failed, "succeed:N, failed:M"', async () => {
    const { api, saveJob, run } = await newApp([{ id: 'p-1' }, { id: 'p-2' }]);
    const instanceId = await run(await saveJob('plain'));
    await stack.finished(instanceId);
    expect(await info(api, instanceId)).toMatchObject({ status: 5, result: 'succeed:2, failed:0' });
    expect(log.of(instanceId, 'process').map((e) => e.workerId).sort()).toEqual(['p-1', 'p-2']);
  });

  it('a failed share fails the instance by default; taskRetryNum retries a share only on its own worker', async () => {
    const { api, saveJob, run } = await newApp([{ id: 'f-1' }, { id: 'f-2' }, { id: 'f-3' }]);
    failAlways.add('f-2');
    const failing = await run(await saveJob('flaky'));
    await stack.finished(failing);
    const failed = await info(api, failing);
    expect(failed).toMatchObject({ status: 4, result: 'succeed:2, failed:1' });
    expect(failed.broadcast!.find((s) => s.workerId === 'f-2')).toMatchObject({ status: 'FAILED', result: 'flaky failure on f-2', attempts: 1 });
    expect(log.of(failing, 'process')).toHaveLength(3);

    failOnce.add('f-3');
    const retryBackoff = { initialIntervalMs: 100, backoffCoefficient: 1, maximumIntervalMs: 100 };
    const retried = await run(await saveJob('flaky', { taskRetryNum: 2, retryBackoff }));
    await stack.finished(retried);
    const dto = await info(api, retried);
    // f-2 fails 3 times (1 + taskRetryNum), f-3 once then succeeds: every attempt on its own worker.
    expect(dto).toMatchObject({ status: 4, result: 'succeed:2, failed:1' });
    expect(dto.broadcast).toEqual([
      { workerId: 'f-1', status: 'SUCCEED', result: 'ok on f-1 attempt 1', attempts: 1 },
      { workerId: 'f-2', status: 'FAILED', result: 'flaky failure on f-2', attempts: 3 },
      { workerId: 'f-3', status: 'SUCCEED', result: 'ok on f-3 attempt 2', attempts: 2 },
    ]);
    const byWorker = (id: string) => log.of(retried, 'process').filter((e) => e.workerId === id).map((e) => e.attempt);
    expect(byWorker('f-1')).toEqual([1]);
    expect(byWorker('f-2')).toEqual([1, 2, 3]);
    expect(byWorker('f-3')).toEqual([1, 2]);
    expect(new Set(log.of(retried, 'process').map((e) => e.idempotencyKey)).size).toBe(6);
    expect(log.of(retried, 'post')).toHaveLength(1);
    failAlways.clear();
    failOnce.clear();
  });

  it('preProcess failure: no worker runs process, the instance fails with that reason', async () => {
    const { api, saveJob, run } = await newApp([{ id: 'x-1' }, { id: 'x-2' }]);
    const instanceId = await run(await saveJob('preFails'));
    await stack.finished(instanceId);
    expect(await info(api, instanceId)).toMatchObject({ status: 4, result: 'preProcess failed: the config store is read-only' });
    expect(log.of(instanceId, 'pre')).toHaveLength(1);
    expect(log.of(instanceId, 'process')).toHaveLength(0);
    expect(log.of(instanceId, 'post')).toHaveLength(0);
  });

  it('a worker that joins after the fire is not included', async () => {
    const { appName, api, saveJob, run } = await newApp([{ id: 'j-1' }, { id: 'j-2' }]);
    let open!: () => void;
    preGate = new Promise((resolveGate) => { open = resolveGate; });
    const instanceId = await run(await saveJob('gated'));
    await log.until(() => log.of(instanceId, 'pre').length === 1);
    await startWorkers(appName, [{ id: 'j-late' }]);
    open();
    await stack.finished(instanceId);
    expect(log.of(instanceId, 'process').map((e) => e.workerId).sort()).toEqual(['j-1', 'j-2']);
    expect(await info(api, instanceId)).toMatchObject({ status: 5, result: '2 results' });
    // The late worker is a full member of the next broadcast.
    const next = await run(await saveJob('gated'));
    await stack.finished(next);
    expect(log.of(next, 'process').map((e) => e.workerId).sort()).toEqual(['j-1', 'j-2', 'j-late']);
  });

  it('a worker that shut down before the fire is left out (its shutdown heartbeat says so)', async () => {
    const { api, saveJob, run } = await newApp([{ id: 'g-1' }, { id: 'g-2' }, { id: 'g-3' }]);
    const leaving = started.find(({ worker }) => worker.workerId === 'g-2')!;
    await leaving.worker.shutdown();
    await leaving.done;
    const instanceId = await run(await saveJob('plain'));
    await stack.finished(instanceId);
    expect(log.of(instanceId, 'process').map((e) => e.workerId).sort()).toEqual(['g-1', 'g-3']);
    expect(await info(api, instanceId)).toMatchObject({ status: 5, result: 'succeed:2, failed:0' });
  });

  it('stopInstance reaches every worker\'s share: each processor is aborted, postProcess never runs', async () => {
    const { api, saveJob, run } = await newApp([{ id: 's-1' }, { id: 's-2' }, { id: 's-3' }]);
    const instanceId = await run(await saveJob('block'));
    await log.until(() => log.of(instanceId, 'process').length === 3);
    await api.data('stopInstance', { instanceId }, { form: true });
    await stack.finished(instanceId);
    const dto = await info(api, instanceId);
    expect(dto.status).toBe(10);
    expect(dto.broadcast!.map((s) => s.status)).toEqual(['STOPPED', 'STOPPED', 'STOPPED']);
    await log.until(() => log.of(instanceId, 'process').every((e) => e.aborted), 20_000);
    expect(log.of(instanceId, 'process')).toHaveLength(3);
    expect(log.of(instanceId, 'post')).toHaveLength(0);
  });

  it('instanceTimeLimit fails the instance and aborts every share', async () => {
    const { api, saveJob, run } = await newApp([{ id: 't-1' }, { id: 't-2' }]);
    const instanceId = await run(await saveJob('block', { instanceTimeLimit: 2_000 }));
    await stack.finished(instanceId);
    const dto = await info(api, instanceId);
    expect(dto).toMatchObject({ status: 4, result: 'instance execute timeout' });
    expect(dto.broadcast!.map((s) => [s.status, s.result])).toEqual([['FAILED', 'instance execute timeout'], ['FAILED', 'instance execute timeout']]);
    await log.until(() => log.of(instanceId, 'process').length === 2 && log.of(instanceId, 'process').every((e) => e.aborted), 20_000);
    expect(log.of(instanceId, 'post')).toHaveLength(0);
  });
});

describe('targeting (designatedWorkers, maxWorkerCount, tags)', () => {
  it('limits a broadcast to the designated ids and tags, and to maxWorkerCount of them', async () => {
    const { api, saveJob, run } = await newApp([
      { id: 'd-1', tags: ['eu'] }, { id: 'd-2', tags: ['eu', 'gpu'] }, { id: 'd-3', tags: ['us'] }, { id: 'd-4' },
    ]);
    const byTagAndId = await run(await saveJob('plain', { designatedWorkers: 'eu, d-4' }));
    await stack.finished(byTagAndId);
    expect(log.of(byTagAndId, 'process').map((e) => e.workerId).sort()).toEqual(['d-1', 'd-2', 'd-4']);
    expect((await info(api, byTagAndId)).broadcast!.map((s) => s.workerId)).toEqual(['d-1', 'd-2', 'd-4']);

    const capped = await run(await saveJob('plain', { designatedWorkers: 'eu,us', maxWorkerCount: 2 }));
    await stack.finished(capped);
    const ran = log.of(capped, 'process').map((e) => e.workerId);
    expect(ran).toHaveLength(2);
    expect(new Set(ran).size).toBe(2);
    expect(ran.every((id) => ['d-1', 'd-2', 'd-3'].includes(id))).toBe(true);
    expect(await info(api, capped)).toMatchObject({ status: 5, result: 'succeed:2, failed:0' });
  });

  it('STANDALONE with designated workers runs on a live designated worker, through its own queue', async () => {
    const { api } = await newApp([{ id: 'sa-1' }, { id: 'sa-2', tags: ['batch'] }, { id: 'sa-3' }]);
    const jobId = await api.data<number>('saveJob', {
      jobName: 'pinned', timeExpressionType: 'API', executeType: 'STANDALONE', processorType: 'BUILT_IN', processorInfo: 'plain',
      designatedWorkers: 'batch',
    });
    const ids = await Promise.all([1, 2, 3, 4].map(() => api.data<number>('runJob', { jobId }, { form: true })));
    await Promise.all(ids.map((id) => stack.finished(id)));
    for (const id of ids) {
      expect(log.of(id, 'standalone').map((e) => e.workerId)).toEqual(['sa-2']);
      expect(await info(api, id)).toMatchObject({ status: 5, taskTrackerAddress: 'sa-2', result: 'plain on sa-2' });
    }
  });

  it('no live designated worker: a clear "no worker available" failure, not a hang', async () => {
    const { api, saveJob } = await newApp([{ id: 'n-1' }]);
    const standalone = await api.data<number>('saveJob', {
      jobName: 'nobody', timeExpressionType: 'API', executeType: 'STANDALONE', processorType: 'BUILT_IN', processorInfo: 'plain',
      designatedWorkers: 'no-such-worker,no-such-tag',
    });
    const broadcast = await saveJob('plain', { designatedWorkers: 'no-such-tag' });
    const sent = Date.now();
    const ids = [
      await api.data<number>('runJob', { jobId: standalone }, { form: true }),
      await api.data<number>('runJob', { jobId: broadcast }, { form: true }),
    ];
    await Promise.all(ids.map((id) => stack.finished(id)));
    expect(Date.now() - sent).toBeLessThan(15_000);
    for (const id of ids) {
      const dto = await info(api, id);
      expect(dto.status).toBe(4);
      expect(dto.result).toMatch(/^no worker available: no live worker of app .* matches designatedWorkers no-such/);
      expect(log.of(id)).toHaveLength(0);
    }
  });

  it('refuses malformed targeting with a clear message and saves nothing', async () => {
    const { api } = await stack.newApp('bcast-bad');
    const base = { jobName: 'bad', timeExpressionType: 'API', executeType: 'BROADCAST', processorType: 'BUILT_IN', processorInfo: 'plain' };
    const cases: [Record<string, unknown>, RegExp][] = [
      [{ designatedWorkers: 'a b' }, /designatedWorkers entry "a b" is not a worker id or tag/],
      [{ designatedWorkers: 'ok,[x]' }, /designatedWorkers entry "\[x\]"/],
      [{ maxWorkerCount: -1 }, /maxWorkerCount/],
    ];
    for (const [extra, message] of cases) {
      const res = await api.call('saveJob', { ...base, ...extra });
      expect(res.body.success, JSON.stringify(extra)).toBe(false);
      expect(res.body.message).toMatch(message);
    }
    expect(await api.data<unknown[]>('fetchAllJob')).toEqual([]);
  });
});
