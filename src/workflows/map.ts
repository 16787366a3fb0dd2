import {
  CancellationScope,
  condition,
  getExternalWorkflowHandle,
  isCancellation,
  patched,
  setHandler,
  upsertMemo,
  workflowInfo,
} from '@temporalio/workflow';
import { type MapActivities, type MapTaskRequest, type ProcessOutcome, stepRequest } from '../contract/activities.js';
import { type MapScope, type ProcessTarget, processTargetOf } from '../contract/scopes.js';
import { MemoKey } from '../contract/memo.js';
import { mapBatchDoneSignal, mapBatchGoSignal, mapBatchStartedSignal } from '../contract/messages.js';
import { appTaskQueue } from '../contract/names.js';
import type { MapBatchInput, MapBatchResult, MapBatchWorkflow } from '../contract/workflows.js';
import type { InstanceInput } from '../domain/instance.js';
import { SystemResult, cutResult } from '../domain/instance.js';
import type { MapCounts, MapProgress } from '../domain/map.js';
import { MAP_LIMITS, NO_COUNTS, addCounts, mapResultMessage, progressOf } from '../domain/map.js';
import { targetingOf } from '../domain/targeting.js';
import { TASK, type TaskResult } from '../domain/tasks.js';
import { type AttemptVerdict, type LoopResult, attemptLoop } from './attempt-loop.js';
import type { AttemptClaims } from './claims.js';
import { deliver, proxyProcessor } from './dispatch.js';
import { takeMembership } from './membership.js';

/**
 * MAP and MAP_REDUCE (see src/domain/map.ts for the shape): the root task runs on any
 * worker; the batches its ctx.map() calls start run their sub-tasks as activities on the
 * app's shared queue, a window at a time, each retried up to taskRetryNum and moved to
 * another worker if its worker dies; then, for MAP_REDUCE, reduce runs once with every
 * sub-task's result, whether or not some failed.
 */

/** Patch id of the gates (see MapScope.gated): instances from before them replay without. */
const BATCH_GATES_PATCH = 'map-batch-gates';

/** A batch writes its counts to its memo at most this often while it runs. */
const BATCH_MEMO_INTERVAL_MS = 2_000;

/**
 * The batches a workflow's tasks mapped: known from the tasks' outcomes and from the
 * batches' own "started" signals (a task that died after mapping never reports its
 * batches), done once each has signalled "done". Gated, it lets MAP_LIMITS.batchesAtOnce of
 * them run at a time, in the order they started. A batch that starts after this workflow
 * stopped accepting (stopped, timed out, moved on to reduce, or another attempt of the
 * instance) is cancelled before it runs anything.
 */
class Batches {
  private readonly known = new Set<string>();
  private readonly done = new Map<string, MapCounts>();
  private readonly waiting: string[] = [];
  /** Let go and not done yet. */
  private readonly released = new Set<string>();
  accepting = true;

  constructor(private readonly instanceAttempt: number, private readonly gated: boolean, onDone: (counts: MapCounts) => void = () => {}) {
    setHandler(mapBatchStartedSignal, ({ batchId, instanceAttempt }) => {
      if (instanceAttempt !== this.instanceAttempt || !this.accepting) {
        void getExternalWorkflowHandle(batchId).cancel().catch(() => {});
        return;
      }
      this.known.add(batchId);
      if (this.gated && !this.released.has(batchId) && !this.done.has(batchId)) {
        this.waiting.push(batchId);
        this.letNext();
      }
    });
    setHandler(mapBatchDoneSignal, ({ batchId, instanceAttempt, counts }) => {
      if (instanceAttempt !== this.instanceAttempt) return;
      this.known.add(batchId);
      this.done.set(batchId, counts);
      this.released.delete(batchId);
      this.letNext();
      onDone(this.counts());
    });
  }

  private letNext(): void {
    while (this.accepting && this.released.size < MAP_LIMITS.batchesAtOnce && this.waiting.length > 0) {
      const batchId = this.waiting.shift()!;
      this.released.add(batchId);
      // A batch that is gone was cancelled: cancelRunning() or a stop reached it first.
      void getExternalWorkflowHandle(batchId).signal(mapBatchGoSignal).catch(() => {});
    }
  }

  add(batchIds: readonly string[]): void {
    for (const id of batchIds) this.known.add(id);
  }

  ids(): string[] {
    return [...this.known];
  }

  allDone(): boolean {
    for (const id of this.known) if (!this.done.has(id)) return false;
    return true;
  }

