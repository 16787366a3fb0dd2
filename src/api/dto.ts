import { z } from 'zod';
import { DispatchStrategy, ExecuteType, InstanceStatus, InstanceType, JobStatus, ProcessorType, TimeExpressionType } from '../domain/enums.js';
import type { JobDefinition } from '../domain/job.js';
import { nextFireTimes, parseTimeExpression } from '../domain/time-expression.js';
import type { RunMemo, WfRunMemo } from '../contract/memo.js';
import type { InstanceState } from '../domain/instance.js';
import { WorkflowInstanceStatus, WorkflowNodeType } from '../domain/dag.js';
import { type DagState, dagWithNodes, type WorkflowDefinition, type WorkflowNodeRecord } from '../domain/workflow.js';

/**
 * PowerJob's response shapes, as zod schemas (they feed the OpenAPI document) and the
 * functions that fill them. Enum fields are codes, `lifecycle` is a JSON string and
 * `notifyUserIds` a comma list, as in PowerJob's JobInfoDTO; dates are ISO-8601 strings.
 */

const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());
const code = (description: string) => z.number().int().describe(description);
const isoDate = z.string().describe('ISO-8601 date');

export const jobInfoSchema = z.object({
  id: z.number().int(),
  jobName: z.string(),
  jobDescription: z.string().nullable(),
  appId: z.number().int(),
  jobParams: z.string().nullable(),
  timeExpressionType: code('TimeExpressionType code: API=1, CRON=2, FIXED_RATE=3, FIXED_DELAY=4, WORKFLOW=5, DAILY_TIME_INTERVAL=11'),
  timeExpression: z.string().nullable(),
  timeZone: z.string().describe('IANA zone the expression is read in'),
  misfirePolicy: z.object({ type: z.enum(['SKIP', 'RUN_ONCE', 'CATCH_UP']), maxCatchUp: z.number(), thresholdMs: z.number() }),
  executeType: code('ExecuteType code: STANDALONE=1, BROADCAST=2, MAP_REDUCE=3, MAP=4'),
  processorType: code('ProcessorType code: BUILT_IN=1, EXTERNAL=4'),
  processorInfo: z.string(),
  maxInstanceNum: z.number().int(),
  concurrency: z.number().int(),
  instanceTimeLimit: z.number().int(),
  instanceRetryNum: z.number().int(),
  taskRetryNum: z.number().int(),
  retryBackoff: z.object({ initialIntervalMs: z.number(), backoffCoefficient: z.number(), maximumIntervalMs: z.number() }),
  status: code('job status: ENABLE=1, DISABLE=2, DELETED=99'),
  nextTriggerTime: z.number().nullable().describe('epoch ms of the next fire of an enabled CRON, DAILY_TIME_INTERVAL or FIXED_RATE job'),
  minCpuCores: z.number(),
  minMemorySpace: z.number(),
  minDiskSpace: z.number(),
  designatedWorkers: z.string().nullable(),
  maxWorkerCount: z.number().int(),
  notifyUserIds: z.string().nullable().describe('comma-separated user ids'),
  extra: z.string().nullable(),
  dispatchStrategy: code('DispatchStrategy code: HEALTH_FIRST=1, RANDOM=2, SPECIFY=11'),
  dispatchStrategyConfig: z.string().nullable(),
  lifecycle: z.string().nullable().describe('JSON string {"start":ms,"end":ms}'),
  alarmConfig: z.object({ alertThreshold: z.number(), statisticWindowLen: z.number(), silenceWindowLen: z.number() }).nullable(),
  tag: z.string().nullable(),
  logConfig: z.object({ type: z.number(), level: z.number(), loggerName: z.string().nullable() }).nullable(),
  advancedRuntimeConfig: z.object({ taskTrackerBehavior: z.number() }).nullable(),
  gmtCreate: isoDate,
  gmtModified: isoDate,
});

export function nextTrigger(job: JobDefinition, now: number): number | null {
  if (job.status !== 'ENABLE') return null;
  return nextFireTimes(parseTimeExpression(job.timeExpressionType, job.timeExpression), job.timeZone, now, 1, job.lifeCycle)[0] ?? null;
}

