import type { LogRetentionActivities } from '../contract/activities.js';
import type { LogStore } from '../logs/store.js';

/** The purge the log-retention schedule runs, against this core worker's log store. */
export function logRetentionActivities(store: LogStore, retentionMs: number): LogRetentionActivities {
  return {
    async purgeInstanceLogs() {
      const before = Date.now() - retentionMs;
      return { purged: await store.purge(before), before };
    },
  };
}
