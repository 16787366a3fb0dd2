import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createClient, InstanceStatus, TempojobError, type TempojobClient } from '../src/client/index.js';
import type { AddressInfo } from 'node:net';
import { createApi } from '../src/api/app.js';
import { InstanceService } from '../src/api/instance-service.js';
import { openLogStore } from '../src/logs/store.js';
import type { JobService } from '../src/api/job-service.js';
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
    expect(workers[0]).toMatchObject({ workerId: 'a-1', tags: ['blue'], identity: expect.stringMatching(/^a-1\[blue\] [0-9a-f]{8}$/), taskQueues: [`app:${myApp}`, `app:${myApp}:w:a-1`] });
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

describe('listInstances', () => {
  it('pages newest first exactly as queryInstance does, a retried instance once, widening its window as far as a page needs', async () => {
    const job = (processorInfo: string) => ({ jobName: `list ${processorInfo}`, timeExpressionType: 'API' as const, executeType: 'STANDALONE' as const, processorType: 'BUILT_IN' as const, processorInfo });
    const okJob = await mine.saveJob(job('ok'));
    const noJob = await mine.saveJob(job('no'));
    const failed = await mine.runJob(noJob);
    await stack.finished(failed);
    const created = [failed];
    for (let i = 0; i < 16; i++) created.push(await mine.runJob(i % 4 === 0 ? noJob : okJob, { delay: 3_600_000 }));
    await mine.retryInstance(failed);
    await expect.poll(async () => (await mine.queryInstance({ pageSize: 1000 })).totalItems, { timeout: 20_000 }).toBeGreaterThanOrEqual(created.length);
    const all = (await mine.queryInstance({ pageSize: 1000, sortBy: 'gmtCreate' })).data.map((i) => i.instanceId);
    await expect.poll(async () => (await mine.countInstances()).total, { timeout: 20_000 }).toBe(all.length + 1);

    // Through the API…
    const pages: number[][] = [];
    for (let index = 0; ; index++) {
      const page = await mine.listInstances({ index, pageSize: 5 });
      pages.push(page.data.map((i) => i.instanceId));
      expect(page.runs).toBe(all.length + 1);
      if (!page.more) break;
    }
    expect(pages.flat()).toEqual(all);
    expect(pages.every((p, i) => p.length === 5 || i === pages.length - 1)).toBe(true);

    // …and from a 1 ms window, widened until each page is sure to be complete.
    const service = new InstanceService(stack.client, {} as JobService, stack.config.TEMPOJOB_CORE_TASK_QUEUE, 0, 0);
    const appId = (await mine.authenticate()).appId;
    const narrow: number[] = [];
    for (let index = 0; ; index++) {
      const page = await service.newest({ appId, appName: myApp }, { index, pageSize: 4 }, 1);
      narrow.push(...page.data.map((v) => v.instanceId));
      if (!page.more) break;
    }
    expect(narrow).toEqual(all);
    const filtered = await mine.listInstances({ jobIdEq: noJob, statusIn: [InstanceStatus.codes.WAITING_DISPATCH], pageSize: 50 });
    expect(filtered.data.map((i) => i.instanceId).sort()).toEqual(created.filter((_, i) => i > 0 && (i - 1) % 4 === 0).sort());
    for (const id of created.slice(1)) await mine.cancelInstance(id);
  });
});

describe('/console', () => {
  it('says how to build the console when the API finds no build', async () => {
    const logStore = await openLogStore({});
    const { app } = createApi({ client: stack.client, config: stack.config, jwtSecret: 'j'.repeat(32), logStore, metrics: false, consoleDir: '/nonexistent/console/dist' });
    const server = app.listen(0, '127.0.0.1');
    await new Promise((resolve) => server.once('listening', resolve));
    try {
      const res = await fetch(`http://127.0.0.1:${(server.address() as AddressInfo).port}/console/jobs`);
      expect(res.status).toBe(503);
      expect(await res.text()).toContain('The console is not built in /nonexistent/console/dist: run `npm run build:console`');
    } finally {
      server.close();
      await logStore.close();
    }
  });
});
