import type { LiveWorker, WorkerTargeting } from '../domain/targeting.js';
import type { TaskResult } from '../domain/tasks.js';
import type { WorkflowContextData } from '../domain/dag.js';
import type { Frozen } from '../domain/workflow.js';
import type { AcquireSlotResult, LateFire, LogPurge, MisfireDecision } from './workflows.js';
import { stepIdempotencyKey } from './names.js';
import { type MapScope, type ProcessTarget, processTarget } from './scopes.js';

/**
 * The activities between tempojob's workflows and the processes that run them: what
 * processor workers (the SDK, users' code) and the core worker register, with every
 * request and outcome. Workflows call them through these interfaces only.
 */

/** One attempt of one step of an instance, as a processor activity receives it. */
export interface ProcessRequest extends ProcessTarget {
  /**
   * The attempt of what this request runs: of the instance for a STANDALONE run (its
   * instanceAttempt), of the step for a broadcast step or map task (taskRetryNum counts those).
   */
  attempt: number;
  maxAttempts: number;
  /** Attempt of the instance the request belongs to; absent in requests from before 0.2. */
  instanceAttempt?: number;
  idempotencyKey: string;
  /** Broadcast steps and map tasks: PowerJob's task id and name (OMS_ROOT_TASK, OMS_BROADCAST_TASK, OMS_LAST_TASK, …). */
  taskId?: string;
  taskName?: string;
  /**
   * Fenced: before any user code runs, a delivery proves it holds the attempt (Temporal still
   * holds the attempt for its task, and recorded this worker as the poll that took it), and
   * one that does not runs nothing (holdAttempt). Absent (map sub-tasks, workflows from
   * before the fence): no such proof.
   */
  fenced?: boolean;
}

/**
 * A delivery's claim on the attempt it was handed, as processor workers built before
 * 2026-12-02 send it (claimAttemptUpdate) to the workflow that dispatched it before any user
 * code runs: the first claim of a dispatched activity holds it, every later one is refused
 * (another delivery of the same task, or a late one of a task that ended).
 */
export interface AttemptClaim {
  idempotencyKey: string;
  /** The activity (in the dispatching workflow's run) this delivery is of. */
  activityId: string;
  workerId: string;
  /** Random per delivery: tells two deliveries to workers with the same id apart. */
  delivery: string;
}

/** One step of an instance attempt: a broadcast's pre/postProcess (`pre`, `post`) or share (`w:<workerId>`), a map task (`t:<taskId>`). */
export interface Step {
  instanceAttempt: number;
  /** The step's part of its idempotency key. */
  part: string;
  taskId: string;
  taskName: string;
}

/** The request of attempt `attempt` of a step, with its own idempotency key. */
export function stepRequest(target: ProcessTarget, step: Step, attempt: number, maxAttempts: number): ProcessRequest & { taskId: string; taskName: string } {
  return {
    ...processTarget(target),
    attempt,
    maxAttempts,
    instanceAttempt: step.instanceAttempt,
    idempotencyKey: stepIdempotencyKey(target.instanceId, step.instanceAttempt, step.part, attempt),
    taskId: step.taskId,
    taskName: step.taskName,
  };
}

/** What a processor attempt hands back to the workflow. */
export interface ProcessOutcome {
  success: boolean;
  msg: string | null;
  /** The id of the worker that ran it (the field's name predates worker ids; SDKs in the field send it). */
  workerIdentity: string;
}

/** Input of a broadcast's postProcess: every member's result, as PowerJob's List<TaskResult>. */
export interface PostProcessRequest extends ProcessRequest {
  results: TaskResult[];
}

/** One attempt of one map task, on any worker of the app. */
export interface MapTaskRequest extends ProcessRequest {
  taskId: string;
  taskName: string;
  /** The item ctx.map() created this task from (null for the root task). */
  subTask: unknown;
  scope: MapScope;
}

/** A map task's verdict, with the batches its ctx.map() calls started. */
export interface MapTaskOutcome extends ProcessOutcome {
  batches: string[];
}

/** Input of reduce: the root task's batches; the worker walks down from them for every result. */
export interface ReduceRequest extends ProcessRequest {
  batches: string[];
}

