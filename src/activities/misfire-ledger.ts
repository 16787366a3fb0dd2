import type { Client } from '@temporalio/client';
import { WithStartWorkflowOperation } from '@temporalio/client';
import type { CoreActivities } from '../contract/activities.js';
import { decideLateFireUpdate } from '../contract/messages.js';
import { misfireLedgerId } from '../contract/names.js';
import { EMPTY_LEDGER, type MisfireLedgerWorkflow, WorkflowType } from '../contract/workflows.js';

export function misfireLedgerActivities(client: Client, coreTaskQueue: string): Pick<CoreActivities, 'decideLateFire'> {
  return {
    async decideLateFire(fire) {
      return client.workflow.executeUpdateWithStart(decideLateFireUpdate, {
        args: [fire],
        startWorkflowOperation: new WithStartWorkflowOperation<MisfireLedgerWorkflow>(WorkflowType.misfireLedger, {
          workflowId: fire.ledgerId ?? misfireLedgerId(fire.job.id),
          taskQueue: coreTaskQueue,
          args: [EMPTY_LEDGER],
          workflowIdConflictPolicy: 'USE_EXISTING',
        }),
      });
    },
  };
}
