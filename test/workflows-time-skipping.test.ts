import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { Context } from '@temporalio/activity';
import type { WorkflowHandle } from '@temporalio/client';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { Worker } from '@temporalio/worker';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type {
  CoreActivities, MapTaskOutcome, MapTaskRequest, ProcessOutcome, ProcessRequest, ProcessorActivities,
} from '../src/contract/activities.js';
import { decideLateFireUpdate, stopInstanceUpdate } from '../src/contract/messages.js';
import { MemoKey } from '../src/contract/memo.js';
import { appTaskQueue, mapBatchWorkflowId } from '../src/contract/names.js';
import { ALL_SEARCH_ATTRIBUTES } from '../src/contract/search-attributes.js';
import { instanceStartOptions, mapBatchStartOptions } from '../src/contract/start-options.js';
import { type LateFire, type MapBatchInput, type MisfireDecision, WorkflowType } from '../src/contract/workflows.js';
import { type InstanceState, SystemResult, newInstanceInput } from '../src/domain/instance.js';
import { type JobDefinition, type JobSnapshot, type MisfirePolicy, type RetryBackoff, backoffMs } from '../src/domain/job.js';
import { MAP_LIMITS } from '../src/domain/map.js';
import type { LiveWorker } from '../src/domain/targeting.js';
import { createTimeSkippingEnv } from './support/time-skipping.js';
import { metricsSinks } from '../src/metrics/sinks.js';

/**
 * The workflows' logic on Temporal's time-skipping test server (test/support/time-skipping.ts):
 * the bundled workflows of this run (test/global-setup.ts) on a core worker, processor and
 * core activities replaced by fakes registered under their real names. Backoffs, delays and
 * time limits of minutes or hours pass in milliseconds of real time; what the fakes see
 * (attempts, the server's clock when each was scheduled) and what the workflows return are
 * what a user would see in fetchInstanceInfo.
 */

const CORE_QUEUE = 'core-time-skipping';
const WORKER = 'w1';

let env: TestWorkflowEnvironment;
let core: Worker;
let coreDone: Promise<void>;
/** What the fake `liveWorkers` answers, per app (maps size their window by it). */
const liveByApp = new Map<string, LiveWorker[]>();

const coreActivities: CoreActivities = {
  liveWorkers: ({ appName }) => Promise.resolve(liveByApp.get(appName) ?? []),
  acquireJobSlot: () => Promise.reject(new Error('no test here uses maxInstanceNum')),
  decideLateFire: () => Promise.reject(new Error('no test here fires late')),
  acquireWorkflowSlot: () => Promise.reject(new Error('no test here runs workflows')),
  evaluateDecision: () => Promise.reject(new Error('no test here runs workflows')),
  freezeWorkflowRun: () => Promise.reject(new Error('no test here runs workflows')),
};

beforeAll(async () => {
  env = await createTimeSkippingEnv(ALL_SEARCH_ATTRIBUTES);
  core = await Worker.create({
    connection: env.nativeConnection,
    taskQueue: CORE_QUEUE,
    workflowBundle: { code: readFileSync(inject('workflowBundlePath'), 'utf8') },
    activities: coreActivities,
    sinks: metricsSinks(undefined),
  });
  coreDone = core.run();
}, 60_000);

afterAll(async () => {
  if (core?.getState() === 'RUNNING') core.shutdown();
  await coreDone;
  await env?.teardown();
});

/** Runs `body` while a processor worker of a fresh app polls `app:<appName>` with `activities`. */
async function withApp<T>(activities: Partial<ProcessorActivities>, body: (appName: string) => Promise<T>): Promise<T> {
  const appName = `app-${randomBytes(4).toString('hex')}`;
  const worker = await Worker.create({ connection: env.nativeConnection, taskQueue: appTaskQueue(appName), activities, shutdownGraceTime: 0 });
  return worker.runUntil(body(appName));
}

