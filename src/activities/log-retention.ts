import type { AlertStore } from '../alerts/store.js';
import type { LogRetentionActivities } from '../contract/activities.js';
import type { LogStore } from '../logs/store.js';

/**
 * The purge the log-retention schedule runs, against this core worker's log store; alert
 * events and their deliveries older than the same retention go with it.
 */
export function logRetentionActivities(store: LogStore, retentionMs: number, alerts?: AlertStore): LogRetentionActivities {
  return {
    async purgeInstanceLogs() {
      const before = Date.now() - retentionMs;
      await alerts?.purge(before);
      return { purged: await store.purge(before), before };
    },
  };
}
