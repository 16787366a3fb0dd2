import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import type { Client } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { liveAppWorkers } from '../src/activities/workers.js';
import { closeServer, startApi } from '../src/api/server.js';
import type { AppService } from '../src/api/app-service.js';
import { loadConfig } from '../src/config.js';
import { alertDeliveryWorkflowId, alertScanWorkflowId, logRetentionScheduleId } from '../src/contract/names.js';
import type { AlertDeliveryOutcome } from '../src/contract/workflows.js';
import { startCoreWorker } from '../src/core/worker.js';
import { MISFIRE_DROPPED, SA } from '../src/contract/search-attributes.js';
import { TempojobMetrics } from '../src/metrics/metrics.js';
import { connectTemporal, targetOf } from '../src/temporal/connection.js';
import { createWorker, defaultBroadcastResult, type ProcessorWorker } from '../src/workers/index.js';
import { OpenApiCaller } from './support/api-client.js';
import { HttpReceivers, MailReceiver } from './support/alert-receivers.js';
import { eventually } from './support/eventually.js';
import { historyToJSON } from './support/history-json.js';
import { spawnTs } from './support/processes.js';
import { uniqueName } from './support/stack.js';
import { temporalTlsEnv } from './support/temporal-env.js';

/**
 * Alerting end to end (issue #16), against the run's dev server: an API and a core worker of
 * their own (own core queue, so their scan sees only these runs) sharing one embedded store,
 * a processor worker, local HTTP receivers for the webhook and Slack-format targets, and a
 * real SMTP server for the email target.
 */

const WEBHOOK_SECRET = 'whsec-0123456789abcdef-alerts';
const SLACK_TOKEN_PATH = '/slack/T0000/B0000/sl4ck-t0ken-secret';

let client: Client;
let apps: AppService;
let closeAll: () => Promise<void>;
let connection: Awaited<ReturnType<typeof connectTemporal>>['connection'];
const dir = mkdtempSync(join(tmpdir(), 'tempojob-alerts-'));
let apiUrl: string;
let a: OpenApiCaller;
let b: OpenApiCaller;
let appNameA: string;
const http = new HttpReceivers();
const smtp = new MailReceiver();
let scanWorkflowId = '';
/** The core worker's metrics (its alert counters), apart from the process's own. */
const metrics = new TempojobMetrics({ defaultMetrics: false });

/** `tempojob_alert_deliveries_total` of app A by "channel:outcome". */
async function deliveryCounts(): Promise<Map<string, number>> {
  const { values } = await metrics.alertDeliveries.get();
  return new Map(values.filter((v) => v.labels.app === appNameA).map((v) => [`${v.labels.channel}:${v.labels.outcome}`, v.value]));
}

async function newApp(prefix: string): Promise<{ appName: string; api: OpenApiCaller }> {
  const appName = uniqueName(prefix);
  const password = randomBytes(12).toString('hex');
  await apps.put(appName, password, 'create');
  return { appName, api: await OpenApiCaller.login(apiUrl, appName, password) };
}