let nextId = 1;
function job(fields: Partial<JobSnapshot>): JobSnapshot {
  return {
    id: nextId++, appId: 1, jobName: 'test', jobParams: null, executeType: 'STANDALONE', processorType: 'BUILT_IN', processorInfo: 'work',
    maxInstanceNum: 0, concurrency: 5, instanceTimeLimit: 0, instanceRetryNum: 0, taskRetryNum: 0,
    retryBackoff: { initialIntervalMs: 1_000, backoffCoefficient: 2, maximumIntervalMs: 60_000 },
    designatedWorkers: null, maxWorkerCount: 0,
    ...fields,
  };
}

/** Starts an instance of `snapshot` on app `appName`, due now (the test server's clock). */
async function startInstance(appName: string, snapshot: JobSnapshot): Promise<WorkflowHandle> {
  const now = await env.currentTimeMs();
  const input = newInstanceInput({
    instanceId: nextId++, appName, job: snapshot, instanceParams: 'params', expectedTriggerTime: now, createdAt: now, heartbeatTimeoutMs: 3_600_000,
  });
  return env.client.workflow.start(WorkflowType.instance, { ...instanceStartOptions(input), taskQueue: CORE_QUEUE });
}

const finalState = (handle: WorkflowHandle) => handle.result() as Promise<InstanceState>;
/** The fields of an instance's state a user reads in fetchInstanceInfo (typed, so a renamed field fails to compile). */
const expectState = (state: InstanceState, expected: Partial<InstanceState>): void => { expect(state).toMatchObject(expected); };

async function memoState(handle: WorkflowHandle): Promise<InstanceState> {
  return (await handle.describe()).memo?.[MemoKey.instance] as InstanceState;
}

/** Polls in-process or server state (never a fixed wait) until `probe` holds. */
async function until(what: string, probe: () => boolean | Promise<boolean>, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await probe())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** One call of a fake processor, with the server's clock when its activity was scheduled. */
interface Call {
  attempt: number;
  idempotencyKey: string;
  scheduledAt: number;
}
function recordCall(calls: Call[], request: ProcessRequest): void {
  calls.push({ attempt: request.attempt, idempotencyKey: request.idempotencyKey, scheduledAt: Context.current().info.scheduledTimestampMs });
}
const gaps = (calls: Call[]) => calls.slice(1).map((call, i) => call.scheduledAt - calls[i]!.scheduledAt);
const outcome = (success: boolean, msg: string): ProcessOutcome => ({ success, msg, workerIdentity: WORKER });

