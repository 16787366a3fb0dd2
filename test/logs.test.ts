import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createClient, type InstanceLogLine, type TempojobClient } from '../src/client/index.js';
import { mapProcessor, type ProcessorDefinition } from '../src/workers/index.js';
import type { OpenApiCaller } from './support/api-client.js';
import { startTestStack, type TestStack } from './support/stack.js';

/**
 * Instance logs end to end: processors write through `ctx.logger`, their worker ships the
 * lines to the API, the API stores them (the embedded PostgreSQL here, the cluster's
 * PostgreSQL in the cluster run) and serves pages, the download and the live tail.
 */

let stack: TestStack;
let api: OpenApiCaller;
let client: TempojobClient;
/** Released by the test that tails a run from before it starts. */
let releaseTailed: () => void = () => undefined;

const processors: Record<string, ProcessorDefinition> = {
  /** Writes `jobParams` lines (default 5) at every level, with fields on the info lines. */
  chatty: (ctx) => {
    const count = Number(ctx.jobParams ?? 5);
    for (let i = 1; i <= count; i++) {
      const level = (['debug', 'info', 'warn', 'error'] as const)[i % 4]!;
      ctx.logger[level](`line ${i} of ${count}`, level === 'info' ? { i } : undefined);
    }
    return { success: true, msg: `wrote ${count}` };
  },
  /** Waits for the test, writing a line every 50 ms until released, then one last line. */
  tailed: async (ctx) => {
    const released = new Promise<void>((resolve) => { releaseTailed = resolve; });
    let i = 0;
    let done = false;
    void released.then(() => { done = true; });
    while (!done) {
      ctx.logger.info(`tick ${++i}`);
      await Promise.race([sleep(50), released]);
    }
    ctx.logger.info('last line');
    return { success: true, msg: `ticked ${i}` };
  },
  /** MAP: the root maps `instanceParams` sub-tasks; each writes 100 lines. */
  fanLogs: mapProcessor({
    async process(ctx) {
      if (ctx.isRootTask) {
        await ctx.map(Array.from({ length: Number(ctx.instanceParams) }, (_, i) => i), 'logger');
        return { success: true, msg: 'mapped' };
      }
      for (let i = 1; i <= 100; i++) ctx.logger.info(`task ${String(ctx.subTask)} line ${i}`);
      return { success: true, msg: 'logged' };
    },
  }),
};

async function saveJob(processorInfo: string, extra: Record<string, unknown> = {}): Promise<number> {
  return api.data<number>('saveJob', {
    jobName: processorInfo, timeExpressionType: 'API', executeType: 'STANDALONE', processorType: 'BUILT_IN', processorInfo, ...extra,
  });
}

async function run(jobId: number, instanceParams?: string): Promise<number> {
  const instanceId = await api.data<number>('runJob', { jobId, ...(instanceParams ? { instanceParams } : {}) }, { form: true });
  await stack.finished(instanceId);
  return instanceId;
}

/** Every stored line of the instance, page by page, as text. */
async function allPages(instanceId: number, filter: Record<string, unknown> = {}): Promise<string[]> {
  const lines: string[] = [];
  for (let index = 0; ; index++) {
    const page = await client.fetchInstanceLog(instanceId, { index, ...filter });
    if (page.data) lines.push(...page.data.split('\n'));
    if (index + 1 >= page.totalPages) return lines;
  }
}

beforeAll(async () => {
  stack = await startTestStack();
  const app = await stack.newApp('logs');
  api = app.api;
  client = createClient({ baseUrl: stack.url, appName: app.appName, password: app.password });
  await stack.startWorker(app.appName, processors, { workerId: 'log-worker', logs: { apiUrl: stack.url, password: app.password } });
});
afterAll(() => stack?.close());

