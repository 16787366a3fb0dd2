import { ActivityFailure, ApplicationFailure, continueAsNew, log, proxyActivities, sleep, workflowInfo } from '@temporalio/workflow';
import type { AlertActivities } from '../contract/activities.js';
import type { AlertDeliveryOutcome, AlertDeliveryWorkflow, AlertScanWorkflow } from '../contract/workflows.js';

/** Scans per run before a fresh history (each costs ~10 events), unless Temporal suggests one earlier. */
const SCANS_PER_RUN = 500;

/**
 * Alerting's scan of one core queue (issue #16): every `everyMs`, the activity `scanAlerts`
 * (on the alert queue, polled only by core workers with the store) finds the runs that failed
 * since the watermark and raises their alerts; the watermark it returns is carried to the
 * next scan and across continue-as-new. Instance workflows are untouched: alerting reads
 * what they leave in visibility, so it can never delay or fail a run.
 */
export const alertScanWorkflow: AlertScanWorkflow = async (input) => {
  const { scanAlerts } = proxyActivities<AlertActivities>({
    taskQueue: input.taskQueue,
    // Bounds how long a scan whose worker died holds the next one up.
    startToCloseTimeout: '1 minute',
    // Without a worker holding the store (or with the store down) the scan waits here and
    // resumes from the same watermark: events are late, never lost.
    retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '1 minute' },
  });
  let since = input.since;
  for (let scan = 0; scan < SCANS_PER_RUN && !workflowInfo().continueAsNewSuggested; scan++) {
    const { until } = await scanAlerts({ coreTaskQueue: input.coreTaskQueue, ...(since !== undefined ? { since } : {}) });
    since = until;
    await sleep(input.everyMs);
  }
  return continueAsNew<AlertScanWorkflow>({ ...input, ...(since !== undefined ? { since } : {}) });
};

/**
 * One alert's delivery: one activity per (target, channel), all at once, each retried with
 * backoff (1 s doubling to 5 min) for up to 24 h; a PermanentDeliveryError (the receiver
 * refused the request as malformed or unauthorised, the target is misconfigured) stops at
 * once. The input holds ids only: each attempt reads the target, secrets included, from the
 * store. A delivery that fails for good is recorded FAILED (queryAlertDeliveries) and logged.
 */
export const alertDeliveryWorkflow: AlertDeliveryWorkflow = async ({ taskQueue, appId, alertId, deliveries }) => {
  const { deliverAlertToChannel } = proxyActivities<AlertActivities>({
    taskQueue,
    // A channel bounds each request (10 s; SMTP's conversation 30 s); the activity beats every
    // second, so a delivery whose worker died is retried after 10 s, not after the minute.
    startToCloseTimeout: '1 minute',
    heartbeatTimeout: '10 seconds',
    scheduleToCloseTimeout: '24 hours',
    retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '5 minutes', nonRetryableErrorTypes: ['PermanentDeliveryError'] },
  });
  const { recordAlertDeliveryFailure } = proxyActivities<AlertActivities>({
    taskQueue,
    startToCloseTimeout: '30 seconds',
    retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '1 minute' },
  });
  return Promise.all(deliveries.map(async ({ targetId, channel }): Promise<AlertDeliveryOutcome> => {
    try {
      await deliverAlertToChannel({ appId, alertId, targetId, channel });
      return { targetId, channel, status: 'DELIVERED' };
    } catch (err) {
      const error = failureMessage(err);
      log.warn('alert delivery failed for good', { alertId, targetId, channel, error });
      await recordAlertDeliveryFailure({ appId, alertId, targetId, channel, error });
      return { targetId, channel, status: 'FAILED', error };
    }
  }));
};

function failureMessage(err: unknown): string {
  const cause = err instanceof ActivityFailure ? err.cause : err;
  if (cause instanceof ApplicationFailure) return cause.message;
  return cause instanceof Error ? `${cause.name}: ${cause.message}` : String(cause);
}