describe('the attempt loop (instanceWorkflow, STANDALONE)', () => {
  it('retries a failing processor with the job\'s backoff between attempts and ends SUCCEED with its result', async () => {
    const backoff: RetryBackoff = { initialIntervalMs: 60_000, backoffCoefficient: 2, maximumIntervalMs: 600_000 };
    const calls: Call[] = [];
    const state = await withApp({
      runProcessor: (request) => {
        recordCall(calls, request);
        return Promise.resolve(request.attempt < 3 ? outcome(false, `not yet (${request.attempt})`) : outcome(true, 'done on the third'));
      },
    }, async (appName) => finalState(await startInstance(appName, job({ instanceRetryNum: 3, retryBackoff: backoff }))));

    expectState(state, { status: 'SUCCEED', result: 'done on the third', instanceAttempt: 3, workerId: WORKER });
    expect(calls.map((c) => c.attempt)).toEqual([1, 2, 3]);
    expect(new Set(calls.map((c) => c.idempotencyKey)).size).toBe(3);
    // 1 min, then 2 min of skipped time between the attempts (plus the few ms an attempt takes).
    const waited = gaps(calls);
    expect(waited[0]).toBeGreaterThanOrEqual(backoffMs(backoff, 1));
    expect(waited[0]).toBeLessThan(backoffMs(backoff, 1) + 5_000);
    expect(waited[1]).toBeGreaterThanOrEqual(backoffMs(backoff, 2));
    expect(waited[1]).toBeLessThan(backoffMs(backoff, 2) + 5_000);
    expect(state.finishedTime! - state.actualTriggerTime!).toBeGreaterThanOrEqual(180_000);
  });

  it('gives up after instanceRetryNum retries, FAILED with the last attempt\'s error; the backoff stops growing at its maximum', async () => {
    const backoff: RetryBackoff = { initialIntervalMs: 60_000, backoffCoefficient: 10, maximumIntervalMs: 90_000 };
    const calls: Call[] = [];
    const state = await withApp({
      runProcessor: (request) => {
        recordCall(calls, request);
        return Promise.reject(new Error(`database down (attempt ${request.attempt})`));
      },
    }, async (appName) => finalState(await startInstance(appName, job({ instanceRetryNum: 2, retryBackoff: backoff }))));

    expectState(state, { status: 'FAILED', result: 'database down (attempt 3)', instanceAttempt: 3 });
    expect(calls.map((c) => c.attempt)).toEqual([1, 2, 3]);
    const [first, second] = gaps(calls);
    expect(first).toBeGreaterThanOrEqual(60_000);
    expect(first).toBeLessThan(65_000);
    expect(second).toBeGreaterThanOrEqual(90_000); // 600 s uncapped
    expect(second).toBeLessThan(95_000);
  });

  it('a stop while it waits out a backoff ends the run STOPPED, with no further attempt', async () => {
    const calls: Call[] = [];
    const { state, during } = await withApp({
      runProcessor: (request) => {
        recordCall(calls, request);
        return Promise.resolve(outcome(false, 'flaky'));
      },
    }, async (appName) => {
      const handle = await startInstance(appName, job({
        instanceRetryNum: 5, retryBackoff: { initialIntervalMs: 3_600_000, backoffCoefficient: 1, maximumIntervalMs: 3_600_000 },
      }));
      // Time skipping is off until the result is awaited: the hour-long backoff cannot pass meanwhile.
      // The state that showed the failure is the one asserted on: a later describe of the test
      // server was once seen answering with the memo from before it (a CI run of b53da60).
      let during: InstanceState | undefined;
      await until('the first attempt to fail', async () => {
        during = await memoState(handle);
        // WAITING_DISPATCH before the first attempt too: the attempt count tells the two apart.
        return during.status === 'WAITING_DISPATCH' && during.instanceAttempt === 1 && calls.length === 1;
      });
      await handle.executeUpdate(stopInstanceUpdate);
      return { state: await finalState(handle), during };
    });

    expectState(during!, { status: 'WAITING_DISPATCH', result: 'attempt 1 failed: flaky', instanceAttempt: 1 });
    expectState(state, { status: 'STOPPED', result: SystemResult.stoppedByUser, instanceAttempt: 1 });
    expect(calls).toHaveLength(1);
    expect(state.finishedTime! - state.actualTriggerTime!).toBeLessThan(3_600_000);
  });

  it('an attempt still running at instanceTimeLimit ends the run FAILED "instance execute timeout", not retried', async () => {
    const calls: Call[] = [];
    const state = await withApp({
      runProcessor: async (request) => {
        recordCall(calls, request);
        // Still running a minute past the limit (the test server skips no time while an activity runs,
        // unless the activity asks it to); then it waits until the worker shuts down at the end of the test.
        await env.sleep(1_800_000 + 60_000);
        await Context.current().cancelled;
        return outcome(true, 'never reported');
      },
    }, async (appName) => finalState(await startInstance(appName, job({ instanceTimeLimit: 1_800_000, instanceRetryNum: 3 }))));

    expectState(state, { status: 'FAILED', result: SystemResult.timeout, instanceAttempt: 1 });
    expect(calls).toHaveLength(1);
    // The processor never returns: the run ended because the limit passed.
    expect(state.finishedTime! - state.actualTriggerTime!).toBeGreaterThanOrEqual(1_800_000);
  });
});

