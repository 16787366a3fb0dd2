import { runningShare } from '../domain/broadcast.js';
import type { InstanceInput } from '../domain/instance.js';
import { initialInstanceState } from '../domain/instance.js';
import type { BatchMemo, RunMemo } from './memo.js';
import { MemoKey } from './memo.js';
import { broadcastShareWorkflowId, instanceWorkflowId } from './names.js';
import { SA } from './search-attributes.js';
import type { MapBatchInput, ShareInput } from './workflows.js';

/**
 * The start options of every workflow tempojob starts on behalf of a run: id, arguments,
 * memo, search attributes, summary. Pure, so the API, workflows (children) and processor
 * workers (map batches) start each kind with exactly the same shape.
 */

/** An instance, however it is born (API runJob, retryInstance, a schedule's fire, a FIXED_DELAY clock). */
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
    memo: { [MemoKey.run]: run, [MemoKey.instance]: initialInstanceState(input) },
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

/** One member's share of a broadcast, a child of its instance. */
export function shareStartOptions(input: ShareInput) {
  return {
    workflowId: broadcastShareWorkflowId(input.instanceId, input.workerId),
    args: [input] as [ShareInput],
    memo: { [MemoKey.share]: runningShare(input.workerId) },
    typedSearchAttributes: [
      { key: SA.appName, value: input.appName },
      { key: SA.instanceId, value: input.instanceId },
      { key: SA.status, value: 'RUNNING' },
    ],
    staticSummary: `broadcast share of instance ${input.instanceId} on worker ${input.workerId} → ${input.processorInfo}`,
  };
}

/**
 * One batch of a map, started by the worker whose task mapped it. Its id is derived from the
 * task and the call, and a batch started before by an earlier run of the task stands:
 * nothing runs twice.
 */
export function mapBatchStartOptions(input: MapBatchInput, mappedBy: string) {
  const { scope } = input;
  const memo: BatchMemo = { total: input.items.length, succeeded: 0, failed: 0, ...(scope.gated ? { waiting: true } : {}) };
  return {
    taskQueue: scope.coreTaskQueue,
    workflowId: input.batchId,
    args: [input] as [MapBatchInput],
    workflowIdReusePolicy: 'REJECT_DUPLICATE' as const,
    workflowIdConflictPolicy: 'USE_EXISTING' as const,
    memo: { [MemoKey.batch]: memo },
    typedSearchAttributes: [
      { key: SA.appId, value: scope.appId },
      { key: SA.appName, value: input.appName },
      { key: SA.jobId, value: input.jobId },
      { key: SA.instanceId, value: input.instanceId },
    ],
    staticSummary: `${input.items.length} × ${input.taskName} (tasks ${input.parentTaskId}.${input.offset}…), mapped by task ${mappedBy}`,
  };
}
