import { ParentClosePolicy, proxyActivities, startChild, workflowInfo } from '@temporalio/workflow';
import { defineSearchAttributeKey } from '@temporalio/common';
import { keyedId } from '../domain/ids.js';
import type { InstanceInput } from '../domain/instance.js';
import { newInstanceInput } from '../domain/instance.js';
import { snapshotOf } from '../domain/job.js';
import { isFireOf, isNewestDueFire, parseTimeExpression } from '../domain/time-expression.js';
import type { CoreActivities } from '../contract/activities.js';
import { instanceStartOptions } from '../contract/start-options.js';
import { type InstanceWorkflow, type ScheduledRunInput, type ScheduledRunWorkflow, WorkflowType } from '../contract/workflows.js';

const TemporalScheduledStartTime = defineSearchAttributeKey('TemporalScheduledStartTime', 'DATETIME');

const { decideLateFire } = proxyActivities<CoreActivities>({
  startToCloseTimeout: '30 seconds',
  retry: { maximumInterval: '10 seconds' },
});

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
 * misfire policy drops it. The result says what happened, in the schedule's recent actions.
 */
export const scheduledRunWorkflow: ScheduledRunWorkflow = async (input: ScheduledRunInput): Promise<string> => {
  const { job } = input;
  const policy = job.misfirePolicy;
  const info = workflowInfo();
  const fireTime = (info.typedSearchAttributes.get(TemporalScheduledStartTime) ?? new Date(info.startTime)).getTime();
  const rule = parseTimeExpression(job.timeExpressionType, job.timeExpression);
  if (!isFireOf(rule, job.timeZone, fireTime)) return `not a fire of "${job.timeExpression}" in ${job.timeZone}`;

  const now = Date.now();
  const lateness = now - fireTime;
  let catchUp = false;
  if (lateness > policy.thresholdMs) {
    if (policy.type !== 'SKIP' && isNewestDueFire(rule, job.timeZone, job.lifeCycle, fireTime, now)) {
      // RUN_ONCE and CATCH_UP both keep the newest missed fire: no need to ask the ledger
      // (what a burst of late fires, an overload rather than an outage, mostly hits).
      catchUp = true;
    } else {
      const decision = await decideLateFire({ job, fireTime, askedAt: now });
      if (decision === 'dropped') return `missed by ${lateness} ms; dropped by misfire policy ${policy.type}`;
      catchUp = decision === 'catch-up';
    }
  }
  const instance = { ...fireInstanceInput(input, fireTime, now), catchUp };
  await startChild<InstanceWorkflow>(WorkflowType.instance, {
    ...instanceStartOptions(instance),
    parentClosePolicy: ParentClosePolicy.ABANDON,
    workflowIdReusePolicy: 'REJECT_DUPLICATE',
  });
  return `instance ${instance.instanceId}${catchUp ? ` (catch-up of a fire missed by ${lateness} ms)` : ''}`;
};
