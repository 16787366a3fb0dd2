import type { InstanceStatusName } from './enums.js';
import type { JobSnapshot } from './job.js';

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

/** What the instance workflow records as it goes (memo `instance`). */
export interface InstanceState {
  status: InstanceStatusName;
  result: string | null;
  actualTriggerTime: number | null;
  finishedTime: number | null;
  runningTimes: number;
  /** Identity of the worker that ran the last attempt. */
  taskTrackerAddress: string | null;
}

/** PowerJob's system result strings, where ours mean the same thing. */
export const SystemResult = {
  canceledByUser: 'canceled by user',
  stoppedByUser: 'user stop instance,interrupted success',
  stoppedWithJob: 'stopped: its job was disabled or deleted',
  timeout: 'instance execute timeout',
  tooManyInstances: (running: number, max: number) => `too many instances(${running}>${max})`,
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
}

/** Results are capped like PowerJob's maxResultLength. */
export const MAX_RESULT_LENGTH = 8192;
