import {
  ApplicationFailure,
  CancellationScope,
  CancelledFailure,
  condition,
  getExternalWorkflowHandle,
  isCancellation,
  patched,
  proxyActivities,
  setHandler,
  upsertMemo,
  upsertSearchAttributes,
} from '@temporalio/workflow';
import type { CoreActivities, ProcessRequest, StandaloneActivities } from '../contract/activities.js';
import { processTargetOf } from '../contract/scopes.js';
import { MemoKey } from '../contract/memo.js';
import { cancelInstanceUpdate, releaseSlotSignal, stopInstanceUpdate } from '../contract/messages.js';
import { appTaskQueue, attemptIdempotencyKey, jobSlotsWorkflowId, workerTaskQueue } from '../contract/names.js';
import { SA } from '../contract/search-attributes.js';
import { FIRE_WAKE_LEAD_MS } from '../contract/start-options.js';
import type { InstanceWorkflow } from '../contract/workflows.js';
import { isFinished } from '../domain/enums.js';
import type { InstanceInput, InstanceState } from '../domain/instance.js';
import { SystemResult, cutResult, initialInstanceState } from '../domain/instance.js';
import { targetingOf } from '../domain/targeting.js';
import { type AttemptVerdict, attemptLoop } from './attempt-loop.js';
import { runBroadcast } from './broadcast.js';
import { AttemptClaims } from './claims.js';
import { type Pinned, deliver, proxyProcessor } from './dispatch.js';
import { runMap } from './map.js';
import { metrics } from './metrics.js';
import { noWorkerMessage, pickMember, takeMembership } from './membership.js';

/**
 * One run of a job (a PowerJob "instance"). Its history reads as the story of the run:
 * created → waits on a durable timer until the fire time → takes a concurrency slot
 * (maxInstanceNum) → one attempt after another through the attempt loop (instanceRetryNum,
 * the job's backoff) → finished. Cancel and stop arrive as updates, so the caller learns at
 * once whether they took effect.
 */

const { acquireJobSlot } = proxyActivities<CoreActivities>({
  startToCloseTimeout: '30 seconds',
  retry: { maximumInterval: '10 seconds' },
});

/** Limits used when a job sets none: an attempt may otherwise run for a long time. */
const NO_TIME_LIMIT_MS = 10 * 365 * 24 * 3600 * 1000;

/** Instances started before one attempt loop retried non-retryable failures (unknown processor); they replay so. */
const NON_RETRYABLE_ENDS_INSTANCE = 'non-retryable-ends-instance';

/** Delayed instances started before their timer was re-aimed waited on one timer; they replay so. */
const REAIMED_FIRE_TIMER = 'reaimed-fire-timer';

