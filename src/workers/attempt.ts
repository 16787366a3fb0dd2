import { ApplicationFailure, Context } from '@temporalio/activity';
import { ActivityCancelledError, ActivityNotFoundError, ActivityPausedError, ActivityResetError, type Client } from '@temporalio/client';
import proto from '@temporalio/proto';
import type { ProcessRequest } from '../contract/activities.js';
import { TAKEN_HEARTBEAT } from '../contract/activities.js';
import { isNotFound } from '../temporal/errors.js';
import type { LogShipper } from './log-shipper.js';
import type { ProcessResult, ProcessorDefinition, TaskContext } from './task-context.js';
import { taskLogger } from './task-logger.js';
import { AttemptWorkflowContext } from './workflow-context.js';

/** How often a running processor tells Temporal it is alive (Temporal throttles further). */
const HEARTBEAT_INTERVAL_MS = 1_000;

export class UnknownProcessorError extends Error {
  override name = 'UnknownProcessorError';
}

/** The processor a request names, or a non-retryable failure saying how to fix the job. */
export function processorFor(processors: Record<string, ProcessorDefinition>, request: ProcessRequest, workerId: string): ProcessorDefinition {
  const processor = processors[request.processorInfo];
  if (processor) return processor;
  const known = Object.keys(processors).sort().join(', ') || 'none';
  throw ApplicationFailure.nonRetryable(
    `unknown processor "${request.processorInfo}" on worker ${workerId} of app ${request.appName} (known: ${known}); fix the job's processorInfo or register the processor`,
    UnknownProcessorError.name,
  );
}

/**
 * The worker an attempt runs on: its id, its Temporal identity (see workerIdentity), and its
 * shipper of online log lines (absent when it has no API to ship to).
 */
export interface AttemptWorker {
  workerId: string;
  identity: string;
  shipper: LogShipper | undefined;
}

/** What every processor call sees of its attempt; `workflow` holds what it appends to a workflow context. */
export function taskContextOf(request: ProcessRequest, { workerId, shipper }: AttemptWorker, workflow = new AttemptWorkflowContext(request)): TaskContext {
  const activity = Context.current();
  const logger = taskLogger(
    { instanceId: request.instanceId, attempt: request.instanceAttempt ?? request.attempt, taskId: request.taskId ?? null, logConfig: request.logConfig },
    { shipper, local: activity.log, stdout: (text) => process.stdout.write(text) },
  );
  return {
    jobId: request.jobId,
    instanceId: request.instanceId,
    jobParams: request.jobParams,
    instanceParams: request.instanceParams,
    attempt: request.attempt,
    maxAttempts: request.maxAttempts,
    idempotencyKey: request.idempotencyKey,
    signal: activity.cancellationSignal,
    logger,
    workerId,
    workflowContext: workflow.context,
    appendWorkflowContext: (key, value) => workflow.append(key, value),
    ...(request.taskId !== undefined ? { taskId: request.taskId } : {}),
    ...(request.taskName !== undefined ? { taskName: request.taskName } : {}),
  };
}

/**
 * What must happen before this delivery's user code runs, if anything: see admissionOf.
 * Resolves when it may run; rejects when it must not. The delivery heartbeats while it
 * waits; `quiet` stops that (a refused delivery must not keep the attempt alive).
 */
export type Admission = (quiet: () => void) => Promise<void>;

/** How often a refused delivery asks whether the holder's activity has ended. */
const HOLDER_POLL_MS = 1_000;

/** This delivery was refused its attempt: another delivery of the same task holds it, or the attempt is over. */
export class DuplicateDeliveryError extends Error {
  override name = 'DuplicateDeliveryError';
}

/** A delivery that ran nothing: `stale` (Temporal no longer holds its attempt for it) or a `duplicate` (another worker holds it). */
function refusedDelivery(kind: 'stale' | 'duplicate', idempotencyKey: string, workerId: string, why: string): DuplicateDeliveryError {
  return new DuplicateDeliveryError(`${kind} delivery of attempt ${idempotencyKey} to ${workerId} ran nothing: ${why}`);
}

/**
 * How a delivery of `request` is admitted to run user code:
 * - fenced (STANDALONE attempts, broadcast steps, a map's root task and reduce): once it
 *   holds the attempt (see holdAttempt);
 * - unfenced and `movable` (map sub-tasks): at once;
 * - unfenced otherwise (dispatched by workflows from before the fence): once Temporal has
 *   recorded a TAKEN_HEARTBEAT, so a worker that dies mid-run is never mistaken for a lost
 *   delivery (the SDK's own heartbeat is sent in the background and may not have reached the
 *   server when the process dies).
 */
