import type { TaskResult } from '../domain/tasks.js';
import type { TaskLogger } from './task-logger.js';

export type { TaskResult };

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
  /**
   * PowerJob's OmsLogger: lines go where the job's logConfig says (default: the instance's
   * online log, at INFO and above), tagged with this attempt and task. Never throws, never waits.
   */
  logger: TaskLogger;
  /** Identity of the worker running this attempt. */
  workerId: string;
  /**
   * In a workflow (a JOB node's instance): the workflow context, string values by key, as
   * PowerJob's `fetchWorkflowContext()` gives it; null outside workflows.
   */
  workflowContext: Readonly<Record<string, string | null>> | null;
  /**
   * In a workflow: adds `key` to the context the node's successors see (a string as it is,
   * anything else as its JSON; PowerJob's `appendData2WfContext`). Merged by key when the
   * node finishes; what one node appends may be at most 8,192 characters of JSON (beyond that
   * this throws). STANDALONE and BROADCAST processors and a map's reduce may append; a map
   * task may not (it throws). Outside workflows it does nothing.
   */
  appendWorkflowContext(key: string, value: unknown): void;
  /**
   * BROADCAST only, as in PowerJob: `OMS_ROOT_TASK` (preProcess, task id `0`),
   * `OMS_BROADCAST_TASK` (process on every worker, ids `0.1`, `0.2`, …) or `OMS_LAST_TASK`
   * (postProcess, id `9999`). In a broadcast, `attempt` counts the attempts of this step
   * (taskRetryNum), and `idempotencyKey` is per step and attempt.
   */
  taskId?: string;
  taskName?: string;
}

/** A processor's verdict, as in PowerJob: `msg` becomes the instance result. */
export interface ProcessResult {
  success: boolean;
  msg?: string | null;
}

/** A processor (PowerJob's BasicProcessor): one function, run once per attempt on one worker. */
export type Processor = (ctx: TaskContext) => Promise<ProcessResult> | ProcessResult;


/**
 * A BROADCAST processor, as PowerJob's BroadcastProcessor: `preProcess` runs once on one
 * worker (default: success), then `process` once on every worker of the app that was alive
 * when the instance fired, then `postProcess` once with every worker's result (default:
 * success iff none failed, msg `succeed:N, failed:M`), whose verdict is the instance's.
 * A plain function used for a BROADCAST job runs as `process` with both defaults, and a
 * BroadcastProcessor used for a STANDALONE job runs its `process`.
 */
export interface BroadcastProcessor {
  preProcess?(ctx: TaskContext): Promise<ProcessResult> | ProcessResult;
  process(ctx: TaskContext): Promise<ProcessResult> | ProcessResult;
  postProcess?(ctx: TaskContext, results: TaskResult[]): Promise<ProcessResult> | ProcessResult;
}

/**
 * What a task of a MAP or MAP_REDUCE instance sees: the root task (`isRootTask`, task id
 * `0`, name `OMS_ROOT_TASK`) and every sub-task (ids `<parent>.<n>`, the name given to
 * ctx.map, the mapped item as `subTask`). Any task may map again.
 */
export interface MapTaskContext extends TaskContext {
  taskId: string;
  taskName: string;
  isRootTask: boolean;
  /** The item this sub-task was mapped from, as JSON gives it back (null for the root task). */
  subTask: unknown;
  /**
   * Creates one sub-task per item, named `taskName`, spread over every live worker of the
   * app. Items must be JSON (at most 64 KiB each): map ids or keys, and load the data in
   * the sub-task. Resolves once the sub-tasks are durably created; a task that runs again
   * and maps the same items in the same order creates nothing twice.
   */
  map(items: readonly unknown[], taskName: string): Promise<void>;
}

/**
 * A MAP or MAP_REDUCE processor (PowerJob's MapProcessor / MapReduceProcessor): `process`
 * runs for the root task and for every sub-task; `reduce` (required by MAP_REDUCE) runs
 * once after every sub-task has finished, failed ones included, with their results; its
 * verdict is the instance's. A MAP instance succeeds iff every task did, with the message
 * `total:N,succeed:S,failed:F` over the sub-tasks. Register it through mapProcessor().
 */
export interface MapProcessor {
  process(ctx: MapTaskContext): Promise<ProcessResult> | ProcessResult;
  reduce?(ctx: TaskContext, results: TaskResult[]): Promise<ProcessResult> | ProcessResult;
}

/** What a worker registers under a name: a function, or a BroadcastProcessor. */
export type ProcessorDefinition = Processor | BroadcastProcessor;

/**
 * A MapProcessor as a processor to register: callable as a plain Processor (its
 * `process`), carrying `process` and `reduce` for map jobs.
 */
export function mapProcessor(definition: MapProcessor): Processor & MapProcessor {
  const callable: Processor = (ctx) => definition.process(ctx as MapTaskContext);
  return Object.assign(callable, {
    process: definition.process,
    ...(definition.reduce ? { reduce: definition.reduce } : {}),
  });
}

/** An object processor (broadcast or map) rather than a plain function. */
export function hasProcessMethod(processor: ProcessorDefinition): processor is BroadcastProcessor {
  return typeof (processor as Partial<BroadcastProcessor>).process === 'function';
}

/** PowerJob's BroadcastProcessor.defaultResult. */
export function defaultBroadcastResult(results: readonly TaskResult[]): ProcessResult & { msg: string } {
  const failed = results.filter((r) => !r.success).length;
  return { success: failed === 0, msg: `succeed:${results.length - failed}, failed:${failed}` };
}

/**
 * A BroadcastProcessor that is also callable as a plain Processor (its `process`), so it
 * fits wherever a `Record<string, Processor>` is expected (wrappers, registries).
 */
export function broadcastProcessor(definition: BroadcastProcessor): Processor & BroadcastProcessor {
  const callable: Processor = (ctx) => definition.process(ctx);
  return Object.assign(callable, {
    process: definition.process,
    ...(definition.preProcess ? { preProcess: definition.preProcess } : {}),
    ...(definition.postProcess ? { postProcess: definition.postProcess } : {}),
  });
}