export const instanceWorkflow: InstanceWorkflow = async (input: InstanceInput): Promise<InstanceState> => {
  const { job } = input;
  const state: InstanceState = initialInstanceState(input);
  let cancelRequested = false;
  let stopRequested = false;
  /** The designated worker the current STANDALONE attempt is pinned to, if any. */
  let pinned: Pinned | undefined;
  const attemptScope = new CancellationScope();
  /** Its attempts' claims: one delivery of each runs user code (STANDALONE, broadcast pre/postProcess, map root task and reduce). */
  const claims = new AttemptClaims(() => (stopRequested ? 'the instance is being stopped' : undefined));

  setHandler(cancelInstanceUpdate, () => { cancelRequested = true; }, {
    validator: () => {
      if (state.status !== 'WAITING_DISPATCH' || state.instanceAttempt > input.previousRunningTimes || stopRequested) {
        throw ApplicationFailure.nonRetryable(
          `instance ${input.instanceId} is already ${isFinished(state.status) ? 'finished' : 'up and running'} (status ${state.status}); only a run that has not fired yet can be canceled`,
          'InstanceNotCancelable',
        );
      }
    },
  });
  setHandler(stopInstanceUpdate, () => {
    stopRequested = true;
    attemptScope.cancel();
  }, {
    validator: () => {
      if (isFinished(state.status) || cancelRequested) {
        throw ApplicationFailure.nonRetryable(
          `instance ${input.instanceId} has already finished (status ${state.status}); only an unfinished instance can be stopped`,
          'InstanceNotStoppable',
        );
      }
    },
  });

  const record = (patch: Partial<InstanceState>, statusChanged = true) => {
    Object.assign(state, patch);
    upsertMemo({ [MemoKey.instance]: { ...state } });
    if (statusChanged) upsertSearchAttributes([{ key: SA.status, value: state.status }]);
  };
  const finish = (status: InstanceState['status'], result: string | null): InstanceState => {
    record({ status, result: cutResult(result), finishedTime: Date.now() });
    metrics.instanceFinished({ app: input.appName, jobId: job.id, executeType: job.executeType, status });
    return state;
  };

  try {
    return await run();
  } catch (err) {
    // Cancelling the workflow itself (e.g. its FIXED_DELAY clock was disabled) stops the run.
    if (isCancellation(err)) return finish('STOPPED', SystemResult.stoppedWithJob);
    throw err;
  }

  /**
   * Waits until the fire time, or until a cancel or stop arrives. A delayed run wakes
   * FIRE_WAKE_LEAD_MS before its fire time and sets a second, short timer for the rest:
   * Temporal starts a timer when the workflow task that asked for it completes, not when the
   * task began (the workflow's clock), so a timer set in a run's first task, busy when many
   * runs are submitted at once, fired late by that task's time (measured: p99 257 ms with
   * 100 runs submitted together); the short timer is set in a quiet task. Runs the API
   * submits with a start delay (instanceStartDelay) already wake within the lead and set only
   * the short timer; the long first timer is for runs started without one.
   */
  async function untilFireTime(): Promise<void> {
    const interrupted = () => cancelRequested || stopRequested;
    let wait = input.expectedTriggerTime - Date.now();
    if (wait > FIRE_WAKE_LEAD_MS && patched(REAIMED_FIRE_TIMER)) {
      if (await condition(interrupted, wait - FIRE_WAKE_LEAD_MS)) return;
      wait = input.expectedTriggerTime - Date.now();
    }
    if (wait > 0) await condition(interrupted, wait);
  }

  async function run(): Promise<InstanceState> {
    await untilFireTime();
    if (cancelRequested) return finish('CANCELED', SystemResult.canceledByUser);
    if (stopRequested) return finish('STOPPED', SystemResult.stoppedByUser);

    const maxAttempts = job.instanceRetryNum + 1;
    const dispatchedAt = Date.now();
    metrics.instanceFired({ app: input.appName, jobId: job.id, latenessMs: dispatchedAt - input.expectedTriggerTime });
    const deadline = job.instanceTimeLimit > 0 ? dispatchedAt + job.instanceTimeLimit : dispatchedAt + NO_TIME_LIMIT_MS;

    if (job.maxInstanceNum > 0) {
      const slot = await acquireJobSlot({ jobId: job.id, instanceId: input.instanceId, maxInstanceNum: job.maxInstanceNum });
      if (!slot.acquired) {
        return finish('FAILED', SystemResult.tooManyInstances(slot.running, job.maxInstanceNum));
      }
    }
    try {
      const outcome = await attemptScope.run(() => attemptLoop({
        maxAttempts,
        deadline,
        backoff: job.retryBackoff,
        retryVerdict: true,
        pinned: () => pinned,
        retryNonRetryable: () => !patched(NON_RETRYABLE_ENDS_INSTANCE),
        once: async (attempt) => {
          record({
            status: 'RUNNING',
            instanceAttempt: state.instanceAttempt + 1,
            actualTriggerTime: state.actualTriggerTime ?? dispatchedAt,
          });
          pinned = undefined;
          try {
            const verdict = await runAttempt(attempt, maxAttempts, deadline);
            if (!stopRequested) return verdict;
          } catch (err) {
            if (!stopRequested) throw err;
          }
          // A stop that arrived as the attempt ended wins over how it ended.
          throw new CancelledFailure(SystemResult.stoppedByUser);
        },
        onRetry: (failure, worker) => {
          if (worker) state.workerId = worker;
          record({ status: 'WAITING_DISPATCH', result: cutResult(failure) });
          metrics.instanceRetried({ app: input.appName, jobId: job.id, executeType: job.executeType });
        },
      }));
      if (outcome.worker) state.workerId = outcome.worker;
      if (stopRequested) return finish('STOPPED', SystemResult.stoppedByUser);
      if (outcome.timedOut) return finish('FAILED', SystemResult.timeout);
      return outcome.success ? finish('SUCCEED', outcome.msg) : finish('FAILED', outcome.msg ?? 'processor reported failure');
    } catch (err) {
      if (stopRequested) return finish('STOPPED', SystemResult.stoppedByUser);
      throw err;
    } finally {
      if (job.maxInstanceNum > 0) {
        await CancellationScope.nonCancellable(() =>
          getExternalWorkflowHandle(jobSlotsWorkflowId(job.id)).signal(releaseSlotSignal, { instanceId: input.instanceId }),
        );
      }
    }
  }

  /** One attempt of the instance, by execute type. */
  function runAttempt(attempt: number, maxAttempts: number, deadline: number): Promise<AttemptVerdict> {
    switch (job.executeType) {
      case 'BROADCAST':
        return runBroadcast({
          input,
          instanceAttempt: state.instanceAttempt,
          deadline,
          claims,
          publish: (shares) => record({ broadcast: shares }, false),
          setWorker: (workerId) => { state.workerId = workerId; },
        });
      case 'MAP':
      case 'MAP_REDUCE':
        return runMap({ input, instanceAttempt: state.instanceAttempt, deadline, claims, publish: (map) => record({ map }, false) });
      default:
        return runStandalone(attempt, maxAttempts, deadline);
    }
  }

  /**
   * One STANDALONE attempt: on the app's shared queue (Temporal picks a worker), or, when
   * the job designates workers, pinned to one live designated worker's own queue.
   */
  async function runStandalone(attempt: number, maxAttempts: number, deadline: number): Promise<AttemptVerdict> {
    let taskQueue = appTaskQueue(input.appName);
    const targeting = targetingOf(job);
    if (targeting.designatedWorkers.length > 0) {
      const candidates = await takeMembership(input.appName, targeting);
      if ('failure' in candidates) return { success: false, msg: candidates.failure };
      const chosen = pickMember(candidates);
      if (!chosen) return { success: false, msg: noWorkerMessage(input.appName, targeting) };
      taskQueue = workerTaskQueue(input.appName, chosen.workerId);
      // A designated worker that does not take the attempt is gone: fail it, and retry (instanceRetryNum) on another.
      pinned = { workerId: chosen.workerId, lostAfterMs: input.heartbeatTimeoutMs, work: 'the attempt', retryElsewhere: true };
    }
    const { runProcessor } = proxyProcessor<StandaloneActivities>({
      taskQueue,
      deadline,
      heartbeatTimeoutMs: input.heartbeatTimeoutMs,
      ...(pinned ? { scheduleToStartMs: pinned.lostAfterMs } : {}),
      summary: `attempt ${attempt}/${maxAttempts}: ${job.processorInfo}${pinned ? ` on ${pinned.workerId}` : ''}`,
    });
    const request: ProcessRequest = {
      ...processTargetOf(input),
      attempt: state.instanceAttempt,
      maxAttempts: input.previousRunningTimes + maxAttempts,
      instanceAttempt: state.instanceAttempt,
      idempotencyKey: attemptIdempotencyKey(input.instanceId, state.instanceAttempt),
    };
    return deliver(request, runProcessor, { claims });
  }
};
