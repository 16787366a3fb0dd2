import { runningShare } from '../domain/broadcast.js';
import type { InstanceInput } from '../domain/instance.js';
import { initialInstanceState } from '../domain/instance.js';
import type { DagInput, DagState } from '../domain/workflow.js';
import type { BatchMemo, RunMemo, WfRunMemo } from './memo.js';
import { MemoKey, dagStartMemo } from './memo.js';
import { APP_DIRECTORY_WORKFLOW_ID, broadcastShareWorkflowId, instanceWorkflowId, wfInstanceWorkflowId } from './names.js';
import { SA } from './search-attributes.js';
import type { AppDirectoryState, MapBatchInput, ShareInput } from './workflows.js';

/**
 * The start options of every workflow tempojob starts on behalf of a run: id, arguments,
 * memo, search attributes, summary. Pure, so the API, workflows (children) and processor
 * workers (map batches) start each kind with exactly the same shape.
 */

/**
 * How long before its fire time a delayed run first wakes. The API submits a run due later
 * with Temporal's start delay: until then it is one row in Temporal's store, with no workflow
 * task, no timer of its own and nothing in a worker's memory. It wakes this long before its
 * fire time and waits out the rest on a short timer set in a quiet task (see the instance
 * workflow), so it fires within milliseconds. A cancel or stop (updates) wakes it at once.
 */
export const FIRE_WAKE_LEAD_MS = 1_000;

/** The start delay of a run submitted `delayMs` before its fire time: none when due within the lead. */
export function instanceStartDelay(delayMs: number): number | undefined {
  return delayMs > FIRE_WAKE_LEAD_MS ? delayMs - FIRE_WAKE_LEAD_MS : undefined;
}

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
    ...(input.wfInstanceId !== undefined ? { wfInstanceId: input.wfInstanceId } : {}),
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
      ...(input.wfInstanceId !== undefined ? [{ key: SA.wfInstanceId, value: String(input.wfInstanceId) }] : []),
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

/** One run of a workflow (a PowerJob workflow instance), started by the API (runWorkflow, retry, mark), a CRON fire or a parent run. */
export function dagStartOptions(input: DagInput) {
  const run: WfRunMemo = {
    appId: input.appId,
    workflowId: input.workflow.workflowId,
    wfName: input.workflow.wfName,
    initParams: input.initParams,
    expectedTriggerTime: input.expectedTriggerTime,
    createdAt: input.createdAt,
    createdBy: input.createdBy,
    parentWfInstanceId: input.parentWfInstanceId,
    round: input.round,
    retriedBy: input.retriedBy,
  };
  const state = input.recorded ?? initialDagState(input);
  return {
    workflowId: wfInstanceWorkflowId(input.wfInstanceId),
    args: [input] as [DagInput],
    memo: { [MemoKey.wfRun]: run, ...dagStartMemo(state) },
    typedSearchAttributes: [
      { key: SA.appId, value: input.appId },
      { key: SA.appName, value: input.appName },
      { key: SA.workflowId, value: String(input.workflow.workflowId) },
      { key: SA.wfInstanceId, value: String(input.wfInstanceId) },
      { key: SA.status, value: state.status },
      { key: SA.expectedTriggerTime, value: new Date(input.expectedTriggerTime) },
    ],
    staticSummary: `workflow ${input.workflow.workflowId} (${input.workflow.wfName}): ${input.dag.nodes.length} nodes`,
  };
}

/** The state a workflow instance is born with (memo `wf` at start). */
export function initialDagState(input: DagInput): DagState {
  return { status: 'WAITING', result: null, dag: input.dag, context: input.context, actualTriggerTime: input.actualTriggerTime, finishedTime: null };
}

/**
 * The app directory, started on first use by whoever creates the first app: its task queue
 * is the core queue of that API, and only core workers polling that queue serve it from
 * then on (every API replica and core worker of a namespace shares one core queue).
 */
export function appDirectoryStartOptions(coreTaskQueue: string) {
  const args: [AppDirectoryState] = [{ nextAppId: 1, apps: [] }];
  return { workflowId: APP_DIRECTORY_WORKFLOW_ID, taskQueue: coreTaskQueue, args, workflowIdConflictPolicy: 'USE_EXISTING' as const };
}
