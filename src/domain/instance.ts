import type { InstanceStatusName } from './enums.js';
import type { JobSnapshot } from './job.js';
import type { MapProgress } from './map.js';

/** Input of the instance workflow: one run of a job. */
export interface InstanceInput {
  instanceId: number;
  appName: string;
  job: JobSnapshot;
  instanceParams: string | null;
  /** Absolute fire time (epoch ms), fixed when the request arrived. */
  expectedTriggerTime: number;
  /** Runs already made under this instance id (retryInstance continues the count). */
  previousRunningTimes: number;
  createdAt: number;
  createdBy: { idempotencyKey: string; requestHash: string } | null;
  /** The Idempotency-Key of the retryInstance call that started this run, if any. */
  retriedBy: string | null;
  /** A fire missed during an outage that the job's misfire policy runs late. */
  catchUp: boolean;
  /** An attempt whose worker stops heartbeating for this long counts as lost. */
  heartbeatTimeoutMs: number;
}

/**
 * A first run of a job: the one shape runJob, a schedule's fire and the benchmark's
 * baseline all start, so they cannot drift apart.
 */
export function newInstanceInput(
  fields: Pick<InstanceInput, 'instanceId' | 'appName' | 'job' | 'instanceParams' | 'expectedTriggerTime' | 'createdAt' | 'heartbeatTimeoutMs'>
    & Partial<Pick<InstanceInput, 'createdBy' | 'catchUp'>>,
): InstanceInput {
  return { previousRunningTimes: 0, createdBy: null, retriedBy: null, catchUp: false, ...fields };
}

/** What the instance workflow records as it goes (memo `instance`). */
export interface InstanceState {
  status: InstanceStatusName;
  result: string | null;
  actualTriggerTime: number | null;
  finishedTime: number | null;
  runningTimes: number;
  /** Identity of the worker that ran the last attempt. */
  taskTrackerAddress: string | null;
  /** BROADCAST only: each member's share of the current attempt (fetchInstanceInfo's `broadcast`). */
  broadcast?: BroadcastShare[];
  /** MAP and MAP_REDUCE only: sub-task counts of the current attempt, as its batches finish (fetchInstanceInfo's `map`). */
  map?: MapProgress;
}

/** PowerJob's system result strings, where ours mean the same thing. */
export const SystemResult = {
  canceledByUser: 'canceled by user',
  stoppedByUser: 'user stop instance,interrupted success',
  stoppedWithJob: 'stopped: its job was disabled or deleted',
  timeout: 'instance execute timeout',
  tooManyInstances: (running: number, max: number) => `too many instances(${running}>${max})`,
  noWorkerAvailable: 'no worker available',
} as const;

/** PowerJob's task ids and names: a broadcast's steps, a map's root and reduce tasks. */
export const TASK = {
  root: { id: '0', name: 'OMS_ROOT_TASK' },
  broadcast: { id: (index: number) => `0.${index + 1}`, name: 'OMS_BROADCAST_TASK' },
  last: { id: '9999', name: 'OMS_LAST_TASK' },
} as const;

/** What a processor attempt hands back to the instance workflow. */
export interface ProcessOutcome {
  success: boolean;
  msg: string | null;
  workerIdentity: string;
}

/** Input of the processor activity on the app's queue. */
export interface ProcessRequest {
  instanceId: number;
  jobId: number;
  appName: string;
  processorInfo: string;
  jobParams: string | null;
  instanceParams: string | null;
  attempt: number;
  maxAttempts: number;
  idempotencyKey: string;
  /** BROADCAST steps: PowerJob's task id and name (OMS_ROOT_TASK, OMS_BROADCAST_TASK, OMS_LAST_TASK). */
  taskId?: string;
  taskName?: string;
}

/** What every attempt of an instance's processor is asked to run, whichever worker and step. */
export type ProcessTarget = Pick<ProcessRequest, 'instanceId' | 'jobId' | 'appName' | 'processorInfo' | 'jobParams' | 'instanceParams'>;

export function processTargetOf(input: InstanceInput): ProcessTarget {
  const { instanceId, appName, instanceParams, job } = input;
  return { instanceId, jobId: job.id, appName, processorInfo: job.processorInfo, jobParams: job.jobParams, instanceParams };
}

/** The target fields alone (e.g. of a broadcast share's input), for an activity request. */
export function processTarget({ instanceId, jobId, appName, processorInfo, jobParams, instanceParams }: ProcessTarget): ProcessTarget {
  return { instanceId, jobId, appName, processorInfo, jobParams, instanceParams };
}

/** Input of a broadcast's postProcess: every member's result, as PowerJob's List<TaskResult>. */
export interface PostProcessRequest extends ProcessRequest {
  results: TaskResult[];
}

/** One member's result in a broadcast, as postProcess sees it. */
export interface TaskResult {
  taskId: string;
  workerId: string;
  success: boolean;
  result: string | null;
}

/**
 * Who may take part in a run (PowerJob's targeting): `designatedWorkers` lists worker ids
 * or tags (empty = every worker), `maxWorkerCount` caps a broadcast (0 = no cap).
 */
export interface WorkerTargeting {
  designatedWorkers: string[];
  maxWorkerCount: number;
}

/** A processor worker Temporal sees alive, as the membership activity reports it. */
export interface LiveWorker {
  workerId: string;
  tags: string[];
  /** Its Temporal identity (`workerId` or `workerId[tag,…]`). */
  identity: string;
}

export type ShareStatus = 'WAITING' | 'RUNNING' | 'SUCCEED' | 'FAILED' | 'STOPPED';

/** One member's share of a broadcast, as fetchInstanceInfo reports it. */
export interface BroadcastShare {
  workerId: string;
  status: ShareStatus;
  /** The processor's msg, or why the share failed (e.g. `worker lost: w-3 stopped heartbeating`). */
  result: string | null;
  /** Attempts made on this worker (taskRetryNum retries a share only here). */
  attempts: number;
}

/** Input of one member's share: a child workflow of the instance, in the core worker. */
export interface ShareInput extends ProcessTarget {
  workerId: string;
  taskId: string;
  /** Attempt of the instance this share belongs to (runningTimes). */
  instanceAttempt: number;
  taskRetryNum: number;
  retryBackoff: JobSnapshot['retryBackoff'];
  /** Epoch ms the instance times out at. */
  deadline: number;
  /** A worker that does not take its share, or stops heartbeating, for this long is lost. */
  workerLostMs: number;
}

/** Results are capped like PowerJob's maxResultLength. */
export const MAX_RESULT_LENGTH = 8192;

/** A result cut to `max` characters (PowerJob cuts results the same way). */
export function cutResult(text: string | null, max = MAX_RESULT_LENGTH): string | null {
  return text !== null && text.length > max ? text.slice(0, max) : text;
}

/**
 * What a processor worker heartbeats with from the moment it takes an attempt, before any
 * user code runs: an attempt that times out without it never reached its worker.
 */
export const TAKEN_HEARTBEAT = 'taken';
