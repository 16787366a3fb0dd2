/**
 * Every name tempojob gives to things inside Temporal: task queues, workflow ids, schedule
 * ids, idempotency keys, worker identities. Workflow types are in workflows.ts.
 */

export const DEFAULT_CORE_TASK_QUEUE = 'tempojob-core';

/** The queue every processor worker of an app polls. */
export function appTaskQueue(appName: string): string {
  return `app:${appName}`;
}

export const APP_DIRECTORY_WORKFLOW_ID = 'tempojob-apps';

export function instanceWorkflowId(instanceId: number): string {
  return `tempojob-instance-${instanceId}`;
}

export function jobScheduleId(jobId: number): string {
  return `tempojob-job-${jobId}`;
}

/** The clock that times a FIXED_DELAY job while it is enabled. */
export function fixedDelayClockId(jobId: number): string {
  return `tempojob-job-clock-${jobId}`;
}

/** Decides which missed fires of a job run after an outage. */
export function misfireLedgerId(jobId: number): string {
  return `tempojob-job-misfires-${jobId}`;
}

export function jobSlotsWorkflowId(jobId: number): string {
  return `tempojob-job-slots-${jobId}`;
}

/** A workflow (DAG) definition: a Temporal Schedule, as a job is. */
export function workflowScheduleId(workflowId: number): string {
  return `tempojob-workflow-${workflowId}`;
}

/** The registry of an app's workflow nodes (addWorkflowNode). */
export function workflowNodesWorkflowId(appId: number): string {
  return `tempojob-wf-nodes-${appId}`;
}

/** One run of a workflow (a PowerJob workflow instance). */
export function wfInstanceWorkflowId(wfInstanceId: number): string {
  return `tempojob-wf-instance-${wfInstanceId}`;
}

/** Decides which missed CRON fires of a workflow run after an outage. */
export function workflowMisfireLedgerId(workflowId: number): string {
  return `tempojob-workflow-misfires-${workflowId}`;
}

/** The running count of a workflow with maxWfInstanceNum (a jobSlotsWorkflow over wf instance ids). */
export function workflowSlotsWorkflowId(workflowId: number): string {
  return `tempojob-workflow-slots-${workflowId}`;
}

/**
 * The schedule that purges instance log lines past TEMPOJOB_LOG_RETENTION_DAYS, and the queue
 * its purge activity runs on: polled only by core workers that hold a log store, so a fire
 * never lands on one without (which would fail it as an unregistered activity). One pair per
 * core task queue: deployments sharing a namespace (test files side by side) each purge their
 * own store. The default core queue keeps the plain name.
 */
export function logRetentionScheduleId(coreTaskQueue: string): string {
  return logRetentionName(coreTaskQueue);
}

export function logRetentionTaskQueue(coreTaskQueue: string): string {
  return logRetentionName(coreTaskQueue);
}

function logRetentionName(coreTaskQueue: string): string {
  return coreTaskQueue === DEFAULT_CORE_TASK_QUEUE ? 'tempojob-log-retention' : `tempojob-log-retention:${coreTaskQueue}`;
}

/**
 * Alerting (issue #16): the long-lived scan of one core queue's failed runs, and the queue
 * its activities (scan, delivery) run on, polled only by core workers holding the store
 * where targets and deliveries live. One pair per core task queue, as for log retention.
 */
export function alertScanWorkflowId(coreTaskQueue: string): string {
  return coreTaskQueue === DEFAULT_CORE_TASK_QUEUE ? 'tempojob-alert-scan' : `tempojob-alert-scan:${coreTaskQueue}`;
}

export function alertTaskQueue(coreTaskQueue: string): string {
  return coreTaskQueue === DEFAULT_CORE_TASK_QUEUE ? 'tempojob-alerts' : `tempojob-alerts:${coreTaskQueue}`;
}

/** The delivery workflow of one alert: its id is the alert's (deterministic per event), so an event is raised once. */
export function alertDeliveryWorkflowId(alertId: string): string {
  return `tempojob-alert-${alertId}`;
}

/** The per-attempt idempotency key a processor sees: stable across replays and redeliveries. */
export function attemptIdempotencyKey(instanceId: number, attempt: number): string {
  return `tempojob:${instanceId}:${attempt}`;
}

/**
 * The queue only one processor worker polls (besides its app's shared queue): broadcast
 * shares and designated STANDALONE runs are pinned here, so they can never move to
 * another worker.
 */
export function workerTaskQueue(appName: string, workerId: string): string {
  return `${appTaskQueue(appName)}:w:${workerId}`;
}

/** One worker's share of a broadcast instance: a child workflow of the instance. */
export function broadcastShareWorkflowId(instanceId: number, workerId: string): string {
  return `${instanceWorkflowId(instanceId)}-w-${workerId}`;
}

/**
 * Idempotency keys of the steps of a broadcast or map instance, one per attempt of a step:
 * `pre`, `post`, `w:<workerId>` (a broadcast share) or `t:<taskId>` (a map task), within
 * attempt `instanceAttempt` of the instance.
 */
export function stepIdempotencyKey(instanceId: number, instanceAttempt: number, step: string, attempt: number): string {
  return `tempojob:${instanceId}:${instanceAttempt}:${step}:${attempt}`;
}

/**
 * One batch of the sub-tasks a map task created: batch `batch` of the `call`-th ctx.map()
 * of task `taskId`, in attempt `instanceAttempt` of the instance. Derived, so a task that
 * runs again and maps the same items finds its batches already started.
 */
export function mapBatchWorkflowId(instanceId: number, instanceAttempt: number, taskId: string, call: number, batch: number): string {
  return `${mapBatchAttemptPrefix(instanceId, instanceAttempt)}t${taskId}-m${call}-b${batch}`;
}

/** What the ids of every batch of one attempt of a map instance start with. */
export function mapBatchAttemptPrefix(instanceId: number, instanceAttempt: number): string {
  return `${instanceWorkflowId(instanceId)}-a${instanceAttempt}-`;
}

/**
 * A processor worker's Temporal identity carries its id and tags, so the worker list
 * Temporal keeps (task-queue pollers, worker heartbeats) is all the membership we need, and
 * a random name of the worker's own, so that two processes never share one: Temporal
 * records which identity's poll took each activity task, and a delivery runs user code only
 * under the identity Temporal recorded (see holdAttempt). `worker-7 5c1e0a9b` or
 * `worker-7[gpu,eu] 5c1e0a9b` (worker ids and tags hold no spaces); older workers' identities
 * have no random name. Pure (workflows parse identities): createWorker picks the name.
 */
export function workerIdentity(workerId: string, tags: readonly string[], name: string): string {
  return `${tags.length === 0 ? workerId : `${workerId}[${tags.join(',')}]`} ${name}`;
}

export function parseWorkerIdentity(identity: string): { workerId: string; tags: string[] } {
  const named = identity.split(' ', 1)[0]!;
  const match = /^([^[\]]+)\[([^[\]]*)\]$/.exec(named);
  if (!match) return { workerId: named, tags: [] };
  return { workerId: match[1]!, tags: match[2]!.split(',').filter((tag) => tag.length > 0) };
}