describe('the misfire ledger (misfireLedgerWorkflow)', () => {
  const minute = 60_000;
  /** 2026-01-01 12:00 UTC; the job fires every minute at second 0. */
  const T = Date.UTC(2026, 0, 1, 12, 0, 0);

  function cronJob(misfirePolicy: MisfirePolicy): JobDefinition {
    const snapshot = job({});
    return {
      ...snapshot, jobDescription: null, timeExpressionType: 'CRON', timeExpression: '0 * * * * ?', timeZone: 'UTC', misfirePolicy,
      minCpuCores: 0, minMemorySpace: 0, minDiskSpace: 0, status: 'ENABLE', notifyUserIds: [], extra: null,
      dispatchStrategy: 'HEALTH_FIRST', dispatchStrategyConfig: null, lifeCycle: null, alarmConfig: null, tag: null, logConfig: null,
      advancedRuntimeConfig: null, gmtCreate: T, gmtModified: T, createdBy: null,
    };
  }

  /** One ledger per job; asks it about each late fire, in the given order, as each fire's workflow would. */
  async function decide(definition: JobDefinition, asks: { fireTime: number; askedAt: number }[]): Promise<Map<number, MisfireDecision>> {
    const handle = await env.client.workflow.start(WorkflowType.misfireLedger, {
      taskQueue: CORE_QUEUE, workflowId: `ledger-${definition.id}`, args: [],
    });
    const decisions = new Map<number, MisfireDecision>();
    for (const { fireTime, askedAt } of asks) {
      const fire: LateFire = { job: definition, fireTime, askedAt };
      const decision = await handle.executeUpdate(decideLateFireUpdate, { args: [fire] });
      expect(decisions.get(fireTime) ?? decision, `fire ${new Date(fireTime).toISOString()} gets one answer`).toBe(decision);
      decisions.set(fireTime, decision);
    }
    await handle.terminate('test done');
    return decisions;
  }
  const at = (minutes: number, seconds = 0) => T + minutes * minute + seconds * 1000;
  const byMinute = (decisions: Map<number, MisfireDecision>) =>
    Object.fromEntries([...decisions].sort(([a], [b]) => a - b).map(([t, d]) => [`12:${String((t - T) / minute).padStart(2, '0')}`, d]));

  it('RUN_ONCE: of a backlog of late fires only the newest runs, whichever asks first; a fire not late against the backlog runs on time', async () => {
    // Down from 11:59:30 to 12:10:30: Temporal delivers the fires inside the catch-up window (two periods plus
    // the threshold for RUN_ONCE), 12:09 and 12:10; with a 45 s threshold only 12:09 is late enough to be missed.
    const decisions = await decide(cronJob({ type: 'RUN_ONCE', maxCatchUp: 1, thresholdMs: 45_000 }), [
      { fireTime: at(9), askedAt: at(10, 30) },
      { fireTime: at(10), askedAt: at(10, 31) },
      { fireTime: at(9), askedAt: at(10, 32) },
    ]);
    expect(byMinute(decisions)).toEqual({ '12:09': 'catch-up', '12:10': 'on-time' });
  });

  it('CATCH_UP(3): the three newest late fires run, older ones are dropped, asked in any order', async () => {
    const fires = [7, 8, 9, 10].map((m) => at(m));
    const decisions = await decide(cronJob({ type: 'CATCH_UP', maxCatchUp: 3, thresholdMs: 5_000 }),
      [fires[2]!, fires[0]!, fires[3]!, fires[1]!].map((fireTime, i) => ({ fireTime, askedAt: at(10, 30) + i * 100 })));
    expect(byMinute(decisions)).toEqual({ '12:07': 'dropped', '12:08': 'catch-up', '12:09': 'catch-up', '12:10': 'catch-up' });
  });

  it('SKIP: no late fire runs; a second outage an hour later is a backlog of its own', async () => {
    const definition = cronJob({ type: 'SKIP', maxCatchUp: 1, thresholdMs: 5_000 });
    const decisions = await decide(definition, [
      { fireTime: at(10), askedAt: at(10, 8) },
      { fireTime: at(70), askedAt: at(70, 9) },
    ]);
    expect([...decisions.values()]).toEqual(['dropped', 'dropped']);
  });
});

