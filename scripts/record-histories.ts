/**
 * Records one or more real histories of every workflow type the core worker runs, for the
 * replay test (test/replay.test.ts, docs/replay.md):
 *
 *   npx tsx scripts/record-histories.ts [--out test/histories] [--tag <name>] [--keep]
 *
 * It starts its own Temporal dev server (a fresh SQLite file in a temp folder, a free port),
 * the core worker with the workflows of this checkout (keeping an in-memory log store's
 * retention), the in-process API and two processor workers (w1, w2) of one app, then drives
 * the scenarios below through the PowerJob API, as users do, and writes each execution's
 * history to `<out>/<workflowType>/<scenario>.json` (proto3 JSON, as `temporal workflow show
 * --output json` prints it, plus a top-level `workflowId`; see test/support/history-json.ts).
 * Long-lived workflows (app directory, job slots, misfire ledger, a FIXED_DELAY clock) are
 * recorded while still open: a history cut anywhere is a valid replay input. Files of the
 * same name are overwritten; `--tag <name>` writes `<scenario>.<name>.json` instead, so
 * histories of a new workflow version go next to the old ones, which must stay
 * (docs/replay.md). `--keep` leaves the temp folder (the dev server's SQLite file) in place
 * for inspection.
 *
 * Run it from the checkout whose workflow code the histories should come from (for
 * histories of released code: a `git worktree` of that release), under the heavy-job lock:
 * `flock /tmp/tempojob-heavy.lock npx tsx scripts/record-histories.ts --out <dir>`.
 * It takes about 30 s, a third of it the misfire phase (the core worker is stopped for 6 s
 * so that a CRON job's fires arrive late).
 */
import { randomBytes } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { DefaultLogger, Runtime } from '@temporalio/worker';
import { loadConfig } from '../src/config.js';
import { closeServer, startApi } from '../src/api/server.js';
import { bundleCoreWorkflows, startCoreWorker } from '../src/core/worker.js';
import { ensureTemporalCli } from '../src/temporal/cli.js';
import { connectTemporal, connectWorker, targetOf } from '../src/temporal/connection.js';
import { startDevServer } from '../src/temporal/dev-server.js';
import { sqlAlertStore } from '../src/alerts/store.js';
import {
  alertDeliveryWorkflowId,
  alertScanWorkflowId,
  APP_DIRECTORY_WORKFLOW_ID,
  broadcastShareWorkflowId,
  fixedDelayClockId,
  instanceWorkflowId,
  jobScheduleId,
  jobSlotsWorkflowId,
  logRetentionScheduleId,
  misfireLedgerId,
  wfInstanceWorkflowId,
  workflowNodesWorkflowId,
  workflowScheduleId,
  workflowSlotsWorkflowId,
} from '../src/contract/names.js';
import { liveAppWorkers } from '../src/activities/workers.js';
import { misfireLedgerActivities } from '../src/activities/misfire-ledger.js';
import type { LogPurge, ScheduledRunInput } from '../src/contract/workflows.js';
import { openLogStore, sqlOfLogStore } from '../src/logs/store.js';
import { broadcastProcessor, createWorker, mapProcessor, type ProcessorWorker, type ProcessResult, type TaskContext } from '../src/workers/index.js';
import { OpenApiCaller } from '../test/support/api-client.js';
import { historyToJSON } from '../test/support/history-json.js';
import { freePort } from '../test/support/ports.js';

const { values: flags } = parseArgs({
  options: {
    out: { type: 'string', default: 'test/histories' },
    tag: { type: 'string' },
    keep: { type: 'boolean', default: false },
  },
});
const OUT = resolve(flags.out!);
const CORE_TASK_QUEUE = 'tempojob-core';
const APP = 'recorder';

// The scenarios fail activities on purpose: only errors are news.
Runtime.install({ logger: new DefaultLogger('ERROR') });

/** Polls `probe` until it returns a truthy value. */
async function until<T>(what: string, probe: () => Promise<T> | T, timeoutMs = 60_000): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value) return value as NonNullable<T>;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(200);
  }
}

// ---- processors: what the scenarios' jobs run, with an in-process record of their calls ----

const calls: { processor: string; instanceId: number; jobId: number; workerId: string; attempt: number }[] = [];
const holding = new Set<number>();
const note = (processor: string, ctx: TaskContext) =>
  calls.push({ processor, instanceId: ctx.instanceId, jobId: ctx.jobId, workerId: ctx.workerId, attempt: ctx.attempt });
