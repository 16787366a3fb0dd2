import { proxyActivities } from '@temporalio/workflow';
import type { LogRetentionActivities } from '../contract/activities.js';
import type { LogRetentionWorkflow } from '../contract/workflows.js';

/**
 * One fire of the log-retention schedule: the purge runs as an activity on the queue only
 * core workers with a log store poll. A purge that cannot run (the store is down, no such
 * worker is up) is given up before the next hourly fire, which purges everything it would have.
 */
export const logRetentionWorkflow: LogRetentionWorkflow = async ({ taskQueue }) => {
  const { purgeInstanceLogs } = proxyActivities<LogRetentionActivities>({
    taskQueue,
    // One DELETE over the lines past the retention: long only after a long outage of the schedule.
    startToCloseTimeout: '10 minutes',
    // Below the hourly interval, so with overlap SKIP a stuck purge never makes the next fire skip.
    scheduleToCloseTimeout: '50 minutes',
    retry: { initialInterval: '10 seconds', backoffCoefficient: 2, maximumInterval: '5 minutes' },
  });
  return purgeInstanceLogs();
};
