import type { Client } from '@temporalio/client';
import { WithStartWorkflowOperation } from '@temporalio/client';
import type { CoreActivities } from '../contract/activities.js';
import { acquireSlotUpdate } from '../contract/messages.js';
import { jobSlotsWorkflowId, workflowSlotsWorkflowId } from '../contract/names.js';
import { type AcquireSlotRequest, type JobSlotsWorkflow, WorkflowType } from '../contract/workflows.js';

/**
 * Slots of maxInstanceNum (per job) and maxWfInstanceNum (per workflow): the same slot
 * workflow type, under an id of the job or of the workflow.
 */
export function jobSlotActivities(client: Client, coreTaskQueue: string): Pick<CoreActivities, 'acquireJobSlot' | 'acquireWorkflowSlot'> {
  const acquire = (slotsWorkflowId: string, request: AcquireSlotRequest) =>
    client.workflow.executeUpdateWithStart(acquireSlotUpdate, {
      args: [request],
      startWorkflowOperation: new WithStartWorkflowOperation<JobSlotsWorkflow>(WorkflowType.jobSlots, {
        workflowId: slotsWorkflowId,
        taskQueue: coreTaskQueue,
        args: [[]],
        workflowIdConflictPolicy: 'USE_EXISTING',
      }),
    });
  return {
    acquireJobSlot: (request) =>
      acquire(jobSlotsWorkflowId(request.jobId), { instanceId: request.instanceId, maxInstanceNum: request.maxInstanceNum }),
    acquireWorkflowSlot: (request) =>
      acquire(workflowSlotsWorkflowId(request.workflowId), { instanceId: request.wfInstanceId, maxInstanceNum: request.maxWfInstanceNum }),
  };
}
