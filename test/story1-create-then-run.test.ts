import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SA } from '../src/contract/search-attributes.js';
import type { OpenApiCaller } from './support/api-client.js';
import { Recorder } from './support/recorder.js';
import { startTestStack, type TestStack } from './support/stack.js';

/**
 * Failure story 1: a client saves a job and immediately runs it; PowerJob users saw two
 * instances and two executions. Here: exactly one of each, also with client retries.
 */

let stack: TestStack;
let api: OpenApiCaller;
const recorder = new Recorder();

const job = { jobName: 'create-then-run', timeExpressionType: 'API', executeType: 'STANDALONE', processorType: 'BUILT_IN', processorInfo: 'count' };

async function instancesOf(jobId: number): Promise<number> {
  const { count } = await stack.client.workflow.count(`${SA.jobId.name} = ${jobId}`);
  return count;
}

beforeAll(async () => {
  stack = await startTestStack();
  const app = await stack.newApp('story1');
  api = app.api;
  await stack.startWorker(app.appName, recorder.wrap({ count: () => ({ success: true, msg: 'counted' }) }));
});
afterAll(() => stack?.close());

describe('story 1: create-then-run runs once', () => {
  it('saveJob immediately followed by runJob: one instance, one execution', async () => {
    const jobId = await api.data<number>('saveJob', job);
    const instanceId = await api.data<number>('runJob', { jobId, delay: 0 }, { form: true });
    await stack.finished(instanceId);
    expect(recorder.of(instanceId)).toHaveLength(1);
    expect(await api.data('fetchInstanceStatus', { instanceId }, { form: true })).toBe(5);
    await expect.poll(() => instancesOf(jobId), { timeout: 10_000 }).toBe(1);
    expect(recorder.executions.filter((e) => e.instanceId === instanceId)).toHaveLength(1);
  });

  it('a client that retries both calls with their keys: one job, one instance, one execution', async () => {
    const saves = [];
    for (let i = 0; i < 3; i++) saves.push(await api.data<number>('saveJob', job, { idempotencyKey: 'order-42-job' }));
    expect(new Set(saves).size).toBe(1);
    const jobId = saves[0]!;
    const runs = [];
    for (let i = 0; i < 3; i++) runs.push(await api.data<number>('runJob', { jobId, instanceParams: 'x' }, { form: true, idempotencyKey: 'order-42-run' }));
    expect(new Set(runs).size).toBe(1);
    await stack.finished(runs[0]!);
    // A retry after the run finished still maps to the same instance and runs nothing.
    expect(await api.data<number>('runJob', { jobId, instanceParams: 'x' }, { form: true, idempotencyKey: 'order-42-run' })).toBe(runs[0]);
    expect(recorder.of(runs[0]!)).toHaveLength(1);
    await expect.poll(() => instancesOf(jobId), { timeout: 10_000 }).toBe(1);
  });

  it('two identical keyed runJob calls racing: one instance, one execution', async () => {
    const jobId = await api.data<number>('saveJob', job);
    const raced = await Promise.all(Array.from({ length: 10 }, () =>
      api.data<number>('runJob', { jobId }, { form: true, idempotencyKey: 'race' })));
    expect(new Set(raced).size).toBe(1);
    await stack.finished(raced[0]!);
    expect(recorder.of(raced[0]!)).toHaveLength(1);
    await expect.poll(() => instancesOf(jobId), { timeout: 10_000 }).toBe(1);
  });

  it('without a key each call creates, as in PowerJob', async () => {
    const jobId = await api.data<number>('saveJob', job);
    const a = await api.data<number>('runJob', { jobId }, { form: true });
    const b = await api.data<number>('runJob', { jobId }, { form: true });
    expect(a).not.toBe(b);
    await Promise.all([stack.finished(a), stack.finished(b)]);
    expect(recorder.of(a)).toHaveLength(1);
    expect(recorder.of(b)).toHaveLength(1);
    await expect.poll(() => instancesOf(jobId), { timeout: 10_000 }).toBe(2);
  });

  it('the same key with a different request is refused and runs nothing', async () => {
    const jobId = await api.data<number>('saveJob', job);
    const first = await api.data<number>('runJob', { jobId, instanceParams: 'a' }, { idempotencyKey: 'k' });
    const second = await api.call('runJob', { jobId, instanceParams: 'b' }, { idempotencyKey: 'k' });
    expect(second.body).toMatchObject({ success: false, message: expect.stringContaining('already used for a different request') });
    await stack.finished(first);
    await expect.poll(() => instancesOf(jobId), { timeout: 10_000 }).toBe(1);
  });
});
