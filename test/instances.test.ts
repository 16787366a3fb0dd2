import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { instanceWorkflowId } from '../src/contract/names.js';
import { SA } from '../src/contract/search-attributes.js';
import type { OpenApiCaller } from './support/api-client.js';
import { Recorder } from './support/recorder.js';
import { startTestStack, type TestStack } from './support/stack.js';

let stack: TestStack;
let api: OpenApiCaller;
let appName: string;
const recorder = new Recorder();
let failuresLeft = 0;

const processors = recorder.wrap({
  echo: (ctx) => ({ success: true, msg: ctx.instanceParams }),
  /** Runs until aborted (stop, timeout). */
  block: async (ctx) => {
    await sleep(120_000, undefined, { signal: ctx.signal });
    return { success: true, msg: 'never' };
  },
  /** Fails while failuresLeft > 0, then succeeds. */
  flaky: () => {
    if (failuresLeft-- > 0) throw new Error('flaky: not yet');
    return { success: true, msg: 'finally' };
  },
  reportsFailure: () => ({ success: false, msg: 'business rule said no' }),
});

async function saveJob(processorInfo: string, extra: Record<string, unknown> = {}): Promise<number> {
  return api.data<number>('saveJob', {
    jobName: processorInfo, timeExpressionType: 'API', executeType: 'STANDALONE', processorType: 'BUILT_IN', processorInfo, ...extra,
  });
}
const info = (instanceId: number) => api.data<Record<string, unknown>>('fetchInstanceInfo', { instanceId }, { form: true });
const status = (instanceId: number) => api.data<number>('fetchInstanceStatus', { instanceId }, { form: true });

beforeAll(async () => {
  stack = await startTestStack();
  const app = await stack.newApp('inst');
  api = app.api;
  appName = app.appName;
  await stack.startWorker(appName, processors, { workerId: 'worker-a' });
});
afterAll(() => stack?.close());

