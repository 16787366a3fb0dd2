import { hostname } from 'node:os';
import { ApplicationFailure, Context } from '@temporalio/activity';
import { NativeConnection, Worker } from '@temporalio/worker';
import type { ProcessOutcome, ProcessRequest } from '../domain/instance.js';
import { appTaskQueue } from '../temporal/names.js';
import type { ProcessorActivities } from '../workflows/instance.js';
import type { ProcessResult, Processor, TaskContext } from './task-context.js';

/** How often a running processor tells Temporal it is alive (Temporal throttles further). */
const HEARTBEAT_INTERVAL_MS = 1_000;

export interface CreateWorkerOptions {
  /** The app whose jobs this worker runs (PowerJob's appName). */
  appName: string;
  /** Processors by name: a job's `processorInfo` names one of them. */
  processors: Record<string, Processor>;
  /** Temporal frontend; default $TEMPORAL_ADDRESS or 127.0.0.1:7233. */
  address?: string;
  namespace?: string;
  /** Reuse an existing connection instead of opening one. */
  connection?: NativeConnection;
  /** This worker's identity, shown in instances as taskTrackerAddress. Default host:pid. */
  workerId?: string;
  /** Attempts run at once on this worker (default 100). */
  maxConcurrentTasks?: number;
  /** On shutdown, how long running processors may finish before they are aborted (default 10 s). */
  shutdownGraceMs?: number;
}

export interface ProcessorWorker {
  readonly workerId: string;
  readonly worker: Worker;
  /** Polls until shutdown() or SIGINT/SIGTERM; resolves once drained. */
  run(): Promise<void>;
  shutdown(): Promise<void>;
}

export class UnknownProcessorError extends Error {
  override name = 'UnknownProcessorError';
}

/** The activity that runs a user's processor for one attempt. */
export function processorActivities(workerId: string, processors: Record<string, Processor>): ProcessorActivities {
  return {
    async runProcessor(request: ProcessRequest): Promise<ProcessOutcome> {
      const processor = processors[request.processorInfo];
      if (!processor) {
        const known = Object.keys(processors).sort().join(', ') || 'none';
        throw ApplicationFailure.nonRetryable(
          `unknown processor "${request.processorInfo}" on worker ${workerId} of app ${request.appName} (known: ${known}); fix the job's processorInfo or register the processor`,
          UnknownProcessorError.name,
        );
      }
      const activity = Context.current();
      const ctx: TaskContext = {
        jobId: request.jobId,
        instanceId: request.instanceId,
        jobParams: request.jobParams,
        instanceParams: request.instanceParams,
        attempt: request.attempt,
        maxAttempts: request.maxAttempts,
        idempotencyKey: request.idempotencyKey,
        signal: activity.cancellationSignal,
        logger: activity.log,
        workerId,
      };
      activity.heartbeat();
      const beat = setInterval(() => activity.heartbeat(), HEARTBEAT_INTERVAL_MS);
      try {
        const result = await Promise.race([Promise.resolve().then(() => processor(ctx)), activity.cancelled]);
        return { ...checkResult(request.processorInfo, result), workerIdentity: workerId };
      } catch (err) {
        if (activity.cancellationSignal.aborted) throw activity.cancellationSignal.reason ?? err;
        throw err;
      } finally {
        clearInterval(beat);
      }
    },
  };
}

function checkResult(name: string, result: unknown): ProcessResult & { msg: string | null } {
  if (typeof result !== 'object' || result === null || typeof (result as ProcessResult).success !== 'boolean') {
    throw ApplicationFailure.nonRetryable(
      `processor "${name}" returned ${JSON.stringify(result) ?? 'undefined'}; a processor must return { success: boolean, msg?: string } or throw`,
      'InvalidProcessResult',
    );
  }
  const { success, msg } = result as ProcessResult;
  return { success, msg: msg === undefined || msg === null ? null : String(msg) };
}

/** Starts a processor worker for one app: users' code runs here, never workflow code. */
export async function createWorker(options: CreateWorkerOptions): Promise<ProcessorWorker> {
  if (!options.appName) throw new Error('createWorker: appName is required');
  if (Object.keys(options.processors).length === 0) throw new Error('createWorker: register at least one processor');
  const workerId = options.workerId ?? `${hostname()}:${process.pid}`;
  const connection = options.connection ??
    (await NativeConnection.connect({ address: options.address ?? process.env.TEMPORAL_ADDRESS ?? '127.0.0.1:7233' }));
  const worker = await Worker.create({
    connection,
    namespace: options.namespace ?? process.env.TEMPORAL_NAMESPACE ?? 'default',
    taskQueue: appTaskQueue(options.appName),
    identity: workerId,
    activities: processorActivities(workerId, options.processors),
    maxConcurrentActivityTaskExecutions: options.maxConcurrentTasks ?? 100,
    shutdownGraceTime: options.shutdownGraceMs ?? 10_000,
  });
  return {
    workerId,
    worker,
    run: async () => {
      try {
        await worker.run();
      } finally {
        if (!options.connection) await connection.close();
      }
    },
    shutdown: async () => {
      if (worker.getState() === 'RUNNING') worker.shutdown();
    },
  };
}
