import { isCancellation, sleep } from '@temporalio/workflow';
import type { RetryBackoff } from '../domain/job.js';
import { backoffMs } from '../domain/job.js';
import type { Pinned } from './dispatch.js';
import { classifyFailure } from './dispatch.js';

/**
 * The one attempt loop: every processor dispatch goes through it — the attempts of an
 * instance (instanceRetryNum: a STANDALONE run, or a whole broadcast or map attempt) and the
 * attempts of each step inside one (taskRetryNum: preProcess, a share, postProcess, a map
 * task, reduce). Each attempt is its own activity in history with its own idempotency key;
 * between attempts it waits the job's retryBackoff, never past the instance's deadline.
 * Cancellation (stop, the instance's cancellation) propagates.
 */

/** How one attempt ended, when it did not throw. A processor's outcome is one. */
export interface AttemptVerdict {
  success: boolean;
  msg: string | null;
  /** The worker that ran it (for a processor outcome: its id). */
  workerIdentity?: string | null;
  /** The instance's time limit ended it. */
  timedOut?: boolean;
}

export interface LoopOptions {
  maxAttempts: number;
  deadline: number;
  backoff: RetryBackoff;
  /** Whether a processor's `success: false` is retried (process, preProcess) or is the verdict (postProcess, reduce). */
  retryVerdict: boolean;
  /** Attempts pinned to one worker's queue, read when an attempt fails (the instance picks a worker per attempt). */
  pinned?: () => Pinned | undefined;
  /**
   * Whether a failure marked non-retryable (an unknown processor, an invalid result) is retried
   * anyway: instances started before one loop did so, and replay as they ran.
   */
  retryNonRetryable?: () => boolean;
  once(attempt: number, maxAttempts: number): Promise<AttemptVerdict>;
  /** Before the backoff of a retry: why the attempt failed (`attempt n failed: …`) and on which worker. */
  onRetry?(failure: string, worker: string | null): void;
}

export interface LoopResult {
  success: boolean;
  msg: string | null;
  /** The step failed with an error (not a processor's verdict). */
  error: boolean;
  timedOut: boolean;
  /** The worker of the last attempt, when known. */
  worker: string | null;
}

export async function attemptLoop(options: LoopOptions): Promise<LoopResult> {
  for (let attempt = 1; ; attempt++) {
    let failure: string;
    let retryable = true;
    let worker: string | null;
    try {
      const verdict = await options.once(attempt, options.maxAttempts);
      worker = verdict.workerIdentity ?? null;
      if (verdict.timedOut) return { success: false, msg: verdict.msg, error: true, timedOut: true, worker };
      if (verdict.success || !options.retryVerdict) {
        return { success: verdict.success, msg: verdict.msg, error: false, timedOut: false, worker };
      }
      failure = verdict.msg ?? 'processor reported failure';
    } catch (err) {
      if (isCancellation(err)) throw err;
      const classified = classifyFailure(err, options.pinned?.());
      worker = classified.worker;
      if (classified.timedOut) return { success: false, msg: classified.msg, error: true, timedOut: true, worker };
      failure = classified.msg;
      retryable = classified.retryable;
    }
    if (attempt >= options.maxAttempts || (!retryable && !options.retryNonRetryable?.())) {
      return { success: false, msg: failure, error: true, timedOut: false, worker };
    }
    const backoff = backoffMs(options.backoff, attempt);
    if (Date.now() + backoff >= options.deadline) return { success: false, msg: failure, error: true, timedOut: false, worker };
    options.onRetry?.(`attempt ${attempt} failed: ${failure}`, worker);
    await sleep(backoff);
  }
}
