import type { InstanceStatusName } from './enums.js';
import type { CreatedBy, JobSnapshot } from './job.js';
import type { BroadcastShare } from './broadcast.js';
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
  createdBy: CreatedBy | null;
  /** The Idempotency-Key of the retryInstance call that started this run, if any. */
  retriedBy: string | null;
  /** A fire missed during an outage that the job's misfire policy runs late. */
  catchUp: boolean;
  /** An attempt whose worker stops heartbeating for this long counts as lost. */
  heartbeatTimeoutMs: number;
  /** The workflow instance whose JOB node this run is (absent for a run of its own). */
  wfInstanceId?: number;
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
  /**
   * The instance's current (or last) attempt: attempts made under this instance id, retried
   * runs included. PowerJob calls it runningTimes; broadcast steps and map tasks carry it as
   * their `instanceAttempt`.
   */
  instanceAttempt: number;
  /** The worker that ran the last attempt (for a broadcast, its preProcess); PowerJob's taskTrackerAddress. */
  workerId: string | null;
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

/** How every "worker lost" failure begins (a worker that died mid-run or never took its work); alerting looks for it. */
export const WORKER_LOST_PREFIX = 'worker lost: ';

export function isWorkerLost(result: string | null): boolean {
  return result?.startsWith(WORKER_LOST_PREFIX) ?? false;
}

/** Results are capped like PowerJob's maxResultLength. */
export const MAX_RESULT_LENGTH = 8192;

/** A result cut to `max` characters (PowerJob cuts results the same way). */
export function cutResult(text: string | null, max = MAX_RESULT_LENGTH): string | null {
  return text !== null && text.length > max ? text.slice(0, max) : text;
}

/** The state an instance is born with (memo `instance` at start). */
export function initialInstanceState(input: InstanceInput): InstanceState {
  return {
    status: 'WAITING_DISPATCH',
    result: null,
    actualTriggerTime: null,
    finishedTime: null,
    instanceAttempt: input.previousRunningTimes,
    workerId: null,
  };
}