beforeAll(async () => {
  await Promise.all([http.start(), smtp.start()]);
  http.route('/hook', () => ({ status: 200 }));
  http.route(SLACK_TOKEN_PATH, () => ({ status: 200, body: 'ok' }));
  http.route('/flaky', (n) => (n <= 2 ? { status: 500, body: 'down for a moment' } : { status: 200 }));
  http.route('/reject', () => ({ status: 400, body: 'bad request: no such hook' }));
  const coreTaskQueue = uniqueName('tempojob-core-alerts');
  scanWorkflowId = alertScanWorkflowId(coreTaskQueue);
  const config = loadConfig({
    TEMPORAL_ADDRESS: inject('temporalAddress'),
    ...temporalTlsEnv(),
    TEMPOJOB_CORE_TASK_QUEUE: coreTaskQueue,
    TEMPOJOB_HOST: '127.0.0.1',
    TEMPOJOB_SMTP_URL: smtp.url,
    TEMPOJOB_ALERT_FROM: 'tempojob <alerts@tempojob.test>',
    TEMPOJOB_ALERT_SCAN_MS: '300',
    TEMPOJOB_PUBLIC_API_URL: 'http://tempojob.test:7700',
    TEMPOJOB_WEB_UI_URL: 'http://temporal-ui.test:8233',
  });
  const temporal = await connectTemporal(targetOf(config));
  client = temporal.client;
  connection = temporal.connection;
  const api = await startApi({ client, config, jwtSecret: randomBytes(32).toString('hex'), port: 0 });
  apiUrl = api.url;
  apps = api.apps;
  const core = await startCoreWorker({
    ...temporal, config, logStore: api.logStore, workflowBundle: { code: readFileSync(inject('workflowBundlePath'), 'utf8') }, metrics,
  });
  const appA = await newApp('alerts-a');
  appNameA = appA.appName;
  a = appA.api;
  b = (await newApp('alerts-b')).api;
  const worker: ProcessorWorker = await createWorker({
    appName: appNameA,
    connection: temporal.connection,
    shutdownGraceMs: 0,
    processors: { fail: () => ({ success: false, msg: 'the disk is full' }) },
  });
  const workerDone = worker.run();
  closeAll = async () => {
    await worker.shutdown();
    await workerDone;
    await client.workflow.getHandle(alertScanWorkflowId(coreTaskQueue)).terminate('test over').catch(() => undefined);
    await client.schedule.getHandle(logRetentionScheduleId(coreTaskQueue)).delete().catch(() => undefined);
    core.worker.shutdown();
    await core.done;
    await closeServer(api.server);
    await temporal.close();
  };
}, 60_000);

afterAll(async () => {
  await closeAll?.();
  await Promise.all([http.close(), smtp.close()]);
  rmSync(dir, { recursive: true, force: true });
});

const failingJob = (notifyUserIds: number[], extra: Record<string, unknown> = {}) => ({
  jobName: 'nightly-export', timeExpressionType: 'API', executeType: 'STANDALONE', processorType: 'BUILT_IN', processorInfo: 'fail',
  instanceRetryNum: 1, retryBackoff: { initialIntervalMs: 100, backoffCoefficient: 1, maximumIntervalMs: 100 }, notifyUserIds, ...extra,
});

/** Runs the job, waits for its instance to end. */
async function runToEnd(jobId: number): Promise<number> {
  const instanceId = await a.data<number>('runJob', { jobId }, { form: true });
  await client.workflow.getHandle(`tempojob-instance-${instanceId}`).result();
  return instanceId;
}

interface Delivery { alertId: string; event: string; instanceId: number | null; targetId: number; channel: string; status: string; attempts: number; lastError: string | null }

/** Optionally keeps the history of a finished execution for the replay test (TEMPOJOB_RECORD_ALERT_HISTORIES=1). */
async function keepHistory(workflowType: string, scenario: string, workflowId: string): Promise<void> {
  if (process.env.TEMPOJOB_RECORD_ALERT_HISTORIES !== '1') return;
  const history = await client.workflow.getHandle(workflowId).fetchHistory();
  const file = join(import.meta.dirname, 'histories', workflowType, `${scenario}.json`);
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, `${JSON.stringify({ workflowId, ...JSON.parse(historyToJSON(history)) as object }, null, 2)}\n`);
}

