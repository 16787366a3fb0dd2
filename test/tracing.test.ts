import { randomBytes } from 'node:crypto';
import { readFileSync, readdirSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { Worker } from '@temporalio/worker';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { closeServer, startApi } from '../src/api/server.js';
import { loadConfig } from '../src/config.js';
import { instanceWorkflowId } from '../src/contract/names.js';
import type { InstanceWorkflow } from '../src/contract/workflows.js';
import { bundleCoreWorkflows, bundleTraces } from '../src/core/worker.js';
import { connectTemporal, targetOf, type TemporalConnections } from '../src/temporal/connection.js';
import { DEFAULT_SERVICE_NAMES, type Tracing, startTracing, tracingSettingsOf } from '../src/tracing/index.js';
import { createWorker, type ProcessorWorker } from '../src/workers/index.js';
import { OpenApiCaller } from './support/api-client.js';
import { historyFromJSON } from './support/history-json.js';
import { spawnTs, type ChildHandle } from './support/processes.js';
import { uniqueName } from './support/stack.js';
import { temporalTlsEnv } from './support/temporal-env.js';

/**
 * Traces (docs/tracing.md) against the real dev server: an OTLP/HTTP receiver in this test,
 * a core worker process that traces because OTEL_EXPORTER_OTLP_ENDPOINT points at it, and
 * an API and a processor worker in this process tracing to it too. The suite's shared core
 * worker (test/global-setup.ts) does not trace: this file runs its own on its own core queue.
 */

interface ReceivedSpan {
  service: string;
  traceId: string;
  spanId: string;
  parentSpanId: string;
  name: string;
  kind: number;
  attributes: Record<string, unknown>;
}

interface OtlpValue { stringValue?: string; intValue?: number | string; boolValue?: boolean; doubleValue?: number }
interface OtlpAttribute { key: string; value: OtlpValue }
interface OtlpRequest {
  resourceSpans?: {
    resource?: { attributes?: OtlpAttribute[] };
    scopeSpans?: { spans?: { traceId: string; spanId: string; parentSpanId?: string; name: string; kind: number; attributes?: OtlpAttribute[] }[] }[];
  }[];
}

const valueOf = (v: OtlpValue): unknown =>
  v.stringValue ?? (v.intValue !== undefined ? Number(v.intValue) : undefined) ?? v.boolValue ?? v.doubleValue;
const attributesOf = (list: OtlpAttribute[] = []) => Object.fromEntries(list.map((a) => [a.key, valueOf(a.value)]));

/** An OTLP/HTTP receiver: POST /v1/traces with JSON (what exporter-trace-otlp-http 0.57 sends). */
async function startReceiver() {
  const spans: ReceivedSpan[] = [];
  const bodies: string[] = [];
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      let raw = Buffer.concat(chunks);
      if (req.headers['content-encoding'] === 'gzip') raw = gunzipSync(raw);
      const text = raw.toString('utf8');
      if (req.method !== 'POST' || req.url !== '/v1/traces') {
        res.writeHead(404).end();
        return;
      }
      bodies.push(text);
      const body = JSON.parse(text) as OtlpRequest;
      for (const resourceSpan of body.resourceSpans ?? []) {
        const service = String(attributesOf(resourceSpan.resource?.attributes)['service.name']);
        for (const scope of resourceSpan.scopeSpans ?? []) {
          for (const span of scope.spans ?? []) {
            spans.push({
              service, traceId: span.traceId, spanId: span.spanId, parentSpanId: span.parentSpanId ?? '',
              name: span.name, kind: span.kind, attributes: attributesOf(span.attributes),
            });
          }
        }
      }
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  await new Promise<void>((resolveListen) => server.listen(0, '127.0.0.1', resolveListen));
  const { port } = server.address() as { port: number };
  return {
    endpoint: `http://127.0.0.1:${port}`,
    spans,
    bodies,
    close: () => new Promise<void>((resolveClose) => { server.close(() => resolveClose()); server.closeAllConnections(); }),
  };
}

/** Faster exports than the default 5 s, for this process's providers and the core worker's. */
const FAST_EXPORT = { OTEL_BSP_SCHEDULE_DELAY: '100' };

describe('tracing on: one trace from the HTTP request to the processor attempt', () => {
  let receiver: Awaited<ReturnType<typeof startReceiver>>;
  let core: ChildHandle;
  let temporal: TemporalConnections;
  let apiTracing: Tracing;
  let api: Awaited<ReturnType<typeof startApi>>;
  let worker: ProcessorWorker;
  let workerDone: Promise<void>;
  let caller: OpenApiCaller;
  let appName: string;
  let password: string;
  let jwtSecret: string;

  beforeAll(async () => {
    Object.assign(process.env, FAST_EXPORT);
    receiver = await startReceiver();
    const address = inject('temporalAddress');
    const coreQueue = uniqueName('core-traced');
    // The core worker as production runs it: its own process, tracing because the endpoint is set;
    // it bundles its workflows itself, with the tracing interceptors.
    core = spawnTs('src/core/main.ts', {
      TEMPORAL_ADDRESS: address, TEMPOJOB_CORE_TASK_QUEUE: coreQueue, OTEL_EXPORTER_OTLP_ENDPOINT: receiver.endpoint, ...FAST_EXPORT,
    }, /core worker ready.*tracing as tempojob-core-worker/);
    await core.ready;

    const config = loadConfig({ TEMPORAL_ADDRESS: address, ...temporalTlsEnv(), TEMPOJOB_CORE_TASK_QUEUE: coreQueue, TEMPOJOB_HOST: '127.0.0.1' });
    temporal = await connectTemporal(targetOf(config));
    const tracesUrl = `${receiver.endpoint}/v1/traces`;
    apiTracing = await startTracing({ tracesUrl, serviceName: DEFAULT_SERVICE_NAMES.api });
    jwtSecret = randomBytes(32).toString('hex');
    api = await startApi({ client: temporal.client, config, jwtSecret, port: 0, tracing: apiTracing });
    appName = uniqueName('traced');
    password = randomBytes(12).toString('hex');
    await api.apps.put(appName, password, 'create');
    caller = await OpenApiCaller.login(api.url, appName, password);
    worker = await createWorker({
      appName, connection: temporal.connection, shutdownGraceMs: 0,
      tracing: { tracesUrl, serviceName: DEFAULT_SERVICE_NAMES.worker },
      processors: { 'traced.echo': (ctx) => ({ success: true, msg: `echo ${ctx.instanceParams}` }) },
    });
    workerDone = worker.run();
  }, 120_000);

  afterAll(async () => {
    await worker?.shutdown();
    await workerDone;
    if (api) await closeServer(api.server);
    await apiTracing?.shutdown();
    await temporal?.close();
    if (core) {
      const stopped = core.stop('SIGTERM');
      const timeout = new Promise<'timeout'>((r) => setTimeout(() => r('timeout'), 15_000).unref());
      if ((await Promise.race([stopped, timeout])) === 'timeout') await core.kill();
    }
    await receiver?.close();
  }, 60_000);

  it('links runJob → StartWorkflow → RunWorkflow → StartActivity → RunActivity (processor) in one trace, with no secrets', async () => {
    const jobId = await caller.data<number>('saveJob', {
      jobName: 'traced', timeExpressionType: 'API', executeType: 'STANDALONE', processorType: 'BUILT_IN', processorInfo: 'traced.echo',
      jobParams: 'job-param-canary-7f3a',
    });
    const instanceId = await caller.data<number>('runJob', { jobId, instanceParams: 'instance-param-canary-91c2' }, { form: true });
    const state = await temporal.client.workflow.getHandle<InstanceWorkflow>(instanceWorkflowId(instanceId)).result();
    expect(state.status).toBe('SUCCEED');

    const request = () => receiver.spans.find((s) => s.name === 'POST /openApi/runJob');
    const inTrace = () => receiver.spans.filter((s) => s.traceId === request()?.traceId);
    const named = (name: string) => inTrace().find((s) => s.name === name);
    // Each process exports in batches: wait for the processor attempt's span to arrive.
    await expect.poll(() => named('RunActivity:runProcessor')?.name, { timeout: 20_000 }).toBe('RunActivity:runProcessor');
    await expect.poll(() => named('RunWorkflow:instanceWorkflow')?.name, { timeout: 20_000 }).toBe('RunWorkflow:instanceWorkflow');

    const http = request()!;
    expect(http).toMatchObject({ service: 'tempojob-api', kind: 2 /* SERVER */, parentSpanId: '' });
    expect(http.attributes).toMatchObject({
      'tempojob.operation': 'runJob', 'tempojob.app_id': caller.appId, 'tempojob.app': appName,
      'http.request.method': 'POST', 'http.response.status_code': 200, 'tempojob.success': true,
    });

    // From the processor's span up, each span's parent is the one before it in the chain.
    const byId = new Map(inTrace().map((s) => [s.spanId, s]));
    const chain: ReceivedSpan[] = [];
    for (let span = named('RunActivity:runProcessor'); span; span = byId.get(span.parentSpanId)) chain.unshift(span);
    expect(chain.map((s) => `${s.service} ${s.name}`)).toEqual([
      'tempojob-api POST /openApi/runJob',
      'tempojob-api StartWorkflow:instanceWorkflow',
      'tempojob-core-worker RunWorkflow:instanceWorkflow',
      'tempojob-core-worker StartActivity:runProcessor',
      'tempojob-worker RunActivity:runProcessor',
    ]);
    expect(chain[1]!.attributes['temporalWorkflowId']).toBe(instanceWorkflowId(instanceId));
    expect(chain[4]!.attributes).toMatchObject({
      'tempojob.app': appName, 'tempojob.job_id': jobId, 'tempojob.instance_id': instanceId,
      'tempojob.processor': 'traced.echo', 'tempojob.attempt': 1, 'temporalWorkflowId': instanceWorkflowId(instanceId),
    });

    // No secret in any span of any process: not the app's password or token, not the JWT
    // secret, not the job's or instance's parameters (which may hold secrets of users').
    const everything = receiver.bodies.join('\n');
    const secrets = { password, token: caller.token, jwtSecret, jobParams: 'job-param-canary-7f3a', instanceParams: 'instance-param-canary-91c2' };
    const leaks = Object.entries(secrets).filter(([, secret]) => everything.includes(secret))
      .map(([name, secret]) => `${name}: …${everything.slice(Math.max(0, everything.indexOf(secret) - 300), everything.indexOf(secret) + 40)}…`);
    expect(leaks, 'secrets in exported spans').toEqual([]);
    const keys = new Set(receiver.spans.flatMap((s) => Object.keys(s.attributes)));
    expect([...keys].filter((key) => /token|password|secret|authori[sz]ation|cookie|params/i.test(key))).toEqual([]);

    // A traced caller's trace continues here: its W3C traceparent is the request span's parent.
    const upstream = { traceId: '4bf92f3577b34da6a3ce929d0e0e4736', spanId: '00f067aa0ba902b7' };
    await caller.data('fetchInstanceInfo', { instanceId }, { headers: { traceparent: `00-${upstream.traceId}-${upstream.spanId}-01` } });
    const continued = () => receiver.spans.find((s) => s.traceId === upstream.traceId && s.name === 'POST /openApi/fetchInstanceInfo');
    await expect.poll(() => continued()?.parentSpanId, { timeout: 20_000 }).toBe(upstream.spanId);

    // A traced run replays on the shared bundle (tracing turned off again) and on the traced one.
    const history = await temporal.client.workflow.getHandle(instanceWorkflowId(instanceId)).fetchHistory();
    await Worker.runReplayHistory({ workflowBundle: { code: readFileSync(inject('workflowBundlePath'), 'utf8') } }, history);
  });
});

describe('tracing and replay', () => {
  it('every committed history replays with the tracing interceptors bundled', async () => {
    const bundle = await bundleCoreWorkflows({ tracing: true });
    expect(bundleTraces(bundle)).toBe(true);
    const tracing = await startTracing({ tracesUrl: 'http://127.0.0.1:9/v1/traces', serviceName: 'replay' });
    try {
      const dir = join(import.meta.dirname, 'histories');
      const files = readdirSync(dir, { recursive: true, encoding: 'utf8' }).filter((f) => f.endsWith('.json')).sort();
      const histories = files.map((file) => {
        const json = JSON.parse(readFileSync(join(dir, file), 'utf8')) as { workflowId?: string; events: unknown[] };
        return { workflowId: json.workflowId ?? `replay-${file}`, history: historyFromJSON(json) };
      });
      const failed: string[] = [];
      let index = 0;
      for await (const result of Worker.runReplayHistories({ workflowBundle: bundle, ...tracing.workerOptions({ workflows: true }) }, histories)) {
        if (result.error) failed.push(`${files[index]}: ${result.error.message}`);
        index++;
      }
      expect(index).toBe(files.length);
      expect(failed).toEqual([]);
    } finally {
      await tracing.shutdown();
    }
  }, 120_000);

  it('stops cleanly when the backend is down: the last spans are lost, the stop is not', async () => {
    const tracing = await startTracing({ tracesUrl: 'http://127.0.0.1:9/v1/traces', serviceName: 'unreachable' });
    tracing.tracer.startSpan('lost').end();
    await expect(tracing.shutdown()).resolves.toBeUndefined();
  });
});

describe('tracing off (the default) costs nothing', () => {
  it('no endpoint: no settings, no interceptors, no tracing module in the shared bundle', async () => {
    for (const component of ['api', 'core-worker', 'worker'] as const) expect(tracingSettingsOf(component, loadConfig({}))).toBeUndefined();
    // The standard switches turn it off even with an endpoint.
    expect(tracingSettingsOf('api', loadConfig({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4318', OTEL_SDK_DISABLED: 'true' }))).toBeUndefined();
    expect(tracingSettingsOf('api', loadConfig({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4318', OTEL_TRACES_EXPORTER: 'none' }))).toBeUndefined();
    expect(tracingSettingsOf('worker', loadConfig({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4318/' }))).toEqual({ tracesUrl: 'http://c:4318/v1/traces', serviceName: 'tempojob-worker' });
    expect(tracingSettingsOf('api', loadConfig({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4318', OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'http://t/x', OTEL_SERVICE_NAME: 'mine' })))
      .toEqual({ tracesUrl: 'http://t/x', serviceName: 'mine' });

    // What the suite's core worker runs: built without tracing, not a byte of the interceptors.
    const shared = readFileSync(inject('workflowBundlePath'), 'utf8');
    expect(bundleTraces({ code: shared })).toBe(false);
    expect(shared.includes('_tracer-data')).toBe(false);

    // A processor worker with no endpoint in its environment installs no interceptor or sink.
    const plain = await createWorker({ appName: uniqueName('untraced'), address: inject('temporalAddress'), shutdownGraceMs: 0, processors: { p: () => ({ success: true }) } });
    expect(plain.worker.options.interceptors.activity).toEqual([]);
    expect(Object.keys(plain.worker.options.sinks ?? {})).not.toContain('exporter');
    const done = plain.run();
    await plain.shutdown();
    await done;
  });

  it('a process set up as the API, core worker and processor worker loads no OpenTelemetry SDK, exporter or interceptor without an endpoint', async () => {
    const loads = async (env: Record<string, string>) => {
      const child = spawnTs('test/fixtures/tracing-loads.ts', env, /LOADS \{.*\}\n/);
      let out = '';
      child.child.stdout!.on('data', (chunk: Buffer) => { out += chunk.toString(); });
      await child.ready;
      await child.stop();
      return JSON.parse(/LOADS (\{.*\})/.exec(out)![1]!) as { started: number; loaded: string[] };
    };
    expect(await loads({ OTEL_EXPORTER_OTLP_ENDPOINT: '', OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: '' }), 'empty is unset').toEqual({ started: 0, loaded: [] });
    // The same probe sees them when tracing is on, so an empty list above means something.
    const on = await loads({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:9' });
    expect(on.started).toBe(3);
    expect(on.loaded.some((file) => file.includes('sdk-trace-base'))).toBe(true);
  });
});
