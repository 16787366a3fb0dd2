import {
  ActivityFailure,
  CancellationScope,
  ChildWorkflowFailure,
  condition,
  defineSignal,
  getExternalWorkflowHandle,
  isCancellation,
  proxyActivities,
  setHandler,
  sleep,
  startChild,
  upsertMemo,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import type {
  BroadcastShare,
  InstanceInput,
  LiveWorker,
  PostProcessRequest,
  ProcessOutcome,
  ProcessRequest,
  ShareInput,
  TaskResult,
  WorkerTargeting,
} from '../domain/instance.js';
import { SystemResult, TASK, cutResult, processTarget, processTargetOf } from '../domain/instance.js';
import type { JobSnapshot } from '../domain/job.js';
import type { CoreActivities } from '../activities/index.js';
import {
  appTaskQueue,
  stepIdempotencyKey,
  broadcastShareWorkflowId,
  parseDesignatedWorkers,
  workerTaskQueue,
} from '../contract/names.js';
import { SA } from '../contract/search-attributes.js';
import type { AttemptOutcome } from './attempts.js';
import { attemptLoop } from './attempts.js';

/**
 * BROADCAST, as PowerJob runs it and without its bug (#1003): at the fire, the instance
 * takes a snapshot of the app's live workers from Temporal (membership activity), runs
 * `preProcess` once on any worker (shared queue), then starts one child workflow per member
 * (`tempojob-instance-<id>-w-<workerId>`, in the core worker, never on a worker's queue).
 * Each child runs that member's `process` as an activity pinned to the member's own queue
 * `app:<app>:w:<workerId>`, so a share can never move to another worker: a member that does
 * not take its share (schedule-to-start) or stops heartbeating is "worker lost" within the
 * detection bound, and taskRetryNum retries a share only on its own queue. Then `postProcess`
 * runs once with every member's result, and its verdict is the instance's.
 */

/** What processor workers register for broadcasts besides `runProcessor` (see src/workers). */
export interface BroadcastActivities {
  runBroadcastPreProcess(request: ProcessRequest): Promise<ProcessOutcome>;
  runBroadcastProcess(request: ProcessRequest): Promise<ProcessOutcome>;
  runBroadcastPostProcess(request: PostProcessRequest): Promise<ProcessOutcome>;
}

/** A share tells its instance that it is retrying (status RUNNING, attempts n, result = why the last attempt failed). */
export const shareProgressSignal = defineSignal<[{ instanceAttempt: number; share: BroadcastShare }]>('broadcastShareProgress');

/** Memo key of a share's child workflow (shown in the Web UI). */
export const SHARE_MEMO_KEY = 'share';

/** Results longer than this are cut in the instance's per-worker list (the full one is in the share's child). */
const SHARE_RESULT_IN_MEMO = 1024;
/** The per-worker list is written to the instance's memo at most this often while shares change. */
const PUBLISH_INTERVAL_MS = 1_000;

const { liveWorkers } = proxyActivities<CoreActivities>({
  startToCloseTimeout: '10 seconds',
  retry: { maximumInterval: '5 seconds', maximumAttempts: 5 },
});

export function targetingOf(job: JobSnapshot): WorkerTargeting {
  // Snapshots frozen before targeting existed have neither field.
  return { designatedWorkers: parseDesignatedWorkers(job.designatedWorkers ?? null), maxWorkerCount: job.maxWorkerCount ?? 0 };
}

/** The live workers that may take part (Temporal's view at this moment), or why they could not be listed. */
export async function takeMembership(appName: string, targeting: WorkerTargeting): Promise<LiveWorker[] | { failure: string }> {
  try {
    return await liveWorkers({ appName, targeting });
  } catch (err) {
    if (isCancellation(err)) throw err;
    const cause = err instanceof ActivityFailure ? err.cause?.message ?? err.message : String(err);
    return { failure: `could not list the live workers of app ${appName}: ${cause}` };
  }
}

export function noWorkerMessage(appName: string, targeting: WorkerTargeting): string {
  const which = targeting.designatedWorkers.length > 0
    ? `matches designatedWorkers ${targeting.designatedWorkers.join(',')}`
    : 'polls its queue';
  return `${SystemResult.noWorkerAvailable}: no live worker of app ${appName} ${which}`;
}

export interface BroadcastContext {
  input: InstanceInput;
  /** The instance's attempt number (runningTimes): part of every step's idempotency key. */
  instanceAttempt: number;
  deadline: number;
  /** Writes the per-worker list into the instance's state (memo). */
  publish(shares: BroadcastShare[]): void;
  /** The worker that ran preProcess: PowerJob's TaskTracker address. */
  setTracker(workerId: string): void;
}

/** One attempt of a broadcast instance. */
export async function runBroadcast(ctx: BroadcastContext): Promise<AttemptOutcome> {
  const { input, instanceAttempt, deadline } = ctx;
  const { job } = input;
  const targeting = targetingOf(job);
  const membership = await takeMembership(input.appName, targeting);
  if ('failure' in membership) return { kind: 'failed', msg: membership.failure };
  const members = capMembers(membership, targeting.maxWorkerCount);
  if (members.length === 0) return { kind: 'failed', msg: noWorkerMessage(input.appName, targeting) };

  const step = (taskId: string, taskName: string, attempt: number, maxAttempts: number, part: string): ProcessRequest => ({
    ...processTargetOf(input),
    attempt,
    maxAttempts,
    idempotencyKey: stepIdempotencyKey(input.instanceId, instanceAttempt, part, attempt),
    taskId,
    taskName,
  });

  const pre = await attemptLoop({
    maxAttempts: job.taskRetryNum + 1,
    deadline,
    backoff: job.retryBackoff,
    retryVerdict: true,
    once: (attempt, maxAttempts) => sharedQueueActivities(input, deadline, `preProcess, attempt ${attempt}/${maxAttempts}`)
      .runBroadcastPreProcess(step(TASK.root.id, TASK.root.name, attempt, maxAttempts, 'pre')),
  });
  if (pre.worker) ctx.setTracker(pre.worker);
  if (pre.timedOut) return { kind: 'timeout' };
  if (!pre.success) return { kind: 'failed', msg: `preProcess failed: ${pre.msg ?? 'processor reported failure'}` };

  const board = new ShareBoard(members.map((m) => ({ workerId: m.workerId, status: 'WAITING', result: null, attempts: 0 })), ctx.publish);
  setHandler(shareProgressSignal, ({ instanceAttempt: from, share }) => {
    if (from === instanceAttempt) board.update(share);
  });
  let timedOut = false;
  let cancellation: unknown;
  await Promise.all(members.map(async (member, index) => {
    const shareInput: ShareInput = {
      ...processTargetOf(input),
      workerId: member.workerId,
      taskId: TASK.broadcast.id(index),
      instanceAttempt,
      taskRetryNum: job.taskRetryNum,
      retryBackoff: job.retryBackoff,
      deadline,
      workerLostMs: input.heartbeatTimeoutMs,
    };
    const running: BroadcastShare = { workerId: member.workerId, status: 'RUNNING', result: null, attempts: 1 };
    try {
      const child = await startChild(broadcastShareWorkflow, {
        workflowId: broadcastShareWorkflowId(input.instanceId, member.workerId),
        args: [shareInput],
        memo: { [SHARE_MEMO_KEY]: running },
        typedSearchAttributes: [
          { key: SA.appName, value: input.appName },
          { key: SA.instanceId, value: input.instanceId },
          { key: SA.status, value: 'RUNNING' },
        ],
        staticSummary: `broadcast share of instance ${input.instanceId} on worker ${member.workerId} → ${job.processorInfo}`,
      });
      board.update(running);
      const outcome = await child.result();
      if (outcome.timedOut) timedOut = true;
      board.update(outcome.share);
    } catch (err) {
      if (isCancellation(err)) {
        cancellation ??= err;
        board.update({ ...board.get(member.workerId), status: 'STOPPED', result: 'stopped with its instance' });
        return;
      }
      const why = err instanceof ChildWorkflowFailure ? err.cause?.message ?? err.message : (err as Error).message ?? String(err);
      board.update({ ...board.get(member.workerId), status: 'FAILED', result: `share workflow of ${member.workerId} failed: ${why}` });
    }
  }));
  if (cancellation !== undefined) {
    for (const share of board.all()) {
      if (share.status === 'WAITING' || share.status === 'RUNNING') board.update({ ...share, status: 'STOPPED' });
    }
    board.close();
    throw cancellation;
  }
  board.close();
  if (timedOut) return { kind: 'timeout' };

  const results: TaskResult[] = board.all().map((share, index) => ({
    taskId: TASK.broadcast.id(index),
    workerId: share.workerId,
    success: share.status === 'SUCCEED',
    result: share.result,
  }));
  const post = await attemptLoop({
    maxAttempts: job.taskRetryNum + 1,
    deadline,
    backoff: job.retryBackoff,
    // postProcess's verdict is the instance's result, not an error to retry.
    retryVerdict: false,
    once: (attempt, maxAttempts) => sharedQueueActivities(input, deadline, `postProcess of ${results.length} results, attempt ${attempt}/${maxAttempts}`)
      .runBroadcastPostProcess({ ...step(TASK.last.id, TASK.last.name, attempt, maxAttempts, 'post'), results }),
  });
  if (post.timedOut) return { kind: 'timeout' };
  if (post.success) return { kind: 'succeeded', msg: post.msg };
  return { kind: 'failed', msg: post.error ? `postProcess failed: ${post.msg}` : post.msg ?? 'postProcess reported failure' };
}

/** preProcess and postProcess: on the app's shared queue, any worker. */
function sharedQueueActivities(input: InstanceInput, deadline: number, summary: string) {
  return proxyActivities<BroadcastActivities>({
    taskQueue: appTaskQueue(input.appName),
    startToCloseTimeout: Math.max(1, deadline - Date.now()),
    heartbeatTimeout: input.heartbeatTimeoutMs,
    retry: { maximumAttempts: 1 },
    cancellationType: 'TRY_CANCEL',
    summary,
  });
}

/** maxWorkerCount: a random sample (deterministic in the workflow), so load spreads over the workers. */
export function capMembers(members: LiveWorker[], maxWorkerCount: number): LiveWorker[] {
  if (maxWorkerCount <= 0 || members.length <= maxWorkerCount) return members;
  const pool = [...members];
  const chosen: LiveWorker[] = [];
  while (chosen.length < maxWorkerCount) chosen.push(pool.splice(Math.floor(Math.random() * pool.length), 1)[0]!);
  return chosen.sort((a, b) => (a.workerId < b.workerId ? -1 : 1));
}

/** One member's share: a child workflow of the instance, running in the core worker. */
export async function broadcastShareWorkflow(input: ShareInput): Promise<{ share: BroadcastShare; timedOut: boolean }> {
  const share: BroadcastShare = { workerId: input.workerId, status: 'RUNNING', result: null, attempts: 0 };
  const parent = workflowInfo().parent;
  const report = (toParent: boolean) => {
    upsertMemo({ [SHARE_MEMO_KEY]: { ...share } });
    upsertSearchAttributes([{ key: SA.status, value: share.status }]);
    if (toParent && parent) {
      getExternalWorkflowHandle(parent.workflowId, parent.runId)
        .signal(shareProgressSignal, { instanceAttempt: input.instanceAttempt, share: { ...share } })
        .catch(() => {});
    }
  };
  try {
    const outcome = await attemptLoop({
      maxAttempts: input.taskRetryNum + 1,
      deadline: input.deadline,
      backoff: input.retryBackoff,
      retryVerdict: true,
      workerId: input.workerId,
      workerLostMs: input.workerLostMs,
      onRetry: (failure) => {
        share.result = failure;
      },
      once: (attempt, maxAttempts) => {
        share.attempts = attempt;
        // The first attempt's state is what the share was started with (memo, search attribute).
        if (attempt > 1) report(true);
        const remaining = Math.max(1, input.deadline - Date.now());
        const { runBroadcastProcess } = proxyActivities<BroadcastActivities>({
          // Pinned to this member: retries stay here, a lost worker's share goes nowhere else.
          taskQueue: workerTaskQueue(input.appName, input.workerId),
          scheduleToCloseTimeout: remaining,
          scheduleToStartTimeout: Math.min(input.workerLostMs, remaining),
          heartbeatTimeout: input.workerLostMs,
          retry: { maximumAttempts: 1 },
          cancellationType: 'TRY_CANCEL',
          summary: `process on ${input.workerId}, attempt ${attempt}/${maxAttempts}`,
        });
        return runBroadcastProcess({
          ...processTarget(input),
          attempt,
          maxAttempts,
          idempotencyKey: stepIdempotencyKey(input.instanceId, input.instanceAttempt, `w:${input.workerId}`, attempt),
          taskId: input.taskId,
          taskName: TASK.broadcast.name,
        });
      },
    });
    share.status = outcome.success ? 'SUCCEED' : 'FAILED';
    share.result = cutResult(outcome.timedOut ? SystemResult.timeout : outcome.msg);
    report(false);
    return { share, timedOut: outcome.timedOut };
  } catch (err) {
    if (isCancellation(err)) {
      share.status = 'STOPPED';
      share.result = 'stopped with its instance';
      report(false);
    }
    throw err;
  }
}


/**
 * The per-worker list of one broadcast attempt. Changes are written to the instance's memo
 * at most every PUBLISH_INTERVAL_MS (the first at once), so a broadcast to many workers
 * does not write the whole list into history once per share event. Results are kept whole
 * here (postProcess gets them) and cut in the memo.
 */
class ShareBoard {
  private dirty = false;
  private closed = false;

  constructor(private readonly shares: BroadcastShare[], private readonly publish: (shares: BroadcastShare[]) => void) {
    this.publish(this.view());
    void CancellationScope.nonCancellable(async () => {
      while (!this.closed) {
        await condition(() => this.dirty || this.closed);
        if (this.closed) return;
        this.dirty = false;
        this.publish(this.view());
        await sleep(PUBLISH_INTERVAL_MS);
      }
    });
  }

  get(workerId: string): BroadcastShare {
    return this.shares.find((s) => s.workerId === workerId)!;
  }

  all(): readonly BroadcastShare[] {
    return this.shares;
  }

  update(share: BroadcastShare): void {
    const index = this.shares.findIndex((s) => s.workerId === share.workerId);
    const current = this.shares[index];
    if (!current) return;
    // A late progress notice never overwrites a final status.
    if (isFinal(current.status) && !isFinal(share.status)) return;
    this.shares[index] = { ...share };
    this.dirty = true;
  }

  close(): void {
    this.closed = true;
    this.publish(this.view());
  }

  private view(): BroadcastShare[] {
    return this.shares.map((share) => ({ ...share, result: cutResult(share.result, SHARE_RESULT_IN_MEMO) }));
  }
}

function isFinal(status: BroadcastShare['status']): boolean {
  return status === 'SUCCEED' || status === 'FAILED' || status === 'STOPPED';
}
