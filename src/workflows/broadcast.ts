import {
  CancellationScope,
  ChildWorkflowFailure,
  condition,
  getExternalWorkflowHandle,
  isCancellation,
  setHandler,
  sleep,
  startChild,
  upsertMemo,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import { type BroadcastActivities, stepRequest } from '../contract/activities.js';
import { processTargetOf } from '../contract/scopes.js';
import { MemoKey } from '../contract/memo.js';
import { shareProgressSignal } from '../contract/messages.js';
import { appTaskQueue, workerTaskQueue } from '../contract/names.js';
import { SA } from '../contract/search-attributes.js';
import { shareStartOptions } from '../contract/start-options.js';
import { type BroadcastShareWorkflow, type ShareInput, type ShareOutcome, WorkflowType } from '../contract/workflows.js';
import type { BroadcastShare } from '../domain/broadcast.js';
import { isFinalShareStatus, runningShare } from '../domain/broadcast.js';
import type { InstanceInput } from '../domain/instance.js';
import { SystemResult, cutResult } from '../domain/instance.js';
import { targetingOf } from '../domain/targeting.js';
import { TASK, type TaskResult } from '../domain/tasks.js';
import { type AttemptVerdict, attemptLoop } from './attempt-loop.js';
import { AttemptClaims } from './claims.js';
import { deliver, proxyProcessor } from './dispatch.js';
import { capMembers, noWorkerMessage, takeMembership } from './membership.js';

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

/** Results longer than this are cut in the instance's per-worker list (the full one is in the share's child). */
const SHARE_RESULT_IN_MEMO = 1024;
/** The per-worker list is written to the instance's memo at most this often while shares change. */
const PUBLISH_INTERVAL_MS = 1_000;

export interface BroadcastContext {
  input: InstanceInput;
  /** The instance's attempt: part of every step's idempotency key. */
  instanceAttempt: number;
  deadline: number;
  /** The instance's claims: preProcess and postProcess run once across worker processes. */
  claims: AttemptClaims;
  /** Writes the per-worker list into the instance's state (memo). */
  publish(shares: BroadcastShare[]): void;
  /** The worker that ran preProcess: the instance's worker (PowerJob's TaskTracker). */
  setWorker(workerId: string): void;
}

/** One attempt of a broadcast instance. */
export async function runBroadcast(ctx: BroadcastContext): Promise<AttemptVerdict> {
  const { input, instanceAttempt, deadline, claims } = ctx;
  const { job } = input;
  const targeting = targetingOf(job);
  const membership = await takeMembership(input.appName, targeting);
  if ('failure' in membership) return { success: false, msg: membership.failure };
  const members = capMembers(membership, targeting.maxWorkerCount);
  if (members.length === 0) return { success: false, msg: noWorkerMessage(input.appName, targeting) };

  const target = processTargetOf(input);
  const step = (taskId: string, taskName: string, attempt: number, maxAttempts: number, part: string) =>
    stepRequest(target, { instanceAttempt, part, taskId, taskName }, attempt, maxAttempts);

  const pre = await attemptLoop({
    maxAttempts: job.taskRetryNum + 1,
    deadline,
    backoff: job.retryBackoff,
    retryVerdict: true,
    once: (attempt, maxAttempts) => deliver(step(TASK.root.id, TASK.root.name, attempt, maxAttempts, 'pre'),
      sharedQueueActivities(input, deadline, `preProcess, attempt ${attempt}/${maxAttempts}`).runBroadcastPreProcess, { claims }),
  });
  if (pre.worker) ctx.setWorker(pre.worker);
  if (pre.timedOut) return TIMED_OUT;
  if (!pre.success) return { success: false, msg: `preProcess failed: ${pre.msg ?? 'processor reported failure'}` };

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
    try {
      const child = await startChild<BroadcastShareWorkflow>(WorkflowType.broadcastShare, shareStartOptions(shareInput));
      board.update(runningShare(member.workerId));
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
  if (timedOut) return TIMED_OUT;

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
    once: (attempt, maxAttempts) => deliver({ ...step(TASK.last.id, TASK.last.name, attempt, maxAttempts, 'post'), results },
      sharedQueueActivities(input, deadline, `postProcess of ${results.length} results, attempt ${attempt}/${maxAttempts}`).runBroadcastPostProcess, { claims }),
  });
  if (post.timedOut) return TIMED_OUT;
  if (post.success) return { success: true, msg: post.msg };
  return { success: false, msg: post.error ? `postProcess failed: ${post.msg}` : post.msg ?? 'postProcess reported failure' };
}

const TIMED_OUT: AttemptVerdict = { success: false, msg: SystemResult.timeout, timedOut: true };

/** preProcess and postProcess: on the app's shared queue, any worker. */
function sharedQueueActivities(input: InstanceInput, deadline: number, summary: string) {
  return proxyProcessor<BroadcastActivities>({ taskQueue: appTaskQueue(input.appName), deadline, heartbeatTimeoutMs: input.heartbeatTimeoutMs, summary });
}

/** One member's share: a child workflow of the instance, running in the core worker. */
export const broadcastShareWorkflow: BroadcastShareWorkflow = async (input: ShareInput): Promise<ShareOutcome> => {
  const share: BroadcastShare = { workerId: input.workerId, status: 'RUNNING', result: null, attempts: 0 };
  const parent = workflowInfo().parent;
  const claims = new AttemptClaims();
  const report = (toParent: boolean) => {
    upsertMemo({ [MemoKey.share]: { ...share } });
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
      // Pinned to this member: retries stay here, a lost worker's share goes nowhere else.
      pinned: () => ({ workerId: input.workerId, lostAfterMs: input.workerLostMs, work: 'its share', retryElsewhere: false }),
      onRetry: (failure) => {
        share.result = failure;
      },
      once: (attempt, maxAttempts) => {
        share.attempts = attempt;
        // The first attempt's state is what the share was started with (memo, search attribute).
        if (attempt > 1) report(true);
        const { runBroadcastProcess } = proxyProcessor<BroadcastActivities>({
          taskQueue: workerTaskQueue(input.appName, input.workerId),
          deadline: input.deadline,
          bound: 'scheduleToClose',
          scheduleToStartMs: input.workerLostMs,
          heartbeatTimeoutMs: input.workerLostMs,
          summary: `process on ${input.workerId}, attempt ${attempt}/${maxAttempts}`,
        });
        const step = { instanceAttempt: input.instanceAttempt, part: `w:${input.workerId}`, taskId: input.taskId, taskName: TASK.broadcast.name };
        return deliver(stepRequest(input, step, attempt, maxAttempts), runBroadcastProcess, { claims });
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
};


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
    if (isFinalShareStatus(current.status) && !isFinalShareStatus(share.status)) return;
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
