import type { InstanceInput, InstanceState } from '../domain/instance.js';
import { instanceWorkflowId } from './names.js';
import { SA } from './search-attributes.js';

/** Memo keys: what the run was asked to do, and how it went; the API reads both with describe(). */
export const RUN_MEMO_KEY = 'run';
export const INSTANCE_MEMO_KEY = 'instance';

/** What the API needs to answer fetchInstanceInfo, kept in the instance's memo. */
export interface RunMemo {
  appId: number;
  jobId: number;
  /** Absent in instances started before map jobs existed. */
  executeType?: InstanceInput['job']['executeType'];
  jobParams: string | null;
  instanceParams: string | null;
  expectedTriggerTime: number;
  createdAt: number;
  createdBy: InstanceInput['createdBy'];
  retriedBy: string | null;
  catchUp: boolean;
}

export function initialInstanceState(input: InstanceInput): InstanceState {
  return {
    status: 'WAITING_DISPATCH',
    result: null,
    actualTriggerTime: null,
    finishedTime: null,
    runningTimes: input.previousRunningTimes,
    taskTrackerAddress: null,
  };
}

/**
 * Start options shared by every way an instance is born (API runJob, retryInstance,
 * a schedule's fire): its id, search attributes and memo. Pure, so workflow code can
 * start instances as children with exactly the same shape.
 */
export function instanceStartOptions(input: InstanceInput) {
  const run: RunMemo = {
    appId: input.job.appId,
    jobId: input.job.id,
    executeType: input.job.executeType,
    jobParams: input.job.jobParams,
    instanceParams: input.instanceParams,
    expectedTriggerTime: input.expectedTriggerTime,
    createdAt: input.createdAt,
    createdBy: input.createdBy,
    retriedBy: input.retriedBy,
    catchUp: input.catchUp,
  };
  return {
    workflowId: instanceWorkflowId(input.instanceId),
    args: [input] as [InstanceInput],
    memo: { [RUN_MEMO_KEY]: run, [INSTANCE_MEMO_KEY]: initialInstanceState(input) },
    typedSearchAttributes: [
      { key: SA.appId, value: input.job.appId },
      { key: SA.appName, value: input.appName },
      { key: SA.jobId, value: input.job.id },
      { key: SA.instanceId, value: input.instanceId },
      { key: SA.status, value: 'WAITING_DISPATCH' },
      { key: SA.expectedTriggerTime, value: new Date(input.expectedTriggerTime) },
    ],
    staticSummary: `job ${input.job.id} (${input.job.jobName}) → ${input.job.processorInfo}`,
  };
}
