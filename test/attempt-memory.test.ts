import { Client } from '@temporalio/client';
import { MockActivityEnvironment } from '@temporalio/testing';
import { describe, expect, it } from 'vitest';
import type { MapTaskRequest } from '../src/contract/activities.js';
import { AttemptMemory } from '../src/workers/attempt.js';
import { mapProcessor } from '../src/workers/index.js';
import { processorActivities } from '../src/workers/processor-worker.js';

describe('AttemptMemory: one run per attempt in a worker process', () => {
  it('a second delivery of a running or finished attempt gets the first run\'s outcome, and user code runs once', async () => {
    const memory = new AttemptMemory();
    let runs = 0;
    let finish!: (value: string) => void;
    const call = () => { runs++; return new Promise<string>((resolve) => { finish = resolve; }); };
    const first = memory.once('tempojob:1:1', call);
    const whileRunning = memory.once('tempojob:1:1', call);
    finish('done');
    expect(await first).toBe('done');
    expect(await whileRunning).toBe('done');
    expect(await memory.once('tempojob:1:1', call)).toBe('done');
    expect(runs).toBe(1);
    // Another attempt is another run.
    const next = memory.once('tempojob:1:2', call);
    finish('again');
    expect(await next).toBe('again');
    expect(runs).toBe(2);
  });

  it('forgets a run that failed or was aborted, so a later delivery runs it anew', async () => {
    const memory = new AttemptMemory();
    let runs = 0;
    await expect(memory.once('k', async () => { runs++; throw new Error('aborted'); })).rejects.toThrow('aborted');
    expect(await memory.once('k', async () => { runs++; return 'ran'; })).toBe('ran');
    expect(runs).toBe(2);
  });

  it('a delivery that waited on a run that was aborted runs it anew, once', async () => {
    const memory = new AttemptMemory();
    let runs = 0;
    let abort!: (reason: Error) => void;
    const first = memory.once('k', () => { runs++; return new Promise<string>((_, reject) => { abort = reject; }); });
    const waiting = memory.once('k', async () => { runs++; return 'ran again'; });
    abort(new Error('aborted: the attempt went to another delivery'));
    await expect(first).rejects.toThrow('aborted');
    expect(await waiting).toBe('ran again');
    expect(runs).toBe(2);
  });

  it('keeps at most its capacity of keys, dropping the oldest', async () => {
    const memory = new AttemptMemory(2);
    let runs = 0;
    const call = async () => ++runs;
    for (const key of ['a', 'b', 'c']) await memory.once(key, call);
    expect(await memory.once('c', call)).toBe(3);
    expect(await memory.once('a', call)).toBe(4);
  });
});

describe('map tasks: one run per attempt in a worker process', () => {
  it('two deliveries of the same sub-task attempt run the processor once and report the same outcome', async () => {
    let runs = 0;
    let release!: () => void;
    const gate = new Promise<void>((resolve) => { release = resolve; });
    const activities = processorActivities({ workerId: 'w1', identity: 'w1 test' }, {
      fanOut: mapProcessor({ async process() { runs++; await gate; return { success: true, msg: 'done' }; } }),
    }, new Client());
    const request: MapTaskRequest = {
      instanceId: 7, jobId: 3, appName: 'demo', processorInfo: 'fanOut', jobParams: null, instanceParams: null,
      attempt: 1, maxAttempts: 1, idempotencyKey: 'tempojob:7:1:t:0.5:1', taskId: '0.5', taskName: 'item', subTask: 5,
      scope: {
        parentWorkflowId: 'batch', instanceAttempt: 1, coreTaskQueue: 'core', taskQueue: 'app:demo', appId: 1, window: 5,
        concurrency: 5, taskRetryNum: 0, retryBackoff: { initialIntervalMs: 1_000, backoffCoefficient: 2, maximumIntervalMs: 60_000 }, deadline: Date.now() + 60_000,
        heartbeatTimeoutMs: 10_000, keepResults: false,
      },
    };
    const first = new MockActivityEnvironment().run(activities.runMapTask, request);
    const second = new MockActivityEnvironment().run(activities.runMapTask, request);
    release();
    const outcomes = await Promise.all([first, second]);
    expect(outcomes).toEqual([
      { success: true, msg: 'done', workerIdentity: 'w1', batches: [] },
      { success: true, msg: 'done', workerIdentity: 'w1', batches: [] },
    ]);
    expect(await new MockActivityEnvironment().run(activities.runMapTask, request)).toEqual(outcomes[0]);
    expect(runs).toBe(1);
  });
});