export function jobInfoDTO(job: JobDefinition, now = Date.now()): z.infer<typeof jobInfoSchema> {
  return {
    id: job.id,
    jobName: job.jobName,
    jobDescription: job.jobDescription,
    appId: job.appId,
    jobParams: job.jobParams,
    timeExpressionType: TimeExpressionType.codes[job.timeExpressionType],
    timeExpression: job.timeExpression,
    timeZone: job.timeZone,
    misfirePolicy: job.misfirePolicy,
    executeType: ExecuteType.codes[job.executeType],
    processorType: ProcessorType.codes[job.processorType],
    processorInfo: job.processorInfo,
    maxInstanceNum: job.maxInstanceNum,
    concurrency: job.concurrency,
    instanceTimeLimit: job.instanceTimeLimit,
    instanceRetryNum: job.instanceRetryNum,
    taskRetryNum: job.taskRetryNum,
    retryBackoff: job.retryBackoff,
    status: JobStatus.codes[job.status],
    nextTriggerTime: nextTrigger(job, now),
    minCpuCores: job.minCpuCores,
    minMemorySpace: job.minMemorySpace,
    minDiskSpace: job.minDiskSpace,
    designatedWorkers: job.designatedWorkers,
    maxWorkerCount: job.maxWorkerCount,
    notifyUserIds: job.notifyUserIds.length ? job.notifyUserIds.join(',') : null,
    extra: job.extra,
    dispatchStrategy: DispatchStrategy.codes[job.dispatchStrategy],
    dispatchStrategyConfig: job.dispatchStrategyConfig,
    lifecycle: job.lifeCycle ? JSON.stringify(job.lifeCycle) : null,
    alarmConfig: job.alarmConfig,
    tag: job.tag,
    logConfig: job.logConfig,
    advancedRuntimeConfig: job.advancedRuntimeConfig,
    gmtCreate: iso(job.gmtCreate)!,
    gmtModified: iso(job.gmtModified)!,
  };
}

export const instanceInfoSchema = z.object({
  jobId: z.number().int(),
  appId: z.number().int(),
  instanceId: z.number().int(),
  wfInstanceId: z.number().int().nullable(),
  jobParams: z.string().nullable(),
  instanceParams: z.string().nullable(),
  status: code('InstanceStatus code: WAITING_DISPATCH=1, WAITING_WORKER_RECEIVE=2, RUNNING=3, FAILED=4, SUCCEED=5, CANCELED=9, STOPPED=10'),
  type: code('NORMAL=1, WORKFLOW=2'),
  result: z.string().nullable(),
  expectedTriggerTime: z.number().describe('epoch ms'),
  actualTriggerTime: z.number().nullable().describe('epoch ms'),
  finishedTime: z.number().nullable().describe('epoch ms'),
  taskTrackerAddress: z.string().describe('identity of the worker that ran the last attempt, or N/A'),
  runningTimes: z.number().int(),
  catchUp: z.boolean().describe('a fire that started later than its misfire threshold (an outage, an overload), run by the job\'s misfire policy'),
  broadcast: z.array(z.object({
    workerId: z.string(),
    status: z.enum(['WAITING', 'RUNNING', 'SUCCEED', 'FAILED', 'STOPPED']),
    result: z.string().nullable().describe('the processor\'s msg, or why the share failed (e.g. "worker lost: w-3 stopped heartbeating"); cut at 1024 characters'),
    attempts: z.number().int().describe('attempts on this worker (taskRetryNum retries a share only there)'),
  })).optional().describe('BROADCAST only (beyond PowerJob): each participating worker\'s share of the current attempt'),
  map: z.object({
    total: z.number().int().describe('sub-tasks mapped so far'),
    succeeded: z.number().int(),
    failed: z.number().int().describe('sub-tasks that failed beyond taskRetryNum'),
    running: z.number().int().describe('sub-tasks waiting or running'),
  }).optional().describe('MAP and MAP_REDUCE only (beyond PowerJob): sub-task progress of the current attempt (the root and reduce tasks not counted)'),
  gmtCreate: isoDate,
  gmtModified: isoDate,
});

/** An instance as the API reports it: what was asked, and how it went. */
export interface InstanceView extends RunMemo, InstanceState {
  instanceId: number;
  /** Last change, for gmtModified. */
  updatedAt: number;
}