describe('alert targets', () => {
  it('refuses bad input with a clear error and saves nothing', async () => {
    const before = await a.data<unknown[]>('listAlertTargets');
    const cases: [Record<string, unknown>, RegExp][] = [
      [{ name: 'x', webhook: { url: 'not a url', secret: WEBHOOK_SECRET } }, /webhook\.url must be an absolute http\(s\) URL/],
      [{ name: 'x', slack: { url: 'ftp://files.example.com/x' } }, /slack\.url must be an absolute http\(s\) URL/],
      [{ name: 'x', telegram: { url: 'https://api.telegram.org/x' } }, /unknown field "telegram".*email, webhook, slack, lark, dingtalk, wecom/],
      [{ name: 'x', webhook: { url: 'https://hooks.example.com/a' } }, /webhook\.secret is required/],
      [{ name: 'x' }, /at least one channel/],
      [{ name: 'x', email: 'not-an-address' }, /email must be an email address/],
    ];
    for (const [body, message] of cases) {
      const res = await a.call('saveAlertTarget', body);
      expect(res.body.success, JSON.stringify(body)).toBe(false);
      expect(res.body.message).toMatch(message);
    }
    expect(await a.data<unknown[]>('listAlertTargets')).toEqual(before);
  });

  it('creates once per Idempotency-Key, and refuses the key reused for another body', async () => {
    const key = `target-${randomBytes(4).toString('hex')}`;
    const body = { name: 'keyed', email: 'keyed@example.com' };
    const id = await a.data<number>('saveAlertTarget', body, { idempotencyKey: key });
    expect(await a.data<number>('saveAlertTarget', body, { idempotencyKey: key })).toBe(id);
    const reused = await a.call('saveAlertTarget', { ...body, name: 'other' }, { idempotencyKey: key });
    expect(reused.body.message).toMatch(/Idempotency-Key .* was already used for a different request/);
    expect((await a.data<{ name: string }[]>('listAlertTargets')).filter((t) => t.name === 'keyed')).toHaveLength(1);
  });

  it('never returns a secret, masks robot URLs, keeps secrets an update omits', async () => {
    const id = await a.data<number>('saveAlertTarget', {
      name: 'secretive', webhook: { url: 'https://hooks.example.com/in', secret: WEBHOOK_SECRET },
      slack: { url: `https://hooks.slack.com${SLACK_TOKEN_PATH}` }, dingtalk: { url: 'https://oapi.dingtalk.com/robot/send?access_token=dt-token-42', secret: 'SECdingding' },
    });
    const fetched = await a.data<Record<string, unknown>>('fetchAlertTarget', { targetId: id });
    expect(fetched).toMatchObject({
      id, name: 'secretive', webhook: { url: 'https://hooks.example.com/in', secretSet: true }, slack: { url: 'https://hooks.slack.com/***' },
      dingtalk: { url: 'https://oapi.dingtalk.com/***', secretSet: true }, channels: ['webhook', 'slack', 'dingtalk'],
    });
    // An update that omits the secrets and sends the masked URLs back keeps what is stored.
    await a.data('saveAlertTarget', { id, name: 'renamed', webhook: { url: 'https://hooks.example.com/in' }, slack: fetched.slack, dingtalk: fetched.dingtalk });
    const texts = [
      JSON.stringify(await a.call('fetchAlertTarget', { targetId: id })),
      JSON.stringify(await a.call('listAlertTargets', {})),
      JSON.stringify(await a.call('queryAlertDeliveries', {})),
    ];
    for (const text of texts) {
      for (const secret of [WEBHOOK_SECRET, 'sl4ck-t0ken-secret', 'dt-token-42', 'SECdingding']) expect(text).not.toContain(secret);
    }
    expect(JSON.parse(texts[0]!).body.data).toMatchObject({ name: 'renamed', webhook: { secretSet: true }, dingtalk: { secretSet: true } });
    await a.data('deleteAlertTarget', { targetId: id }, { form: true });
    expect((await a.call('fetchAlertTarget', { targetId: id })).body.message).toMatch(/alert target \d+ not found/);
  });

  it('keeps one app from reading, changing, deleting or referencing another app\'s target', async () => {
    const id = await a.data<number>('saveAlertTarget', { name: 'a-oncall', email: 'oncall-a@example.com' });
    for (const [operation, body] of [
      ['fetchAlertTarget', { targetId: id }],
      ['deleteAlertTarget', { targetId: id }],
      ['saveAlertTarget', { id, name: 'hijacked', email: 'evil@example.com' }],
    ] as const) {
      const res = await b.call(operation, body);
      expect(res.body.success, operation).toBe(false);
      expect(res.body.message).toMatch(new RegExp(`alert target ${id} not found`));
    }
    expect(await b.data<{ id: number }[]>('listAlertTargets')).toEqual([]);
    const refused = await b.call('saveJob', failingJob([id]));
    expect(refused.body.success).toBe(false);
    expect(refused.body.message).toMatch(new RegExp(`notifyUserIds ${id}: no such alert target in this app`));
    expect(await a.data('fetchAlertTarget', { targetId: id })).toMatchObject({ name: 'a-oncall', email: 'oncall-a@example.com' });
    // Ids that are nobody's target pass, as PowerJob user ids of jobs moved over do: delivery skips them.
    expect(await b.data<number>('saveJob', failingJob([987_654_321]))).toBeGreaterThan(0);
  });
});