/**
 * What a processor worker heartbeats with while it runs an attempt. Before any user code
 * runs it has Temporal record one (with the fence's checks, for fenced attempts): an attempt
 * that times out without it (or an older worker's claim) never reached its worker.
 */
export const TAKEN_HEARTBEAT = 'taken';

/** A STANDALONE attempt, on the app's shared queue or a designated worker's own queue. */
export interface StandaloneActivities {
  runProcessor(request: ProcessRequest): Promise<ProcessOutcome>;
}

/** The steps of a broadcast: pre/postProcess on the shared queue, process on each member's own queue. */
export interface BroadcastActivities {
  runBroadcastPreProcess(request: ProcessRequest): Promise<ProcessOutcome>;
  runBroadcastProcess(request: ProcessRequest): Promise<ProcessOutcome>;
  runBroadcastPostProcess(request: PostProcessRequest): Promise<ProcessOutcome>;
}

/** Map tasks (root and sub-tasks) and reduce, on the app's shared queue. */
export interface MapActivities {
  runMapTask(request: MapTaskRequest): Promise<MapTaskOutcome>;
  runMapReduce(request: ReduceRequest): Promise<ProcessOutcome>;
}

/** Everything a processor worker registers, on its app's shared queue and on its own. */
export type ProcessorActivities = StandaloneActivities & BroadcastActivities & MapActivities;

export interface JobSlotRequest {
  jobId: number;
  instanceId: number;
  maxInstanceNum: number;
}

export interface WorkflowSlotRequest {
  workflowId: number;
  wfInstanceId: number;
  maxWfInstanceNum: number;
}

/** A decision node's script, and the context it reads. */
export interface DecisionRequest {
  /** How messages name the node, e.g. `node 3 "big order?"`. */
  node: string;
  script: string;
  context: WorkflowContextData;
}

/** The script's verdict, or why there is none (it threw, ran too long, used too much memory, or returned no boolean). */
export type DecisionOutcome = { verdict: boolean } | { failure: string };

/** The core worker's own activities. */
export interface CoreActivities {
  /** Takes one of the workflow's maxWfInstanceNum slots for this run (the job-slot workflow, keyed by the workflow). */
  acquireWorkflowSlot(request: WorkflowSlotRequest): Promise<AcquireSlotResult>;
  /** What a CRON fire of a workflow freezes (freezeRun), read from the stored definitions. */
  freezeWorkflowRun(request: { appId: number; workflowId: number }): Promise<Frozen>;
  /** Evaluates a decision node's script in a sandbox. */
  evaluateDecision(request: DecisionRequest): Promise<DecisionOutcome>;
  /** Takes one of the job's maxInstanceNum slots for this instance, starting the job's slot workflow if needed. */
  acquireJobSlot(request: JobSlotRequest): Promise<AcquireSlotResult>;
  /** Asks the job's misfire ledger whether a late fire runs (starting the ledger if needed). */
  decideLateFire(fire: LateFire): Promise<MisfireDecision>;
  /** The app's live workers that match the targeting, sorted by worker id. */
  liveWorkers(request: { appName: string; targeting: WorkerTargeting }): Promise<LiveWorker[]>;
}

/** What a core worker with a log store registers, on the log-retention queue only (logRetentionTaskQueue). */
export interface LogRetentionActivities {
  /** Deletes the instance log lines written before now minus the retention (TEMPOJOB_LOG_RETENTION_DAYS). */
  purgeInstanceLogs(): Promise<LogPurge>;
}

/** What a core worker with the store registers on the alert queue (alertTaskQueue). */
export interface AlertActivities {
  /**
   * Finds the runs of `coreTaskQueue` that failed since `since` (minus an overlap), raises one
   * alert per event (starting its delivery workflow under a deterministic id), and returns the
   * next watermark.
   */
  scanAlerts(request: { coreTaskQueue: string; since?: number }): Promise<{ until: number; raised: number }>;
  /** Sends the alert on one channel of one target, reading both from the store; records the outcome. */
  deliverAlertToChannel(request: { appId: number; alertId: string; targetId: number; channel: string }): Promise<void>;
  /** Records that a delivery failed for good (after its last attempt) and logs it. */
  recordAlertDeliveryFailure(request: { appId: number; alertId: string; targetId: number; channel: string; error: string }): Promise<void>;
}
