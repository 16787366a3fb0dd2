import { fileURLToPath } from 'node:url';
import type { Client } from '@temporalio/client';
import { Worker, bundleWorkflowCode, type NativeConnection, type WorkflowBundle } from '@temporalio/worker';
import type { Config } from '../config.js';
import { createCoreActivities } from '../activities/index.js';
import { alertActivities } from '../activities/alerts.js';
import { logRetentionActivities } from '../activities/log-retention.js';
import { deliverAlert } from '../alerts/deliver.js';
import { sqlAlertStore } from '../alerts/store.js';
import type { DeliverAlert } from '../alerts/types.js';
import { alertScanWorkflowId, alertTaskQueue, logRetentionScheduleId, logRetentionTaskQueue } from '../contract/names.js';
import { type AlertScanWorkflow, type LogRetentionWorkflow, WorkflowType } from '../contract/workflows.js';
import { type LogStore, sqlOfLogStore } from '../logs/store.js';
import type { TempojobMetrics } from '../metrics/metrics.js';
import { metricsSinks } from '../metrics/sinks.js';
import { isAlreadyStarted } from '../temporal/errors.js';
import type { Tracing } from '../tracing/index.js';

/**
 * The core worker runs tempojob's own workflows (instances, app directory, job slots)
 * and internal activities. Only this worker ever loads workflow code, so users'
 * processor workers cannot cause non-determinism by running another version of it.
 */

export const WORKFLOWS_PATH = fileURLToPath(new URL('../workflows/index.ts', import.meta.url));
/** Temporal's OpenTelemetry workflow interceptors: in the bundle only when tracing is on. */
export const TRACING_INTERCEPTORS_PATH = fileURLToPath(new URL('../workflows/tracing-interceptors.ts', import.meta.url));

/** With `tracing`, the bundle includes the workflow interceptors that trace runs (docs/tracing.md); without, not a byte of them. */
export async function bundleCoreWorkflows(options: { tracing?: boolean } = {}): Promise<WorkflowBundle> {
  return bundleWorkflowCode({
    workflowsPath: WORKFLOWS_PATH,
    ...(options.tracing ? { workflowInterceptorModules: [TRACING_INTERCEPTORS_PATH] } : {}),
    logger: quietBundlerLogger,
  });
}

/** Whether a bundle was built with the tracing interceptors (its module ids keep their paths). */
export function bundleTraces(bundle: WorkflowBundle): boolean {
  return 'code' in bundle && bundle.code.includes('workflows/tracing-interceptors.ts');
}

const quietBundlerLogger = {
  log: () => {}, trace: () => {}, debug: () => {}, info: () => {},
  warn: (message: string) => console.warn(message),
  error: (message: string) => console.error(message),
};

export interface CoreWorkerOptions {
  connection: NativeConnection;
  client: Client;
  namespace: string;
  taskQueue: string;
  /** A prebuilt bundle (tests share one); default: bundle at start-up. */
  workflowBundle?: WorkflowBundle;
  identity?: string;
  /** Workflows kept in memory between their tasks (TEMPOJOB_CORE_MAX_CACHED_WORKFLOWS). */
  maxCachedWorkflows: number;
  /** Where the workflows' facts are counted (their sinks); absent: nowhere. */
  metrics?: TempojobMetrics | undefined;
  /** Traces workflows and activities (docs/tracing.md); its bundle must have the tracing interceptors. */
  tracing?: Tracing;
}