describe('INSTANCE_FAILED', () => {
  it('delivers one alert to each channel of each target: webhook, Slack-format robot, email', async () => {
    const webhook = await a.data<number>('saveAlertTarget', { name: 'webhook', webhook: { url: `${http.url}/hook`, secret: WEBHOOK_SECRET } });
    const slack = await a.data<number>('saveAlertTarget', { name: 'slack', slack: { url: `${http.url}${SLACK_TOKEN_PATH}` } });
    const email = await a.data<number>('saveAlertTarget', { name: 'ops', email: 'ops@example.com' });
    const jobId = await a.data<number>('saveJob', failingJob([webhook, slack, email]));
    const instanceId = await runToEnd(jobId);
    await Promise.all([http.next('/hook'), http.next(SLACK_TOKEN_PATH), smtp.next()]);
    const alertId = String(http.accepted('/hook')[0]!.headers['x-tempojob-alert-id']);
    expect(alertId).toMatch(new RegExp(`^INSTANCE_FAILED:${instanceId}:`));
    const outcomes = await client.workflow.getHandle(alertDeliveryWorkflowId(alertId)).result() as AlertDeliveryOutcome[];
    expect(outcomes.map((o) => o.status)).toEqual(['DELIVERED', 'DELIVERED', 'DELIVERED']);

    expect(http.all('/hook')).toHaveLength(1);
    expect(http.all(SLACK_TOKEN_PATH)).toHaveLength(1);
    expect(smtp.mails).toHaveLength(1);
    const posted = JSON.parse(http.accepted('/hook')[0]!.body) as Record<string, unknown>;
    expect(posted).toMatchObject({
      id: alertId, event: 'INSTANCE_FAILED', appName: appNameA, jobId, jobName: 'nightly-export', instanceId, status: 'FAILED', result: expect.stringContaining('the disk is full'),
      links: { api: `http://tempojob.test:7700/openApi/fetchInstanceInfo?instanceId=${instanceId}`, webUi: expect.stringContaining(`/workflows/tempojob-instance-${instanceId}`) },
    });
    expect(smtp.mails[0]!.to).toEqual(['ops@example.com']);
    expect(smtp.mails[0]!.data).toContain(String(instanceId));

    const deliveries = await a.data<Delivery[]>('queryAlertDeliveries', { instanceId });
    expect(deliveries.map((d) => [d.targetId, d.channel, d.status, d.event]).sort()).toEqual([
      [email, 'email', 'DELIVERED', 'INSTANCE_FAILED'], [slack, 'slack', 'DELIVERED', 'INSTANCE_FAILED'], [webhook, 'webhook', 'DELIVERED', 'INSTANCE_FAILED'],
    ].sort());
    expect(deliveries.every((d) => d.alertId === alertId && d.attempts === 1 && d.lastError === null)).toBe(true);
    expect(await b.data<unknown[]>('queryAlertDeliveries', { instanceId })).toEqual([]);
    await keepHistory('alertDeliveryWorkflow', 'three-channels-delivered', alertDeliveryWorkflowId(alertId));
  }, 60_000);

  it('retries a receiver that fails for a while (delivered once), and records a refusal as FAILED with its error', async () => {
    const before = await deliveryCounts();
    const flaky = await a.data<number>('saveAlertTarget', { name: 'flaky', webhook: { url: `${http.url}/flaky`, secret: WEBHOOK_SECRET } });
    const rejecting = await a.data<number>('saveAlertTarget', { name: 'rejecting', slack: { url: `${http.url}/reject` } });
    const jobId = await a.data<number>('saveJob', failingJob([flaky, rejecting]));
    const instanceId = await runToEnd(jobId);
    await http.next('/flaky');
    const alertId = String(http.accepted('/flaky')[0]!.headers['x-tempojob-alert-id']);
    const outcomes = await client.workflow.getHandle(alertDeliveryWorkflowId(alertId)).result() as AlertDeliveryOutcome[];
    expect(outcomes.map((o) => [o.channel, o.status])).toEqual([['webhook', 'DELIVERED'], ['slack', 'FAILED']]);
    expect(http.accepted('/flaky')).toHaveLength(1);
    expect(http.all('/flaky')).toHaveLength(3);
    expect(http.all('/reject')).toHaveLength(1);

    const deliveries = await a.data<Delivery[]>('queryAlertDeliveries', { instanceId });
    const byTarget = new Map(deliveries.map((d) => [d.targetId, d]));
    expect(byTarget.get(flaky)).toMatchObject({ status: 'DELIVERED', attempts: 3 });
    expect(byTarget.get(rejecting)).toMatchObject({ status: 'FAILED', attempts: 1, lastError: expect.stringMatching(/HTTP 400/) });
    expect(await a.data<Delivery[]>('queryAlertDeliveries', { status: 'FAILED' })).toEqual([expect.objectContaining({ targetId: rejecting, alertId })]);
    // The core worker's metrics count the same: 2 retries and 1 delivery on the webhook, 1 final failure on Slack.
    const after = await deliveryCounts();
    expect(['webhook:delivered', 'webhook:retry', 'slack:failed'].map((key) => (after.get(key) ?? 0) - (before.get(key) ?? 0))).toEqual([1, 2, 1]);
    expect(after.get('slack:delivered') ?? 0).toBe(before.get('slack:delivered') ?? 0);
    await keepHistory('alertDeliveryWorkflow', 'retried-and-refused', alertDeliveryWorkflowId(alertId));
  }, 60_000);

  it('raises nothing for a job without notifyUserIds', async () => {
    const jobId = await a.data<number>('saveJob', failingJob([]));
    const instanceId = await runToEnd(jobId);
    // The scan runs every 300 ms: a following failure that alerts proves the scan went past this one.
    http.route('/later', () => ({ status: 200 }));
    const hook = await a.data<number>('saveAlertTarget', { name: 'later', webhook: { url: `${http.url}/later`, secret: WEBHOOK_SECRET } });
    const later = await runToEnd(await a.data<number>('saveJob', failingJob([hook])));
    await http.next('/later');
    expect(await a.data<Delivery[]>('queryAlertDeliveries', { instanceId })).toEqual([]);
    expect((await a.data<Delivery[]>('queryAlertDeliveries', { instanceId: later })).map((d) => d.targetId)).toEqual([hook]);
  }, 60_000);
});

