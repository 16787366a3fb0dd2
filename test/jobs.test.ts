import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { OpenApiCaller } from './support/api-client.js';
import { startTestStack, type TestStack } from './support/stack.js';

let stack: TestStack;
let api: OpenApiCaller;

const job = (overrides: Record<string, unknown> = {}) => ({
  jobName: 'nightly-report',
  timeExpressionType: 'API',
  executeType: 'STANDALONE',
  processorType: 'BUILT_IN',
  processorInfo: 'demo.echo',
  ...overrides,
});

beforeAll(async () => {
  stack = await startTestStack();
  ({ api } = await stack.newApp('jobs'));
});
afterAll(() => stack?.close());

describe('jobs', () => {
  it('saves, fetches and updates a job in PowerJob shapes', async () => {
    const id = await api.data<number>('saveJob', job({ jobParams: 'p', instanceRetryNum: 2, notifyUserIds: [3, 4], lifeCycle: { start: 1 } }));
    expect(id).toBeGreaterThan(0);
    expect(Number.isSafeInteger(id)).toBe(true);
    const fetched = await api.data<Record<string, unknown>>('fetchJob', { jobId: id }, { form: true });
    expect(fetched).toMatchObject({
      id, appId: api.appId, jobName: 'nightly-report', jobParams: 'p', timeExpressionType: 1, executeType: 1,
      processorType: 1, processorInfo: 'demo.echo', status: 1, instanceRetryNum: 2, concurrency: 5,
      dispatchStrategy: 1, notifyUserIds: '3,4', lifecycle: '{"start":1}',
    });
    expect(new Date(fetched.gmtCreate as string).getTime()).toBeGreaterThan(0);

    expect(await api.data('saveJob', job({ id, jobDescription: 'changed', enable: false }))).toBe(id);
    expect(await api.data('fetchJob', { jobId: id })).toMatchObject({ id, jobDescription: 'changed', status: 2 });
  });

  it('enables, disables and deletes', async () => {
    const id = await api.data<number>('saveJob', job());
    await api.data('disableJob', { jobId: id }, { form: true });
    expect(await api.data('fetchJob', { jobId: id })).toMatchObject({ status: 2 });
    await api.data('enableJob', { jobId: id }, { form: true });
    expect(await api.data('fetchJob', { jobId: id })).toMatchObject({ status: 1 });
    await api.data('deleteJob', { jobId: id }, { form: true });
    expect(await api.data('fetchJob', { jobId: id })).toMatchObject({ status: 99 });
    const again = await api.call('enableJob', { jobId: id });
    expect(again.body).toMatchObject({ success: false, message: expect.stringContaining('was deleted') });
  });

  it('lists every job of the app, and only those', async () => {
    const { api: other } = await stack.newApp('jobs-other');
    const mine = [await api.data<number>('saveJob', job()), await api.data<number>('saveJob', job())];
    const theirs = await other.data<number>('saveJob', job());
    await expect.poll(async () => (await api.data<{ id: number }[]>('fetchAllJob')).map((j) => j.id), { timeout: 10_000 })
      .toEqual(expect.arrayContaining(mine));
    const listed = (await api.data<{ id: number; appId: number }[]>('fetchAllJob'));
    expect(listed.map((j) => j.id)).not.toContain(theirs);
    expect(listed.every((j) => j.appId === api.appId)).toBe(true);
  });

  it('returns the same job for a repeated Idempotency-Key, also when the calls race', async () => {
    const first = await api.data<number>('saveJob', job({ jobName: 'keyed' }), { idempotencyKey: 'save-1' });
    const retried = await api.data<number>('saveJob', job({ jobName: 'keyed' }), { idempotencyKey: 'save-1' });
    expect(retried).toBe(first);
    const raced = await Promise.all(Array.from({ length: 8 }, () =>
      api.data<number>('saveJob', job({ jobName: 'raced' }), { idempotencyKey: 'save-race' })));
    expect(new Set(raced).size).toBe(1);
    const reused = await api.call('saveJob', job({ jobName: 'different' }), { idempotencyKey: 'save-1' });
    expect(reused.body).toMatchObject({ success: false, message: expect.stringContaining('already used for a different request') });
    const marker = await api.data<number>('saveJob', job({ jobName: 'marker' }));
    await expect.poll(async () => (await api.data<{ id: number }[]>('fetchAllJob')).map((j) => j.id), { timeout: 10_000 })
      .toContain(marker);
    const names = (await api.data<{ jobName: string }[]>('fetchAllJob')).map((j) => j.jobName);
    expect(names.filter((n) => n === 'keyed')).toHaveLength(1);
    expect(names.filter((n) => n === 'raced')).toHaveLength(1);
    expect(names).not.toContain('different');
  });

  it('rejects bad input with a message naming the problem, and creates nothing', async () => {
    const { api: fresh } = await stack.newApp('jobs-bad');
    const cases: [string, Parameters<OpenApiCaller['call']>, RegExp][] = [
      ['malformed JSON', ['saveJob', {}, { raw: '{"jobName": ' }], /malformed JSON/],
      ['missing jobName', ['saveJob', job({ jobName: undefined })], /jobName is required/],
      ['missing processorInfo', ['saveJob', job({ processorInfo: undefined })], /processorInfo is required/],
      ['unknown enum name', ['saveJob', job({ executeType: 'EVERYWHERE' })], /executeType/],
      ['enum as a number', ['saveJob', job({ timeExpressionType: 2 })], /timeExpressionType/],
      ['negative retries', ['saveJob', job({ instanceRetryNum: -1 })], /instanceRetryNum must be >= 0/],
      ['not yet supported type', ['saveJob', job({ processorType: 'EXTERNAL' })], /processorType EXTERNAL is not supported/],
      ['map job pinned to workers', ['saveJob', job({ executeType: 'MAP', designatedWorkers: 'w-1' })], /designatedWorkers cannot limit a MAP job/],
      ['another app id', ['saveJob', job({ appId: fresh.appId + 1000 })], /does not match the authenticated app/],
      ['update of an unknown job', ['saveJob', job({ id: 123456 })], /job 123456 not found/],
    ];
    for (const [name, args, message] of cases) {
      const res = await fresh.call(...args);
      expect(res.status, name).toBe(200);
      expect(res.headers.get('X-POWERJOB-AUTH-PASSED'), name).toBe('true');
      expect(res.body.success, name).toBe(false);
      expect(res.body.message, name).toMatch(message);
    }
    const marker = await fresh.data<number>('saveJob', job({ jobName: 'only-one' }));
    await expect.poll(async () => (await fresh.data<{ id: number }[]>('fetchAllJob')).map((j) => j.id), { timeout: 10_000 })
      .toEqual([marker]);
  });

  it('answers another app\'s job as not found, for every job operation', async () => {
    const { api: other } = await stack.newApp('jobs-intruder');
    const id = await api.data<number>('saveJob', job());
    for (const operation of ['fetchJob', 'enableJob', 'disableJob', 'deleteJob', 'runJob']) {
      const res = await other.call(operation, { jobId: id }, { form: true });
      expect(res.body, operation).toMatchObject({ success: false, message: expect.stringContaining(`job ${id} not found`) });
    }
    const update = await other.call('saveJob', job({ id, jobName: 'hijacked' }));
    expect(update.body.success).toBe(false);
    expect(await api.data('fetchJob', { jobId: id })).toMatchObject({ jobName: 'nightly-report', status: 1 });
  });
});
