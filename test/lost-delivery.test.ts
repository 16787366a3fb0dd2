import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { appTaskQueue, attemptIdempotencyKey } from '../src/contract/names.js';
import { Recorder } from './support/recorder.js';
import { startTestStack, type TestStack } from './support/stack.js';

/**
 * Temporal marks an activity started when it hands the task to a poller. If that answer
 * never reaches the worker (a poll cut off under load), the attempt only times out on its
 * heartbeat. Seen on the cluster: such an instance failed as "worker lost" although no
 * processor ever ran. Here a raw poller takes the attempt and vanishes, exactly that.
 */

let stack: TestStack;
const recorder = new Recorder();

beforeAll(async () => {
  stack = await startTestStack({ TEMPOJOB_HEARTBEAT_TIMEOUT_MS: '2000' });
});
afterAll(() => stack?.close());

describe('an attempt whose delivery was lost', () => {
  it('is dispatched again as the same attempt and runs exactly once', { timeout: 60_000 }, async () => {
    const { appName, api } = await stack.newApp('lost');
    const jobId = await api.data<number>('saveJob', {
      jobName: 'lost', timeExpressionType: 'API', executeType: 'STANDALONE', processorType: 'BUILT_IN', processorInfo: 'once',
    });
    const instanceId = await api.data<number>('runJob', { jobId });

    // A poller that takes the attempt and is never heard of again.
    const taken = await stack.client.connection.withDeadline(Date.now() + 30_000, () => stack.client.workflowService.pollActivityTaskQueue({
      namespace: 'default', taskQueue: { name: appTaskQueue(appName) }, identity: 'black-hole',
    }));
    expect(taken.activityType?.name).toBe('runProcessor');

    await stack.startWorker(appName, recorder.wrap({ once: () => ({ success: true, msg: 'ran' }) }), { workerId: 'real-worker' });
    await stack.finished(instanceId);

    expect(await api.data('fetchInstanceInfo', { instanceId })).toMatchObject({
      status: 5, result: 'ran', runningTimes: 1, taskTrackerAddress: 'real-worker',
    });
    expect(recorder.of(instanceId).map(({ attempt, idempotencyKey }) => ({ attempt, idempotencyKey })))
      .toEqual([{ attempt: 1, idempotencyKey: attemptIdempotencyKey(instanceId, 1) }]);
  });
});
