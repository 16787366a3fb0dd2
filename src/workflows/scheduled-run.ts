import { ParentClosePolicy, startChild } from '@temporalio/workflow';
import { keyedId } from '../domain/ids.js';
import type { InstanceInput } from '../domain/instance.js';
import { newInstanceInput } from '../domain/instance.js';
import { snapshotOf } from '../domain/job.js';
import { SA } from '../contract/search-attributes.js';
import { instanceStartOptions } from '../contract/start-options.js';
import { type InstanceWorkflow, type ScheduledRunInput, type ScheduledRunWorkflow, WorkflowType } from '../contract/workflows.js';
import { fireVerdict } from './fire-time.js';
import { metrics } from './metrics.js';

/** The instance a fire of a job becomes: its id is derived from the job and the fire time, so one fire is one instance. */
export function fireInstanceInput({ job, appName, heartbeatTimeoutMs }: ScheduledRunInput, fireTime: number, now: number): InstanceInput {
  return newInstanceInput({
    instanceId: keyedId('fire', job.appId, job.id, fireTime),
    appName,
    job: snapshotOf(job),
    instanceParams: null,
    expectedTriggerTime: fireTime,
    createdAt: now,
    heartbeatTimeoutMs,
  });
}

/**
 * The action of every timed job's schedule: one fire becomes one instance, unless the
 * fire is not one of the exact rule's (superset calendars, DST repeats) or the job's
 * misfire policy drops it (fireVerdict). The result says what happened, in the schedule's
 * recent actions.
 */
export const scheduledRunWorkflow: ScheduledRunWorkflow = async (input: ScheduledRunInput): Promise<string> => {
  const { job, appName } = input;
  const verdict = await fireVerdict(job, {
    labels: { app: appName, job: String(job.id) },
    searchAttributes: [{ key: SA.appId, value: job.appId }, { key: SA.appName, value: appName }, { key: SA.jobId, value: job.id }],
  });
  if (!verdict.run) return verdict.why;
  const { fireTime, catchUp, lateness, now } = verdict;
  const instance = { ...fireInstanceInput(input, fireTime, now), catchUp };
  await startChild<InstanceWorkflow>(WorkflowType.instance, {
    ...instanceStartOptions(instance),
    parentClosePolicy: ParentClosePolicy.ABANDON,
    workflowIdReusePolicy: 'REJECT_DUPLICATE',
  });
  metrics.instanceStarted({ app: input.appName, jobId: input.job.id, trigger: 'schedule' });
  return `instance ${instance.instanceId}${catchUp ? ` (catch-up of a fire missed by ${lateness} ms)` : ''}`;
};
