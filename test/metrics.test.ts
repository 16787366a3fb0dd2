import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Client } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { loadConfig } from '../src/config.js';
import { instanceWorkflowId } from '../src/contract/names.js';
import { startCoreWorker } from '../src/core/worker.js';
import { closeServer, startApi } from '../src/api/server.js';
import { TempojobMetrics, metricsSinks } from '../src/metrics/index.js';
import { connectTemporal, targetOf } from '../src/temporal/connection.js';
import { createWorker, type ProcessorDefinition, type ProcessorWorker } from '../src/workers/index.js';
import { ErrorCode } from '../src/api/errors.js';
import { TempojobError } from '../src/client/errors.js';
import { LogShipper } from '../src/workers/log-shipper.js';
import { OpenApiCaller } from './support/api-client.js';
import { eventually } from './support/eventually.js';
import { labelValues, observations, observationsAtMost, scrape, total } from './support/prometheus.js';
import { freePort } from './support/ports.js';
import { spawnTs } from './support/processes.js';
import { uniqueName } from './support/stack.js';
import { temporalTlsEnv } from './support/temporal-env.js';

/**
 * Prometheus metrics end to end. The facts of workflows (fires, retries, finished runs) are
 * counted by the core worker that runs them, through sinks; the run's shared core worker lives
 * in the global setup's process, so this file runs a stack of its own — a core worker on a
 * core queue nobody else uses, the API, one processor worker — as `npm start` does: the API
 * and the core worker count into one registry, served by the API's /metrics; the processor
 * worker into its own, served on its own port. Every count is then exactly this file's runs.
 */

const ADMIN_TOKEN = 'metrics-test-admin-token-0123456789';
const WORKER_TOKEN = 'metrics-test-worker-token-0123456789';

const apiMetrics = new TempojobMetrics();
const workerMetrics = new TempojobMetrics({ defaultMetrics: false });
let client: Client;
let closeTemporal: () => Promise<void>;
let core: Awaited<ReturnType<typeof startCoreWorker>>;
let startCore: () => ReturnType<typeof startCoreWorker>;
let api: Awaited<ReturnType<typeof startApi>>;
let worker: ProcessorWorker;
let workerDone: Promise<void>;
let caller: OpenApiCaller;
let appName: string;
const instanceIds: number[] = [];

const processors: Record<string, ProcessorDefinition> = {
  ok: (ctx) => {
    ctx.logger.info('one');
    ctx.logger.info('two');
    return { success: true, msg: 'ok' };
  },
  /** Throws at its first attempt of each run, succeeds after. */
  flaky: (ctx) => {
    if (ctx.attempt === 1) throw new Error('first attempt fails');
    return { success: true };
  },
  /** Reports failure every time. */
  bad: () => ({ success: false, msg: 'no' }),
};

const saveJob = (processorInfo: string, extra: Record<string, unknown> = {}) => caller.data<number>('saveJob', {
  jobName: processorInfo, timeExpressionType: 'API', executeType: 'STANDALONE', processorType: 'BUILT_IN', processorInfo, ...extra,
});

async function run(jobId: number, delay = 0): Promise<number> {
  const instanceId = await caller.data<number>('runJob', { jobId, ...(delay ? { delay } : {}) }, { form: true });
  instanceIds.push(instanceId);
  await client.workflow.getHandle(instanceWorkflowId(instanceId)).result();
  return instanceId;
}

const apiScrape = () => scrape(`${api.url}/metrics`, ADMIN_TOKEN);
const workerScrape = () => scrape(worker.metricsUrl!, WORKER_TOKEN);