export function instanceInfoDTO(view: InstanceView): z.infer<typeof instanceInfoSchema> {
  return {
    jobId: view.jobId,
    appId: view.appId,
    instanceId: view.instanceId,
    wfInstanceId: view.wfInstanceId ?? null,
    jobParams: view.jobParams,
    instanceParams: view.instanceParams,
    status: InstanceStatus.codes[view.status],
    type: view.wfInstanceId === undefined ? InstanceType.codes.NORMAL : InstanceType.codes.WORKFLOW,
    result: view.result,
    expectedTriggerTime: view.expectedTriggerTime,
    actualTriggerTime: view.actualTriggerTime,
    finishedTime: view.finishedTime,
    taskTrackerAddress: view.workerId ?? 'N/A',
    runningTimes: view.instanceAttempt,
    catchUp: view.catchUp ?? false,
    ...(view.broadcast ? { broadcast: view.broadcast } : {}),
    ...(view.map ? { map: view.map } : {}),
    gmtCreate: iso(view.createdAt)!,
    gmtModified: iso(view.updatedAt)!,
  };
}

export const pageSchema = <T extends z.ZodType>(item: T) => z.object({
  index: z.number().int(),
  pageSize: z.number().int(),
  totalPages: z.number().int(),
  totalItems: z.number().int(),
  data: z.array(item),
});

const dagNodeSchema = z.object({
  nodeId: z.number().int(),
  nodeType: code('WorkflowNodeType code: JOB=1, DECISION=2, NESTED_WORKFLOW=3'),
  jobId: z.number().int().nullable().describe('the job; for NESTED_WORKFLOW the nested workflow'),
  nodeName: z.string().nullable(),
  nodeParams: z.string().nullable().describe('JOB: params; DECISION: the condition script'),
  enable: z.boolean(),
  skipWhenFailed: z.boolean(),
});
const dagEdgeSchema = z.object({
  from: z.number().int(),
  to: z.number().int(),
  property: z.string().nullable().describe('"true" or "false" on edges leaving a DECISION node'),
  enable: z.boolean(),
});

/** PowerJob's WorkflowInfoVO (fetchWorkflow), with tempojob's own fields beside it. */
export const workflowInfoSchema = z.object({
  id: z.number().int(),
  wfName: z.string(),
  wfDescription: z.string().nullable(),
  appId: z.number().int(),
  peworkflowDAG: z.object({ nodes: z.array(dagNodeSchema), edges: z.array(dagEdgeSchema) }).describe('the DAG, each node\'s saved fields filled in (PowerJob\'s JSON key)'),
  timeExpressionType: z.enum(['API', 'CRON']),
  timeExpression: z.string().nullable(),
  timeZone: z.string(),
  misfirePolicy: z.object({ type: z.enum(['SKIP', 'RUN_ONCE', 'CATCH_UP']), maxCatchUp: z.number(), thresholdMs: z.number() }),
  maxWfInstanceNum: z.number().int(),
  enable: z.boolean(),
  status: code('workflow status: ENABLE=1, DISABLE=2, DELETED=99'),
  notifyUserIds: z.array(z.number().int()),
  lifeCycle: z.object({ start: z.number().optional(), end: z.number().optional() }).nullable(),
  failurePolicy: z.enum(['FAIL_FAST', 'CONTINUE_BRANCHES']),
  nextTriggerTime: z.number().nullable().describe('epoch ms of the next fire of an enabled CRON workflow'),
  gmtCreate: isoDate,
  gmtModified: isoDate,
});

/** PowerJob's WorkflowNodeInfoDO, as addWorkflowNode answers it. */
export const workflowNodeInfoSchema = z.object({
  id: z.number().int(),
  appId: z.number().int(),
  workflowId: z.number().int().nullable().describe('null until a saved DAG lists the node'),
  type: code('WorkflowNodeType code: JOB=1, DECISION=2, NESTED_WORKFLOW=3'),
  jobId: z.number().int().nullable(),
  nodeName: z.string().nullable(),
  nodeParams: z.string().nullable(),
  enable: z.boolean(),
  skipWhenFailed: z.boolean(),
  extra: z.string().nullable(),
  gmtCreate: isoDate,
  gmtModified: isoDate,
});

export function workflowNodeInfoDTO(node: WorkflowNodeRecord): z.infer<typeof workflowNodeInfoSchema> {
  return { ...node, type: WorkflowNodeType.codes[node.type], gmtCreate: iso(node.gmtCreate)!, gmtModified: iso(node.gmtModified)! };
}

export function workflowNextTrigger(workflow: WorkflowDefinition, now: number): number | null {
  if (workflow.status !== 'ENABLE' || workflow.timeExpressionType !== 'CRON') return null;
  return nextFireTimes(parseTimeExpression('CRON', workflow.timeExpression), workflow.timeZone, now, 1, workflow.lifeCycle)[0] ?? null;
}