export function admissionOf(request: ProcessRequest, client: Client, worker: AttemptWorker, movable = false): Admission | undefined {
  if (request.fenced) return (quiet) => holdAttempt(client, request, worker, quiet);
  if (movable) return undefined;
  return () => client.activity.heartbeat(Context.current().info.taskToken, TAKEN_HEARTBEAT);
}

type PendingActivity = proto.temporal.api.workflow.v1.IPendingActivityInfo;
const { WORKFLOW_EXECUTION_STATUS_RUNNING } = proto.temporal.api.enums.v1.WorkflowExecutionStatus;

/**
 * The fence across worker processes. Temporal hands an activity task to one poll: before it
 * answers, it records the polling worker's identity as the task's holder, and refuses the
 * task to any other poll (RecordActivityTaskStarted). A task can still reach a second
 * process (a poll answer duplicated or replayed on the way, or late, after Temporal gave the
 * attempt to another worker). So before any user code runs, a delivery asks Temporal, with
 * two calls sent at once that need no workflow task:
 * - a TAKEN_HEARTBEAT on its task: Temporal still holds the attempt for this task (it was
 *   not declared lost, and no stop cancelled it). Recorded, it also proves the delivery: a
 *   heartbeat timeout after it is a worker lost, not a delivery lost on the way;
 * - the dispatching workflow's pending activity: the holder Temporal recorded is this
 *   worker (identities are unique per worker, see workerIdentity).
 * A delivery of an attempt Temporal no longer holds ends at once. One that is not the
 * recorded holder must not run user code, must not complete the task first (Temporal keeps
 * the first completion of an activity and rejects later ones, so its answer would be the
 * attempt's), and must not heartbeat (that would keep a holder that died from being declared
 * lost): it waits, silent, until the holder's activity has ended, then ends with
 * DuplicateDeliveryError, a completion Temporal rejects. The attempt's outcome is the holder's.
 */
async function holdAttempt(client: Client, request: ProcessRequest, worker: AttemptWorker, quiet: () => void): Promise<void> {
  const activity = Context.current();
  const { workflowExecution, activityId, attempt, taskToken } = activity.info;
  if (!workflowExecution) throw new Error(`attempt ${request.idempotencyKey} is fenced but its activity has no workflow`);
  const [lost, pending] = await Promise.all([
    client.activity.heartbeat(taskToken, TAKEN_HEARTBEAT).then(() => undefined, whyNotHeld),
    pendingActivity(client, workflowExecution, activityId),
  ]);
  const holder = pending?.attempt === attempt ? pending.lastWorkerIdentity : undefined;
  if (!lost && holder === worker.identity) return;
  quiet();
  if (lost || !holder) {
    activity.log.warn('stale delivery: Temporal no longer holds this attempt for it; not running it', { idempotencyKey: request.idempotencyKey, lost });
    throw refusedDelivery('stale', request.idempotencyKey, worker.workerId, lost ?? 'that dispatch has ended');
  }
  activity.log.warn('duplicate delivery: another worker holds this attempt; not running it', { idempotencyKey: request.idempotencyKey, holder });
  while (await pendingActivity(client, workflowExecution, activityId)) await activity.sleep(HOLDER_POLL_MS);
  throw refusedDelivery('duplicate', request.idempotencyKey, worker.workerId, `it is held by ${holder}`);
}

/** Why Temporal no longer holds the attempt for this task, from its answer to a heartbeat. */
function whyNotHeld(err: unknown): string {
  if (err instanceof ActivityNotFoundError) return 'that dispatch has ended';
  if (err instanceof ActivityCancelledError) return 'its attempt was cancelled: the instance is being stopped';
  if (err instanceof ActivityPausedError) return 'its attempt was paused in Temporal';
  if (err instanceof ActivityResetError) return 'its attempt was reset in Temporal';
  throw err;
}

/** The activity, while it is pending in its (running) workflow. */
async function pendingActivity(client: Client, execution: { workflowId: string; runId: string }, activityId: string): Promise<PendingActivity | undefined> {
  try {
    const described = await client.workflowService.describeWorkflowExecution({ namespace: client.options.namespace, execution });
    if (described.workflowExecutionInfo?.status !== WORKFLOW_EXECUTION_STATUS_RUNNING) return undefined;
    return (described.pendingActivities ?? []).find((activity) => activity.activityId === activityId);
  } catch (err) {
    if (isNotFound(err)) return undefined;
    throw err;
  }
}