export async function createCoreWorker(options: CoreWorkerOptions): Promise<Worker> {
  const { tracing } = options;
  const workflowBundle = options.workflowBundle ?? (await bundleCoreWorkflows({ tracing: tracing !== undefined }));
  if (tracing && !bundleTraces(workflowBundle)) {
    console.warn('tracing is on but the workflow bundle has no tracing interceptors: workflow spans are missing and traces stop at the workflow start '
      + '(build the bundle with tracing: scripts/cluster/bundle-workflows.ts --tracing)');
  }
  const traced = tracing?.workerOptions({ workflows: true });
  return Worker.create({
    connection: options.connection,
    namespace: options.namespace,
    taskQueue: options.taskQueue,
    workflowBundle,
    // Activities that start or signal workflows (job slots, misfire ledgers) pass the trace on.
    activities: createCoreActivities(tracing ? tracing.instrumentClient(options.client) : options.client, options.taskQueue),
    ...(traced?.interceptors ? { interceptors: traced.interceptors } : {}),
    // Workflows report instance and fire facts (and, traced, their spans) through sinks: not commands, so histories are unchanged.
    sinks: { ...metricsSinks(options.metrics), ...traced?.sinks },
    // After a core worker dies, its cached workflows' next tasks wait this long on its
    // sticky queue before any other worker may take them (default 10 s): keep the
    // lateness a crash adds to timers close to the time it takes to restart.
    stickyQueueScheduleToStartTimeout: '2 seconds',
    // Core activities mostly wait on another workflow (a job's slots, its misfire ledger):
    // with the default 100 slots, a burst of late fires queued behind those waits (measured:
    // 2,400 decideLateFire tasks dispatched at ~3/s while the worker was idle on them).
    maxConcurrentActivityTaskExecutions: 1000,
    // A cached workflow costs ~430 KB of this process (measured: 5,000 runs delayed 1 h grew
    // it by 941 MiB with the SDK's heap-derived default, ~2,300 here). A workflow waiting on
    // a timer or a signal needs no memory: evicted, it is replayed from its (short) history
    // when it wakes. The cap bounds what pending delays cost, however many there are.
    maxCachedWorkflows: options.maxCachedWorkflows,
    ...(options.identity ? { identity: options.identity } : {}),
  });
}

/**
 * Starts the core worker; `done` settles when it has stopped. With a log store it also keeps
 * the store's retention and runs alerting (issue #16), whose targets and deliveries live in
 * the same database: it ensures the log-retention schedule and the alert scan exist, and
 * polls the purge activity's queue and the alert queue with Workers of their own, which stop
 * when the core worker does.
 */
export async function startCoreWorker(options: {
  connection: NativeConnection;
  client: Client;
  config: Config;
  workflowBundle?: WorkflowBundle;
  /** The instance log store this process shares (src/core/main.ts: TEMPOJOB_LOG_DATABASE_URL; npm start: the API's). */
  logStore?: LogStore;
  /** This process's metrics (processMetrics()), fed by the workflows' sinks; absent: not counted. */
  metrics?: TempojobMetrics;
  /** Traces workflows and activities (src/tracing); the caller shuts it down. */
  tracing?: Tracing;
  /** How alerts are sent (default: the channels of src/alerts/deliver.ts); tests may wrap it. */
  deliver?: DeliverAlert;
}): Promise<{ worker: Worker; done: Promise<void> }> {
  const { config } = options;
  const taskQueue = config.TEMPOJOB_CORE_TASK_QUEUE;
  if (options.logStore) await ensureLogRetentionSchedule(options.client, taskQueue);
  const worker = await createCoreWorker({
    connection: options.connection,
    client: options.client,
    namespace: config.TEMPORAL_NAMESPACE,
    taskQueue,
    maxCachedWorkflows: config.TEMPOJOB_CORE_MAX_CACHED_WORKFLOWS,
    metrics: options.metrics,
    ...(options.workflowBundle ? { workflowBundle: options.workflowBundle } : {}),
    ...(options.tracing ? { tracing: options.tracing } : {}),
  });
  if (!options.logStore) return { worker, done: worker.run() };
  const alertStore = sqlAlertStore(sqlOfLogStore(options.logStore));
  const purger = await Worker.create({
    connection: options.connection,
    namespace: config.TEMPORAL_NAMESPACE,
    taskQueue: logRetentionTaskQueue(taskQueue),
    activities: logRetentionActivities(options.logStore, config.TEMPOJOB_LOG_RETENTION_DAYS * DAY_MS, alertStore),
  });
  const alerter = await Worker.create({
    connection: options.connection,
    namespace: config.TEMPORAL_NAMESPACE,
    taskQueue: alertTaskQueue(taskQueue),
    activities: alertActivities({
      client: options.client,
      store: alertStore,
      deliver: options.deliver ?? deliverAlert,
      ...(options.metrics ? { metrics: options.metrics } : {}),
      ...(config.TEMPOJOB_SMTP_URL ? { smtp: { url: config.TEMPOJOB_SMTP_URL, from: config.TEMPOJOB_ALERT_FROM } } : {}),
      ...(config.TEMPOJOB_PUBLIC_API_URL ? { publicApiUrl: config.TEMPOJOB_PUBLIC_API_URL } : {}),
      ...(config.TEMPOJOB_WEB_UI_URL ? { webUiUrl: config.TEMPOJOB_WEB_UI_URL } : {}),
    }),
  });
  await ensureAlertScan(options.client, taskQueue, config.TEMPOJOB_ALERT_SCAN_MS);
  return { worker, done: runTogether(worker, [purger, alerter]) };
}

