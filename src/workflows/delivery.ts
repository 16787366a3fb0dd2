import { ActivityFailure, TimeoutFailure } from '@temporalio/workflow';
import { TimeoutType } from '@temporalio/common';

/**
 * Temporal records an activity as started when it hands the task to a poller; if that
 * answer is lost on the way (a poll cut off under load), the attempt times out on its
 * heartbeat without the worker ever having run it. Processor workers wait until Temporal has
 * recorded a TAKEN_HEARTBEAT before any user code of a non-movable attempt runs, so a
 * heartbeat timeout without those details is such a lost delivery: it is dispatched again
 * as the same attempt, with the same idempotency key, and never counts against the job's
 * retries.
 */
const MAX_REDELIVERIES = 3;

function heartbeatTimeout(err: unknown): TimeoutFailure | null {
  return err instanceof ActivityFailure && err.cause instanceof TimeoutFailure && err.cause.timeoutType === TimeoutType.HEARTBEAT
    ? err.cause
    : null;
}

export function neverTaken(err: unknown): boolean {
  const timeout = heartbeatTimeout(err);
  return timeout !== null && timeout.lastHeartbeatDetails === undefined;
}

/**
 * Runs `dispatch` (one activity), again when its delivery was lost. With `movable` (map
 * sub-tasks), an attempt whose worker died mid-run is dispatched again too, as the same
 * attempt and with the same idempotency key, and may land on another worker.
 */
export async function deliver<T>(dispatch: () => Promise<T>, options: { movable?: boolean } = {}): Promise<T> {
  for (let redelivery = 0; ; redelivery++) {
    try {
      return await dispatch();
    } catch (err) {
      const again = options.movable ? heartbeatTimeout(err) !== null : neverTaken(err);
      if (redelivery >= MAX_REDELIVERIES || !again) throw err;
    }
  }
}
