import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/**
 * tempojob's Prometheus metrics: one Registry per process (processMetrics()), holding what
 * this process does — the API's, the core worker's and the processor workers' metrics, each
 * process only what it sees — plus Node's default process metrics. Labels are bounded: app
 * name, job id, status, execute type, policy, step; never an instance id. docs/metrics.md
 * lists every metric and its meaning.
 */

/** Seconds: from a few milliseconds (a run due now) to minutes (a fire caught up after an outage). */
const LATENESS_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600];
/** Seconds an attempt waits on its task queue for a worker. */
const QUEUE_WAIT_BUCKETS = [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];
/** Seconds a processor runs: no-op to an hour. */
const DURATION_BUCKETS = [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600];

export class TempojobMetrics {
  readonly registry: Registry;

  /** API runJob (trigger "api"), retryInstance ("retry"); schedules' fires ("schedule"), FIXED_DELAY clocks ("fixed_delay"), DAG JOB nodes ("workflow"). */
  readonly instancesStarted: Counter<'app' | 'job' | 'trigger'>;
  /** Instance runs that ended, by final status (core worker, from the instance workflow). */
  readonly instancesFinished: Counter<'app' | 'job' | 'execute_type' | 'status'>;
  /** Actual − expected trigger time of each run that fired (core worker). */
  readonly fireLateness: Histogram<'app' | 'job'>;
  /** Instance attempts that failed and are tried again after the backoff (core worker). */
  readonly retries: Counter<'app' | 'job' | 'execute_type'>;
  /** Schedule fires found later than their misfire threshold, by what the policy decided (core worker). */
  readonly misfires: Counter<'app' | 'job' | 'policy' | 'decision'>;
  /** Processor worker: activity scheduled → this worker took it. */
  readonly queueWait: Histogram<'app' | 'job' | 'step'>;
  /** Processor worker: how long each processor call ran, by outcome. */
  readonly attemptDuration: Histogram<'app' | 'job' | 'step' | 'outcome'>;
  /** Processor worker: 1 while it polls. */
  readonly workerUp: Gauge<'app' | 'worker'>;
  /** Processor worker: log lines the API acknowledged, and lines dropped (buffer full or refused). */
  readonly logLinesShipped: Counter<'app'>;
  readonly logLinesDropped: Counter<'app' | 'reason'>;
  /** API: log lines stored, and lines skipped as already stored (a re-sent batch). */
  readonly logLinesStored: Counter<'app' | 'result'>;
  /** Core worker with the store: alerts raised (one per event), and each delivery attempt's outcome per channel. */
  readonly alertsRaised: Counter<'app' | 'event'>;
  readonly alertDeliveries: Counter<'app' | 'channel' | 'outcome'>;
  /** API: live processor workers per app, as Temporal sees them, read at scrape time (watchLiveWorkers). */
  readonly liveWorkers: Gauge<'app'>;
  private liveWorkersSource: { read: () => Promise<Map<string, number>>; cacheMs: number; readAt: number; values: Map<string, number> } | undefined;

