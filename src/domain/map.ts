import type { JobSnapshot } from './job.js';
import type { ProcessOutcome, ProcessRequest, ProcessTarget, TaskResult } from './instance.js';

/**
 * MAP and MAP_REDUCE. A map task (the root task, or any sub-task) may call ctx.map(items,
 * name); each call's items are split into batches, and each batch is a workflow of its own
 * (`mapBatchWorkflow`, started by the worker with a derived id) holding its items and
 * running them as activities on the app's shared queue. Batches report to the workflow that
 * ran the task which mapped them (the instance, or a batch), so no history grows with the
 * number of sub-tasks: the instance sees three signals per batch of its root task's maps.
 */

/** Limits of ctx.map: one item's JSON, how items are cut into batches, how many batches run. */
export const MAP_LIMITS = {
  maxItemBytes: 64 * 1024,
  batchItems: 1_000,
  batchBytes: 512 * 1024,
  /**
   * Batches of one parent that run at a time (the others wait for their "go"). Each keeps
   * `concurrency × live workers` sub-tasks in flight, so the app's queue holds about twice
   * what its workers can run however large the map: tasks are handed straight to waiting
   * workers instead of piling up in Temporal's backlog, and other jobs of the app are not
   * queued behind a whole map. Two, not one, so the next batch runs while the last sub-tasks
   * of one finish.
   */
  batchesAtOnce: 2,
  /** A sub-task's result as reduce sees it is cut to this many characters. */
  resultInReduce: 1_024,
} as const;

/** What a map task needs to create batches and what its batches inherit. */
export interface MapScope {
  /** The workflow that runs this task: the parent its batches report to. */
  parentWorkflowId: string;
  /** Attempt of the instance (runningTimes) this task belongs to. */
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
  retryBackoff: JobSnapshot['retryBackoff'];
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

/** One attempt of one map task, on any worker of the app. */
export interface MapTaskRequest extends ProcessRequest {
  taskId: string;
  taskName: string;
  /** The item ctx.map() created this task from (null for the root task). */
  subTask: unknown;
  scope: MapScope;
}

/** A map task's verdict, with the batches its ctx.map() calls started. */
export interface MapTaskOutcome extends ProcessOutcome {
  batches: string[];
}

/** Input of a batch workflow: `items` become tasks `<parentTaskId>.<offset + i>`. */
export interface MapBatchInput extends ProcessTarget {
  batchId: string;
  parentTaskId: string;
  offset: number;
  taskName: string;
  items: unknown[];
  scope: MapScope;
}

/** Memo key of a batch workflow: a BatchMemo (the API sums the counts for live progress). */
export const BATCH_MEMO_KEY = 'batch';

/** A batch's own sub-tasks' counts, and `waiting` until its parent lets it run. */
export interface BatchMemo extends MapCounts {
  waiting?: true;
}

export interface MapCounts {
  total: number;
  succeeded: number;
  failed: number;
}

/** What a batch returns: counts over its sub-tasks and every batch below it. */
export interface MapBatchResult {
  counts: MapCounts;
  /** MAP_REDUCE: this batch's own sub-tasks' results. */
  results: TaskResult[];
  /** Batches its sub-tasks mapped (reduce walks them for their results). */
  batches: string[];
}

/** A batch tells its parent it exists (so a stop reaches it) and, later, that it is done. */
export interface BatchStarted {
  batchId: string;
  instanceAttempt: number;
}
export interface BatchDone extends BatchStarted {
  counts: MapCounts;
}

/** Input of reduce: the root task's batches; the worker walks down from them for every result. */
export interface ReduceRequest extends ProcessRequest {
  batches: string[];
}

/** Progress of a map instance, as fetchInstanceInfo reports it (`map`). */
export interface MapProgress extends MapCounts {
  running: number;
}

export const addCounts = (a: MapCounts, b: MapCounts): MapCounts => ({
  total: a.total + b.total,
  succeeded: a.succeeded + b.succeeded,
  failed: a.failed + b.failed,
});

export const NO_COUNTS: MapCounts = { total: 0, succeeded: 0, failed: 0 };

export function progressOf(counts: MapCounts): MapProgress {
  return { ...counts, running: counts.total - counts.succeeded - counts.failed };
}

/** PowerJob's MAP result: success iff no task failed. */
export function mapResultMessage(counts: MapCounts): string {
  return `total:${counts.total},succeed:${counts.succeeded},failed:${counts.failed}`;
}
