import { ApplicationFailure } from '@temporalio/activity';
import type { Client } from '@temporalio/client';
import type { MapActivities, MapTaskOutcome, MapTaskRequest, ProcessOutcome, ReduceRequest } from '../contract/activities.js';
import { processTarget } from '../contract/scopes.js';
import { mapBatchWorkflowId } from '../contract/names.js';
import { mapBatchStartOptions } from '../contract/start-options.js';
import { type MapBatchInput, type MapBatchResult, type MapBatchWorkflow, WorkflowType } from '../contract/workflows.js';
import { MAP_LIMITS } from '../domain/map.js';
import { isAlreadyStarted } from '../temporal/errors.js';
import { TASK, type TaskResult } from '../domain/tasks.js';
import { type AttemptMemory, type AttemptWorker, DuplicateDeliveryError, admissionOf, checkResult, confirmStillHeld, processorFor, taskContextOf } from './attempt.js';
import { AttemptWorkflowContext } from './workflow-context.js';
import type { MapProcessor, MapTaskContext, ProcessorDefinition } from './task-context.js';
import { hasProcessMethod } from './task-context.js';

/** Batches started, or results read, at once. */
const PARALLEL_CALLS = 8;
const RESERVED_TASK_NAMES: readonly string[] = [TASK.root.name, TASK.broadcast.name, TASK.last.name];

/** A user's mistake in a ctx.map() call: the task fails with this message, nothing is mapped. */
export class MapCallError extends Error {
  override name = 'MapCallError';
}

/**
 * Map tasks and reduce, on processor workers. A task's ctx.map() checks and cuts its items
 * into batches and starts one batch workflow per batch (in the core worker, with a derived
 * id, so a task that runs again starts nothing twice); at most `concurrency` tasks of one
 * instance run at once on this worker, and a second delivery of an attempt (task or reduce)
 * this process already ran or is running gets that run's outcome (`memory`). Reduce reads
 * every batch's results from Temporal.
 */
/** Map tasks run side by side and again: what each appended would overwrite the others'. */
const MAP_TASKS_CANNOT_APPEND =
  'appendWorkflowContext: a map task cannot append to the workflow context (its sub-tasks would overwrite each other); append from reduce, or from a STANDALONE node after the map';

export function mapActivities(worker: AttemptWorker, processors: Record<string, ProcessorDefinition>, client: Client, memory: AttemptMemory): MapActivities {
  const { workerId } = worker;
  const slots = new InstanceSlots();

  /** One run of a map task; a processor that throws is a failed attempt that still reports the batches it started. */
  const run = async (request: MapTaskRequest, process: (ctx: MapTaskContext) => unknown): Promise<MapTaskOutcome> => {
    const started: string[] = [];
    let calls = 0;
    let mapped = 0;
    const ctx: MapTaskContext = {
      ...taskContextOf(request, worker, new AttemptWorkflowContext(request, MAP_TASKS_CANNOT_APPEND)),
      taskId: request.taskId,
      taskName: request.taskName,
      isRootTask: request.taskId === TASK.root.id,
      subTask: request.subTask,
      map: async (items, taskName) => {
        const batches = cutIntoBatches(items, taskName);
        const call = calls++;
        const offset = mapped;
        mapped += items.length;
        started.push(...await startBatches(client, request, call, offset, taskName, batches));
      },
    };
    try {
      const result = await slots.run(request, async () => {
        // Stopped while it waited for a slot: it never starts.
        ctx.signal.throwIfAborted();
        // Unfenced (a sub-task): a stale delivery never starts either.
        if (!request.fenced) await confirmStillHeld(client, request.idempotencyKey, workerId);
        return process(ctx);
      });
      return { ...checkResult(request.processorInfo, result), workerIdentity: workerId, batches: started };
    } catch (err) {
      if (ctx.signal.aborted || err instanceof DuplicateDeliveryError || (err instanceof ApplicationFailure && err.nonRetryable)) throw err;
      return { success: false, msg: err instanceof Error ? err.message : String(err), workerIdentity: workerId, batches: started };
    }
  };

  return {
    runMapTask(request) {
      const processor = processorFor(processors, request, workerId);
      const process = hasProcessMethod(processor) ? (c: MapTaskContext) => (processor as unknown as MapProcessor).process(c) : processor;
      return memory.deliver(request.idempotencyKey, () => run(request, process), admissionOf(request, client, worker, true));
    },

    async runMapReduce(request): Promise<ProcessOutcome> {
      const processor = processorFor(processors, request, workerId);
      const reduce = (processor as Partial<MapProcessor>).reduce;
      if (!reduce) {
        throw ApplicationFailure.nonRetryable(
          `processor "${request.processorInfo}" has no reduce(ctx, results); a MAP_REDUCE job needs one (or make the job MAP)`,
          'NoReduce',
        );
      }
      const workflow = new AttemptWorkflowContext(request);
      const ctx = taskContextOf(request, worker, workflow);
      const result = await memory.deliver(request.idempotencyKey, async () => {
        try {
          return await reduce.call(processor, ctx, await resultsOf(client, request));
        } finally {
          await workflow.report(client);
        }
      }, admissionOf(request, client, worker, true));
      return { ...checkResult(request.processorInfo, result), workerIdentity: workerId };
    },
  };
}

