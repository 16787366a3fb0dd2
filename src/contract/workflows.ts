import type { BroadcastShare } from '../domain/broadcast.js';
import type { InstanceInput, InstanceState } from '../domain/instance.js';
import type { JobDefinition, RetryBackoff } from '../domain/job.js';
import type { MapCounts } from '../domain/map.js';
import type { TaskResult } from '../domain/tasks.js';
import type { DagInput, DagState, WorkflowDefinition, WorkflowNodeInput, WorkflowNodeRecord } from '../domain/workflow.js';
import type { WorkflowContextData } from '../domain/dag.js';
import type { MapScope, ProcessTarget } from './scopes.js';

/**
 * Every workflow tempojob runs: its type name (what the API, the workers and schedules
 * start it by), its signature and the shapes it keeps. The implementations live in
 * src/workflows; nothing outside that folder imports them.
 */
export const WorkflowType = {
  instance: 'instanceWorkflow',
  appDirectory: 'appDirectoryWorkflow',
  jobSlots: 'jobSlotsWorkflow',
  scheduledRun: 'scheduledRunWorkflow',
  fixedDelay: 'fixedDelayWorkflow',
  misfireLedger: 'misfireLedgerWorkflow',
  broadcastShare: 'broadcastShareWorkflow',
  mapBatch: 'mapBatchWorkflow',
  workflowNodes: 'workflowNodesWorkflow',
  scheduledWorkflowRun: 'scheduledWorkflowRunWorkflow',
  dag: 'dagWorkflow',
  logRetention: 'logRetentionWorkflow',
  alertScan: 'alertScanWorkflow',
  alertDelivery: 'alertDeliveryWorkflow',
} as const;

/** One run of a job (a PowerJob instance). */
export type InstanceWorkflow = (input: InstanceInput) => Promise<InstanceState>;

/** The registry of apps, one long-lived workflow. */
export type AppDirectoryWorkflow = (initial?: AppDirectoryState) => Promise<void>;

export interface AppRecord {
  appId: number;
  appName: string;
  /** argon2id hash of md5hex(password): the md5 handshake is verified without storing the password. */
  passwordHash: string;
  /** Bumped on every password change; access tokens carry it, so old tokens stop working. */
  passwordVersion: number;
  createdAt: number;
  updatedAt: number;
}

export interface AppDirectoryState {
  nextAppId: number;
  apps: AppRecord[];
}

export interface PutAppRequest {
  appName: string;
  passwordHash: string;
  /** create: fail if the name exists. upsert: create, or replace the password. */
  mode: 'create' | 'upsert';
  now: number;
}

/** The running instances of one job with maxInstanceNum: the ids holding a slot. */
export type JobSlotsWorkflow = (holders?: number[]) => Promise<void>;

export interface AcquireSlotRequest {
  instanceId: number;
  maxInstanceNum: number;
}
export interface AcquireSlotResult {
  acquired: boolean;
  running: number;
}

/** One fire of a job's schedule: becomes one instance. Returns the instance's workflow id (or why none). */
export type ScheduledRunWorkflow = (input: ScheduledRunInput) => Promise<string>;

/** What a job's schedule hands to each of its fires. */
export interface ScheduledRunInput {
  job: JobDefinition;
  appName: string;
  heartbeatTimeoutMs: number;
}

/** The clock of an enabled FIXED_DELAY job. */
export type FixedDelayWorkflow = (state: FixedDelayState) => Promise<void>;

export interface FixedDelayState {
  run: ScheduledRunInput;
  /** When the next run starts (epoch ms); null = now. */
  nextFireTime: number | null;
}

/** Which missed fires of one job run after an outage. */
export type MisfireLedgerWorkflow = (initial?: LedgerState) => Promise<void>;

export interface LateFire {
  /** The job's (or CRON workflow's) time rule and misfire policy; its id names the ledger unless `ledgerId` does. */
  job: Pick<JobDefinition, 'id' | 'misfirePolicy' | 'timeExpressionType' | 'timeExpression' | 'timeZone'>;
  /** The ledger to ask; absent: the job's (`misfireLedgerId(job.id)`). */
  ledgerId?: string;
  fireTime: number;
  /** When the fire found itself late: the reference time of a new backlog. */
  askedAt: number;
}

export type MisfireDecision = 'catch-up' | 'on-time' | 'dropped';

export interface LedgerState {
  /** Fire time → decision, for the backlogs decided so far (pruned as they age). */
  decisions: [number, MisfireDecision][];
  /** Every fire up to here belongs to a decided backlog. */
  decidedUpTo: number;
  /** Reference time of the last backlog: fires due before it belong to that outage. */
  lastReference: number;
}

export const EMPTY_LEDGER: LedgerState = { decisions: [], decidedUpTo: 0, lastReference: 0 };

/** One member's share of a broadcast: a child workflow of the instance, in the core worker. */
export type BroadcastShareWorkflow = (input: ShareInput) => Promise<ShareOutcome>;