describe('WF_INSTANCE_FAILED', () => {
  it('alerts the targets of a workflow whose instance failed, and refuses another app\'s target in its notifyUserIds', async () => {
    http.route('/wf', () => ({ status: 200 }));
    const target = await a.data<number>('saveAlertTarget', { name: 'wf-oncall', webhook: { url: `${http.url}/wf`, secret: WEBHOOK_SECRET } });
    const jobId = await a.data<number>('saveJob', failingJob([], { instanceRetryNum: 0 }));
    const nodeId = (await a.data<{ id: number }[]>('addWorkflowNode', [{ type: 1, jobId }]))[0]!.id;
    const workflow = { wfName: 'nightly-dag', timeExpressionType: 'API', dag: { nodes: [{ nodeId }], edges: [] } };
    const foreign = await b.data<number>('saveAlertTarget', { name: 'b-oncall', email: 'b@example.com' });
    const refused = await a.call('saveWorkflow', { ...workflow, notifyUserIds: [foreign] });
    expect(refused.body.message).toMatch(new RegExp(`notifyUserIds ${foreign}: no such alert target in this app`));
    const workflowId = await a.data<number>('saveWorkflow', { ...workflow, notifyUserIds: [target] });
    const wfInstanceId = await a.data<number>('runWorkflow', { workflowId }, { form: true });
    await client.workflow.getHandle(`tempojob-wf-instance-${wfInstanceId}`).result();
    await http.next('/wf');
    const alert = JSON.parse(http.accepted('/wf')[0]!.body) as Record<string, unknown>;
    expect(alert).toMatchObject({ event: 'WF_INSTANCE_FAILED', workflowId, wfInstanceId, status: 'FAILED', title: expect.stringContaining('nightly-dag') });
    await client.workflow.getHandle(alertDeliveryWorkflowId(String(alert.id))).result();
    expect(http.all('/wf')).toHaveLength(1);
    expect(await a.data<Delivery[]>('queryAlertDeliveries', { wfInstanceId })).toEqual([
      expect.objectContaining({ event: 'WF_INSTANCE_FAILED', targetId: target, channel: 'webhook', status: 'DELIVERED' }),
    ]);
  }, 60_000);
});

