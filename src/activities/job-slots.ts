import type { Client } from '@temporalio/client';
import { WithStartWorkflowOperation } from '@temporalio/client';
import type { CoreActivities } from '../contract/activities.js';
import { acquireSlotUpdate } from '../contract/messages.js';
import { jobSlotsWorkflowId } from '../contract/names.js';
import { type JobSlotsWorkflow, WorkflowType } from '../contract/workflows.js';

export function jobSlotActivities(client: Client, coreTaskQueue: string): Pick<CoreActivities, 'acquireJobSlot'> {
  return {
    async acquireJobSlot(request) {
      return client.workflow.executeUpdateWithStart(acquireSlotUpdate, {
        args: [{ instanceId: request.instanceId, maxInstanceNum: request.maxInstanceNum }],
        startWorkflowOperation: new WithStartWorkflowOperation<JobSlotsWorkflow>(WorkflowType.jobSlots, {
          workflowId: jobSlotsWorkflowId(request.jobId),
          taskQueue: coreTaskQueue,
          args: [[]],
          workflowIdConflictPolicy: 'USE_EXISTING',
        }),
      });
    },
  };
}