const callsOf = (processor: string, by: { instanceId?: number; jobId?: number }) =>
  calls.filter((c) => c.processor === processor && (by.instanceId === undefined || c.instanceId === by.instanceId) && (by.jobId === undefined || c.jobId === by.jobId));

const processors = {
  echo: (ctx: TaskContext): ProcessResult => {
    note('echo', ctx);
    return { success: true, msg: ctx.instanceParams ?? `echo from ${ctx.workerId}` };
  },
  /** Fails its first two attempts, succeeds on the third. */
  flaky: (ctx: TaskContext): ProcessResult => {
    note('flaky', ctx);
    return ctx.attempt < 3 ? { success: false, msg: `flaky attempt ${ctx.attempt}` } : { success: true, msg: 'third time lucky' };
  },
  fail: (ctx: TaskContext): ProcessResult => {
    note('fail', ctx);
    throw new Error(`boom on attempt ${ctx.attempt}`);
  },
  /** In a workflow: appends its node's params to the context under "step". */
  wfAppend: (ctx: TaskContext): ProcessResult => {
    note('wfAppend', ctx);
    ctx.appendWorkflowContext('step', ctx.jobParams);
    return { success: true, msg: `appended ${ctx.jobParams}` };
  },
  /** Runs until stopped (or timed out). */
  hold: async (ctx: TaskContext): Promise<ProcessResult> => {
    note('hold', ctx);
    holding.add(ctx.instanceId);
    await new Promise<void>((release) => (ctx.signal.aborted ? release() : ctx.signal.addEventListener('abort', () => release())));
    return { success: false, msg: 'aborted' };
  },
  /** Every worker reports in; w2's first attempt fails (taskRetryNum retries it on w2). */
  bcast: broadcastProcessor({
    preProcess: (ctx) => { note('bcast.pre', ctx); return { success: true, msg: 'prepared' }; },
    process: (ctx) => {
      note('bcast', ctx);
      return ctx.workerId === 'w2' && ctx.attempt === 1 ? { success: false, msg: 'w2 hiccup' } : { success: true, msg: `done on ${ctx.workerId}` };
    },
    postProcess: (ctx, results) => { note('bcast.post', ctx); return { success: results.every((r) => r.success), msg: `${results.length} workers` }; },
  }),
  /** MAP: the root task maps three pairs in three ctx.map calls (three batches, two run at a time); item 3 fails once. */
  fanout: mapProcessor({
    async process(ctx) {
      note('fanout', ctx);
      if (ctx.isRootTask) {
        for (const call of [0, 1, 2]) await ctx.map([call * 2, call * 2 + 1], 'pair');
        return { success: true };
      }
      if (ctx.subTask === 3 && ctx.attempt === 1) return { success: false, msg: 'item 3 hiccup' };
      return { success: true, msg: `item ${String(ctx.subTask)}` };
    },
  }),
  /** MAP_REDUCE: the root maps two groups, each group maps two leaves (a batch under a batch), reduce lists them. */
  tree: mapProcessor({
    async process(ctx) {
      note('tree', ctx);
      if (ctx.isRootTask) {
        await ctx.map(['a', 'b'], 'group');
        return { success: true };
      }
      if (ctx.taskName === 'group') {
        await ctx.map([1, 2].map((n) => `${String(ctx.subTask)}${n}`), 'leaf');
        return { success: true, msg: `group ${String(ctx.subTask)}` };
      }
      return { success: true, msg: `leaf ${String(ctx.subTask)}` };
    },
    reduce: (ctx, results) => {
      note('tree.reduce', ctx);
      return { success: true, msg: results.map((r) => `${r.taskId}=${r.result}`).join(';') };
    },
  }),
};

// ---- the stack ----

const dir = join(tmpdir(), `tempojob-record-${randomBytes(4).toString('hex')}`);
mkdirSync(dir, { recursive: true });
const cliPath = await ensureTemporalCli();
const server = await startDevServer({ cliPath, dbFile: join(dir, 'temporal.db'), port: await freePort() });
const config = loadConfig({
  TEMPORAL_ADDRESS: server.address,
  TEMPOJOB_CORE_TASK_QUEUE: CORE_TASK_QUEUE,
  TEMPOJOB_HOST: '127.0.0.1',
});
const temporal = await connectTemporal(targetOf(config));
const { client } = temporal;
const bundle = await bundleCoreWorkflows();
// The core worker keeps the retention of this log store: it creates the log-retention schedule.
const logStore = await openLogStore({});
let core = await startCoreWorker({ ...temporal, config, workflowBundle: bundle, logStore });
const api = await startApi({ client, config, jwtSecret: randomBytes(32).toString('hex'), port: 0 });
const secondConnection = await connectWorker(targetOf(config));
const workers: { worker: ProcessorWorker; done: Promise<void> }[] = [];