describe('alarmConfig (FAILURE_THRESHOLD)', () => {
  it('alerts once when the threshold is reached within the window, then stays silent', async () => {
    http.route('/threshold', () => ({ status: 200 }));
    const target = await a.data<number>('saveAlertTarget', { name: 'threshold', webhook: { url: `${http.url}/threshold`, secret: WEBHOOK_SECRET } });
    const jobId = await a.data<number>('saveJob', failingJob([target], {
      instanceRetryNum: 0, alarmConfig: { alertThreshold: 2, statisticWindowLen: 600, silenceWindowLen: 600 },
    }));
    const first = await runToEnd(jobId);
    const second = await runToEnd(jobId);
    await http.next('/threshold');
    const alertId = String(http.accepted('/threshold')[0]!.headers['x-tempojob-alert-id']);
    expect(alertId).toMatch(new RegExp(`^FAILURE_THRESHOLD:${jobId}:${second}:`));
    await client.workflow.getHandle(alertDeliveryWorkflowId(alertId)).result();
    // A third failure is inside the silence: the next alerting failure of another job proves the scan saw it.
    const third = await runToEnd(jobId);
    const probe = await runToEnd(await a.data<number>('saveJob', failingJob([target], { instanceRetryNum: 0 })));
    await http.next('/threshold', 2);
    const events = http.accepted('/threshold').map((r) => (JSON.parse(r.body) as { event: string; instanceId: number }));
    expect(events).toEqual([
      expect.objectContaining({ event: 'FAILURE_THRESHOLD', instanceId: second }),
      expect.objectContaining({ event: 'INSTANCE_FAILED', instanceId: probe }),
    ]);
    for (const instanceId of [first, third]) expect(await a.data<Delivery[]>('queryAlertDeliveries', { instanceId })).toEqual([]);
  }, 60_000);
});

describe('BROADCAST_SHARE_LOST', () => {
  it('alerts once for the share of a worker SIGKILLed mid-broadcast, naming the worker', { timeout: 120_000 }, async () => {
    const { appName, api } = await newApp('alerts-c');
    http.route('/lost', () => ({ status: 200 }));
    const target = await api.data<number>('saveAlertTarget', { name: 'lost', webhook: { url: `${http.url}/lost`, secret: WEBHOOK_SECRET } });
    const recordFile = join(dir, 'broadcast.jsonl');
    // The victim runs in its own process (test/fixtures/broadcast-worker.ts), its share held by a gate file.
    const victim = spawnTs('test/fixtures/broadcast-worker.ts', {
      TEMPORAL_ADDRESS: inject('temporalAddress'), RECORD_FILE: recordFile, RECORD_APP: appName, RECORD_WORKER_ID: 'doomed',
    }, /broadcast worker .* ready/);
    const survivor = await createWorker({
      appName, workerId: 'survivor', connection, shutdownGraceMs: 0,
      processors: { gatedBroadcast: { process: () => ({ success: true, msg: 'done on survivor' }), postProcess: (_ctx, results) => defaultBroadcastResult(results) } },
    });
    const survivorDone = survivor.run();
    try {
      await victim.ready;
      await eventually(() => liveAppWorkers(client, appName), (live) => live.length === 2, 30_000);
      const jobId = await api.data<number>('saveJob', {
        jobName: 'cluster-wide', timeExpressionType: 'API', executeType: 'BROADCAST', processorType: 'BUILT_IN', processorInfo: 'gatedBroadcast', notifyUserIds: [target],
      });
      const gate = join(dir, 'never-opened.gate');
      const instanceId = await api.data<number>('runJob', { jobId, instanceParams: JSON.stringify({ gate }) }, { form: true });
      await eventually(async () => (existsSync(recordFile) ? readFileSync(recordFile, 'utf8') : ''), (text) => text.includes('"process-start"'), 30_000);
      await victim.kill();
      await client.workflow.getHandle(`tempojob-instance-${instanceId}`).result();

      await http.next('/lost', 2);
      const alerts = http.accepted('/lost').map((r) => JSON.parse(r.body) as { id: string; event: string; instanceId: number; result: string; title: string });
      const lost = alerts.filter((alert) => alert.event === 'BROADCAST_SHARE_LOST');
      expect(lost).toEqual([expect.objectContaining({
        instanceId, result: 'worker lost: doomed stopped heartbeating', title: expect.stringContaining('lost its share on worker doomed'),
      })]);
      expect(alerts.filter((alert) => alert.event === 'INSTANCE_FAILED').map((alert) => alert.instanceId)).toEqual([instanceId]);
      for (const alert of alerts) await client.workflow.getHandle(alertDeliveryWorkflowId(alert.id)).result();
      expect(http.all('/lost')).toHaveLength(2);
      expect((await api.data<Delivery[]>('queryAlertDeliveries', { instanceId })).map((d) => [d.event, d.status]).sort()).toEqual([
        ['BROADCAST_SHARE_LOST', 'DELIVERED'], ['INSTANCE_FAILED', 'DELIVERED'],
      ]);
    } finally {
      await victim.kill();
      await survivor.shutdown();
      await survivorDone;
    }
  });
});

