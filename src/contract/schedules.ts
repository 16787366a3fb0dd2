import type { JobDefinition } from '../domain/job.js';
import type { WorkflowDefinition } from '../domain/workflow.js';
import { type ScheduledRunInput, type ScheduledWorkflowRunInput, WorkflowType } from './workflows.js';

/**
 * What a schedule's action carries: a job's definition (scheduledRunWorkflow's input) or a
 * workflow's (scheduledWorkflowRunWorkflow's). Schedule memos cannot be updated, so the
 * definitions live in the action arguments, which can; these read them back.
 */

/** The part of a schedule description these read (the client's ScheduleDescription has it). */
export interface ScheduleAction {
  action: { type: string; workflowType?: string; args?: readonly unknown[] };
}

export function jobOfSchedule({ action }: ScheduleAction): JobDefinition | undefined {
  if (action.type !== 'startWorkflow' || action.workflowType !== WorkflowType.scheduledRun) return undefined;
  return (action.args?.[0] as ScheduledRunInput | undefined)?.job;
}

export function workflowOfSchedule({ action }: ScheduleAction): WorkflowDefinition | undefined {
  if (action.type !== 'startWorkflow' || action.workflowType !== WorkflowType.scheduledWorkflowRun) return undefined;
  return (action.args?.[0] as ScheduledWorkflowRunInput | undefined)?.workflow;
}
