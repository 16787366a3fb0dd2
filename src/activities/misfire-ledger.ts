import type { Client } from '@temporalio/client';
import { WithStartWorkflowOperation } from '@temporalio/client';
import { misfireLedgerId } from '../contract/names.js';
import type { LateFire, MisfireDecision } from '../workflows/misfire-ledger.js';
import { decideLateFireUpdate, misfireLedgerWorkflow } from '../workflows/misfire-ledger.js';

export function misfireLedgerActivities(client: Client, coreTaskQueue: string) {
  return {
    /** Asks the job's misfire ledger whether a late fire runs (starting the ledger if needed). */
    async decideLateFire(fire: LateFire): Promise<MisfireDecision> {
      return client.workflow.executeUpdateWithStart(decideLateFireUpdate, {
        args: [fire],
        startWorkflowOperation: new WithStartWorkflowOperation(misfireLedgerWorkflow, {
          workflowId: misfireLedgerId(fire.job.id),
          taskQueue: coreTaskQueue,
          args: [{ decisions: [], decidedUpTo: 0, lastReference: 0 }],
          workflowIdConflictPolicy: 'USE_EXISTING',
        }),
      });
    },
  };
}