// Alerting: a local webhook receiver, noting the alert id of each request.
const alertIds: string[] = [];
const alertReceiver = createServer((req, res) => {
  req.resume();
  req.on('end', () => { alertIds.push(String(req.headers['x-tempojob-alert-id'])); res.end('ok'); });
});
await new Promise<void>((listening) => alertReceiver.listen(0, '127.0.0.1', listening));

async function stopCore() {
  core.worker.shutdown();
  await core.done;
}

async function closeAll() {
  await closeServer(api.server);
  for (const { worker, done } of workers) {
    await worker.shutdown();
    await done;
  }
  if (core.worker.getState() === 'RUNNING') await stopCore();
  await logStore.close();
  await new Promise<void>((closed) => alertReceiver.close(() => closed()));
  await secondConnection.close();
  await temporal.close();
  await server.stop();
  if (flags.keep) console.log(`kept ${dir}`);
  else rmSync(dir, { recursive: true, force: true });
}

const written: string[] = [];
/** Writes the history of one execution (its latest run unless runId) to <out>/<workflowType>/<scenario>.json. */
async function save(workflowType: string, scenario: string, workflowId: string, runId?: string) {
  const handle = client.workflow.getHandle(workflowId, runId);
  const description = await handle.describe();
  if (description.type !== workflowType) throw new Error(`${workflowId} is a ${description.type}, not a ${workflowType}`);
  const history = await handle.fetchHistory();
  const file = join(OUT, workflowType, `${scenario}${flags.tag ? `.${flags.tag}` : ''}.json`);
  mkdirSync(dirname(file), { recursive: true });
  // The workflow id rides along (replay gives the workflow the id it ran under); readers of
  // plain history JSON skip the unknown field.
  const json = JSON.parse(historyToJSON(history)) as object;
  writeFileSync(file, `${JSON.stringify({ workflowId, ...json }, null, 2)}\n`);
  written.push(file);
  console.log(`  ${workflowType}/${scenario}.json: ${history.events?.length} events, ${description.status.name}`);
}

const resultOf = (workflowId: string) => client.workflow.getHandle(workflowId).result();
/** Workflow ids of a schedule's fires so far (its scheduledRunWorkflow executions). */
async function firesOf(jobId: number): Promise<string[]> {
  const { info } = await client.schedule.getHandle(jobScheduleId(jobId)).describe();
  return info.recentActions.map((a) => a.action.workflow.workflowId);
}

