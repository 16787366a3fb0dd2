import { ApplicationFailure, Context } from '@temporalio/activity';
import type { Client } from '@temporalio/client';
import type { ProcessRequest } from '../contract/activities.js';
import { TAKEN_HEARTBEAT } from '../contract/activities.js';
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

/** The worker an attempt runs on: its id, and its shipper of online log lines (absent when it has no API to ship to). */
export interface AttemptWorker {
  workerId: string;
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
 * Runs `call` (user code) as this activity, heartbeating every second, and gives up as soon
 * as the attempt is cancelled (stop, timeout, shutdown). With `confirm` (attempts that cannot
 * move), user code starts only once Temporal has recorded a TAKEN_HEARTBEAT, so a worker that
 * dies mid-run is never mistaken for a lost delivery (the SDK's own heartbeat is sent in the
 * background and may not have reached the server when the process dies). Without it (map
 * tasks and reduce, which move on any heartbeat timeout) nothing is sent before the first
 * second: a short task costs Temporal no heartbeat at all.
 */
async function heartbeating<T>(call: () => Promise<T> | T, confirm?: Client): Promise<T> {
  const activity = Context.current();
  if (confirm) await confirm.activity.heartbeat(activity.info.taskToken, TAKEN_HEARTBEAT);
  const beat = setInterval(() => activity.heartbeat(TAKEN_HEARTBEAT), HEARTBEAT_INTERVAL_MS);
  try {
    return await Promise.race([Promise.resolve().then(call), activity.cancelled]);
  } catch (err) {
    if (activity.cancellationSignal.aborted) throw activity.cancellationSignal.reason ?? err;
    throw err;
  } finally {
    clearInterval(beat);
  }
}

/**
 * The attempts this process ran or is running, by idempotency key. Temporal dispatches an
 * activity task at least once: after a storage stall (matching losing its task-queue lease)
 * the same attempt was seen delivered twice. A second delivery to this process gets the
 * first run's outcome instead of running user code again; a run that failed or was aborted
 * is forgotten, so a later delivery, or one that was waiting on it, runs it anew (the first
 * delivery of a stalled worker is aborted once Temporal has given its attempt to another).
 * Bounded: the oldest keys are dropped. Every processor activity runs through `deliver`.
 */
export class AttemptMemory {
  private readonly runs = new Map<string, Promise<unknown>>();

  constructor(private readonly capacity = 10_000) {}

  /**
   * This activity's delivery of an attempt: `call` (user code) heartbeating, with `confirm`
   * for attempts that cannot move (see heartbeating), and run once per idempotency key.
   */
  deliver<T>(idempotencyKey: string, call: () => Promise<T>, confirm?: Client): Promise<T> {
    return heartbeating(() => this.once(idempotencyKey, call), confirm);
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