/** Checks a ctx.map() call and cuts its items (as JSON gives them back) into batches. */
function cutIntoBatches(items: readonly unknown[], taskName: string): unknown[][] {
  if (!Array.isArray(items)) throw new MapCallError('ctx.map(items, taskName): items must be an array');
  if (typeof taskName !== 'string' || taskName.length === 0 || taskName.length > 200) {
    throw new MapCallError('ctx.map(items, taskName): taskName must be a string of 1-200 characters');
  }
  if (RESERVED_TASK_NAMES.includes(taskName)) {
    throw new MapCallError(`ctx.map(items, taskName): "${taskName}" is reserved for tempojob's own tasks; choose another name`);
  }
  const batches: unknown[][] = [];
  let batch: unknown[] = [];
  let bytes = 0;
  items.forEach((item, index) => {
    const json = JSON.stringify(item);
    if (json === undefined) throw new MapCallError(`ctx.map: item ${index} is not JSON (undefined, a function or a symbol)`);
    const size = Buffer.byteLength(json);
    if (size > MAP_LIMITS.maxItemBytes) {
      throw new MapCallError(`ctx.map: item ${index} is ${size} bytes of JSON, over the ${MAP_LIMITS.maxItemBytes}-byte limit; map ids or keys and load the data inside the sub-task`);
    }
    if (batch.length === MAP_LIMITS.batchItems || bytes + size > MAP_LIMITS.batchBytes) {
      batches.push(batch);
      batch = [];
      bytes = 0;
    }
    batch.push(JSON.parse(json));
    bytes += size;
  });
  if (batch.length > 0) batches.push(batch);
  return batches;
}

async function startBatches(client: Client, request: MapTaskRequest, call: number, offset: number, taskName: string, batches: unknown[][]): Promise<string[]> {
  const { scope } = request;
  const inputs: MapBatchInput[] = [];
  let first = offset;
  batches.forEach((items, index) => {
    inputs.push({
      ...processTarget(request),
      batchId: mapBatchWorkflowId(request.instanceId, scope.instanceAttempt, request.taskId, call, index),
      parentTaskId: request.taskId,
      offset: first,
      taskName,
      items,
      scope,
    });
    first += items.length;
  });
  await inGroups(inputs, async (input) => {
    try {
      await client.workflow.start<MapBatchWorkflow>(WorkflowType.mapBatch, mapBatchStartOptions(input, request.taskId));
    } catch (err) {
      if (!isAlreadyStarted(err)) throw err;
    }
  });
  return inputs.map((input) => input.batchId);
}

/** Every sub-task's result, walking down from the root task's batches. */
async function resultsOf(client: Client, request: ReduceRequest): Promise<TaskResult[]> {
  const results: TaskResult[] = [];
  let level = request.batches;
  while (level.length > 0) {
    const below: string[] = [];
    await inGroups(level, async (batchId) => {
      const batch: MapBatchResult = await client.workflow.getHandle<MapBatchWorkflow>(batchId).result();
      results.push(...batch.results);
      below.push(...batch.batches);
    });
    level = below;
  }
  return results.sort((a, b) => compareTaskIds(a.taskId, b.taskId));
}

/** Task ids in tree order: `0.2` before `0.10`, `0.2` before `0.2.1`. */
function compareTaskIds(a: string, b: string): number {
  const x = a.split('.').map(Number);
  const y = b.split('.').map(Number);
  for (let i = 0; i < Math.min(x.length, y.length); i++) if (x[i] !== y[i]) return x[i]! - y[i]!;
  return x.length - y.length;
}

async function inGroups<T>(items: readonly T[], each: (item: T) => Promise<void>): Promise<void> {
  for (let i = 0; i < items.length; i += PARALLEL_CALLS) await Promise.all(items.slice(i, i + PARALLEL_CALLS).map(each));
}

/** At most `concurrency` tasks of one instance attempt at once on this worker (the job's concurrency). */
class InstanceSlots {
  private readonly running = new Map<string, { active: number; waiting: (() => void)[] }>();

  async run<T>(request: MapTaskRequest, call: () => Promise<T> | T): Promise<T> {
    const key = `${request.instanceId}:${request.scope.instanceAttempt}`;
    let slot = this.running.get(key);
    if (!slot) this.running.set(key, (slot = { active: 0, waiting: [] }));
    const entry = slot;
    if (entry.active >= request.scope.concurrency) await new Promise<void>((resolve) => entry.waiting.push(resolve));
    else entry.active++;
    try {
      return await call();
    } finally {
      const next = entry.waiting.shift();
      if (next) next();
      else if (--entry.active === 0) this.running.delete(key);
    }
  }
}