  constructor({ defaultMetrics = true }: { defaultMetrics?: boolean } = {}) {
    const registers = [(this.registry = new Registry())];
    this.instancesStarted = new Counter({
      name: 'tempojob_instances_started_total', help: 'Instance runs started, by app, job and trigger (api, retry, schedule, fixed_delay, workflow).',
      labelNames: ['app', 'job', 'trigger'], registers,
    });
    this.instancesFinished = new Counter({
      name: 'tempojob_instances_finished_total', help: 'Instance runs that ended, by app, job, execute type and final status.',
      labelNames: ['app', 'job', 'execute_type', 'status'], registers,
    });
    this.fireLateness = new Histogram({
      name: 'tempojob_fire_lateness_seconds', help: 'Actual minus expected trigger time of each run that fired (delays, schedules, runs due now).',
      labelNames: ['app', 'job'], buckets: LATENESS_BUCKETS, registers,
    });
    this.retries = new Counter({
      name: 'tempojob_instance_retries_total', help: 'Instance attempts that failed and are retried (instanceRetryNum) after the backoff.',
      labelNames: ['app', 'job', 'execute_type'], registers,
    });
    this.misfires = new Counter({
      name: 'tempojob_misfires_total', help: 'Schedule fires later than their misfire threshold, by policy and decision (run_late, dropped).',
      labelNames: ['app', 'job', 'policy', 'decision'], registers,
    });
    this.queueWait = new Histogram({
      name: 'tempojob_attempt_queue_wait_seconds', help: 'Processor worker: from the attempt\'s activity being scheduled to this worker taking it.',
      labelNames: ['app', 'job', 'step'], buckets: QUEUE_WAIT_BUCKETS, registers,
    });
    this.attemptDuration = new Histogram({
      name: 'tempojob_attempt_duration_seconds', help: 'Processor worker: how long a processor call ran, by outcome (success, failure, error, cancelled).',
      labelNames: ['app', 'job', 'step', 'outcome'], buckets: DURATION_BUCKETS, registers,
    });
    this.workerUp = new Gauge({
      name: 'tempojob_worker_up', help: 'Processor worker: 1 while this worker polls its app\'s queues.',
      labelNames: ['app', 'worker'], registers,
    });
    this.logLinesShipped = new Counter({
      name: 'tempojob_log_lines_shipped_total', help: 'Processor worker: instance log lines the API acknowledged.',
      labelNames: ['app'], registers,
    });
    this.logLinesDropped = new Counter({
      name: 'tempojob_log_lines_dropped_total', help: 'Processor worker: instance log lines not shipped (buffer_full, refused).',
      labelNames: ['app', 'reason'], registers,
    });
    this.logLinesStored = new Counter({
      name: 'tempojob_log_lines_stored_total', help: 'API: instance log lines received, by result (stored, duplicate).',
      labelNames: ['app', 'result'], registers,
    });
    this.alertsRaised = new Counter({
      name: 'tempojob_alerts_raised_total', help: 'Core worker: alerts raised, one per event (INSTANCE_FAILED, WF_INSTANCE_FAILED, FAILURE_THRESHOLD).',
      labelNames: ['app', 'event'], registers,
    });
    this.alertDeliveries = new Counter({
      name: 'tempojob_alert_deliveries_total',
      help: 'Core worker: alert delivery attempts by channel and outcome (delivered; retry: failed, tried again; failed: refused or out of retries).',
      labelNames: ['app', 'channel', 'outcome'], registers,
    });
    const readLiveWorkers = () => this.readLiveWorkers();
    this.liveWorkers = new Gauge({
      name: 'tempojob_live_workers', help: 'API: live processor workers per app, from Temporal\'s pollers and worker heartbeats (read at scrape time, cached).',
      labelNames: ['app'], registers,
      async collect() {
        const values = await readLiveWorkers();
        if (!values) return;
        this.reset();
        for (const [app, count] of values) this.labels(app).set(count);
      },
    });
    if (defaultMetrics) collectDefaultMetrics({ register: this.registry });
  }

  /**
   * Computes tempojob_live_workers at scrape time with `read` (app → live workers), at most
   * once per `cacheMs` (default 5 s); a failed read keeps the last values.
   */
  watchLiveWorkers(read: () => Promise<Map<string, number>>, cacheMs = 5_000): void {
    this.liveWorkersSource = { read, cacheMs: Math.max(5_000, cacheMs), readAt: 0, values: new Map() };
  }

  private async readLiveWorkers(): Promise<Map<string, number> | undefined> {
    const source = this.liveWorkersSource;
    if (!source) return undefined;
    if (Date.now() - source.readAt >= source.cacheMs) {
      source.readAt = Date.now();
      try {
        source.values = await source.read();
      } catch {
        // Temporal did not answer: the last values stand until the next read.
      }
    }
    return source.values;
  }

  /** The text exposition format, and its content type. */
  async exposition(): Promise<{ contentType: string; body: string }> {
    return { contentType: this.registry.contentType, body: await this.registry.metrics() };
  }
}

let processWide: TempojobMetrics | undefined;

/** This process's metrics (created at first use, with Node's default process metrics). */
export function processMetrics(): TempojobMetrics {
  return (processWide ??= new TempojobMetrics());
}
