import {
  ActivityFailure,
  ApplicationFailure,
  CancellationScope,
  TimeoutFailure,
  condition,
  defineUpdate,
  getExternalWorkflowHandle,
  isCancellation,
  proxyActivities,
  setHandler,
  upsertMemo,
  upsertSearchAttributes,
} from '@temporalio/workflow';
import { TimeoutType } from '@temporalio/common';
import { isFinished } from '../domain/enums.js';
import type { InstanceInput, InstanceState, ProcessOutcome, ProcessRequest } from '../domain/instance.js';
import { SystemResult, cutResult, processTargetOf } from '../domain/instance.js';
import { backoffMs } from '../domain/job.js';
import type { CoreActivities } from '../activities/index.js';
import { appTaskQueue, attemptIdempotencyKey, jobSlotsWorkflowId, parseWorkerIdentity, workerTaskQueue } from '../contract/names.js';
import type { AttemptOutcome } from './attempts.js';
import { noWorkerMessage, runBroadcast, takeMembership, targetingOf } from './broadcast.js';
import { deliver } from './delivery.js';
import { runMap } from './map.js';
import { releaseSlotSignal } from './job-slots.js';
import { INSTANCE_MEMO_KEY, initialInstanceState } from '../contract/start-options.js';
import { SA } from '../contract/search-attributes.js';

/**
 * One run of a job (a PowerJob "instance"). Its history reads as the story of the run:
 * created → waits on a durable timer until the fire time → takes a concurrency slot
 * (maxInstanceNum) → one activity per attempt on the app's queue, with backoff between
 * attempts → finished. Cancel and stop arrive as updates, so the caller learns at once
 * whether they took effect.
 */

export const cancelInstanceUpdate = defineUpdate<void>('cancelInstance');
export const stopInstanceUpdate = defineUpdate<void>('stopInstance');


/** The processor activity each app's workers register (see src/workers). */
export interface ProcessorActivities {
  runProcessor(request: ProcessRequest): Promise<ProcessOutcome>;
}

const { acquireJobSlot } = proxyActivities<CoreActivities>({
  startToCloseTimeout: '30 seconds',
  retry: { maximumInterval: '10 seconds' },
});

/** Limits used when a job sets none: an attempt may otherwise run for a long time. */
const NO_TIME_LIMIT_MS = 10 * 365 * 24 * 3600 * 1000;