/**
 * Before the user code of an unfenced delivery (a map sub-task) runs: makes sure Temporal
 * still holds this delivery's attempt. A process frozen while it held tasks it had taken,
 * or a task that reached it late, may get to them after Temporal declared them lost and
 * gave them to another worker (seen in the chaos suite: a processor worker SIGSTOPped for
 * 39 s ran its stale sub-tasks within milliseconds of waking, after others had run them).
 * Such a delivery is older than its heartbeat timeout, so only a delivery older than half
 * of it asks Temporal (a heartbeat, which fails once the attempt is gone); a fresh one
 * costs nothing. The answer counts only if it came back within that half: Temporal then
 * holds the attempt for at least the other half, while user code starts.
 */
export async function confirmStillHeld(client: Client, idempotencyKey: string, workerId: string): Promise<void> {
  const activity = Context.current();
  const { heartbeatTimeoutMs, currentAttemptScheduledTimestampMs, taskToken } = activity.info;
  if (!heartbeatTimeoutMs) return;
  const trusted = heartbeatTimeoutMs / 2;
  if (Date.now() - currentAttemptScheduledTimestampMs <= trusted) return;
  for (;;) {
    const sent = performance.now();
    try {
      await client.activity.heartbeat(taskToken, TAKEN_HEARTBEAT);
    } catch (err) {
      if (!(err instanceof ActivityNotFoundError)) throw err;
      activity.log.warn('stale delivery: Temporal gave this attempt to another worker; not running it', { idempotencyKey });
      throw refusedDelivery('stale', idempotencyKey, workerId, 'Temporal no longer holds it for this delivery (it was declared lost, and given to another worker)');
    }
    if (performance.now() - sent <= trusted) return;
  }
}

/**
 * Runs `call` (user code) as this activity once `admit` (see admissionOf) lets it,
 * heartbeating every second from the start, and gives up as soon as the attempt is
 * cancelled (stop, timeout, shutdown). The beats start before the admission, so a delivery
 * whose admission Temporal is slow to answer (a stalled service, a partition) is not taken
 * for a lost holder meanwhile; a refused one stops them (`quiet`). Nothing is sent before the
 * first second besides the admission: a short attempt costs Temporal no heartbeat.
 */
async function heartbeating<T>(call: () => Promise<T> | T, admit?: Admission): Promise<T> {
  const activity = Context.current();
  const beat = setInterval(() => activity.heartbeat(TAKEN_HEARTBEAT), HEARTBEAT_INTERVAL_MS);
  try {
    if (admit) await admit(() => clearInterval(beat));
    return await Promise.race([Promise.resolve().then(call), activity.cancelled]);
  } catch (err) {
    if (activity.cancellationSignal.aborted) throw activity.cancellationSignal.reason ?? err;
    throw err;
  } finally {
    clearInterval(beat);
  }
}

/**
 * The attempts this process ran or is running, by idempotency key: a second delivery of an
 * attempt to this process gets the first run's outcome instead of running user code again
 * (across processes, the fence keeps user code of fenced attempts to one delivery); a run
 * that failed or was aborted is forgotten, so a later delivery, or one that was waiting on
 * it, runs it anew (the first delivery of a stalled worker is aborted once Temporal has given
 * its attempt to another). Bounded: the oldest keys are dropped. Every processor activity
 * runs through `deliver`.
 */
export class AttemptMemory {
  private readonly runs = new Map<string, Promise<unknown>>();

  constructor(private readonly capacity = 10_000) {}

  /**
   * This activity's delivery of an attempt: `call` (user code) heartbeating, run once per
   * idempotency key in this process, after `admit` unless this process already runs it.
   */
  deliver<T>(idempotencyKey: string, call: () => Promise<T>, admit?: Admission): Promise<T> {
    return heartbeating(() => this.once(idempotencyKey, call), this.runs.has(idempotencyKey) ? undefined : admit);
  }

  once<T>(key: string, call: () => Promise<T>): Promise<T> {
    const known = this.runs.get(key);
    if (known) return (known as Promise<T>).catch(() => this.once(key, call));
    const run = call();
    this.runs.set(key, run);
    // Forget a failed run, unless the key was dropped and taken by a newer run meanwhile.
    run.catch(() => this.runs.get(key) === run && this.runs.delete(key));
    if (this.runs.size > this.capacity) this.runs.delete(this.runs.keys().next().value!);
    return run;
  }
}

/** A processor's return value, checked: PowerJob's ProcessResult shape or a clear failure. */
export function checkResult(name: string, result: unknown): ProcessResult & { msg: string | null } {
  if (typeof result !== 'object' || result === null || typeof (result as ProcessResult).success !== 'boolean') {
    throw ApplicationFailure.nonRetryable(
      `processor "${name}" returned ${JSON.stringify(result) ?? 'undefined'}; a processor must return { success: boolean, msg?: string } or throw`,
      'InvalidProcessResult',
    );
  }
  const { success, msg } = result as ProcessResult;
  return { success, msg: msg === undefined || msg === null ? null : String(msg) };
}
