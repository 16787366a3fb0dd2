import type {
  DispatchStrategyName,
  ExecuteTypeName,
  JobStatusName,
  ProcessorTypeName,
  TimeExpressionTypeName,
} from './enums.js';

/** The Idempotency-Key (and a hash of its request) a job or instance was created with. */
export interface CreatedBy {
  idempotencyKey: string;
  requestHash: string;
}

/** Backoff between instance attempts (beyond PowerJob, which waits a fixed 10 s). */
export interface RetryBackoff {
  initialIntervalMs: number;
  backoffCoefficient: number;
  maximumIntervalMs: number;
}

/** How long to wait after attempt `failedAttempt` (1-based) failed. */
export function backoffMs(policy: RetryBackoff, failedAttempt: number): number {
  const raw = policy.initialIntervalMs * policy.backoffCoefficient ** (failedAttempt - 1);
  return Math.min(policy.maximumIntervalMs, Math.round(raw));
}

export const DEFAULT_RETRY_BACKOFF: RetryBackoff = {
  initialIntervalMs: 1_000,
  backoffCoefficient: 2,
  maximumIntervalMs: 60_000,
};

/**
 * What to do with fires missed while the system was down (beyond PowerJob, which has no
 * such setting). A fire is missed when it starts more than `thresholdMs` after its time.
 * SKIP drops missed fires; RUN_ONCE runs only the newest of them; CATCH_UP runs the
 * newest `maxCatchUp`.
 */
export interface MisfirePolicy {
  type: 'SKIP' | 'RUN_ONCE' | 'CATCH_UP';
  maxCatchUp: number;
  thresholdMs: number;
}

export const DEFAULT_MISFIRE_POLICY: MisfirePolicy = { type: 'RUN_ONCE', maxCatchUp: 1, thresholdMs: 5_000 };

export interface LifeCycle {
  start?: number;
  end?: number;
}

export interface AlarmConfig {
  alertThreshold: number;
  statisticWindowLen: number;
  silenceWindowLen: number;
}

export interface LogConfig {
  type: number;
  level: number;
  loggerName: string | null;
}

/** A job as tempojob stores it: PowerJob's SaveJobInfoRequest fields, normalised. */
export interface JobDefinition {
  id: number;
  appId: number;
  jobName: string;
  jobDescription: string | null;
  jobParams: string | null;
  timeExpressionType: TimeExpressionTypeName;
  timeExpression: string | null;
  /** IANA zone CRON and DAILY_TIME_INTERVAL expressions are read in. */
  timeZone: string;
  misfirePolicy: MisfirePolicy;
  executeType: ExecuteTypeName;
  processorType: ProcessorTypeName;
  processorInfo: string;
  maxInstanceNum: number;
  concurrency: number;
  instanceTimeLimit: number;
  instanceRetryNum: number;
  taskRetryNum: number;
  retryBackoff: RetryBackoff;
  minCpuCores: number;
  minMemorySpace: number;
  minDiskSpace: number;
  status: JobStatusName;
  designatedWorkers: string | null;
  maxWorkerCount: number;
  notifyUserIds: number[];
  extra: string | null;
  dispatchStrategy: DispatchStrategyName;
  dispatchStrategyConfig: string | null;
  lifeCycle: LifeCycle | null;
  alarmConfig: AlarmConfig | null;
  tag: string | null;
  logConfig: LogConfig | null;
  advancedRuntimeConfig: { taskTrackerBehavior: number } | null;
  gmtCreate: number;
  gmtModified: number;
  /** The Idempotency-Key that created the job, with a hash of that request's body. */
  createdBy: CreatedBy | null;
}

/** What an instance needs to know about its job; frozen when the instance is created. */
export type JobSnapshot = Pick<
  JobDefinition,
  | 'id'
  | 'appId'
  | 'jobName'
  | 'jobParams'
  | 'executeType'
  | 'processorType'
  | 'processorInfo'
  | 'maxInstanceNum'
  | 'concurrency'
  | 'instanceTimeLimit'
  | 'instanceRetryNum'
  | 'taskRetryNum'
  | 'retryBackoff'
  | 'designatedWorkers'
  | 'maxWorkerCount'
> & {
  /** Absent in snapshots taken before instance logs (their processors log online, at INFO). */
  logConfig?: LogConfig | null;
};

export function snapshotOf(job: JobDefinition): JobSnapshot {
  const {
    id, appId, jobName, jobParams, executeType, processorType, processorInfo, maxInstanceNum,
    concurrency, instanceTimeLimit, instanceRetryNum, taskRetryNum, retryBackoff, designatedWorkers, maxWorkerCount, logConfig,
  } = job;
  return {
    id, appId, jobName, jobParams, executeType, processorType, processorInfo, maxInstanceNum,
    concurrency, instanceTimeLimit, instanceRetryNum, taskRetryNum, retryBackoff, designatedWorkers, maxWorkerCount, logConfig,
  };
}