  counts(): MapCounts {
    let sum = NO_COUNTS;
    for (const counts of this.done.values()) sum = addCounts(sum, counts);
    return sum;
  }

  /** Cancels every batch not done yet (and, through them, their sub-tasks and batches). */
  async cancelRunning(): Promise<void> {
    this.accepting = false;
    const running = [...this.known].filter((id) => !this.done.has(id));
    await CancellationScope.nonCancellable(() =>
      Promise.all(running.map((id) => getExternalWorkflowHandle(id).cancel().catch(() => {}))));
  }
}

type TaskRun = LoopResult & { batches: string[] };

/**
 * All attempts of one task (root, sub-task or reduce) through the shared attempt loop, with
 * `movable`: an attempt whose worker died is dispatched again as the same attempt, possibly
 * to another worker. With `claims` (the root task and reduce, in the instance), the attempt
 * is fenced: one delivery of it runs user code; sub-tasks go without (see the fence's cost
 * in docs/architecture.md). Collects the batches every attempt's ctx.map() started.
 */
async function runTask<R extends MapTaskRequest>(
  scope: MapScope,
  taskId: string,
  summary: string,
  requestOf: (attempt: number, maxAttempts: number) => R,
  dispatch: (activities: MapActivities, request: R) => Promise<ProcessOutcome & { batches?: string[] }>,
  claims?: AttemptClaims,
): Promise<TaskRun> {
  const batches = new Set<string>();
  const run = await attemptLoop({
    maxAttempts: scope.taskRetryNum + 1,
    deadline: scope.deadline,
    backoff: scope.retryBackoff,
    // reduce's verdict is the instance's result, not an error to retry.
    retryVerdict: taskId !== TASK.last.id,
    once: async (attempt, maxAttempts) => {
      const activities = proxyProcessor<MapActivities>({
        taskQueue: scope.taskQueue,
        deadline: scope.deadline,
        heartbeatTimeoutMs: scope.heartbeatTimeoutMs,
        ...(taskId === TASK.root.id || taskId === TASK.last.id ? { summary: `${summary}, attempt ${attempt}/${maxAttempts}` } : {}),
      });
      // Movable: an attempt whose worker died is dispatched again as the same attempt, to any worker.
      const outcome = await deliver(requestOf(attempt, maxAttempts), (request) => dispatch(activities, request), {
        movable: true,
        ...(claims ? { claims } : {}),
      });
      for (const id of outcome.batches ?? []) batches.add(id);
      return outcome;
    },
  });
  return { ...run, batches: [...batches] };
}

function mapTaskRequest(target: ProcessTarget, scope: MapScope, task: { id: string; name: string; subTask: unknown }, attempt: number, maxAttempts: number): MapTaskRequest {
  return {
    ...stepRequest(target, { instanceAttempt: scope.instanceAttempt, part: `t:${task.id}`, taskId: task.id, taskName: task.name }, attempt, maxAttempts),
    subTask: task.subTask,
    scope,
  };
}

export interface MapContext {
  input: InstanceInput;
  /** The instance's attempt: part of every batch id and idempotency key. */
  instanceAttempt: number;
  deadline: number;
  /** The instance's claims: the root task and reduce run once across worker processes. */
  claims: AttemptClaims;
  /** Progress, as batches of the root task finish. */
  publish(progress: MapProgress): void;
}

const TIMED_OUT: AttemptVerdict = { success: false, msg: SystemResult.timeout, timedOut: true };