try {
  // appDirectoryWorkflow: two apps created, one password changed.
  await api.apps.put(APP, 'first-password', 'create');
  await api.apps.put('bystander', 'another-password', 'create');
  const password = 'second-password';
  await api.apps.put(APP, password, 'upsert');
  const caller = await OpenApiCaller.login(api.url, APP, password);

  const startProcessorWorker = async (workerId: string, tags: string[], connection = temporal.connection) => {
    const worker = await createWorker({ appName: APP, processors, connection, workerId, tags, shutdownGraceMs: 0 });
    workers.push({ worker, done: worker.run() });
  };
  await startProcessorWorker('w1', ['blue']);
  // Two Workers on one connection cannot poll the same queue: w2 has its own.
  await startProcessorWorker('w2', ['green'], secondConnection);
  await until('both workers to be seen alive', async () => (await liveAppWorkers(client, APP)).length === 2);

  const saveJob = (jobName: string, processorInfo: string, extra: Record<string, unknown> = {}) =>
    caller.data<number>('saveJob', {
      jobName, timeExpressionType: 'API', executeType: 'STANDALONE', processorType: 'BUILT_IN', processorInfo, ...extra,
    });
  const runJob = (jobId: number, extra: Record<string, unknown> = {}) => caller.data<number>('runJob', { jobId, ...extra });
  const instances: Record<string, number> = {};
  const quickBackoff = { initialIntervalMs: 300, backoffCoefficient: 2, maximumIntervalMs: 1_000 };

  console.log('running scenarios…');
  // STANDALONE: success; failing twice then succeeding (instanceRetryNum, backoff 300 ms then 600 ms); failing for good.
  instances['standalone-success'] = await runJob(await saveJob('echo', 'echo'), { instanceParams: 'hello' });
  instances['standalone-retry-backoff'] = await runJob(await saveJob('flaky', 'flaky', { instanceRetryNum: 2, retryBackoff: quickBackoff }));
  // alertDeliveryWorkflow: the failed instance alerts a webhook target. The target goes into the
  // core worker's store (the API here keeps a store of its own), so the API takes its id as
  // nobody's and the core worker's scan finds it.
  const alertTarget = (await sqlAlertStore(sqlOfLogStore(logStore)).createTarget(caller.appId, 'recorder', {
    webhook: { url: `http://127.0.0.1:${(alertReceiver.address() as AddressInfo).port}/alerts`, secret: 'recorder-secret-0123456789' },
  }, null)).id;
  const failJob = await saveJob('fail', 'fail', { instanceRetryNum: 1, retryBackoff: quickBackoff, notifyUserIds: [alertTarget] });
  instances['standalone-failed'] = await runJob(failJob);
  // Delayed: runs after 1.5 s; another delayed for 10 minutes is cancelled while it waits.
  instances['delayed'] = await runJob(await saveJob('delayed', 'echo'), { delay: 1_500, instanceParams: 'later' });
  const cancelled = await runJob(await saveJob('cancelled', 'echo'), { delay: 600_000 });
  instances['delayed-cancelled'] = cancelled;
  // designatedWorkers: pinned to w2's own queue.
  instances['designated-worker'] = await runJob(await saveJob('designated', 'echo', { designatedWorkers: 'w2' }));
  // instanceTimeLimit: the attempt is still running after 1.5 s.
  instances['time-limit'] = await runJob(await saveJob('time-limit', 'hold', { instanceTimeLimit: 1_500 }));
  // BROADCAST to both workers, w2's share retried once (taskRetryNum).
  const broadcast = await runJob(await saveJob('broadcast', 'bcast', { executeType: 'BROADCAST', taskRetryNum: 1, retryBackoff: quickBackoff }));
  instances['broadcast'] = broadcast;
  // MAP in three batches (two at a time), one sub-task retried; MAP_REDUCE with a map under a map.
  const map = await runJob(await saveJob('map', 'fanout', { executeType: 'MAP', concurrency: 2, taskRetryNum: 1, retryBackoff: quickBackoff }));
  instances['map'] = map;
  const mapReduce = await runJob(await saveJob('map-reduce', 'tree', { executeType: 'MAP_REDUCE', concurrency: 2 }));
  instances['map-reduce-nested'] = mapReduce;

  await caller.data('cancelInstance', { instanceId: cancelled });
  // maxInstanceNum 1: the first run holds the job's only slot, a second fails "too many instances", then the first is stopped.
  const slotJob = await saveJob('slots', 'hold', { maxInstanceNum: 1 });
  const holder = await runJob(slotJob);
  instances['max-instance-num-stopped'] = holder;
  await until('the slot holder to run', () => holding.has(holder));
  instances['max-instance-num-refused'] = await runJob(slotJob);
  await resultOf(instanceWorkflowId(instances['max-instance-num-refused']!));
  await caller.data('stopInstance', { instanceId: holder });

  for (const [scenario, instanceId] of Object.entries(instances)) {
    await resultOf(instanceWorkflowId(instanceId)).catch((err: unknown) => {
      throw new Error(`instance of scenario ${scenario} failed as a workflow: ${String(err)}`);
    });
  }
  // retryInstance: a new run of the failed instance, under the same workflow id.
  const failedRun = (await client.workflow.getHandle(instanceWorkflowId(instances['standalone-failed']!)).describe()).runId;
  await caller.data('retryInstance', { instanceId: instances['standalone-failed'] });
  await until('the retried run to start', async () =>
    (await client.workflow.getHandle(instanceWorkflowId(instances['standalone-failed']!)).describe()).runId !== failedRun);
  await resultOf(instanceWorkflowId(instances['standalone-failed']!));
  const firstAlert = await until('the failed instance\'s alert', () => alertIds[0]);
  await resultOf(alertDeliveryWorkflowId(firstAlert));

  // A CRON job firing every second: two fires, each a scheduledRunWorkflow starting an instance.
  const cronJob = await caller.data<number>('saveJob', {
    jobName: 'cron', timeExpressionType: 'CRON', timeExpression: '* * * * * ?', executeType: 'STANDALONE', processorType: 'BUILT_IN', processorInfo: 'echo',
  });
  const cronFires = await until('two CRON fires', async () => {
    const fires = await firesOf(cronJob);
    return fires.length >= 2 ? fires : null;
  });
  await caller.data('disableJob', { jobId: cronJob });
  const cronResult = String(await resultOf(cronFires[0]!));
  const cronInstance = Number(/^instance (\d+)/.exec(cronResult)?.[1]);
  await resultOf(instanceWorkflowId(cronInstance));

  // FIXED_DELAY: the clock runs two instances 500 ms apart, is recorded open, then disabled (the clock is cancelled).
  const delayJob = await caller.data<number>('saveJob', {
    jobName: 'fixed-delay', timeExpressionType: 'FIXED_DELAY', timeExpression: '500', executeType: 'STANDALONE', processorType: 'BUILT_IN', processorInfo: 'echo',
  });
  await until('two FIXED_DELAY runs', () => callsOf('echo', { jobId: delayJob }).length >= 2);
  await save('fixedDelayWorkflow', 'running', fixedDelayClockId(delayJob));
  await caller.data('disableJob', { jobId: delayJob });
  await resultOf(fixedDelayClockId(delayJob));
  const delayInstance = callsOf('echo', { jobId: delayJob })[0]!.instanceId;
  await resultOf(instanceWorkflowId(delayInstance));

  // logRetentionWorkflow: a fire of the log-retention schedule (triggered, not waited for) purges
  // the line older than the retention (3 days) and keeps the other.
  const logLine = (seq: number, time: number) => ({
    instanceId: 1, attempt: 1, taskId: null, workerId: 'w1', stream: 'recorder', seq, level: 'INFO' as const, time, message: `line ${seq}`, fields: null,
  });
  await logStore.append(1, [logLine(1, Date.now() - 4 * 24 * 3_600_000), logLine(2, Date.now())]);
  const retention = client.schedule.getHandle(logRetentionScheduleId(CORE_TASK_QUEUE));
  await retention.trigger();
  const retentionRun = await until('the log-retention fire', async () => (await retention.describe()).info.recentActions.at(-1)?.action.workflow.workflowId);
  const purge = await resultOf(retentionRun) as LogPurge;
  if (purge.purged !== 1) throw new Error(`the log-retention run purged ${purge.purged} lines, not the 1 old one`);

  console.log('recording…');
  await save('alertDeliveryWorkflow', 'webhook-delivered', alertDeliveryWorkflowId(firstAlert));
  await save('logRetentionWorkflow', 'purged-old-line', retentionRun);
  for (const [scenario, instanceId] of Object.entries(instances)) {
    // The failed instance's first run; its latest is the retried one.
    await save('instanceWorkflow', scenario, instanceWorkflowId(instanceId), scenario === 'standalone-failed' ? failedRun : undefined);
  }
  await save('instanceWorkflow', 'standalone-retried-run', instanceWorkflowId(instances['standalone-failed']!));
  await save('instanceWorkflow', 'cron-fire', instanceWorkflowId(cronInstance));
  await save('instanceWorkflow', 'fixed-delay-run', instanceWorkflowId(delayInstance));
  await save('scheduledRunWorkflow', 'cron-fire', cronFires[0]!);
  await save('fixedDelayWorkflow', 'disabled', fixedDelayClockId(delayJob));
  await save('jobSlotsWorkflow', 'acquired-refused-released', jobSlotsWorkflowId(slotJob));
  await save('broadcastShareWorkflow', 'succeeded', broadcastShareWorkflowId(broadcast, 'w1'));
  await save('broadcastShareWorkflow', 'retried-once', broadcastShareWorkflowId(broadcast, 'w2'));
  const batchesOf = (instanceId: number, count: number) => until(`${count} batches of instance ${instanceId} in visibility`, async () => {
    const ids: string[] = [];
    for await (const execution of client.workflow.list({ query: `WorkflowType = 'mapBatchWorkflow' AND TempojobInstanceId = ${instanceId}` })) {
      ids.push(execution.workflowId);
    }
    return ids.length >= count ? ids.sort() : null;
  });
  // Ids end in -t<task>-m<call>-b<batch>: the root's three calls, then the groups' leaves.
  const mapBatches = await batchesOf(map, 3);
  for (const id of mapBatches) await save('mapBatchWorkflow', `map-${id.slice(id.lastIndexOf('-t') + 1)}`, id);
  const treeBatches = await batchesOf(mapReduce, 3);
  await save('mapBatchWorkflow', 'map-reduce-groups', treeBatches.find((id) => id.includes('-t0-'))!);
  await save('mapBatchWorkflow', 'map-reduce-leaves-under-a-batch', treeBatches.find((id) => !id.includes('-t0-'))!);

  // Misfires: a one-second CRON job (CATCH_UP 2, threshold 1 s) fires while the core worker is down for 6 s,
  // so its fires run late; all but the newest ask the job's misfire ledger.
  console.log('misfire phase…');
  const misfireJob = await caller.data<number>('saveJob', {
    jobName: 'misfire', timeExpressionType: 'CRON', timeExpression: '* * * * * ?', executeType: 'STANDALONE', processorType: 'BUILT_IN', processorInfo: 'echo',
    misfirePolicy: { type: 'CATCH_UP', maxCatchUp: 2, thresholdMs: 1_000 },
  });
  await until('a first on-time fire', () => callsOf('echo', { jobId: misfireJob }).length >= 1);
  await stopCore();
  await sleep(6_000); // the outage itself
  core = await startCoreWorker({ ...temporal, config, workflowBundle: bundle, logStore });
  await until('the misfire ledger to decide', async () => {
    try {
      return (await client.workflow.getHandle(misfireLedgerId(misfireJob)).fetchHistory()).events!.some((e) => e.workflowExecutionUpdateCompletedEventAttributes);
    } catch {
      return false;
    }
  }, 30_000);
  await sleep(2_000); // the late fires' updates arrive one by one: let the backlog's all be decided
  await caller.data('disableJob', { jobId: misfireJob });
  // Every fire of the job so far (a schedule's recent actions keep only the last ten).
  const lateFires = await until('the misfire job\'s fires in visibility', async () => {
    const ids: string[] = [];
    for await (const execution of client.workflow.list({ query: `TemporalScheduledById = '${jobScheduleId(misfireJob)}'` })) ids.push(execution.workflowId);
    return ids.length >= 8 ? ids : null;
  });
  const outcomes = new Map<string, string>();
  for (const id of lateFires) outcomes.set(id, String(await resultOf(id)));
  const dropped = [...outcomes].find(([, result]) => result.includes('dropped by misfire policy'));
  const caughtUp = [...outcomes].find(([, result]) => result.includes('catch-up'));
  if (!dropped || !caughtUp) throw new Error(`expected a dropped and a caught-up late fire, got:\n${[...outcomes.values()].join('\n')}`);
  await save('scheduledRunWorkflow', 'late-fire-dropped', dropped[0]);
  await save('scheduledRunWorkflow', 'late-fire-catch-up', caughtUp[0]);
  await save('misfireLedgerWorkflow', 'catch-up-2-after-outage', misfireLedgerId(misfireJob));

  // The ledger's other paths, through the activity's own update-with-start (as scheduledRunWorkflow calls it):
  // a SKIP backlog of four late fires, asked in the order they were due; a fire of that outage's tail (due
  // before the backlog's reference time, not late against it); a fire of the backlog asked again; a second outage.
  const { action } = await client.schedule.getHandle(jobScheduleId(misfireJob)).describe();
  if (action.type !== 'startWorkflow') throw new Error('a job schedule starts a workflow');
  const definition = (action.args?.[0] as ScheduledRunInput).job;
  const skipJob = { ...definition, id: definition.id + 7, misfirePolicy: { type: 'SKIP' as const, maxCatchUp: 1, thresholdMs: 1_000 } };
  const { decideLateFire } = misfireLedgerActivities(client, CORE_TASK_QUEUE);
  const askedAt = Date.now();
  const second = Math.floor(askedAt / 1000) * 1000;
  const decisions = [];
  for (const fireTime of [second - 5_000, second - 4_000, second - 3_000, second - 2_000]) {
    decisions.push(await decideLateFire({ job: skipJob, fireTime, askedAt }));
  }
  decisions.push(await decideLateFire({ job: skipJob, fireTime: second, askedAt: askedAt + 500 }));
  decisions.push(await decideLateFire({ job: skipJob, fireTime: second - 3_000, askedAt: askedAt + 600 }));
  decisions.push(await decideLateFire({ job: skipJob, fireTime: second + 5_000, askedAt: second + 9_000 }));
  console.log(`  SKIP ledger decisions: ${decisions.join(', ')}`);
  await save('misfireLedgerWorkflow', 'skip-backlog', misfireLedgerId(skipJob.id));

  // Workflows (DAGs): nodes created with an Idempotency-Key (and the save repeated), a DAG saved over
  // them (binding them), saved again without one (deleting it), the workflow copied (nodes copied).
  const wfJob = await saveJob('wf-echo', 'echo');
  const wfNodes = ['first', 'second', 'dropped'].map((nodeName) => ({ type: 1, jobId: wfJob, nodeName }));
  const wfNodeIds = (await caller.data<{ id: number }[]>('addWorkflowNode', wfNodes, { idempotencyKey: 'nodes-1' })).map((node) => node.id);
  await caller.data('addWorkflowNode', wfNodes, { idempotencyKey: 'nodes-1' });
  const chain = (ids: number[]) => ({ nodes: ids.map((nodeId) => ({ nodeId })), edges: ids.slice(1).map((to, i) => ({ from: ids[i]!, to })) });
  const workflowId = await caller.data<number>('saveWorkflow', { wfName: 'chain', timeExpressionType: 'API', dag: chain(wfNodeIds) });
  await caller.data('saveWorkflow', { id: workflowId, wfName: 'chain', timeExpressionType: 'API', dag: chain(wfNodeIds.slice(0, 2)) });
  await caller.data('copyWorkflow', { workflowId });

  // dagWorkflow: a node appends to the context, a decision reads it and takes its true branch into a
  // nested workflow (the false branch canceled), which appends in turn; and a FAIL_FAST run whose
  // failing node stops the node still running beside it.
  const appendJob = await saveJob('wf-append', 'wfAppend');
  const [leaf] = await caller.data<{ id: number }[]>('addWorkflowNode', [{ type: 1, jobId: appendJob, nodeParams: 'nested' }]);
  const nestedWorkflow = await caller.data<number>('saveWorkflow', { wfName: 'nested', timeExpressionType: 'API', dag: chain([leaf!.id]) });
  const [head, decision, nest, other] = (await caller.data<{ id: number }[]>('addWorkflowNode', [
    { type: 1, jobId: appendJob, nodeParams: 'a' },
    { type: 2, nodeParams: 'context.get("step") === "a"' },
    { type: 3, jobId: nestedWorkflow },
    { type: 1, jobId: wfJob },
  ])).map((node) => node.id);
  const decisionWorkflow = await caller.data<number>('saveWorkflow', {
    wfName: 'decision', timeExpressionType: 'API', maxWfInstanceNum: 2,
    dag: { nodes: [head, decision, nest, other].map((nodeId) => ({ nodeId })), edges: [
      { from: head, to: decision }, { from: decision, to: nest, property: 'true' }, { from: decision, to: other, property: 'false' },
    ] },
  });
  const decisionRun = await caller.data<number>('runWorkflow', { workflowId: decisionWorkflow, initParams: '{"order":"o-1"}' });
  const failJobId = await saveJob('wf-fail', 'fail');
  const holdJob = await saveJob('wf-hold', 'hold');
  const [failing, held] = (await caller.data<{ id: number }[]>('addWorkflowNode', [{ type: 1, jobId: failJobId }, { type: 1, jobId: holdJob }])).map((node) => node.id);
  const failFastWorkflow = await caller.data<number>('saveWorkflow', {
    wfName: 'fail-fast', timeExpressionType: 'API', dag: { nodes: [{ nodeId: failing }, { nodeId: held }], edges: [] },
  });
  const failFastRun = await caller.data<number>('runWorkflow', { workflowId: failFastWorkflow, delay: 500 });
  // A nested run carried on by a retry: the nested workflow's failing node is marked successful on
  // the nested run itself, then the parent is retried and resumes that run under its own id.
  const [nestedFail, nestedAfter] = (await caller.data<{ id: number }[]>('addWorkflowNode', [{ type: 1, jobId: failJobId }, { type: 1, jobId: wfJob }]))
    .map((node) => node.id);
  const innerFailing = await caller.data<number>('saveWorkflow', { wfName: 'inner-failing', timeExpressionType: 'API', dag: chain([nestedFail!, nestedAfter!]) });
  const [outerNest] = await caller.data<{ id: number }[]>('addWorkflowNode', [{ type: 3, jobId: innerFailing }]);
  const outerWorkflow = await caller.data<number>('saveWorkflow', { wfName: 'outer', timeExpressionType: 'API', dag: chain([outerNest!.id]) });
  const outerRun = await caller.data<number>('runWorkflow', { workflowId: outerWorkflow });
  const outerState = await resultOf(wfInstanceWorkflowId(outerRun)) as { dag: { nodes: { instanceId: number | null }[] } };
  const innerRun = outerState.dag.nodes[0]!.instanceId!;
  await caller.data('markWorkflowNodeAsSuccess', { wfInstanceId: innerRun, nodeId: nestedFail });
  await caller.data('retryWfInstance', { wfInstanceId: outerRun });
  await until('the outer run to succeed', async () =>
    (await client.workflow.getHandle(wfInstanceWorkflowId(outerRun)).describe()).status.name === 'COMPLETED'
    && ((await resultOf(wfInstanceWorkflowId(outerRun))) as { status: string }).status === 'SUCCEED');

  // A CRON workflow firing every second: its first fire, a scheduledWorkflowRunWorkflow starting a run.
  const [tick] = await caller.data<{ id: number }[]>('addWorkflowNode', [{ type: 1, jobId: wfJob }]);
  const cronWorkflow = await caller.data<number>('saveWorkflow', {
    wfName: 'cron', timeExpressionType: 'CRON', timeExpression: '* * * * * ?', timeZone: 'Europe/Berlin', dag: chain([tick!.id]),
  });
  const cronWorkflowFire = await until('a CRON workflow fire', async () =>
    (await client.schedule.getHandle(workflowScheduleId(cronWorkflow)).describe()).info.recentActions[0]?.action.workflow.workflowId);
  await caller.data('disableWorkflow', { workflowId: cronWorkflow });
  await resultOf(cronWorkflowFire);
  const decisionState = await resultOf(wfInstanceWorkflowId(decisionRun)) as { dag: { nodes: { nodeId: number; instanceId: number | null }[] } };
  const nestedRun = decisionState.dag.nodes.find((node) => node.nodeId === nest)!.instanceId!;
  await resultOf(wfInstanceWorkflowId(failFastRun));
  // Then its failing node is marked successful (a run that only records that), and a retry runs
  // the stopped node again, which is stopped by stopWfInstance.
  const runIdOf = async (wfInstanceId: number) => (await client.workflow.getHandle(wfInstanceWorkflowId(wfInstanceId)).describe()).runId;
  const failFastFirstRun = await runIdOf(failFastRun);
  await caller.data('markWorkflowNodeAsSuccess', { wfInstanceId: failFastRun, nodeId: failing });
  const markedRun = await until('the marking run', async () => { const runId = await runIdOf(failFastRun); return runId !== failFastFirstRun ? runId : undefined; });
  await resultOf(wfInstanceWorkflowId(failFastRun));
  await caller.data('retryWfInstance', { wfInstanceId: failFastRun });
  await until('the retried run', async () => (await runIdOf(failFastRun)) !== markedRun);
  await until('the stopped node to run again', () => callsOf('hold', { jobId: holdJob }).length >= 2);
  await caller.data('stopWfInstance', { wfInstanceId: failFastRun });
  await resultOf(wfInstanceWorkflowId(failFastRun));

  await save('dagWorkflow', 'decision-context-nested', wfInstanceWorkflowId(decisionRun));
  await save('dagWorkflow', 'nested-child', wfInstanceWorkflowId(nestedRun));
  await save('dagWorkflow', 'fail-fast-delayed', wfInstanceWorkflowId(failFastRun), failFastFirstRun);
  await save('dagWorkflow', 'node-marked-successful', wfInstanceWorkflowId(failFastRun), markedRun);
  await save('dagWorkflow', 'retried-then-stopped', wfInstanceWorkflowId(failFastRun));
  await save('jobSlotsWorkflow', 'workflow-slots', workflowSlotsWorkflowId(decisionWorkflow));
  await save('scheduledWorkflowRunWorkflow', 'cron-fire', cronWorkflowFire);
  await save('dagWorkflow', 'retry-resumes-nested', wfInstanceWorkflowId(outerRun));
  await save('dagWorkflow', 'nested-resumed', wfInstanceWorkflowId(innerRun));

  // Open, long-lived: recorded last, with everything they saw.
  await save('alertScanWorkflow', 'scanning-across-core-restart', alertScanWorkflowId(CORE_TASK_QUEUE));
  await save('workflowNodesWorkflow', 'saved-bound-copied', workflowNodesWorkflowId(caller.appId));
  await save('appDirectoryWorkflow', 'two-apps-one-password-change', APP_DIRECTORY_WORKFLOW_ID);
  console.log(`${written.length} histories written under ${OUT}`);
} finally {
  await closeAll();
}