export function workflowInfoDTO(
  workflow: WorkflowDefinition,
  nodes: ReadonlyMap<number, WorkflowNodeRecord>,
  now = Date.now(),
): z.infer<typeof workflowInfoSchema> {
  const dag = dagWithNodes(workflow.dag, nodes);
  return {
    id: workflow.id,
    wfName: workflow.wfName,
    wfDescription: workflow.wfDescription,
    appId: workflow.appId,
    peworkflowDAG: {
      nodes: dag.nodes.map((node) => ({
        nodeId: node.nodeId,
        nodeType: node.nodeType ?? WorkflowNodeType.codes.JOB,
        jobId: node.jobId ?? null,
        nodeName: node.nodeName ?? null,
        nodeParams: node.nodeParams ?? null,
        enable: node.enable ?? true,
        skipWhenFailed: node.skipWhenFailed ?? false,
      })),
      edges: dag.edges.map((edge) => ({ from: edge.from, to: edge.to, property: edge.property ?? null, enable: edge.enable ?? true })),
    },
    timeExpressionType: workflow.timeExpressionType,
    timeExpression: workflow.timeExpression,
    timeZone: workflow.timeZone,
    misfirePolicy: workflow.misfirePolicy,
    maxWfInstanceNum: workflow.maxWfInstanceNum,
    enable: workflow.status === 'ENABLE',
    status: JobStatus.codes[workflow.status],
    notifyUserIds: workflow.notifyUserIds,
    lifeCycle: workflow.lifeCycle,
    failurePolicy: workflow.failurePolicy,
    nextTriggerTime: workflowNextTrigger(workflow, now),
    gmtCreate: iso(workflow.gmtCreate)!,
    gmtModified: iso(workflow.gmtModified)!,
  };
}

/** PowerJob's WorkflowInstanceInfoDTO (fetchWfInstanceInfo): the DAG and the context as JSON strings, as PowerJob sends them. */
export const wfInstanceInfoSchema = z.object({
  id: z.number().int().describe('the wfInstanceId (PowerJob\'s row id)'),
  appId: z.number().int(),
  wfInstanceId: z.number().int(),
  workflowId: z.number().int(),
  wfName: z.string(),
  status: code('WorkflowInstanceStatus code: WAITING=1, RUNNING=2, FAILED=3, SUCCEED=4, STOPPED=10'),
  wfInitParams: z.string().nullable(),
  wfContext: z.string().describe('the workflow context: a JSON object of strings'),
  dag: z.string().describe('the run\'s PEWorkflowDAG as JSON: each node\'s status (InstanceStatus code), instanceId (a string), result, times'),
  result: z.string().nullable(),
  expectedTriggerTime: z.number().describe('epoch ms'),
  actualTriggerTime: z.number().nullable().describe('epoch ms; a delayed run\'s real start'),
  finishedTime: z.number().nullable().describe('epoch ms'),
  parentWfInstanceId: z.number().int().nullable().describe('the run whose NESTED_WORKFLOW node this run is'),
  gmtCreate: isoDate,
  gmtModified: isoDate,
});

/** A workflow instance as the API reports it: what was asked (memo `wfRun`) and how it went (memo `wf`). */
export interface WfInstanceView {
  wfInstanceId: number;
  run: WfRunMemo;
  state: DagState;
}

export function wfInstanceInfoDTO({ wfInstanceId, run, state }: WfInstanceView): z.infer<typeof wfInstanceInfoSchema> {
  const dag = {
    nodes: state.dag.nodes.map((node) => ({ ...node, instanceId: node.instanceId == null ? null : String(node.instanceId) })),
    edges: state.dag.edges,
  };
  return {
    id: wfInstanceId,
    appId: run.appId,
    wfInstanceId,
    workflowId: run.workflowId,
    wfName: run.wfName,
    status: WorkflowInstanceStatus.codes[state.status],
    wfInitParams: run.initParams,
    wfContext: JSON.stringify(state.context),
    dag: JSON.stringify(dag),
    result: state.result,
    expectedTriggerTime: run.expectedTriggerTime,
    actualTriggerTime: state.actualTriggerTime,
    finishedTime: state.finishedTime,
    parentWfInstanceId: run.parentWfInstanceId,
    gmtCreate: iso(run.createdAt)!,
    gmtModified: iso(state.finishedTime ?? state.actualTriggerTime ?? run.createdAt)!,
  };
}