/** One attempt of a MAP or MAP_REDUCE instance. */
export async function runMap({ input, instanceAttempt, deadline, claims, publish }: MapContext): Promise<AttemptVerdict> {
  const { job } = input;
  const members = await takeMembership(input.appName, targetingOf(job));
  const liveWorkers = 'failure' in members ? 1 : Math.max(1, members.length);
  const scope: MapScope = {
    parentWorkflowId: workflowInfo().workflowId,
    instanceAttempt,
    coreTaskQueue: workflowInfo().taskQueue,
    taskQueue: appTaskQueue(input.appName),
    appId: job.appId,
    window: job.concurrency * liveWorkers,
    concurrency: job.concurrency,
    taskRetryNum: job.taskRetryNum,
    retryBackoff: job.retryBackoff,
    deadline,
    heartbeatTimeoutMs: input.heartbeatTimeoutMs,
    keepResults: job.executeType === 'MAP_REDUCE',
    gated: patched(BATCH_GATES_PATCH),
  };
  const target = processTargetOf(input);
  const batches = new Batches(instanceAttempt, scope.gated === true, (counts) => publish(progressOf(counts)));
  try {
    const root = await runTask(scope, TASK.root.id, 'root task',
      (attempt, maxAttempts) => mapTaskRequest(target, scope, { id: TASK.root.id, name: TASK.root.name, subTask: null }, attempt, maxAttempts),
      (activities, request) => activities.runMapTask(request), claims);
    batches.add(root.batches);
    const inTime = !root.timedOut && await condition(() => batches.allDone(), Math.max(1, deadline - Date.now()));
    if (!inTime) {
      await batches.cancelRunning();
      return TIMED_OUT;
    }
    batches.accepting = false;
    const counts = batches.counts();
    publish(progressOf(counts));

    if (job.executeType === 'MAP_REDUCE') {
      const reduce = await runTask(scope, TASK.last.id, 'reduce',
        (attempt, maxAttempts) => ({ ...mapTaskRequest(target, scope, { id: TASK.last.id, name: TASK.last.name, subTask: null }, attempt, maxAttempts), batches: batches.ids() }),
        (activities, request) => activities.runMapReduce(request), claims);
      if (reduce.timedOut) return TIMED_OUT;
      return reduce.success ? { success: true, msg: reduce.msg } : { success: false, msg: reduce.msg ?? 'reduce reported failure' };
    }
    if (!root.success) return { success: false, msg: `root task failed: ${root.msg ?? 'processor reported failure'}; ${mapResultMessage(counts)}` };
    return { success: counts.failed === 0, msg: mapResultMessage(counts) };
  } catch (err) {
    if (isCancellation(err)) await batches.cancelRunning();
    throw err;
  }
}

/**
 * One batch of sub-tasks, in the core worker: it first tells its parent it exists (a
 * parent that is gone means the instance has finished, and nothing runs), waits for the
 * parent's "go" (gated scopes), then runs its items `window` at a time, waits for the
 * batches its sub-tasks mapped, and reports its counts to its parent. Its memo shows its own
 * sub-tasks' progress in the Web UI, and `waiting: true` until its parent lets it run.
 */
export const mapBatchWorkflow: MapBatchWorkflow = async (input: MapBatchInput): Promise<MapBatchResult> => {
  const { scope } = input;
  const batchId = workflowInfo().workflowId;
  const parent = getExternalWorkflowHandle(scope.parentWorkflowId);
  const own: MapCounts = { total: input.items.length, succeeded: 0, failed: 0 };
  let memoAt = 0;
  const writeMemo = (force: boolean) => {
    if (!force && Date.now() - memoAt < BATCH_MEMO_INTERVAL_MS) return;
    memoAt = Date.now();
    upsertMemo({ [MemoKey.batch]: { ...own } });
  };
  let go = false;
  setHandler(mapBatchGoSignal, () => { go = true; });
  try {
    await parent.signal(mapBatchStartedSignal, { batchId, instanceAttempt: scope.instanceAttempt });
  } catch (err) {
    if (isCancellation(err)) throw err;
    return { counts: NO_COUNTS, results: [], batches: [] };
  }
  if (scope.gated) {
    await condition(() => go);
    writeMemo(true);
  }

  const childScope: MapScope = { ...scope, parentWorkflowId: batchId };
  const below = new Batches(scope.instanceAttempt, scope.gated === true);
  const results: TaskResult[] = [];
  let next = 0;
  try {
    await Promise.all(Array.from({ length: Math.min(scope.window, input.items.length) }, async () => {
      while (next < input.items.length) {
        const index = next++;
        const task = { id: `${input.parentTaskId}.${input.offset + index}`, name: input.taskName, subTask: input.items[index] };
        const run = await runTask(childScope, task.id, task.name,
          (attempt, maxAttempts) => mapTaskRequest(input, childScope, task, attempt, maxAttempts),
          (activities, request) => activities.runMapTask(request));
        below.add(run.batches);
        if (run.success) own.succeeded++;
        else own.failed++;
        if (scope.keepResults) {
          results.push({ taskId: task.id, workerId: run.worker ?? '', success: run.success, result: cutResult(run.msg, MAP_LIMITS.resultInReduce) });
        }
        writeMemo(false);
      }
    }));
    await condition(() => below.allDone());
  } catch (err) {
    if (isCancellation(err)) await below.cancelRunning();
    throw err;
  }
  writeMemo(true);
  const counts = addCounts(own, below.counts());
  await parent.signal(mapBatchDoneSignal, { batchId, instanceAttempt: scope.instanceAttempt, counts }).catch(() => {});
  return { counts, results, batches: below.ids() };
};
