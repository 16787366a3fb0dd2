export type ShareStatus = 'WAITING' | 'RUNNING' | 'SUCCEED' | 'FAILED' | 'STOPPED';

/** One member's share of a broadcast, as fetchInstanceInfo reports it. */
export interface BroadcastShare {
  workerId: string;
  status: ShareStatus;
  /** The processor's msg, or why the share failed (e.g. `worker lost: w-3 stopped heartbeating`). */
  result: string | null;
  /** Attempts made on this worker (taskRetryNum retries a share only here). */
  attempts: number;
}

/** A share as it starts: running its first attempt. */
export function runningShare(workerId: string): BroadcastShare {
  return { workerId, status: 'RUNNING', result: null, attempts: 1 };
}

export function isFinalShareStatus(status: ShareStatus): boolean {
  return status === 'SUCCEED' || status === 'FAILED' || status === 'STOPPED';
}
