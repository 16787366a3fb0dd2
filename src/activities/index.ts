import type { Client } from '@temporalio/client';
import { jobSlotActivities } from './job-slots.js';
import { misfireLedgerActivities } from './misfire-ledger.js';
import { workerActivities } from './workers.js';

/** The core worker's own activities (users' processors run in src/workers instead). */
export function createCoreActivities(client: Client, coreTaskQueue: string) {
  return {
    ...jobSlotActivities(client, coreTaskQueue),
    ...misfireLedgerActivities(client, coreTaskQueue),
    ...workerActivities(client),
  };
}

export type CoreActivities = ReturnType<typeof createCoreActivities>;
