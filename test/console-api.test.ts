import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createClient, InstanceStatus, TempojobError, type TempojobClient } from '../src/client/index.js';
import { startTestStack, type TestStack } from './support/stack.js';

/**
 * The operations the console needs beyond PowerJob's (listWorkers, countInstances), against
 * the real stack: each app sees its own workers and runs only.
 */

let stack: TestStack;
let mine: TempojobClient;
let theirs: TempojobClient;
let myApp: string;
let theirApp: string;

beforeAll(async () => {
  stack = await startTestStack();
  const a = await stack.newApp('console-a');
  const b = await stack.newApp('console-b');
  myApp = a.appName;
  theirApp = b.appName;
  mine = createClient({ baseUrl: stack.url, appName: a.appName, password: a.password });
  theirs = createClient({ baseUrl: stack.url, appName: b.appName, password: b.password });
  const processors = {
    ok: () => ({ success: true, msg: 'fine' }),
    no: () => ({ success: false, msg: 'refused' }),
  };
  await stack.startWorker(a.appName, processors, { workerId: 'a-1', tags: ['blue'] });
  await stack.startWorker(b.appName, processors, { workerId: 'b-1' });
});
afterAll(() => stack?.close());

describe('listWorkers', () => {
  it('lists the app\'s live workers with tags, last-seen time and task queues, and no other app\'s', async () => {
    const before = Date.now();
    await expect.poll(async () => (await mine.listWorkers()).map((w) => w.workerId), { timeout: 20_000 }).toEqual(['a-1']);
    const workers = await mine.listWorkers();
    expect(workers[0]).toMatchObject({ workerId: 'a-1', tags: ['blue'], identity: 'a-1[blue]', taskQueues: [`app:${myApp}`, `app:${myApp}:w:a-1`] });
    for (const worker of workers) {
      expect(worker.lastSeen).toBeGreaterThan(before - 75_000);
      expect(worker.lastSeen).toBeLessThanOrEqual(Date.now());
    }
    await expect.poll(async () => (await theirs.listWorkers()).map((w) => w.workerId), { timeout: 20_000 }).toEqual(['b-1']);
    expect((await theirs.listWorkers())[0]!.taskQueues).toEqual([`app:${theirApp}`, `app:${theirApp}:w:b-1`]);
  });
});

describe('countInstances', () => {
  it('counts the app\'s runs per status, by job and start time, and none of another app\'s', async () => {
    const started = Date.now();
    const job = (processorInfo: string) => ({ jobName: processorInfo, timeExpressionType: 'API' as const, executeType: 'STANDALONE' as const, processorType: 'BUILT_IN' as const, processorInfo });
    const okJob = await mine.saveJob(job('ok'));
    const noJob = await mine.saveJob(job('no'));
    const ids = [await mine.runJob(okJob), await mine.runJob(okJob), await mine.runJob(noJob)];
    const waiting = await mine.runJob(okJob, { delay: 3_600_000 });
    await Promise.all(ids.map((id) => stack.finished(id)));
    const theirJob = await theirs.saveJob(job('ok'));
    await stack.finished(await theirs.runJob(theirJob));

    const byName = (counts: Awaited<ReturnType<TempojobClient['countInstances']>>) =>
      Object.fromEntries(counts.byStatus.filter((s) => s.count > 0).map((s) => [s.name, s.count]));
    await expect.poll(async () => byName(await mine.countInstances()), { timeout: 20_000 }).toEqual({ SUCCEED: 2, FAILED: 1, WAITING_DISPATCH: 1 });
    const all = await mine.countInstances();
    expect(all.total).toBe(4);
    expect(all.byStatus.map((s) => s.status)).toEqual([1, 3, 4, 5, 9, 10]);
    expect(all.byStatus.find((s) => s.name === 'SUCCEED')!.status).toBe(InstanceStatus.codes.SUCCEED);
    expect(byName(await mine.countInstances({ jobIdEq: noJob }))).toEqual({ FAILED: 1 });
    expect((await mine.countInstances({ startedAfter: started - 60_000, startedBefore: Date.now() + 1_000 })).total).toBe(4);
    expect((await mine.countInstances({ startedBefore: started - 60_000 })).total).toBe(0);
    expect((await mine.countInstances({ jobIdEq: theirJob })).total).toBe(0);
    await expect.poll(async () => (await theirs.countInstances()).total, { timeout: 20_000 }).toBe(1);
    await mine.cancelInstance(waiting);
  });

  it('refuses a window that ends before it starts, saying so', async () => {
    const refused = await mine.countInstances({ startedAfter: 2_000, startedBefore: 1_000 }).catch((err: unknown) => err);
    expect(refused).toBeInstanceOf(TempojobError);
    expect((refused as TempojobError).message).toContain('startedAfter must be before startedBefore');
  });
});
