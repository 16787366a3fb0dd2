import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { Context } from '@temporalio/activity';
import { Client } from '@temporalio/client';
import { NativeConnection, Runtime, Worker } from '@temporalio/worker';
import { TempojobClient } from '../client/client.js';
import type { ProcessOutcome, ProcessRequest, ProcessorActivities } from '../contract/activities.js';
import { appTaskQueue, workerIdentity, workerTaskQueue } from '../contract/names.js';
import { loadConfigPart } from '../config.js';
import { TEMPORAL_SECURITY_KEYS, type TemporalSecurity, securityOf } from '../temporal/security.js';
import { WORKER_NAME_PATTERN } from '../domain/targeting.js';
import type { TaskResult } from '../domain/tasks.js';
import { type AttemptWorker, AttemptMemory, admissionOf, checkResult, processorFor, taskContextOf } from './attempt.js';
import { LogShipper, type LogTransport } from './log-shipper.js';
import { AttemptWorkflowContext } from './workflow-context.js';
import { mapActivities } from './map-task.js';
import { TempojobMetrics, processMetrics } from '../metrics/metrics.js';
import { type MetricsServer, serveMetrics } from '../metrics/server.js';
import { installTemporalMetrics } from '../metrics/temporal-runtime.js';
import type { BroadcastProcessor, ProcessResult, ProcessorDefinition, TaskContext } from './task-context.js';
import { defaultBroadcastResult, hasProcessMethod } from './task-context.js';
import { TRACING_ENV_KEYS, type Tracing, type TracingSettings, startTracing, tracingSettingsOf } from '../tracing/index.js';

export interface CreateWorkerOptions {
  /** The app whose jobs this worker runs (PowerJob's appName). */
  appName: string;
  /** Processors by name: a job's `processorInfo` names one of them. */
  processors: Record<string, ProcessorDefinition>;
  /** Temporal frontend; default $TEMPORAL_ADDRESS, else 127.0.0.1:$TEMPORAL_PORT (7233). Namespace: default $TEMPORAL_NAMESPACE, else `default`. */
  address?: string;
  namespace?: string;
  /** Reuse an existing connection instead of opening one. */
  connection?: NativeConnection;
  /**
   * TLS, mTLS or a Temporal Cloud API key for the connection this worker opens; default from
   * TEMPORAL_TLS, TEMPORAL_TLS_CA_PATH, TEMPORAL_TLS_CERT_PATH, TEMPORAL_TLS_KEY_PATH,
   * TEMPORAL_TLS_SERVER_NAME and TEMPORAL_API_KEY; none set = plain.
   */
  security?: TemporalSecurity;
  /**
   * This worker's id, shown in instances (taskTrackerAddress) and naming its own queue
   * `app:<appName>:w:<workerId>`. Keep it stable across restarts (e.g. the pod or host
   * name): a broadcast share is retried only on the worker with the same id. Default host:pid.
   */
  workerId?: string;
  /** Tags a job's designatedWorkers can name instead of worker ids (PowerJob's worker tag). */
  tags?: string[];
  /** Attempts run at once on this worker, per queue it polls (default 100). */
  maxConcurrentTasks?: number;
  /**
   * On shutdown, how long running processors may finish before they are aborted (default
   * 10 s), and then how long the lines they logged may take to reach the API.
   */
  shutdownGraceMs?: number;
  /**
   * Where processors' online log lines (ctx.logger, jobs with logConfig ONLINE, the default)
   * are shipped: the API (the part before `/openApi`) and this app's password. Default
   * $TEMPOJOB_API_URL and $TEMPOJOB_APP_PASSWORD; with neither, those lines go to the
   * worker's own log. `maxBufferedLines` (default 10,000) bounds the lines held while the
   * API is slow or down; lines beyond are dropped and their count written to their instance's log.
   */
  logs?: WorkerLogOptions;
  /**
   * Prometheus metrics of this worker (docs/metrics.md): queue wait and duration of each
   * attempt, log lines shipped and dropped, `tempojob_worker_up`. `port` serves them at
   * `http://host:port/metrics` (0: any free port, see `metricsUrl`), asking for
   * `Authorization: Bearer <token>` when `token` is set; `into` counts into those metrics
   * instead of this process's (e.g. a process that serves them itself). Default: port
   * $TEMPOJOB_METRICS_PORT on $TEMPOJOB_METRICS_HOST, token $TEMPOJOB_METRICS_TOKEN or
   * $TEMPOJOB_ADMIN_TOKEN; with no port set, no metrics. `false`: none.
   */
  metrics?: WorkerMetricsOptions | false;
  /**
   * host:port where the Temporal SDK's own Prometheus exporter listens (`temporal_*` worker
   * metrics); default $TEMPOJOB_TEMPORAL_METRICS_ADDRESS. Installs Temporal's process-wide
   * Runtime, so it only takes effect when no Runtime is installed yet (a warning says so otherwise);
   * `''`: off, whatever the environment says.
   */
  temporalMetricsAddress?: string;
  /**
   * Traces each attempt as a span (RunActivity) in the trace of the request or schedule that
   * started its instance, exported over OTLP/HTTP. Default: from OpenTelemetry's variables
   * ($OTEL_EXPORTER_OTLP_ENDPOINT or $OTEL_EXPORTER_OTLP_TRACES_ENDPOINT, $OTEL_SERVICE_NAME,
   * default service name `tempojob-worker`); with neither endpoint, off and nothing of
   * OpenTelemetry is loaded. `false`: off whatever the environment.
   */
  tracing?: false | TracingSettings;
}

