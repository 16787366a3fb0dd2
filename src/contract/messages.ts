import { defineSignal, defineUpdate } from '@temporalio/workflow';
import type { BroadcastShare } from '../domain/broadcast.js';
import type {
  AcquireSlotRequest, AcquireSlotResult, AppRecord, BatchDone, BatchStarted, BindNodesRequest, LateFire, MisfireDecision, PutAppRequest,
  SaveNodesRequest, ScheduledRunInput, AppendedContext,
} from './workflows.js';
import type { WorkflowNodeRecord } from '../domain/workflow.js';
import type { AttemptClaim } from './activities.js';

/** Every signal and update tempojob's workflows accept, by the workflow that handles it. */

/** instanceWorkflow: cancel a run that has not fired yet; refused (validator) once it has. */
export const cancelInstanceUpdate = defineUpdate<void>('cancelInstance');
/** instanceWorkflow: stop an unfinished run; refused once it has finished. */
export const stopInstanceUpdate = defineUpdate<void>('stopInstance');

/**
 * instanceWorkflow (STANDALONE attempts, broadcast pre/postProcess, a map's root task and
 * reduce) and broadcastShareWorkflow (its share): processor workers built before 2026-12-02
 * claim an attempt here before user code runs, and the validator admits only the first claim
 * of a dispatched activity. Current workers check Temporal's own record of the poll that took
 * the task instead (holdAttempt, src/workers/attempt.ts); the handler stays for the older
 * ones and for the histories that hold their claims.
 */
export const claimAttemptUpdate = defineUpdate<void, [AttemptClaim]>('claimAttempt');

/** appDirectoryWorkflow: create an app, or replace its password. */
export const putAppUpdate = defineUpdate<AppRecord, [PutAppRequest]>('putApp');

/** jobSlotsWorkflow: take a slot (granted in history order), give it back when the instance ends. */
export const acquireSlotUpdate = defineUpdate<AcquireSlotResult, [AcquireSlotRequest]>('acquireSlot');
export const releaseSlotSignal = defineSignal<[{ instanceId: number }]>('releaseSlot');

/** misfireLedgerWorkflow: whether a late fire runs. */
export const decideLateFireUpdate = defineUpdate<MisfireDecision, [LateFire]>('decideLateFire');

/** fixedDelayWorkflow: a saved job definition reaches a running clock (e.g. a new delay). */
export const reconfigureSignal = defineSignal<[ScheduledRunInput]>('reconfigure');

/** instanceWorkflow, from a broadcast share that is retrying (status RUNNING, attempts n, result = why the last attempt failed). */
export const shareProgressSignal = defineSignal<[{ instanceAttempt: number; share: BroadcastShare }]>('broadcastShareProgress');

/** The workflow that ran the mapping task (instance or batch), from each of its batches. */
export const mapBatchStartedSignal = defineSignal<[BatchStarted]>('mapBatchStarted');
export const mapBatchDoneSignal = defineSignal<[BatchDone]>('mapBatchDone');
/** mapBatchWorkflow, from its parent: run your sub-tasks now. */
export const mapBatchGoSignal = defineSignal('mapBatchGo');

/** workflowNodesWorkflow: create or change nodes (addWorkflowNode); refused for unknown ids and reused keys. */
export const saveWorkflowNodesUpdate = defineUpdate<WorkflowNodeRecord[], [SaveNodesRequest]>('saveWorkflowNodes');
/** workflowNodesWorkflow: a saved DAG's nodes become its workflow's; refused for unknown nodes and other workflows' nodes. */
export const bindWorkflowNodesUpdate = defineUpdate<void, [BindNodesRequest]>('bindWorkflowNodes');

/** dagWorkflow: stop a waiting or running workflow instance and every node it runs; refused once it has finished. */
export const stopWfInstanceUpdate = defineUpdate<void>('stopWfInstance');
/** dagWorkflow, from the processor worker running one of its JOB nodes: what the processor appended to the context. */
export const appendWorkflowContextSignal = defineSignal<[AppendedContext]>('appendWorkflowContext');