describe('Prometheus metrics', () => {
  beforeAll(async () => {
    const config = loadConfig({
      TEMPORAL_ADDRESS: inject('temporalAddress'),
      ...temporalTlsEnv(),
      TEMPOJOB_CORE_TASK_QUEUE: uniqueName('tempojob-core-metrics'),
      TEMPOJOB_ADMIN_TOKEN: ADMIN_TOKEN,
      TEMPOJOB_HOST: '127.0.0.1',
    });
    const temporal = await connectTemporal(targetOf(config));
    ({ client } = temporal);
    closeTemporal = temporal.close;
    const code = readFileSync(inject('workflowBundlePath'), 'utf8');
    startCore = () => startCoreWorker({ ...temporal, config, workflowBundle: { code }, metrics: apiMetrics });
    core = await startCore();
    api = await startApi({ client, config, jwtSecret: randomBytes(32).toString('hex'), port: 0, metrics: apiMetrics });
    appName = uniqueName('metrics');
    const password = randomBytes(12).toString('hex');
    await api.apps.put(appName, password, 'create');
    caller = await OpenApiCaller.login(api.url, appName, password);
    worker = await createWorker({
      appName, processors, connection: temporal.connection, workerId: 'metrics-worker', shutdownGraceMs: 0,
      logs: { apiUrl: api.url, password },
      metrics: { port: 0, host: '127.0.0.1', token: WORKER_TOKEN, into: workerMetrics },
    });
    workerDone = worker.run();
  }, 120_000);

  afterAll(async () => {
    await worker?.shutdown();
    await workerDone;
    if (api) await closeServer(api.server);
    if (core) {
      core.worker.shutdown();
      await core.done;
    }
    await closeTemporal?.();
  });

  it('the API serves /metrics only with the admin token as bearer token', async () => {
    expect((await scrape(`${api.url}/metrics`)).status).toBe(401);
    expect((await scrape(`${api.url}/metrics`, 'not-the-admin-token-at-all')).status).toBe(401);
    const scraped = await apiScrape();
    expect(scraped.status).toBe(200);
    expect(scraped.contentType).toBe('text/plain; version=0.0.4; charset=utf-8');
    // Node's default process metrics are there too.
    expect(scraped.families.map((f) => f.name)).toEqual(expect.arrayContaining(['process_cpu_user_seconds_total', 'nodejs_heap_size_used_bytes']));
    expect((await scrape(worker.metricsUrl!)).status).toBe(401);
    expect((await workerScrape()).status).toBe(200);
  });

  it('counts exactly the runs made: started, fired, retried, finished by status, attempts by outcome, log lines', { timeout: 90_000 }, async () => {
    const okJob = await saveJob('ok');
    const backoff = { initialIntervalMs: 100, backoffCoefficient: 1, maximumIntervalMs: 100 };
    const flakyJob = await saveJob('flaky', { instanceRetryNum: 2, retryBackoff: backoff });
    const badJob = await saveJob('bad', { instanceRetryNum: 1, retryBackoff: backoff });
    await Promise.all([run(okJob), run(okJob), run(okJob), run(flakyJob), run(flakyJob), run(badJob), run(okJob, 2_000)]);
    expect(await worker.flushLogs(10_000)).toBe(0);

    const job = (id: number) => ({ app: appName, job: String(id) });
    // Sink calls are made right after the workflow task that completes a run: wait for the last ones.
    const scraped = await eventually(apiScrape, (s) => total(s, 'tempojob_instances_finished_total') === 7);
    expect(total(scraped, 'tempojob_instances_started_total', { ...job(okJob), trigger: 'api' })).toBe(4);
    expect(total(scraped, 'tempojob_instances_started_total', { ...job(flakyJob), trigger: 'api' })).toBe(2);
    expect(total(scraped, 'tempojob_instances_started_total', { ...job(badJob), trigger: 'api' })).toBe(1);
    expect(total(scraped, 'tempojob_instances_started_total')).toBe(7);
    expect(total(scraped, 'tempojob_instances_finished_total', { ...job(okJob), execute_type: 'STANDALONE', status: 'SUCCEED' })).toBe(4);
    expect(total(scraped, 'tempojob_instances_finished_total', { ...job(flakyJob), status: 'SUCCEED' })).toBe(2);
    expect(total(scraped, 'tempojob_instances_finished_total', { ...job(badJob), status: 'FAILED' })).toBe(1);
    expect(total(scraped, 'tempojob_instance_retries_total', job(flakyJob))).toBe(2);
    expect(total(scraped, 'tempojob_instance_retries_total', job(badJob))).toBe(1);
    expect(total(scraped, 'tempojob_instance_retries_total')).toBe(3);
    // Every run fired once, the delayed one too, and none of them seconds late.
    expect(observations(scraped, 'tempojob_fire_lateness_seconds')).toBe(7);
    expect(observations(scraped, 'tempojob_fire_lateness_seconds', job(okJob))).toBe(4);
    expect(observationsAtMost(scraped, 'tempojob_fire_lateness_seconds', '5')).toBe(7);
    expect(total(scraped, 'tempojob_log_lines_stored_total', { app: appName, result: 'stored' })).toBe(8);

    const fromWorker = await workerScrape();
    const step = { step: 'runProcessor' };
    expect(observations(fromWorker, 'tempojob_attempt_duration_seconds', { ...job(okJob), ...step, outcome: 'success' })).toBe(4);
    expect(observations(fromWorker, 'tempojob_attempt_duration_seconds', { ...job(flakyJob), outcome: 'error' })).toBe(2);
    expect(observations(fromWorker, 'tempojob_attempt_duration_seconds', { ...job(flakyJob), outcome: 'success' })).toBe(2);
    expect(observations(fromWorker, 'tempojob_attempt_duration_seconds', { ...job(badJob), outcome: 'failure' })).toBe(2);
    expect(observations(fromWorker, 'tempojob_attempt_duration_seconds')).toBe(10);
    expect(observations(fromWorker, 'tempojob_attempt_queue_wait_seconds')).toBe(10);
    expect(observationsAtMost(fromWorker, 'tempojob_attempt_queue_wait_seconds', '5')).toBe(10);
    expect(total(fromWorker, 'tempojob_worker_up', { app: appName, worker: 'metrics-worker' })).toBe(1);
    expect(total(fromWorker, 'tempojob_log_lines_shipped_total', { app: appName })).toBe(8);
    expect(total(fromWorker, 'tempojob_log_lines_dropped_total')).toBe(0);
    // The worker counts what it sees; the workflow facts are the core worker's.
    expect(total(fromWorker, 'tempojob_instances_finished_total')).toBe(0);

    // Bounded labels: no instance id anywhere.
    const ids = new Set(instanceIds.map(String));
    expect(labelValues(scraped).filter((v) => ids.has(v))).toEqual([]);
    expect(labelValues(fromWorker).filter((v) => ids.has(v))).toEqual([]);
  });

  it('tempojob_live_workers: the API reads each app\'s live workers from Temporal at scrape time', async () => {
    const scraped = await eventually(apiScrape, (s) => total(s, 'tempojob_live_workers', { app: appName }) === 1, 20_000);
    expect(scraped.families.find((f) => f.name === 'tempojob_live_workers')?.type).toBe('GAUGE');
  });

  it('a FIXED_RATE job: each fire is counted started (trigger schedule), fired and finished', { timeout: 60_000 }, async () => {
    const jobId = await caller.data<number>('saveJob', {
      jobName: 'every-second', timeExpressionType: 'FIXED_RATE', timeExpression: '1000', executeType: 'STANDALONE', processorType: 'BUILT_IN', processorInfo: 'ok',
    });
    const labels = { app: appName, job: String(jobId) };
    await eventually(apiScrape, (s) => total(s, 'tempojob_instances_started_total', { ...labels, trigger: 'schedule' }) >= 2, 20_000);
    await caller.data('disableJob', { jobId });
    await sleep(1_500);
    const scraped = await eventually(apiScrape, (s) => {
      const started = total(s, 'tempojob_instances_started_total', { ...labels, trigger: 'schedule' });
      return total(s, 'tempojob_instances_finished_total', { ...labels, status: 'SUCCEED' }) === started;
    }, 20_000);
    const fires = total(scraped, 'tempojob_instances_started_total', { ...labels, trigger: 'schedule' });
    expect(fires).toBeGreaterThanOrEqual(2);
    expect(observations(scraped, 'tempojob_fire_lateness_seconds', labels)).toBe(fires);
    expect(total(scraped, 'tempojob_instances_started_total', { ...labels, trigger: 'api' })).toBe(0);
  });

  it('a SKIP job whose fires found the core worker down: its late fires are counted as misfires, dropped', { timeout: 60_000 }, async () => {
    const jobId = await caller.data<number>('saveJob', {
      jobName: 'skips', timeExpressionType: 'CRON', timeExpression: '* * * * * ?', misfirePolicy: { type: 'SKIP', thresholdMs: 1_500 },
      executeType: 'STANDALONE', processorType: 'BUILT_IN', processorInfo: 'ok',
    });
    const labels = { app: appName, job: String(jobId) };
    await eventually(apiScrape, (s) => total(s, 'tempojob_instances_started_total', { ...labels, trigger: 'schedule' }) >= 1, 20_000);
    // The core worker is down for 5 s: the schedule keeps firing, each fire's workflow waits for a core worker.
    core.worker.shutdown();
    await core.done;
    await sleep(5_000);
    core = await startCore();
    const scraped = await eventually(apiScrape, (s) => total(s, 'tempojob_misfires_total', { ...labels, decision: 'dropped' }) >= 2, 30_000);
    await caller.data('disableJob', { jobId });
    expect(total(scraped, 'tempojob_misfires_total', { ...labels, policy: 'SKIP', decision: 'dropped' })).toBeGreaterThanOrEqual(2);
    expect(total(scraped, 'tempojob_misfires_total', { ...labels, decision: 'run_late' })).toBe(0);
  });

  it('misfire decisions reach tempojob_misfires_total by policy (the sink the fire workflows call)', async () => {
    const metrics = new TempojobMetrics({ defaultMetrics: false });
    const { tempojobMetrics: sinks } = metricsSinks(metrics);
    expect(sinks.misfire.callDuringReplay).toBe(false);
    const info = {} as Parameters<typeof sinks.misfire.fn>[0];
    void sinks.misfire.fn(info, { app: 'a', job: '7', policy: 'SKIP', decision: 'dropped' });
    void sinks.misfire.fn(info, { app: 'a', job: '7', policy: 'SKIP', decision: 'dropped' });
    void sinks.misfire.fn(info, { app: 'a', job: 'wf:3', policy: 'CATCH_UP', decision: 'run_late' });
    const { body } = await metrics.exposition();
    expect(body).toContain('tempojob_misfires_total{app="a",job="7",policy="SKIP",decision="dropped"} 2');
    expect(body).toContain('tempojob_misfires_total{app="a",job="wf:3",policy="CATCH_UP",decision="run_late"} 1');
  });

  it('a core worker process serves its metrics on TEMPOJOB_METRICS_PORT (admin token) and the Temporal SDK\'s on TEMPOJOB_TEMPORAL_METRICS_ADDRESS', { timeout: 60_000 }, async () => {
    const [port, sdkPort] = [await freePort(), await freePort()];
    const core = spawnTs('src/core/main.ts', {
      TEMPORAL_ADDRESS: inject('temporalAddress'),
      TEMPOJOB_CORE_TASK_QUEUE: uniqueName('tempojob-core-metrics-process'),
      TEMPOJOB_WORKFLOW_BUNDLE: inject('workflowBundlePath'),
      TEMPOJOB_ADMIN_TOKEN: ADMIN_TOKEN,
      TEMPOJOB_METRICS_PORT: String(port),
      TEMPOJOB_METRICS_HOST: '127.0.0.1',
      TEMPOJOB_TEMPORAL_METRICS_ADDRESS: `127.0.0.1:${sdkPort}`,
    }, /core worker ready/);
    try {
      await core.ready;
      expect((await scrape(`http://127.0.0.1:${port}/metrics`)).status).toBe(401);
      const own = await scrape(`http://127.0.0.1:${port}/metrics`, ADMIN_TOKEN);
      expect(own.status).toBe(200);
      expect(own.families.map((f) => f.name)).toEqual(expect.arrayContaining(['tempojob_instances_finished_total', 'process_cpu_user_seconds_total']));
      const sdk = await eventually(() => scrape(`http://127.0.0.1:${sdkPort}/metrics`), (s) => s.families.some((f) => f.name.startsWith('temporal_')), 20_000);
      expect(sdk.status).toBe(200);
    } finally {
      await core.stop();
    }
  });

  it('log lines dropped: counted by reason, buffer_full when the buffer is full, refused when the API refuses a batch', async () => {
    const counted = { shipped: 0, buffer_full: 0, refused: 0 };
    const counts = { shipped: (n: number) => { counted.shipped += n; }, dropped: (n: number, reason: 'buffer_full' | 'refused') => { counted[reason] += n; } };
    const logger = { warn: () => undefined } as unknown as ConstructorParameters<typeof LogShipper>[0]['logger'];
    const line = (i: number) => ({ instanceId: 1, attempt: 1, taskId: null, level: 'INFO' as const, time: 0, message: `line ${i}`, fields: null });
    let open: () => void = () => undefined;
    const gate = new Promise<void>((resolve) => { open = resolve; });
    const full = new LogShipper({ transport: () => gate, workerId: 'w', logger, maxBufferedLines: 10, lingerMs: 0, counts });
    for (let i = 0; i < 25; i++) full.enqueue(line(i));
    expect(counted.buffer_full).toBe(15);
    open();
    await full.flush(5_000);
    // The ten buffered lines and the one notice of what was dropped.
    expect(counted.shipped).toBe(11);
    const refusing = new LogShipper({
      transport: () => Promise.reject(new TempojobError('bad lines', ErrorCode.INVALID_REQUEST, 'shipInstanceLog', undefined)), workerId: 'w', logger, lingerMs: 0, counts,
    });
    for (let i = 0; i < 3; i++) refusing.enqueue(line(i));
    await refusing.flush(5_000);
    expect(counted.refused).toBe(3);
  });
});