export interface WorkerMetricsOptions {
  port?: number;
  host?: string;
  token?: string;
  into?: TempojobMetrics;
}

export interface WorkerLogOptions {
  apiUrl: string;
  /** A string, or a function read at every (re-)authentication, so a rotated password is picked up. */
  password: string | (() => string | Promise<string>);
  maxBufferedLines?: number;
}

export interface ProcessorWorker {
  readonly workerId: string;
  readonly tags: readonly string[];
  /** The Worker on the app's shared queue `app:<appName>`. */
  readonly worker: Worker;
  /** The Worker on this worker's own queue `app:<appName>:w:<workerId>` (broadcast shares, designated runs). */
  readonly ownQueueWorker: Worker;
  /** Polls until shutdown() or SIGINT/SIGTERM; resolves once drained and the logged lines are shipped (or shutdownGraceMs passed). */
  run(): Promise<void>;
  /** Stops polling; resolves once running attempts finished and their logged lines are shipped (or shutdownGraceMs passed). */
  shutdown(): Promise<void>;
  /** Resolves once every line logged so far reached the API, or after `timeoutMs` (default shutdownGraceMs), with how many did not. */
  flushLogs(timeoutMs?: number): Promise<number>;
  /** Where this worker serves its metrics (`metrics.port`), if it does. */
  readonly metricsUrl: string | undefined;
}

type Phase = 'process' | 'preProcess' | 'postProcess';

/**
 * The activities a processor worker registers, on its app's shared queue and on its own:
 * `runProcessor` (a STANDALONE attempt), the three steps of a broadcast, and the tasks and
 * reduce of a map.
 */