/**
 * Starts the alert scan of this core queue unless it runs: every core worker with a store
 * calls it at start; the first one starts it, the others find it running. The scan keeps the
 * interval it was started with (TEMPOJOB_ALERT_SCAN_MS); to change it, terminate the scan
 * workflow and restart a core worker (its watermark is lost: failures of the last minute before
 * the new scan are still found, older ones not).
 */
async function ensureAlertScan(client: Client, coreTaskQueue: string, everyMs: number): Promise<void> {
  try {
    await client.workflow.start<AlertScanWorkflow>(WorkflowType.alertScan, {
      workflowId: alertScanWorkflowId(coreTaskQueue),
      taskQueue: coreTaskQueue,
      args: [{ taskQueue: alertTaskQueue(coreTaskQueue), coreTaskQueue, everyMs }],
      workflowIdConflictPolicy: 'USE_EXISTING',
    });
  } catch (err) {
    if (!isAlreadyStarted(err)) throw err;
  }
}

const DAY_MS = 24 * 60 * 60 * 1000;
const LOG_RETENTION_EVERY_MS = 60 * 60 * 1000;

/**
 * Creates the log-retention schedule of this core queue, or brings an existing one to the
 * hourly interval. Every core worker with a store calls it at start, so one started at the
 * same time by another finds it created (not an error), and an upgrade that changes the
 * interval takes effect at the first restart.
 */
async function ensureLogRetentionSchedule(client: Client, coreTaskQueue: string): Promise<void> {
  const scheduleId = logRetentionScheduleId(coreTaskQueue);
  const spec = { intervals: [{ every: LOG_RETENTION_EVERY_MS }] };
  try {
    await client.schedule.create<LogRetentionWorkflow>({
      scheduleId,
      spec,
      action: {
        type: 'startWorkflow',
        workflowType: WorkflowType.logRetention,
        workflowId: scheduleId,
        taskQueue: coreTaskQueue,
        args: [{ taskQueue: logRetentionTaskQueue(coreTaskQueue) }],
      },
      // A purge covers every older line, so neither a second one at once nor one missed while Temporal was down is needed.
      policies: { overlap: 'SKIP', catchupWindow: '1 minute' },
    });
    return;
  } catch (err) {
    if (!isAlreadyStarted(err)) throw err;
  }
  const handle = client.schedule.getHandle(scheduleId);
  const { spec: current } = await handle.describe();
  const hourly = current.intervals?.length === 1 && current.intervals[0]!.every === LOG_RETENTION_EVERY_MS && !current.calendars?.length;
  if (!hourly) await handle.update((previous) => ({ ...previous, spec }));
}

/** Runs the core worker and its helpers until any stops, then stops the others: callers stop the core worker alone. */
async function runTogether(worker: Worker, helpers: Worker[]): Promise<void> {
  const all = [worker, ...helpers];
  const stopAll = () => {
    for (const w of all) if (w.getState() === 'RUNNING') w.shutdown();
  };
  const results = await Promise.allSettled(all.map((w) => w.run().finally(stopAll)));
  const failed = results.find((result) => result.status === 'rejected');
  if (failed) throw failed.reason;
}
