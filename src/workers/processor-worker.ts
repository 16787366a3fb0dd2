import { hostname } from 'node:os';
import { ApplicationFailure, Context } from '@temporalio/activity';
import { NativeConnection, Worker } from '@temporalio/worker';
import type { ProcessOutcome, ProcessRequest, TaskResult } from '../domain/instance.js';
import { WORKER_NAME_PATTERN, appTaskQueue, workerIdentity, workerTaskQueue } from '../temporal/names.js';
import type { BroadcastActivities } from '../workflows/broadcast.js';
import type { ProcessorActivities } from '../workflows/instance.js';
import type { BroadcastProcessor, ProcessResult, ProcessorDefinition, TaskContext } from './task-context.js';
import { defaultBroadcastResult } from './task-context.js';

/** How often a running processor tells Temporal it is alive (Temporal throttles further). */
const HEARTBEAT_INTERVAL_MS = 1_000;

export interface CreateWorkerOptions {
  /** The app whose jobs this worker runs (PowerJob's appName). */
  appName: string;
  /** Processors by name: a job's `processorInfo` names one of them. */
  processors: Record<string, ProcessorDefinition>;
  /** Temporal frontend; default $TEMPORAL_ADDRESS or 127.0.0.1:7233. */
  address?: string;
  namespace?: string;
  /** Reuse an existing connection instead of opening one. */
  connection?: NativeConnection;
  /**
   * This worker's id, shown in instances as taskTrackerAddress and naming its own queue
   * `app:<appName>:w:<workerId>`. Keep it stable across restarts (e.g. the pod or host
   * name): a broadcast share is retried only on the worker with the same id. Default host:pid.
   */
  workerId?: string;
  /** Tags a job's designatedWorkers can name instead of worker ids (PowerJob's worker tag). */
  tags?: string[];
  /** Attempts run at once on this worker, per queue it polls (default 100). */
  maxConcurrentTasks?: number;
  /** On shutdown, how long running processors may finish before they are aborted (default 10 s). */
  shutdownGraceMs?: number;
}

export interface ProcessorWorker {
  readonly workerId: string;
  readonly tags: readonly string[];
  /** The Worker on the app's shared queue `app:<appName>`. */
  readonly worker: Worker;
  /** The Worker on this worker's own queue `app:<appName>:w:<workerId>` (broadcast shares, designated runs). */
  readonly ownQueueWorker: Worker;
  /** Polls until shutdown() or SIGINT/SIGTERM; resolves once drained. */
  run(): Promise<void>;
  shutdown(): Promise<void>;
}

export class UnknownProcessorError extends Error {
  override name = 'UnknownProcessorError';
}

type Phase = 'process' | 'preProcess' | 'postProcess';

/**
 * The activities a processor worker registers, on its app's shared queue and on its own:
 * `runProcessor` (a STANDALONE attempt) and the three steps of a broadcast.
 */
export function processorActivities(workerId: string, processors: Record<string, ProcessorDefinition>): ProcessorActivities & BroadcastActivities {
  const run = async (phase: Phase, request: ProcessRequest, results?: TaskResult[]): Promise<ProcessOutcome> => {
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
      ...(request.taskId !== undefined ? { taskId: request.taskId } : {}),
      ...(request.taskName !== undefined ? { taskName: request.taskName } : {}),
    };
    activity.heartbeat();
    const beat = setInterval(() => activity.heartbeat(), HEARTBEAT_INTERVAL_MS);
    try {
      const result = await Promise.race([Promise.resolve().then(() => invoke(processor, phase, ctx, results ?? [])), activity.cancelled]);
      return { ...checkResult(request.processorInfo, result), workerIdentity: workerId };
    } catch (err) {
      if (activity.cancellationSignal.aborted) throw activity.cancellationSignal.reason ?? err;
      throw err;
    } finally {
      clearInterval(beat);
    }
  };
  return {
    runProcessor: (request) => run('process', request),
    runBroadcastPreProcess: (request) => run('preProcess', request),
    runBroadcastProcess: (request) => run('process', request),
    runBroadcastPostProcess: (request) => run('postProcess', request, request.results),
  };
}

