import { fileURLToPath } from 'node:url';
import type { Client } from '@temporalio/client';
import { Worker, bundleWorkflowCode, type NativeConnection, type WorkflowBundle } from '@temporalio/worker';
import type { Config } from '../config.js';
import { createCoreActivities } from '../activities/index.js';

/**
 * The core worker runs tempojob's own workflows (instances, app directory, job slots)
 * and internal activities. Only this worker ever loads workflow code, so users'
 * processor workers cannot cause non-determinism by running another version of it.
 */

export const WORKFLOWS_PATH = fileURLToPath(new URL('../workflows/index.ts', import.meta.url));

export async function bundleCoreWorkflows(): Promise<WorkflowBundle> {
  return bundleWorkflowCode({ workflowsPath: WORKFLOWS_PATH, logger: quietBundlerLogger });
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
}

export async function createCoreWorker(options: CoreWorkerOptions): Promise<Worker> {
  return Worker.create({
    connection: options.connection,
    namespace: options.namespace,
    taskQueue: options.taskQueue,
    workflowBundle: options.workflowBundle ?? (await bundleCoreWorkflows()),
    activities: createCoreActivities(options.client, options.taskQueue),
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

/** Starts the core worker; `done` settles when it has stopped. */
export async function startCoreWorker(options: {
  connection: NativeConnection;
  client: Client;
  config: Config;
  workflowBundle?: WorkflowBundle;
}): Promise<{ worker: Worker; done: Promise<void> }> {
  const worker = await createCoreWorker({
    connection: options.connection,
    client: options.client,
    namespace: options.config.TEMPORAL_NAMESPACE,
    taskQueue: options.config.TEMPOJOB_CORE_TASK_QUEUE,
    maxCachedWorkflows: options.config.TEMPOJOB_CORE_MAX_CACHED_WORKFLOWS,
    ...(options.workflowBundle ? { workflowBundle: options.workflowBundle } : {}),
  });
  return { worker, done: worker.run() };
}
