import { ParentClosePolicy, executeChild, workflowInfo } from '@temporalio/workflow';
import { defineSearchAttributeKey } from '@temporalio/common';
import { keyedId } from '../domain/ids.js';
import type { JobDefinition } from '../domain/job.js';
import { snapshotOf } from '../domain/job.js';
import { instanceStartOptions } from '../temporal/instance-start.js';
import { instanceWorkflow } from './instance.js';

/** What a job's schedule hands to each of its fires. */
export interface ScheduledRunInput {
  job: JobDefinition;
  appName: string;
  heartbeatTimeoutMs: number;
}

const TemporalScheduledStartTime = defineSearchAttributeKey('TemporalScheduledStartTime', 'DATETIME');

/**
 * The action of every job's schedule: one fire becomes one instance. The instance id is
 * derived from the job and the nominal fire time, so a fire can never yield two instances.
 */
export async function scheduledRunWorkflow({ job, appName, heartbeatTimeoutMs }: ScheduledRunInput): Promise<void> {
  const info = workflowInfo();
  const fireTime = (info.typedSearchAttributes.get(TemporalScheduledStartTime) ?? new Date(info.startTime)).getTime();
  const input = {
    instanceId: keyedId('fire', job.appId, job.id, fireTime),
    appName,
    job: snapshotOf(job),
    instanceParams: null,
    expectedTriggerTime: fireTime,
    previousRunningTimes: 0,
    createdAt: Date.now(),
    createdBy: null,
    retriedBy: null,
    heartbeatTimeoutMs,
  };
  await executeChild(instanceWorkflow, {
    ...instanceStartOptions(input),
    parentClosePolicy: ParentClosePolicy.ABANDON,
    workflowIdReusePolicy: 'REJECT_DUPLICATE',
  });
}