/** A function is `process` with PowerJob's defaults for the other two steps. */
function invoke(processor: ProcessorDefinition, phase: Phase, ctx: TaskContext, results: TaskResult[]): Promise<ProcessResult> | ProcessResult {
  if (!isBroadcastProcessor(processor)) {
    if (phase === 'process') return processor(ctx);
    return phase === 'preProcess' ? { success: true } : defaultBroadcastResult(results);
  }
  if (phase === 'process') return processor.process(ctx);
  if (phase === 'preProcess') return processor.preProcess ? processor.preProcess(ctx) : { success: true };
  return processor.postProcess ? processor.postProcess(ctx, results) : defaultBroadcastResult(results);
}

function isBroadcastProcessor(processor: ProcessorDefinition): processor is BroadcastProcessor {
  return typeof (processor as Partial<BroadcastProcessor>).process === 'function';
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

/**
 * Starts a processor worker for one app: users' code runs here, never workflow code. It
 * polls two queues with the same activities: the app's shared queue (STANDALONE attempts,
 * broadcast pre/postProcess, load-balanced by Temporal) and its own queue (broadcast shares
 * and designated runs, which must run on this very worker). Its Temporal identity is
 * `workerId` or `workerId[tag,…]`: that is how the scheduler learns ids and tags from
 * Temporal's own list of live workers, with no registry of its own.
 */
export async function createWorker(options: CreateWorkerOptions): Promise<ProcessorWorker> {
  if (!options.appName) throw new Error('createWorker: appName is required');
  if (Object.keys(options.processors).length === 0) throw new Error('createWorker: register at least one processor');
  for (const [name, processor] of Object.entries(options.processors)) {
    if (typeof processor !== 'function' && !isBroadcastProcessor(processor)) {
      throw new Error(`createWorker: processor "${name}" must be a function or an object with a process(ctx) method`);
    }
  }
  const workerId = options.workerId ?? `${hostname()}:${process.pid}`;
  const tags = [...new Set(options.tags ?? [])];
  for (const name of [workerId, ...tags]) {
    if (!WORKER_NAME_PATTERN.test(name)) {
      throw new Error(`createWorker: "${name}" is not a valid worker id or tag (1-200 characters, no spaces, commas or brackets)`);
    }
  }
  const connection = options.connection ??
    (await NativeConnection.connect({ address: options.address ?? process.env.TEMPORAL_ADDRESS ?? '127.0.0.1:7233' }));
  const common = {
    connection,
    namespace: options.namespace ?? process.env.TEMPORAL_NAMESPACE ?? 'default',
    identity: workerIdentity(workerId, tags),
    activities: processorActivities(workerId, options.processors),
    maxConcurrentActivityTaskExecutions: options.maxConcurrentTasks ?? 100,
    shutdownGraceTime: options.shutdownGraceMs ?? 10_000,
  };
  let worker: Worker;
  let ownQueueWorker: Worker;
  try {
    worker = await Worker.create({ ...common, taskQueue: appTaskQueue(options.appName) });
    ownQueueWorker = await Worker.create({ ...common, taskQueue: workerTaskQueue(options.appName, workerId) });
  } catch (err) {
    if (!options.connection) await connection.close();
    throw err;
  }
  const shutdown = () => {
    for (const w of [worker, ownQueueWorker]) if (w.getState() === 'RUNNING') w.shutdown();
  };
  return {
    workerId,
    tags,
    worker,
    ownQueueWorker,
    run: async () => {
      try {
        // If one of the two stops (shutdown, or a fatal error), the other stops too.
        const ended = await Promise.allSettled([worker, ownQueueWorker].map((w) => w.run().finally(shutdown)));
        for (const end of ended) if (end.status === 'rejected') throw end.reason;
      } finally {
        if (!options.connection) await connection.close();
      }
    },
    shutdown: async () => {
      shutdown();
    },
  };
}
