import type { InstanceInput } from '../domain/instance.js';
import type { LogConfig, RetryBackoff } from '../domain/job.js';

/**
 * What every dispatch of an instance carries, shared by activity requests (activities.ts)
 * and workflow inputs (workflows.ts): the processor it targets and, for maps, the scope its
 * tasks and batches run in.
 */

/** What every attempt of an instance's processor is asked to run, whichever worker and step. */
export interface ProcessTarget {
  instanceId: number;
  jobId: number;
  appName: string;
  processorInfo: string;
  jobParams: string | null;
  /** In a workflow instance: the workflow context as JSON (PowerJob's instanceParams there). */
  instanceParams: string | null;
  /** The workflow instance whose JOB node runs this (absent outside workflows). */
  wfInstanceId?: number;
  /**
   * Where the processor's ctx.logger lines go (the job's logConfig when the instance was
   * created). Absent in instances created before instance logs, or null: online, at INFO.
   */
  logConfig?: LogConfig | null;
}

export function processTargetOf(input: InstanceInput): ProcessTarget {
  const { instanceId, appName, instanceParams, job, wfInstanceId } = input;
  return {
    instanceId, jobId: job.id, appName, processorInfo: job.processorInfo, jobParams: job.jobParams, instanceParams,
    ...(wfInstanceId !== undefined ? { wfInstanceId } : {}),
    ...(job.logConfig !== undefined ? { logConfig: job.logConfig } : {}),
  };
}

/** The target fields alone (e.g. of a broadcast share's input), for an activity request. */
export function processTarget({ instanceId, jobId, appName, processorInfo, jobParams, instanceParams, wfInstanceId, logConfig }: ProcessTarget): ProcessTarget {
  return {
    instanceId, jobId, appName, processorInfo, jobParams, instanceParams,
    ...(wfInstanceId !== undefined ? { wfInstanceId } : {}),
    ...(logConfig !== undefined ? { logConfig } : {}),
  };
}

/** What a map task needs to create batches and what its batches inherit. */
export interface MapScope {
  /** The workflow that runs this task: the parent its batches report to. */
  parentWorkflowId: string;
  /** Attempt of the instance this task belongs to. */
  instanceAttempt: number;
  coreTaskQueue: string;
  /** The app's shared queue: where every map task runs. */
  taskQueue: string;
  appId: number;
  /** Sub-tasks of one batch in flight at once. */
  window: number;
  /** Sub-tasks of this instance running at once on one worker (the job's concurrency). */
  concurrency: number;
  taskRetryNum: number;
  retryBackoff: RetryBackoff;
  /** Epoch ms the instance times out at. */
  deadline: number;
  heartbeatTimeoutMs: number;
  /** MAP_REDUCE: batches keep their sub-tasks' results for reduce. */
  keepResults: boolean;
  /**
   * A batch waits for its parent's "go" before it runs anything, and a parent lets
   * MAP_LIMITS.batchesAtOnce of its batches run at a time. Absent in instances started
   * before gates existed: their batches run at once, as they did then.
   */
  gated?: boolean;
}
