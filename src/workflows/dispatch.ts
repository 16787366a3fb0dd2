import { ActivityFailure, ApplicationFailure, TimeoutFailure, proxyActivities } from '@temporalio/workflow';
import { TimeoutType } from '@temporalio/common';
import type { ProcessRequest } from '../contract/activities.js';
import { parseWorkerIdentity } from '../contract/names.js';
import { SystemResult, WORKER_LOST_PREFIX } from '../domain/instance.js';
import type { AttemptClaims } from './claims.js';

/**
 * How a workflow hands one attempt of user code to a processor worker, and how it reads
 * the way that attempt failed: the activity options every dispatch uses, redelivery of an
 * attempt Temporal handed out but no worker received, and the one classifier of failures.
 */

export interface DispatchOptions {
  taskQueue: string;
  /** Epoch ms the instance times out at: no attempt may outlive it. */
  deadline: number;
  /** A worker that stops heartbeating for this long is lost. */
  heartbeatTimeoutMs: number;
  /** Pinned to one worker's queue: it must take the attempt within this long, or it is lost. */
  scheduleToStartMs?: number;
  /**
   * What the deadline bounds: the run once started (`startToClose`, default) or also the wait
   * for a worker (`scheduleToClose`, broadcast shares: a member's queue may have no poller).
   */
  bound?: 'startToClose' | 'scheduleToClose';
  summary?: string;
}

/**
 * The activities of a processor worker, for one dispatch. No activity retries: the attempt
 * loop retries, so each attempt is its own activity in history with its own idempotency key.
 */
export function proxyProcessor<A extends object>(options: DispatchOptions) {
  const remaining = Math.max(1, options.deadline - Date.now());
  return proxyActivities<A>({
    taskQueue: options.taskQueue,
    ...(options.bound === 'scheduleToClose' ? { scheduleToCloseTimeout: remaining } : { startToCloseTimeout: remaining }),
    ...(options.scheduleToStartMs !== undefined ? { scheduleToStartTimeout: Math.min(options.scheduleToStartMs, remaining) } : {}),
    heartbeatTimeout: options.heartbeatTimeoutMs,
    retry: { maximumAttempts: 1 },
    cancellationType: 'TRY_CANCEL',
    ...(options.summary !== undefined ? { summary: options.summary } : {}),
  });
}

/**
 * Temporal records an activity as started when it hands the task to a poller; if that
 * answer is lost on the way (a poll cut off under load), the attempt times out on its
 * heartbeat without the worker ever having run it. A delivery that got it has Temporal
 * record a TAKEN_HEARTBEAT before any user code runs (workers built before 2026-12-02 claim
 * it at the dispatching workflow instead, AttemptClaims), so a heartbeat timeout with
 * neither is such a lost delivery: it is dispatched again as the same attempt, with the same
 * idempotency key, and never counts against the job's retries.
 */
const MAX_REDELIVERIES = 3;

function heartbeatTimeout(err: unknown): TimeoutFailure | null {
  return err instanceof ActivityFailure && err.cause instanceof TimeoutFailure && err.cause.timeoutType === TimeoutType.HEARTBEAT
    ? err.cause
    : null;
}

export interface DeliverOptions {
  /**
   * Map tasks: an attempt whose worker died mid-run is dispatched again too, as the same
   * attempt and with the same idempotency key, and may land on another worker.
   */
  movable?: boolean;
  /** The dispatching workflow's claims: deliveries claim the attempt there before user code runs. */
  claims?: AttemptClaims;
}

/** Runs `dispatch` (one activity) with `request`, again when its delivery was lost. */
export async function deliver<R extends ProcessRequest, T>(
  request: R,
  dispatch: (request: R) => Promise<T>,
  { movable = false, claims }: DeliverOptions = {},
): Promise<T> {
  const key = request.idempotencyKey;
  claims?.open(key);
  try {
    for (let redelivery = 0; ; redelivery++) {
      try {
        return await dispatch(claims ? { ...request, fenced: true } : request);
      } catch (err) {
        const claimed = err instanceof ActivityFailure && err.activityId !== undefined && claims?.endedWithoutResult(key, err.activityId) === true;
        const timeout = heartbeatTimeout(err);
        const again = timeout !== null && (movable || (timeout.lastHeartbeatDetails === undefined && !claimed));
        if (redelivery >= MAX_REDELIVERIES || !again) throw err;
      }
    }
  } finally {
    claims?.settle(key);
  }
}

/** A dispatch pinned to one worker's own queue. */
export interface Pinned {
  workerId: string;
  /** How long the worker had to take the attempt (scheduleToStart). */
  lostAfterMs: number;
  /** What it did not take, in the failure's wording: "its share", "the attempt". */
  work: string;
  /**
   * Whether a retry may follow when the worker did not take it: yes when the next attempt
   * chooses a worker again (designated STANDALONE), no when it would wait on the same
   * queue (a broadcast share).
   */
  retryElsewhere: boolean;
}

export interface Failure {
  msg: string;
  retryable: boolean;
  /** The instance's time limit ended it: no retry, the instance ends `instance execute timeout`. */
  timedOut: boolean;
  /** The worker that had the attempt, when Temporal knows it. */
  worker: string | null;
}

/** Why an attempt failed, in one wording per cause, and whether another attempt may follow. */
export function classifyFailure(err: unknown, pinned?: Pinned): Failure {
  if (!(err instanceof ActivityFailure)) {
    return { msg: err instanceof Error ? err.message : String(err), retryable: true, timedOut: false, worker: null };
  }
  const worker = err.identity ? parseWorkerIdentity(err.identity).workerId : null;
  const who = pinned?.workerId ?? worker ?? 'the worker';
  const cause = err.cause;
  if (cause instanceof TimeoutFailure) {
    switch (cause.timeoutType) {
      case TimeoutType.HEARTBEAT:
        // The worker died mid-run.
        return { msg: `${WORKER_LOST_PREFIX}${who} stopped heartbeating`, retryable: true, timedOut: false, worker };
      case TimeoutType.SCHEDULE_TO_START:
        // Nobody polls this worker's queue: it is gone.
        return {
          msg: `${WORKER_LOST_PREFIX}${who} did not take ${pinned?.work ?? 'the attempt'} within ${Math.round((pinned?.lostAfterMs ?? 0) / 1000)} s`,
          retryable: pinned?.retryElsewhere ?? false,
          timedOut: false,
          worker,
        };
      default:
        return { msg: SystemResult.timeout, retryable: false, timedOut: true, worker };
    }
  }
  if (cause instanceof ApplicationFailure && cause.nonRetryable) return { msg: cause.message, retryable: false, timedOut: false, worker };
  return { msg: cause?.message ?? err.message, retryable: true, timedOut: false, worker };
}
