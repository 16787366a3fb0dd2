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

export interface MapCounts {
  total: number;
  succeeded: number;
  failed: number;
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
