import { ActivityFailure, ApplicationFailure, TimeoutFailure, isCancellation, sleep } from '@temporalio/workflow';
import { TimeoutType } from '@temporalio/common';
import type { ProcessOutcome } from '../domain/instance.js';
import { SystemResult } from '../domain/instance.js';
import type { RetryBackoff } from '../domain/job.js';
import { backoffMs } from '../domain/job.js';
import { parseWorkerIdentity } from '../contract/names.js';
import { deliver } from './delivery.js';

/** How one attempt of an instance ended (stop arrives as a cancellation instead). */
export type AttemptOutcome =
  | { kind: 'succeeded'; msg: string | null }
  | { kind: 'failed'; msg: string }
  | { kind: 'timeout' };

export interface LoopOptions {
  maxAttempts: number;
  deadline: number;
  backoff: RetryBackoff;
  /** Whether a processor's `success: false` is retried (process, preProcess) or is the verdict (postProcess). */
  retryVerdict: boolean;
  /** Pinned runs: the member's id, named in "worker lost" reasons. */
  workerId?: string;
  workerLostMs?: number;
  /** Map tasks: an attempt whose worker died is dispatched again as the same attempt, to any worker. */
  movable?: boolean;
  once(attempt: number, maxAttempts: number): Promise<ProcessOutcome>;
  onRetry?(failure: string): void;
}

export interface LoopResult {
  success: boolean;
  msg: string | null;
  /** The step failed with an error (not a processor's verdict). */
  error: boolean;
  timedOut: boolean;
  worker: string | null;
}

/**
 * Attempts of one step of a broadcast or map (taskRetryNum), each a single activity so every
 * attempt is visible in history and gets its own idempotency key; backoff between them as
 * the job's retryBackoff, never past the instance's deadline. Cancellation (stop) propagates.
 */
export async function attemptLoop(options: LoopOptions): Promise<LoopResult> {
  for (let attempt = 1; ; attempt++) {
    let failure: string;
    let retryable = true;
    let worker: string | null = null;
    try {
      const outcome = await deliver(() => options.once(attempt, options.maxAttempts), { movable: options.movable });
      worker = outcome.workerIdentity;
      if (outcome.success || !options.retryVerdict) {
        return { success: outcome.success, msg: outcome.msg, error: false, timedOut: false, worker };
      }
      failure = outcome.msg ?? 'processor reported failure';
    } catch (err) {
      if (isCancellation(err)) throw err;
      if (err instanceof ActivityFailure && err.identity) worker = parseWorkerIdentity(err.identity).workerId;
      const verdict = classify(err, options);
      if (verdict.timedOut) return { success: false, msg: SystemResult.timeout, error: true, timedOut: true, worker };
      failure = verdict.msg;
      retryable = verdict.retryable;
    }
    const backoff = backoffMs(options.backoff, attempt);
    if (!retryable || attempt >= options.maxAttempts || Date.now() + backoff >= options.deadline) {
      return { success: false, msg: failure, error: true, timedOut: false, worker };
    }
    options.onRetry?.(`attempt ${attempt} failed: ${failure}`);
    await sleep(backoff);
  }
}

function classify(err: unknown, options: LoopOptions): { msg: string; retryable: boolean; timedOut: boolean } {
  if (!(err instanceof ActivityFailure)) return { msg: err instanceof Error ? err.message : String(err), retryable: true, timedOut: false };
  const cause = err.cause;
  const who = options.workerId ?? (err.identity ? parseWorkerIdentity(err.identity).workerId : 'the worker');
  if (cause instanceof TimeoutFailure) {
    switch (cause.timeoutType) {
      case TimeoutType.HEARTBEAT:
        // The worker died mid-run; a retry waits on the same queue, for that worker only.
        return { msg: `worker lost: ${who} stopped heartbeating`, retryable: true, timedOut: false };
      case TimeoutType.SCHEDULE_TO_START:
        // Nobody polls this worker's queue: it is gone, retrying would only wait again.
        return {
          msg: `worker lost: ${who} did not take its share within ${Math.round((options.workerLostMs ?? 0) / 1000)} s`,
          retryable: false,
          timedOut: false,
        };
      default:
        return { msg: SystemResult.timeout, retryable: false, timedOut: true };
    }
  }
  if (cause instanceof ApplicationFailure && cause.nonRetryable) return { msg: cause.message, retryable: false, timedOut: false };
  return { msg: cause?.message ?? err.message, retryable: true, timedOut: false };
}