export async function instanceWorkflow(input: InstanceInput): Promise<InstanceState> {
  const { job } = input;
  const state: InstanceState = initialInstanceState(input);
  let cancelRequested = false;
  let stopRequested = false;
  const attemptScope = new CancellationScope();

  setHandler(cancelInstanceUpdate, () => { cancelRequested = true; }, {
    validator: () => {
      if (state.status !== 'WAITING_DISPATCH' || state.runningTimes > input.previousRunningTimes || stopRequested) {
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
    upsertMemo({ [INSTANCE_MEMO_KEY]: { ...state } });
    if (statusChanged) upsertSearchAttributes([{ key: SA.status, value: state.status }]);
  };
  const finish = (status: InstanceState['status'], result: string | null): InstanceState => {
    record({ status, result: cutResult(result), finishedTime: Date.now() });
    return state;
  };

  try {
    return await run();
  } catch (err) {
    // Cancelling the workflow itself (e.g. its FIXED_DELAY clock was disabled) stops the run.
    if (isCancellation(err)) return finish('STOPPED', SystemResult.stoppedWithJob);
    throw err;
  }

  async function run(): Promise<InstanceState> {
    const wait = input.expectedTriggerTime - Date.now();
    if (wait > 0) await condition(() => cancelRequested || stopRequested, wait);
    if (cancelRequested) return finish('CANCELED', SystemResult.canceledByUser);
    if (stopRequested) return finish('STOPPED', SystemResult.stoppedByUser);

    const maxAttempts = job.instanceRetryNum + 1;
    const dispatchedAt = Date.now();
    const deadline = job.instanceTimeLimit > 0 ? dispatchedAt + job.instanceTimeLimit : dispatchedAt + NO_TIME_LIMIT_MS;

    if (job.maxInstanceNum > 0) {
      const slot = await acquireJobSlot({ jobId: job.id, instanceId: input.instanceId, maxInstanceNum: job.maxInstanceNum });
      if (!slot.acquired) {
        return finish('FAILED', SystemResult.tooManyInstances(slot.running, job.maxInstanceNum));
      }
    }
    try {
      for (let attempt = 1; ; attempt++) {
        record({
          status: 'RUNNING',
          runningTimes: state.runningTimes + 1,
          actualTriggerTime: state.actualTriggerTime ?? dispatchedAt,
        });
        let failure: string;
        try {
          const outcome = await attemptScope.run(() => {
            switch (job.executeType) {
              case 'BROADCAST':
                return runBroadcast({
                  input,
                  instanceAttempt: state.runningTimes,
                  deadline,
                  publish: (shares) => record({ broadcast: shares }, false),
                  setTracker: (workerId) => { state.taskTrackerAddress = workerId; },
                });
              case 'MAP':
              case 'MAP_REDUCE':
                return runMap({ input, instanceAttempt: state.runningTimes, deadline, publish: (map) => record({ map }, false) });
              default:
                return runStandalone(attempt, maxAttempts, deadline);
            }
          });
          if (stopRequested) return finish('STOPPED', SystemResult.stoppedByUser);
          if (outcome.kind === 'succeeded') return finish('SUCCEED', outcome.msg);
          if (outcome.kind === 'timeout') return finish('FAILED', SystemResult.timeout);
          failure = outcome.msg;
        } catch (err) {
          if (stopRequested) return finish('STOPPED', SystemResult.stoppedByUser);
          throw err;
        }
        if (attempt >= maxAttempts) return finish('FAILED', failure);
        const backoff = backoffMs(job.retryBackoff, attempt);
        if (Date.now() + backoff >= deadline) return finish('FAILED', SystemResult.timeout);
        record({ status: 'WAITING_DISPATCH', result: cutResult(`attempt ${attempt} failed: ${failure}`) });
        if (await condition(() => stopRequested, backoff)) return finish('STOPPED', SystemResult.stoppedByUser);
      }
    } finally {
      if (job.maxInstanceNum > 0) {
        await CancellationScope.nonCancellable(() =>
          getExternalWorkflowHandle(jobSlotsWorkflowId(job.id)).signal(releaseSlotSignal, { instanceId: input.instanceId }),
        );
      }
    }
  }
  /**
   * One STANDALONE attempt: on the app's shared queue (Temporal picks a worker), or, when
   * the job designates workers, pinned to one live designated worker's own queue.
   */
  async function runStandalone(attempt: number, maxAttempts: number, deadline: number): Promise<AttemptOutcome> {
    let taskQueue = appTaskQueue(input.appName);
    let pinnedTo: string | null = null;
    const targeting = targetingOf(job);
    if (targeting.designatedWorkers.length > 0) {
      const candidates = await takeMembership(input.appName, targeting);
      if ('failure' in candidates) return { kind: 'failed', msg: candidates.failure };
      const chosen = candidates[Math.floor(Math.random() * candidates.length)];
      if (!chosen) return { kind: 'failed', msg: noWorkerMessage(input.appName, targeting) };
      pinnedTo = chosen.workerId;
      taskQueue = workerTaskQueue(input.appName, chosen.workerId);
    }
    const { runProcessor } = proxyActivities<ProcessorActivities>({
      taskQueue,
      startToCloseTimeout: Math.max(1, deadline - Date.now()),
      heartbeatTimeout: input.heartbeatTimeoutMs,
      // A designated worker that does not take the attempt is gone: fail it, and retry (instanceRetryNum) elsewhere.
      ...(pinnedTo ? { scheduleToStartTimeout: input.heartbeatTimeoutMs } : {}),
      retry: { maximumAttempts: 1 },
      cancellationType: 'TRY_CANCEL',
      summary: `attempt ${attempt}/${maxAttempts}: ${job.processorInfo}${pinnedTo ? ` on ${pinnedTo}` : ''}`,
    });
    const request: ProcessRequest = {
      ...processTargetOf(input),
      attempt: state.runningTimes,
      maxAttempts: input.previousRunningTimes + maxAttempts,
      idempotencyKey: attemptIdempotencyKey(input.instanceId, state.runningTimes),
    };
    try {
      const outcome = await deliver(() => runProcessor(request));
      state.taskTrackerAddress = outcome.workerIdentity;
      if (outcome.success) return { kind: 'succeeded', msg: outcome.msg };
      return { kind: 'failed', msg: outcome.msg ?? 'processor reported failure' };
    } catch (err) {
      if (isCancellation(err)) throw err;
      if (err instanceof ActivityFailure && err.identity) state.taskTrackerAddress = parseWorkerIdentity(err.identity).workerId;
      if (isTimeout(err, TimeoutType.START_TO_CLOSE)) return { kind: 'timeout' };
      if (pinnedTo && isTimeout(err, TimeoutType.SCHEDULE_TO_START)) {
        return { kind: 'failed', msg: `${SystemResult.noWorkerAvailable}: designated worker ${pinnedTo} did not take the attempt within ${Math.round(input.heartbeatTimeoutMs / 1000)} s` };
      }
      return { kind: 'failed', msg: describeFailure(err) };
    }
  }
}

function isTimeout(err: unknown, type: TimeoutType): boolean {
  return err instanceof ActivityFailure && err.cause instanceof TimeoutFailure && err.cause.timeoutType === type;
}

function describeFailure(err: unknown): string {
  if (err instanceof ActivityFailure) {
    const cause = err.cause;
    if (cause instanceof TimeoutFailure && cause.timeoutType === TimeoutType.HEARTBEAT) {
      return `worker lost: ${err.identity || 'the worker'} stopped heartbeating`;
    }
    if (cause instanceof TimeoutFailure && cause.timeoutType === TimeoutType.SCHEDULE_TO_START) {
      return 'no worker available';
    }
    return cause?.message ?? err.message;
  }
  return err instanceof Error ? err.message : String(err);
}
