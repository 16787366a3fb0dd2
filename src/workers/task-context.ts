import type { Logger } from '@temporalio/common';

/** What a processor receives for one attempt of one instance. */
export interface TaskContext {
  jobId: number;
  instanceId: number;
  jobParams: string | null;
  instanceParams: string | null;
  /** 1 for the first attempt; retries (instanceRetryNum, retryInstance) count on. */
  attempt: number;
  maxAttempts: number;
  /**
   * Stable for this attempt of this instance, whichever worker runs it: use it to make
   * your own side effects exactly-once (e.g. as a unique key in your database).
   */
  idempotencyKey: string;
  /** Aborted when the instance is stopped, times out, or this worker shuts down. */
  signal: AbortSignal;
  logger: Logger;
  /** Identity of the worker running this attempt. */
  workerId: string;
}

/** A processor's verdict, as in PowerJob: `msg` becomes the instance result. */
export interface ProcessResult {
  success: boolean;
  msg?: string | null;
}

export type Processor = (ctx: TaskContext) => Promise<ProcessResult> | ProcessResult;