describe('instance logs', () => {
  it('stores every line a processor writes, in order, with level, attempt and worker; pages and download agree', async () => {
    const jobId = await saveJob('chatty', { jobParams: '250', logConfig: { type: 1, level: 1, loggerName: null } });
    const instanceId = await run(jobId);
    await expect.poll(async () => (await client.fetchInstanceLog(instanceId)).totalPages, { timeout: 10_000 }).toBe(3);
    const pages = await allPages(instanceId);
    expect(pages).toHaveLength(250);
    expect(pages.map((line) => /line (\d+) of 250/.exec(line)?.[1]).map(Number)).toEqual(Array.from({ length: 250 }, (_, i) => i + 1));
    expect(pages[0]).toMatch(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3} INFO \[log-worker\] \[attempt 1\] line 1 of 250 \{"i":1\}$/);
    expect(pages[1]).toMatch(/ WARN \[log-worker\] \[attempt 1\] line 2 of 250$/);
    const download = await client.downloadInstanceLog(instanceId);
    expect(download.trimEnd().split('\n')).toEqual(pages);
    // Filters: the lowest level, and an attempt that never ran.
    expect(await allPages(instanceId, { level: 'ERROR' })).toHaveLength(62);
    expect((await client.fetchInstanceLog(instanceId, { attempt: 2 })).totalPages).toBe(0);
  });

  it('honours the job\'s logConfig: level INFO drops debug lines, NULL and LOCAL store nothing', async () => {
    const info = await run(await saveJob('chatty', { jobParams: '8', logConfig: { type: 1, level: 2, loggerName: null } }));
    await expect.poll(async () => (await allPages(info)).length, { timeout: 10_000 }).toBe(6);
    const none = await run(await saveJob('chatty', { jobParams: '8', logConfig: { type: 999, level: 1, loggerName: null } }));
    const local = await run(await saveJob('chatty', { jobParams: '8', logConfig: { type: 2, level: 1, loggerName: null } }));
    // A line shipped after these would be in the store by now: the INFO run's lines above were.
    await client.appendInstanceLog(none, ['marker']);
    expect(await allPages(none)).toEqual([expect.stringMatching(/ INFO \[api\] \[attempt 1\] marker$/)]);
    expect((await client.fetchInstanceLog(local)).totalPages).toBe(0);
  });

  it('a live tail opened before the run gets every line as it is written, in order, and ends with the run; Last-Event-ID resumes', async () => {
    const jobId = await saveJob('tailed');
    const instanceId = await api.data<number>('runJob', { jobId, delay: 1_000 }, { form: true });
    const received: { line: InstanceLogLine; at: number }[] = [];
    const tail = (async () => {
      for await (const line of client.tailInstanceLog(instanceId)) {
        received.push({ line, at: Date.now() });
        if (received.length === 20) releaseTailed();
      }
    })();
    await tail;
    const ticks = received.map(({ line }) => line.message);
    expect(ticks.at(-1)).toBe('last line');
    expect(ticks.slice(0, -1)).toEqual(ticks.slice(0, -1).map((_, i) => `tick ${i + 1}`));
    // Within a second of being written (the processor's clock is this process's).
    for (const { line, at } of received) expect(at - line.time).toBeLessThan(1_000);
    expect(await allPages(instanceId)).toEqual(received.map(({ line }) => line.text));

    // A reconnect after the 10th line gets the 11th on, nothing twice.
    const resumed: string[] = [];
    const res = await fetch(`${stack.url}/openApi/instanceLog/tail?instanceId=${instanceId}`, {
      headers: { 'X-POWERJOB-APP-ID': String(api.appId), 'X-POWERJOB-ACCESS-TOKEN': api.token, 'Last-Event-ID': String(received[9]!.line.id) },
    });
    const text = await res.text();
    for (const match of text.matchAll(/^event: line\ndata: (\{.*\})$/gm)) resumed.push((JSON.parse(match[1]!) as InstanceLogLine).message);
    expect(resumed).toEqual(ticks.slice(10));
    expect(text).toMatch(/event: end/);
  });

  it('a MAP job of 1,000 sub-tasks writing 100 lines each stores exactly 100,000 lines, in order per sub-task, none twice', { timeout: 180_000 }, async () => {
    const jobId = await saveJob('fanLogs', { executeType: 'MAP' });
    const instanceId = await run(jobId, '1000');
    expect(await api.data('fetchInstanceStatus', { instanceId }, { form: true })).toBe(5);
    await expect.poll(async () => (await client.fetchInstanceLog(instanceId)).totalPages, { timeout: 60_000, interval: 500 }).toBe(1_000);
    const lines = (await client.downloadInstanceLog(instanceId)).trimEnd().split('\n');
    expect(lines).toHaveLength(100_000);
    expect(new Set(lines.map((line) => line.replace(/^\S+ \S+ /, ''))).size).toBe(100_000);
    const next = new Map<string, number>();
    for (const line of lines) {
      const [, task, n] = /task (\d+) line (\d+)$/.exec(line)!;
      expect(Number(n)).toBe((next.get(task!) ?? 0) + 1);
      next.set(task!, Number(n));
    }
    expect(next.size).toBe(1_000);
    // Pages are slices of the same order as the download (the first, a middle and the last).
    for (const index of [0, 517, 999]) {
      expect((await client.fetchInstanceLog(instanceId, { index })).data.split('\n')).toEqual(lines.slice(index * 100, index * 100 + 100));
    }
  });

  it('appendInstanceLog adds lines from outside; with an Idempotency-Key a re-send stores nothing twice', async () => {
    const instanceId = await run(await saveJob('chatty', { jobParams: '0' }));
    expect(await client.appendInstanceLog(instanceId, ['from the billing system', 'second'], { level: 'WARN', idempotencyKey: 'billing-1' })).toEqual({ stored: 2 });
    expect(await client.appendInstanceLog(instanceId, ['from the billing system', 'second'], { level: 'WARN', idempotencyKey: 'billing-1' })).toEqual({ stored: 0 });
    expect(await allPages(instanceId)).toEqual([
      expect.stringMatching(/ WARN \[api\] \[attempt 1\] from the billing system$/),
      expect.stringMatching(/ WARN \[api\] \[attempt 1\] second$/),
    ]);
  });

  it('refuses bad input with a clear error and stores nothing', async () => {
    const instanceId = await run(await saveJob('chatty', { jobParams: '0' }));
    const refusals: [string, Record<string, unknown>, RegExp][] = [
      ['fetchInstanceLog', { instanceId: 9_007_199_254_740_000 }, /instance 9007199254740000 not found in app logs-/],
      ['fetchInstanceLog', { instanceId, index: -1 }, /index must be >= 0/],
      ['appendInstanceLog', { instanceId, lines: ['x'.repeat(16_385)] }, /a log line must be at most 16384 characters/],
      ['appendInstanceLog', { instanceId, lines: ['ok'], level: 'LOUD' }, /level must be one of DEBUG, INFO, WARN, ERROR/],
      ['appendInstanceLog', { instanceId, lines: [] }, /lines must not be empty/],
      ['shipInstanceLog', { lines: [{ instanceId, attempt: 1, taskId: null, workerId: 'w', stream: 's', seq: 0, level: 'INFO', time: 1, message: 'm', fields: null }] }, /seq must be >= 1/],
    ];
    for (const [operation, body, message] of refusals) {
      const res = await api.call(operation, body);
      expect(res.body.success, operation).toBe(false);
      expect(res.body.message, operation).toMatch(message);
    }
    expect((await client.fetchInstanceLog(instanceId)).totalPages).toBe(0);
  });
});