describe('MISFIRE_SKIPPED', () => {
  it('alerts the fires a SKIP policy dropped, each fire in one alert only, with links to the job', { timeout: 60_000 }, async () => {
    http.route('/misfire', () => ({ status: 200 }));
    const target = await a.data<number>('saveAlertTarget', { name: 'misfire', webhook: { url: `${http.url}/misfire`, secret: WEBHOOK_SECRET } });
    // A one-second CRON whose every fire is later than its threshold (0 ms): SKIP drops each one.
    const jobId = await a.data<number>('saveJob', {
      jobName: 'every-second', timeExpressionType: 'CRON', timeExpression: '* * * * * ?', executeType: 'STANDALONE', processorType: 'BUILT_IN',
      processorInfo: 'fail', misfirePolicy: { type: 'SKIP', thresholdMs: 0 }, notifyUserIds: [target],
    });
    const created = Date.now();
    await http.next('/misfire', 2);
    await a.data('disableJob', { jobId }, { form: true });
    const stopped = Date.now();
    const alerts = http.accepted('/misfire').map((r) => JSON.parse(r.body) as {
      id: string; event: string; jobId: number; result: string; expectedTriggerTime: number; links: { api: string; webUi: string };
    });
    for (const alert of alerts) await client.workflow.getHandle(alertDeliveryWorkflowId(alert.id)).result();
    expect(new Set(http.all('/misfire').map((r) => r.headers['x-tempojob-alert-id'])).size).toBe(http.all('/misfire').length);

    const stretches = alerts.filter((alert) => alert.event === 'MISFIRE_SKIPPED').map((alert) => {
      expect(alert).toMatchObject({
        jobId, result: expect.stringMatching(/dropped by misfire policy SKIP \(later than 0 ms\)$/),
        links: { api: `http://tempojob.test:7700/openApi/fetchJob?jobId=${jobId}`, webUi: `http://temporal-ui.test:8233/namespaces/default/schedules/tempojob-job-${jobId}` },
      });
      const count = /^a fire/.test(alert.result) ? 1 : Number(/^(\d+) fires/.exec(alert.result)![1]);
      return { first: alert.expectedTriggerTime, last: Number(alert.id.split(':').pop()), count };
    }).sort((x, y) => x.first - y.first);
    expect(stretches.length).toBeGreaterThanOrEqual(2);
    // No fire is in two alerts, and no alert counts more fires than were due.
    for (let i = 1; i < stretches.length; i++) expect(stretches[i]!.first).toBeGreaterThan(stretches[i - 1]!.last);
    for (const { first, last, count } of stretches) expect(count).toBeLessThanOrEqual((last - first) / 1000 + 1);
    expect(stretches.reduce((sum, s) => sum + s.count, 0)).toBeLessThanOrEqual(Math.ceil((stopped - created) / 1000) + 1);

    const dropped = client.workflow.list({ query: `${SA.status.name} = '${MISFIRE_DROPPED}' AND ${SA.jobId.name} = ${jobId}` });
    for await (const run of dropped) {
      await keepHistory('scheduledRunWorkflow', 'misfire-dropped-visible', run.workflowId);
      break;
    }
  });
});

describe('the scan', () => {
  it('runs as one long-lived workflow per core queue', async () => {
    const description = await client.workflow.getHandle(scanWorkflowId).describe();
    expect(description.status.name).toBe('RUNNING');
    await keepHistory('alertScanWorkflow', 'scanning', scanWorkflowId);
  });
});