describe('map batching (instanceWorkflow MAP, mapBatchWorkflow)', () => {
  it(`runs at most ${MAP_LIMITS.batchesAtOnce} batches of one parent at a time and finishes with the right counts`, async () => {
    const CALLS = 5;
    const ITEMS_PER_CALL = 2;
    /** Sub-tasks in flight: task id → its batch and how to let it finish. */
    const inFlight = new Map<string, { batch: string; finish: () => void }>();
    const ran: string[] = [];
    let mostBatchesAtOnce = 0;
    const batchesInFlight = () => [...new Set([...inFlight.values()].map((t) => t.batch))];

    const runMapTask = async (request: MapTaskRequest): Promise<MapTaskOutcome> => {
      if (request.taskId === '0') {
        // The root task maps CALLS × ITEMS_PER_CALL items in CALLS ctx.map() calls: one batch each, started as the SDK does.
        const batches: string[] = [];
        for (let call = 0; call < CALLS; call++) {
          const input: MapBatchInput = {
            instanceId: request.instanceId, jobId: request.jobId, appName: request.appName, processorInfo: request.processorInfo,
            jobParams: request.jobParams, instanceParams: request.instanceParams,
            batchId: mapBatchWorkflowId(request.instanceId, request.scope.instanceAttempt, '0', call, 0),
            parentTaskId: '0', offset: call * ITEMS_PER_CALL, taskName: 'item',
            items: Array.from({ length: ITEMS_PER_CALL }, (_, i) => call * ITEMS_PER_CALL + i),
            scope: request.scope,
          };
          await env.client.workflow.start(WorkflowType.mapBatch, mapBatchStartOptions(input, request.taskId));
          batches.push(input.batchId);
        }
        return { success: true, msg: null, workerIdentity: WORKER, batches };
      }
      // A sub-task runs until the test lets it finish; item 7 fails.
      await new Promise<void>((finish) => {
        inFlight.set(request.taskId, { batch: request.scope.parentWorkflowId, finish });
        mostBatchesAtOnce = Math.max(mostBatchesAtOnce, batchesInFlight().length);
      });
      ran.push(request.taskId);
      return { success: request.subTask !== 7, msg: `item ${String(request.subTask)}`, workerIdentity: WORKER, batches: [] };
    };

    const state = await withApp({ runMapTask }, async (appName) => {
      liveByApp.set(appName, [{ workerId: WORKER, tags: [], identity: WORKER }]);
      // concurrency 2 × one live worker: each batch keeps both its sub-tasks in flight.
      const handle = await startInstance(appName, job({ executeType: 'MAP', concurrency: 2 }));
      for (let left = CALLS; left > 0; left--) {
        const running = Math.min(MAP_LIMITS.batchesAtOnce, left);
        await until(`${running} batches' sub-tasks in flight`, () => inFlight.size === running * ITEMS_PER_CALL);
        expect(batchesInFlight()).toHaveLength(running);
        // One batch finishes: the next one may go.
        const done = batchesInFlight()[0]!;
        for (const [taskId, task] of inFlight) {
          if (task.batch !== done) continue;
          inFlight.delete(taskId);
          task.finish();
        }
      }
      return finalState(handle);
    });

    expect(mostBatchesAtOnce).toBe(MAP_LIMITS.batchesAtOnce);
    expect(ran.sort()).toEqual(Array.from({ length: CALLS * ITEMS_PER_CALL }, (_, i) => `0.${i}`).sort());
    expectState(state, { status: 'FAILED', result: 'total:10,succeed:9,failed:1', instanceAttempt: 1 });
    expect(state.map).toEqual({ total: 10, succeeded: 9, failed: 1, running: 0 });
  });
});