describe('runs', () => {
  it('runs now and records PowerJob statuses, result, timestamps and worker', async () => {
    const jobId = await saveJob('echo', { jobParams: 'static' });
    const before = Date.now();
    const instanceId = await api.data<number>('runJob', { jobId, instanceParams: 'payload' }, { form: true });
    await stack.finished(instanceId);
    const dto = await info(instanceId);
    expect(dto).toMatchObject({
      jobId, appId: api.appId, instanceId, status: 5, result: 'payload', instanceParams: 'payload', jobParams: 'static',
      runningTimes: 1, taskTrackerAddress: 'worker-a', type: 1, wfInstanceId: null,
    });
    expect(dto.expectedTriggerTime as number).toBeGreaterThanOrEqual(before);
    expect(dto.actualTriggerTime as number).toBeGreaterThanOrEqual(dto.expectedTriggerTime as number);
    expect(dto.finishedTime as number).toBeGreaterThanOrEqual(dto.actualTriggerTime as number);
    const execution = recorder.of(instanceId)[0]!;
    expect(execution).toMatchObject({ attempt: 1, workerId: 'worker-a', idempotencyKey: `tempojob:${instanceId}:1` });
  });

  it('fires a delayed run at its fire time, never early', async () => {
    const jobId = await saveJob('echo');
    const sent = Date.now();
    const instanceId = await api.data<number>('runJob', { jobId, delay: 1500 }, { form: true });
    expect(await status(instanceId)).toBe(1);
    await stack.finished(instanceId);
    const dto = await info(instanceId);
    expect(dto.expectedTriggerTime as number).toBeGreaterThanOrEqual(sent + 1500);
    expect(recorder.of(instanceId)[0]!.at).toBeGreaterThanOrEqual(dto.expectedTriggerTime as number);
    expect(recorder.of(instanceId)[0]!.at - (dto.expectedTriggerTime as number)).toBeLessThan(2_000);
  });

  it('is findable in Temporal by app, job, instance and status', async () => {
    const jobId = await saveJob('echo');
    const instanceId = await api.data<number>('runJob', { jobId }, { form: true });
    await stack.finished(instanceId);
    const query = `${SA.appName.name} = '${appName}' AND ${SA.jobId.name} = ${jobId} AND ${SA.instanceId.name} = ${instanceId} AND ${SA.status.name} = 'SUCCEED'`;
    await expect.poll(async () => (await stack.client.workflow.count(query)).count, { timeout: 10_000 }).toBe(1);
  });

  it('cancelInstance on a delayed run: it never executes', async () => {
    const jobId = await saveJob('echo');
    const canceled = await api.data<number>('runJob', { jobId, delay: 1500 }, { form: true });
    const sentinel = await api.data<number>('runJob', { jobId, delay: 1500 }, { form: true });
    await api.data('cancelInstance', { instanceId: canceled }, { form: true });
    expect(await status(canceled)).toBe(9);
    // The sentinel fires at the same moment: once it ran, the canceled one would have too.
    await stack.finished(sentinel);
    expect(recorder.of(sentinel)).toHaveLength(1);
    expect(recorder.of(canceled)).toHaveLength(0);
    expect(await info(canceled)).toMatchObject({ status: 9, result: 'canceled by user', runningTimes: 0 });
    const again = await api.call('cancelInstance', { instanceId: sentinel }, { form: true });
    expect(again.body).toMatchObject({ success: false, message: expect.stringContaining('already finished') });
  });

  it('a run delayed 1 h is held by Temporal alone until a second before it fires; cancel wakes it at once', async () => {
    const jobId = await saveJob('echo');
    const instanceId = await api.data<number>('runJob', { jobId, delay: 3_600_000 }, { form: true });
    const handle = stack.client.workflow.getHandle(instanceWorkflowId(instanceId));
    // Only the start event: no workflow task has run, so no worker holds the run in memory.
    const events = (await handle.fetchHistory()).events ?? [];
    expect(events).toHaveLength(1);
    const backoff = Number(events[0]!.workflowExecutionStartedEventAttributes?.firstWorkflowTaskBackoff?.seconds ?? 0);
    expect(backoff).toBeGreaterThan(3_590);
    expect(backoff).toBeLessThanOrEqual(3_599);
    expect(await status(instanceId)).toBe(1);
    const asked = Date.now();
    await api.data('cancelInstance', { instanceId }, { form: true });
    expect(Date.now() - asked).toBeLessThan(5_000);
    expect(await info(instanceId)).toMatchObject({ status: 9, result: 'canceled by user', runningTimes: 0 });
    expect(recorder.of(instanceId)).toHaveLength(0);
  });

  it('stopInstance on a running instance: the processor sees the abort, status STOPPED', async () => {
    const jobId = await saveJob('block');
    const instanceId = await api.data<number>('runJob', { jobId }, { form: true });
    await recorder.until(() => recorder.of(instanceId).length === 1);
    expect(await status(instanceId)).toBe(3);
    await api.data('stopInstance', { instanceId }, { form: true });
    expect(await status(instanceId)).toBe(10);
    await recorder.until(() => recorder.of(instanceId)[0]!.aborted === true, 20_000);
    const cancel = await api.call('cancelInstance', { instanceId }, { form: true });
    expect(cancel.body.success).toBe(false);
  });

  it('instanceTimeLimit fails the instance and aborts the processor', async () => {
    const jobId = await saveJob('block', { instanceTimeLimit: 1000 });
    const instanceId = await api.data<number>('runJob', { jobId }, { form: true });
    await stack.finished(instanceId);
    expect(await info(instanceId)).toMatchObject({ status: 4, result: 'instance execute timeout' });
    await recorder.until(() => recorder.of(instanceId)[0]?.aborted === true, 20_000);
  });

  it('instanceRetryNum retries failed attempts with backoff, each with its own idempotency key', async () => {
    failuresLeft = 2;
    const jobId = await saveJob('flaky', { instanceRetryNum: 3, retryBackoff: { initialIntervalMs: 200, backoffCoefficient: 2, maximumIntervalMs: 1000 } });
    const instanceId = await api.data<number>('runJob', { jobId }, { form: true });
    await stack.finished(instanceId);
    expect(await info(instanceId)).toMatchObject({ status: 5, result: 'finally', runningTimes: 3 });
    const attempts = recorder.of(instanceId);
    expect(attempts.map((a) => a.attempt)).toEqual([1, 2, 3]);
    expect(new Set(attempts.map((a) => a.idempotencyKey)).size).toBe(3);
    expect(attempts[1]!.at - attempts[0]!.at).toBeGreaterThanOrEqual(200);
    expect(attempts[2]!.at - attempts[1]!.at).toBeGreaterThanOrEqual(400);
  });

  it('a processor reporting failure fails the instance with its message; retryInstance runs it again', async () => {
    const jobId = await saveJob('reportsFailure');
    const instanceId = await api.data<number>('runJob', { jobId }, { form: true });
    await stack.finished(instanceId);
    expect(await info(instanceId)).toMatchObject({ status: 4, result: 'business rule said no', runningTimes: 1 });
    await api.data('retryInstance', { instanceId }, { form: true });
    await stack.finished(instanceId);
    expect(await info(instanceId)).toMatchObject({ status: 4, runningTimes: 2 });
    expect(recorder.of(instanceId).map((e) => e.attempt)).toEqual([1, 2]);
  });

  it('retryInstance as soon as the API reads FAILED, while the run still releases its maxInstanceNum slot, runs it again', async () => {
    const jobId = await saveJob('reportsFailure', { maxInstanceNum: 1 });
    const instanceId = await api.data<number>('runJob', { jobId }, { form: true });
    await expect.poll(() => status(instanceId), { timeout: 10_000, interval: 20 }).toBe(4);
    await api.data('retryInstance', { instanceId }, { form: true });
    await stack.finished(instanceId);
    expect(await info(instanceId)).toMatchObject({ status: 4, runningTimes: 2 });
    expect(recorder.of(instanceId).map((e) => e.attempt)).toEqual([1, 2]);
  });

  it('an unknown processor name fails clearly instead of hanging', async () => {
    const jobId = await saveJob('no.such.processor');
    const instanceId = await api.data<number>('runJob', { jobId }, { form: true });
    await stack.finished(instanceId);
    const dto = await info(instanceId);
    expect(dto.status).toBe(4);
    expect(dto.result).toMatch(/unknown processor "no.such.processor" on worker worker-a/);
  });

  it('maxInstanceNum: a run beyond the limit fails with "too many instances"', async () => {
    const jobId = await saveJob('block', { maxInstanceNum: 1 });
    const first = await api.data<number>('runJob', { jobId }, { form: true });
    await recorder.until(() => recorder.of(first).length === 1);
    const second = await api.data<number>('runJob', { jobId }, { form: true });
    await stack.finished(second);
    expect(await info(second)).toMatchObject({ status: 4, result: 'too many instances(2>1)' });
    expect(recorder.of(second)).toHaveLength(0);
    await api.data('stopInstance', { instanceId: first }, { form: true });
    await stack.finished(first);
    const third = await api.data<number>('runJob', { jobId }, { form: true });
    await recorder.until(() => recorder.of(third).length === 1);
    await api.data('stopInstance', { instanceId: third }, { form: true });
  });

  it('rejects bad runs with a clear message and starts nothing', async () => {
    const jobId = await saveJob('echo');
    const { api: other } = await stack.newApp('inst-other');
    const otherJob = await other.data<number>('saveJob', {
      jobName: 'theirs', timeExpressionType: 'API', executeType: 'STANDALONE', processorType: 'BUILT_IN', processorInfo: 'echo',
    });
    const cases: [Record<string, unknown>, RegExp][] = [
      [{ jobId, delay: -5 }, /delay must be >= 0/],
      [{ jobId, delay: 'soon' }, /delay must be a whole number/],
      [{}, /jobId is required/],
      [{ jobId: 987654321 }, /job 987654321 not found/],
      [{ jobId: otherJob }, new RegExp(`job ${otherJob} not found`)],
    ];
    for (const [body, message] of cases) {
      const res = await api.call('runJob', body, { form: true });
      expect(res.body.success, JSON.stringify(body)).toBe(false);
      expect(res.body.message).toMatch(message);
    }
    const marker = await api.data<number>('runJob', { jobId }, { form: true });
    await stack.finished(marker);
    await expect.poll(async () => (await stack.client.workflow.count(`${SA.jobId.name} = ${jobId}`)).count, { timeout: 10_000 }).toBe(1);
    expect((await stack.client.workflow.count(`${SA.jobId.name} = ${otherJob}`)).count).toBe(0);
  });

  it('answers another app\'s instance as not found, for every instance operation', async () => {
    const jobId = await saveJob('echo');
    const instanceId = await api.data<number>('runJob', { jobId, delay: 60_000 }, { form: true });
    const { api: other } = await stack.newApp('inst-intruder');
    for (const operation of ['fetchInstanceStatus', 'fetchInstanceInfo', 'stopInstance', 'cancelInstance', 'retryInstance']) {
      const res = await other.call(operation, { instanceId }, { form: true });
      expect(res.body, operation).toMatchObject({ success: false, message: expect.stringContaining(`instance ${instanceId} not found`) });
    }
    expect(await status(instanceId)).toBe(1);
    await api.data('cancelInstance', { instanceId }, { form: true });
    const description = await stack.client.workflow.getHandle(instanceWorkflowId(instanceId)).describe();
    expect(description.status.name).toBe('COMPLETED');
  });
});
