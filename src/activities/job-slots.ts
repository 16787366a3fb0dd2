import type { Client } from '@temporalio/client';
import { WithStartWorkflowOperation } from '@temporalio/client';
import { jobSlotsWorkflowId } from '../contract/names.js';
import type { AcquireSlotResult } from '../workflows/job-slots.js';
import { acquireSlotUpdate, jobSlotsWorkflow } from '../workflows/job-slots.js';

export function jobSlotActivities(client: Client, coreTaskQueue: string) {
  return {
    /** Takes one of the job's maxInstanceNum slots for this instance, starting the counter if needed. */
    async acquireJobSlot(request: { jobId: number; instanceId: number; maxInstanceNum: number }): Promise<AcquireSlotResult> {
      return client.workflow.executeUpdateWithStart(acquireSlotUpdate, {
        args: [{ instanceId: request.instanceId, maxInstanceNum: request.maxInstanceNum }],
        startWorkflowOperation: new WithStartWorkflowOperation(jobSlotsWorkflow, {
          workflowId: jobSlotsWorkflowId(request.jobId),
          taskQueue: coreTaskQueue,
          args: [[]],
          workflowIdConflictPolicy: 'USE_EXISTING',
        }),
      });
    },
  };
}