export function processorActivities(
  { workerId, identity }: Pick<AttemptWorker, 'workerId' | 'identity'>,
  processors: Record<string, ProcessorDefinition>,
  client: Client,
  shipper?: LogShipper,
  metrics?: TempojobMetrics,
): ProcessorActivities {
  const memory = new AttemptMemory();
  const worker: AttemptWorker = { workerId, identity, shipper };
  const run = async (phase: Phase, request: ProcessRequest, results?: TaskResult[]): Promise<ProcessOutcome> => {
    const processor = processorFor(processors, request, workerId);
    const workflow = new AttemptWorkflowContext(request);
    const ctx = taskContextOf(request, worker, workflow);
    // These attempts are not movable: a heartbeat timeout after user code began counts as a failed attempt.
    const result = await memory.deliver(request.idempotencyKey, async () => {
      try {
        return await invoke(processor, phase, ctx, results ?? []);
      } finally {
        // Before the attempt reports back, so the workflow has it when the node finishes.
        await workflow.report(client);
      }
    }, admissionOf(request, client, worker));
    return { ...checkResult(request.processorInfo, result), workerIdentity: workerId };
  };
  const activities: ProcessorActivities = {
    runProcessor: (request) => run('process', request),
    runBroadcastPreProcess: (request) => run('preProcess', request),
    runBroadcastProcess: (request) => run('process', request),
    runBroadcastPostProcess: (request) => run('postProcess', request, request.results),
    ...mapActivities(worker, processors, client, memory),
  };
  return metrics ? measured(activities, metrics) : activities;
}

/**
 * Each activity timed: how long its task waited on the queue (scheduled, by Temporal's clock,
 * → taken here) and how long it ran, by outcome. The step label is the activity's name.
 */
function measured(activities: ProcessorActivities, metrics: TempojobMetrics): ProcessorActivities {
  const wrap = <R extends ProcessRequest, O extends ProcessOutcome>(step: string, fn: (request: R) => Promise<O>) => async (request: R): Promise<O> => {
    const takenAt = Date.now();
    const job = String(request.jobId);
    const activity = Context.current();
    metrics.queueWait.labels(request.appName, job, step).observe(Math.max(0, takenAt - activity.info.currentAttemptScheduledTimestampMs) / 1000);
    let outcome = 'error';
    try {
      const result = await fn(request);
      outcome = result.success ? 'success' : 'failure';
      return result;
    } catch (err) {
      if (activity.cancellationSignal.aborted) outcome = 'cancelled';
      throw err;
    } finally {
      metrics.attemptDuration.labels(request.appName, job, step, outcome).observe((Date.now() - takenAt) / 1000);
    }
  };
  return {
    runProcessor: wrap('runProcessor', activities.runProcessor),
    runBroadcastPreProcess: wrap('runBroadcastPreProcess', activities.runBroadcastPreProcess),
    runBroadcastProcess: wrap('runBroadcastProcess', activities.runBroadcastProcess),
    runBroadcastPostProcess: wrap('runBroadcastPostProcess', activities.runBroadcastPostProcess),
    runMapTask: wrap('runMapTask', activities.runMapTask),
    runMapReduce: wrap('runMapReduce', activities.runMapReduce),
  };
}

/** A function is `process` with PowerJob's defaults for the other two steps. */
function invoke(processor: ProcessorDefinition, phase: Phase, ctx: TaskContext, results: TaskResult[]): Promise<ProcessResult> | ProcessResult {
  if (!hasProcessMethod(processor)) {
    if (phase === 'process') return processor(ctx);
    return phase === 'preProcess' ? { success: true } : defaultBroadcastResult(results);
  }
  // A MapProcessor outside a map job is its `process`, with no ctx.map.
  const steps = processor as BroadcastProcessor;
  if (phase === 'process') return steps.process(ctx);
  if (phase === 'preProcess') return steps.preProcess ? steps.preProcess(ctx) : { success: true };
  return steps.postProcess ? steps.postProcess(ctx, results) : defaultBroadcastResult(results);
}

/** The Temporal identity of a worker starting now: its id and tags, and a random name of its own (see workerIdentity). */
export function newWorkerIdentity(workerId: string, tags: readonly string[] = []): string {
  return workerIdentity(workerId, tags, randomUUID().slice(0, 8));
}

/**
 * Starts a processor worker for one app: users' code runs here, never workflow code. It
 * polls two queues with the same activities: the app's shared queue (STANDALONE attempts,
 * broadcast pre/postProcess, load-balanced by Temporal) and its own queue (broadcast shares
 * and designated runs, which must run on this very worker). Its Temporal identity is
 * `workerId` or `workerId[tag,…]`, then a random name of this worker's own (workerIdentity):
 * that is how the scheduler learns ids and tags from Temporal's own list of live workers,
 * with no registry of its own, and how a delivery knows it is the one Temporal handed its
 * task to.
 */