export interface ShareInput extends ProcessTarget {
  workerId: string;
  taskId: string;
  /** Attempt of the instance this share belongs to. */
  instanceAttempt: number;
  taskRetryNum: number;
  retryBackoff: RetryBackoff;
  /** Epoch ms the instance times out at. */
  deadline: number;
  /** A worker that does not take its share, or stops heartbeating, for this long is lost. */
  workerLostMs: number;
}

export interface ShareOutcome {
  share: BroadcastShare;
  timedOut: boolean;
}

/** One batch of a map's sub-tasks, started by the worker whose task mapped them. */
export type MapBatchWorkflow = (input: MapBatchInput) => Promise<MapBatchResult>;

/** Input of a batch workflow: `items` become tasks `<parentTaskId>.<offset + i>`. */
export interface MapBatchInput extends ProcessTarget {
  batchId: string;
  parentTaskId: string;
  offset: number;
  taskName: string;
  items: unknown[];
  scope: MapScope;
}

/** What a batch returns: counts over its sub-tasks and every batch below it. */
export interface MapBatchResult {
  counts: MapCounts;
  /** MAP_REDUCE: this batch's own sub-tasks' results. */
  results: TaskResult[];
  /** Batches its sub-tasks mapped (reduce walks them for their results). */
  batches: string[];
}

/** A batch tells its parent it exists (so a stop reaches it) and, later, that it is done. */
export interface BatchStarted {
  batchId: string;
  instanceAttempt: number;
}
export interface BatchDone extends BatchStarted {
  counts: MapCounts;
}

/** The registry of one app's workflow nodes: long-lived, one per app. */
export type WorkflowNodesWorkflow = (initial?: WorkflowNodesState) => Promise<void>;

export interface WorkflowNodesState {
  nextNodeId: number;
  nodes: WorkflowNodeRecord[];
  /** The newest saves made with an Idempotency-Key, to answer a repeat with the first outcome. */
  keys: SavedNodesKey[];
}

export interface SavedNodesKey {
  key: string;
  hash: string;
  nodeIds: number[];
}

/** addWorkflowNode (and copyWorkflow, which creates nodes already bound). */
export interface SaveNodesRequest {
  appId: number;
  nodes: (WorkflowNodeInput & { workflowId?: number | null })[];
  now: number;
  idempotency: { key: string; hash: string } | null;
}

/**
 * saveWorkflow: the nodes its DAG lists become the workflow's (unbound ones are bound; one
 * bound to another workflow is refused), and its nodes the DAG no longer lists are deleted.
 */
export interface BindNodesRequest {
  workflowId: number;
  nodeIds: number[];
  now: number;
}

/** One CRON fire of a workflow: becomes one workflow instance. Returns its id (or why none). */
export type ScheduledWorkflowRunWorkflow = (input: ScheduledWorkflowRunInput) => Promise<string>;

/** What a workflow's schedule hands to each of its CRON fires. */
export interface ScheduledWorkflowRunInput {
  workflow: WorkflowDefinition;
  appName: string;
  heartbeatTimeoutMs: number;
}

/** One run of a workflow (a PowerJob workflow instance): its nodes as child instances and child runs. */
export type DagWorkflow = (input: DagInput) => Promise<DagState>;

/** What a JOB node's processor appended to the workflow context in one attempt of its instance. */
export interface AppendedContext {
  instanceId: number;
  instanceAttempt: number;
  data: WorkflowContextData;
}

/** One purge of the instance log store, fired hourly by the log-retention schedule (logRetentionScheduleId). */
export type LogRetentionWorkflow = (input: LogRetentionInput) => Promise<LogPurge>;

export interface LogRetentionInput {
  /** The queue of the purge activity (logRetentionTaskQueue): only core workers with a log store poll it. */
  taskQueue: string;
}

export interface LogPurge {
  purged: number;
  /** Lines written before this (epoch ms) were deleted. */
  before: number;
}

/**
 * Alerting: the long-lived scan of one core queue (alertScanWorkflowId). It calls the
 * activity `scanAlerts` every `everyMs`, carrying the watermark (epoch ms) from one scan to
 * the next, and continues as new now and then.
 */
export type AlertScanWorkflow = (input: AlertScanInput) => Promise<void>;

export interface AlertScanInput {
  /** The queue of the alert activities (alertTaskQueue): only core workers with the store poll it. */
  taskQueue: string;
  /** The core task queue whose runs are scanned. */
  coreTaskQueue: string;
  everyMs: number;
  /** Runs closed from this time on (minus the scan's overlap) are looked at; absent: from the first scan's start. */
  since?: number;
}

/** Delivers one alert to its targets: ids only, the secrets are read from the store by each delivery. */
export type AlertDeliveryWorkflow = (input: AlertDeliveryInput) => Promise<AlertDeliveryOutcome[]>;

export interface AlertDeliveryInput {
  taskQueue: string;
  appId: number;
  alertId: string;
  deliveries: { targetId: number; channel: string }[];
}

export interface AlertDeliveryOutcome {
  targetId: number;
  channel: string;
  status: 'DELIVERED' | 'FAILED';
  error?: string;
}
