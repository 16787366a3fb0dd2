import type { Client } from '@temporalio/client';
import type { CoreActivities } from '../contract/activities.js';
import { decisionActivities } from './decision.js';
import { jobSlotActivities } from './job-slots.js';
import { misfireLedgerActivities } from './misfire-ledger.js';
import { workerActivities } from './workers.js';
import { workflowRunActivities } from './workflow-runs.js';

/** The core worker's own activities (users' processors run in src/workers instead). */
export function createCoreActivities(client: Client, coreTaskQueue: string): CoreActivities {
  return {
    ...jobSlotActivities(client, coreTaskQueue),
    ...misfireLedgerActivities(client, coreTaskQueue),
    ...workerActivities(client),
    ...decisionActivities(),
    ...workflowRunActivities(client),
  };
}