export async function createWorker(options: CreateWorkerOptions): Promise<ProcessorWorker> {
  if (!options.appName) throw new Error('createWorker: appName is required');
  if (Object.keys(options.processors).length === 0) throw new Error('createWorker: register at least one processor');
  for (const [name, processor] of Object.entries(options.processors)) {
    if (typeof processor !== 'function' && !hasProcessMethod(processor)) {
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
  const env = loadConfigPart([
    'TEMPORAL_ADDRESS', 'TEMPORAL_NAMESPACE', 'TEMPORAL_PORT', ...TEMPORAL_SECURITY_KEYS, 'TEMPOJOB_API_URL', 'TEMPOJOB_APP_PASSWORD',
    'TEMPOJOB_METRICS_PORT', 'TEMPOJOB_METRICS_HOST', 'TEMPOJOB_METRICS_TOKEN', 'TEMPOJOB_ADMIN_TOKEN', 'TEMPOJOB_TEMPORAL_METRICS_ADDRESS',
    ...TRACING_ENV_KEYS,
  ]);
  const logs = options.logs ?? logOptionsOf(env);
  const gracePeriodMs = options.shutdownGraceMs ?? 10_000;
  const temporalMetricsAddress = options.temporalMetricsAddress ?? env.TEMPOJOB_TEMPORAL_METRICS_ADDRESS;
  const temporalMetricsInstalled = temporalMetricsAddress ? installTemporalMetrics(temporalMetricsAddress) : false;
  const localLog = Runtime.instance().logger;
  if (temporalMetricsAddress && !temporalMetricsInstalled) {
    localLog.warn(`Temporal SDK metrics are not exported on ${temporalMetricsAddress}: Temporal's Runtime was installed before createWorker; install it with telemetryOptions.metrics yourself`);
  }
  const metricsOptions = options.metrics === false ? undefined
    : options.metrics ?? (env.TEMPOJOB_METRICS_PORT !== undefined ? { port: env.TEMPOJOB_METRICS_PORT } : undefined);
  const metrics = metricsOptions && (metricsOptions.into ?? processMetrics());
  const shipper = logs && new LogShipper({
    transport: apiTransport(options.appName, logs),
    workerId,
    logger: localLog,
    ...(metrics ? {
      counts: {
        shipped: (lines: number) => metrics.logLinesShipped.labels(options.appName).inc(lines),
        dropped: (lines: number, reason: string) => metrics.logLinesDropped.labels(options.appName, reason).inc(lines),
      },
    } : {}),
    ...(logs.maxBufferedLines !== undefined ? { maxBufferedLines: logs.maxBufferedLines } : {}),
  });
  if (!shipper) {
    localLog.info(`online logs are off for app ${options.appName}: set TEMPOJOB_API_URL and TEMPOJOB_APP_PASSWORD (or createWorker({ logs }))`);
  }
  const tracingSettings = options.tracing === false ? undefined : (options.tracing ?? tracingSettingsOf('worker', env));
  const tracing: Tracing | undefined = tracingSettings && (await startTracing(tracingSettings));
  const connection = options.connection ?? (await NativeConnection.connect({
    address: options.address ?? env.TEMPORAL_ADDRESS ?? `127.0.0.1:${env.TEMPORAL_PORT}`,
    ...(options.security ?? securityOf(env)),
  }));
  const namespace = options.namespace ?? env.TEMPORAL_NAMESPACE;
  // Map tasks start batch workflows and reduce reads their results, over the same connection.
  const client = new Client({ connection, namespace, ...(tracing ? { interceptors: tracing.clientInterceptors() } : {}) });
  const identity = newWorkerIdentity(workerId, tags);
  const common = {
    connection,
    namespace,
    identity,
    activities: processorActivities({ workerId, identity }, options.processors, client, shipper, metrics),
    maxConcurrentActivityTaskExecutions: options.maxConcurrentTasks ?? 100,
    shutdownGraceTime: gracePeriodMs,
    ...(tracing ? tracing.workerOptions({ workflows: false }) : {}),
  };
  let worker: Worker;
  let ownQueueWorker: Worker;
  try {
    worker = await Worker.create({ ...common, taskQueue: appTaskQueue(options.appName) });
    ownQueueWorker = await Worker.create({ ...common, taskQueue: workerTaskQueue(options.appName, workerId) });
  } catch (err) {
    if (!options.connection) await connection.close();
    await tracing?.shutdown();
    throw err;
  }
  let metricsServer: MetricsServer | undefined;
  if (metrics && metricsOptions?.port !== undefined) {
    try {
      metricsServer = await serveMetrics(metrics, {
        port: metricsOptions.port,
        host: metricsOptions.host ?? env.TEMPOJOB_METRICS_HOST,
        token: metricsOptions.token ?? env.TEMPOJOB_METRICS_TOKEN ?? env.TEMPOJOB_ADMIN_TOKEN,
      });
    } catch (err) {
      if (!options.connection) await connection.close();
      throw new Error(`createWorker: cannot serve metrics on port ${metricsOptions.port}: ${(err as Error).message}`, { cause: err });
    }
  }
  const up = metrics?.workerUp.labels(options.appName, workerId);
  const shutdown = () => {
    for (const w of [worker, ownQueueWorker]) if (w.getState() === 'RUNNING') w.shutdown();
  };
  const flushLogs = async (timeoutMs = gracePeriodMs) => (shipper ? shipper.flush(timeoutMs) : 0);
  let running: Promise<void> | undefined;
  const run = async () => {
    up?.set(1);
    try {
      // If one of the two stops (shutdown, or a fatal error), the other stops too.
      const ended = await Promise.allSettled([worker, ownQueueWorker].map((w) => w.run().finally(shutdown)));
      for (const end of ended) if (end.status === 'rejected') throw end.reason;
    } finally {
      // Attempts are over: what they logged, and their spans, go out before the process may exit.
      await flushLogs();
      up?.set(0);
      await metricsServer?.close();
      await tracing?.shutdown();
      if (!options.connection) await connection.close();
    }
  };
  return {
    workerId,
    tags,
    worker,
    ownQueueWorker,
    run: () => (running = run()),
    shutdown: async () => {
      shutdown();
      // run() rejects to its own caller; here it only says when the attempts and their lines are done.
      if (running) await running.catch(() => undefined);
      else {
        await flushLogs();
        await metricsServer?.close();
        await tracing?.shutdown();
      }
    },
    flushLogs,
    metricsUrl: metricsServer?.url,
  };
}

/** Log shipping from the environment: both variables, or neither (online lines then stay local). */
function logOptionsOf(env: { TEMPOJOB_API_URL?: string | undefined; TEMPOJOB_APP_PASSWORD?: string | undefined }): WorkerLogOptions | undefined {
  const { TEMPOJOB_API_URL: apiUrl, TEMPOJOB_APP_PASSWORD: password } = env;
  if (apiUrl && password) return { apiUrl, password };
  if (apiUrl || password) {
    throw new Error(`createWorker: ${apiUrl ? 'TEMPOJOB_API_URL' : 'TEMPOJOB_APP_PASSWORD'} is set but ${apiUrl ? 'TEMPOJOB_APP_PASSWORD' : 'TEMPOJOB_API_URL'} is not; set both to ship online logs, or neither`);
  }
  return undefined;
}

/** Lines to the API's shipInstanceLog, one try per send: the shipper backs off and sends again itself. */
function apiTransport(appName: string, { apiUrl, password }: WorkerLogOptions): LogTransport {
  const client = new TempojobClient({ baseUrl: apiUrl, appName, password, retry: { attempts: 1 }, timeoutMs: 10_000 });
  return async (lines) => {
    await client.call('shipInstanceLog', { lines });
  };
}
