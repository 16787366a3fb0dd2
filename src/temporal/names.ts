/**
 * Every name tempojob gives to things inside Temporal: task queues, workflow ids,
 * schedule ids. Pure module, shared by the API, the workers and workflow code.
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

/** The per-attempt idempotency key a processor sees: stable across replays and redeliveries. */
export function attemptIdempotencyKey(instanceId: number, attempt: number): string {
  return `tempojob:${instanceId}:${attempt}`;
}
