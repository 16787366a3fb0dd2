/**
 * `npm start`: the whole embedded stack in one command — Temporal dev server (SQLite file
 * in the data folder, Web UI), core worker, demo processor worker and the API.
 * Ctrl-C stops everything and leaves no process behind.
 */
import { join, resolve } from 'node:path';
import { Runtime } from '@temporalio/worker';
import { ConfigError, loadConfig, parseSeedApps } from '../config.js';
import { demoProcessors } from '../demo/processors.js';
import { ensureTemporalCli } from '../temporal/cli.js';
import { connectTemporal } from '../temporal/connection.js';
import { securityOf } from '../temporal/security.js';
import { startDevServer, type DevServer } from '../temporal/dev-server.js';
import { createWorker } from '../workers/index.js';
import { tracingFromEnv } from '../tracing/index.js';
import { claimDataDir } from './data-dir-lock.js';
import { loadOrCreateSecrets } from './secrets.js';
import { closeServer, startApi } from '../api/server.js';
import { startCoreWorker } from '../core/worker.js';
import { processMetrics } from '../metrics/metrics.js';
import { installTemporalMetrics } from '../metrics/temporal-runtime.js';
import { ensureConsoleBuilt } from '../console/build.js';

const DEMO_APP = 'demo';

async function main(): Promise<void> {
  const config = loadConfig();
  const dataDir = resolve(config.TEMPOJOB_DATA_DIR);
  const secrets = loadOrCreateSecrets(dataDir);
  const dataDirLock = claimDataDir(dataDir);
  process.on('exit', () => dataDirLock.release());
  const cleanups: (() => Promise<void>)[] = [];
  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    console.log(`\n${signal}: stopping tempojob…`);
    for (const cleanup of cleanups.reverse()) {
      await cleanup().catch((err: unknown) => console.error('while stopping:', (err as Error).message));
    }
    console.log('Stopped.');
    process.exit(0);
  };
  process.on('SIGINT', () => void stop('SIGINT'));
  process.on('SIGTERM', () => void stop('SIGTERM'));
  if (config.TEMPOJOB_TEMPORAL_METRICS_ADDRESS) installTemporalMetrics(config.TEMPOJOB_TEMPORAL_METRICS_ADDRESS, { shutdownSignals: [] });
  else Runtime.install({ shutdownSignals: [] });
  // One process, one registry: the API serves what the API, the core worker and the demo worker count.
  const metrics = processMetrics();

  // Built (only when its sources changed) while Temporal starts; served by the API at /console.
  const consoleBuilt = ensureConsoleBuilt({ log: (line) => console.log(`[console] ${line}`) });
  consoleBuilt.catch(() => undefined);

  let address = config.TEMPORAL_ADDRESS;
  let devServer: DevServer | undefined;
  if (!address) {
    const cliPath = await ensureTemporalCli();
    devServer = await startDevServer({
      cliPath,
      dbFile: join(dataDir, 'temporal.db'),
      port: config.TEMPORAL_PORT,
      uiPort: config.TEMPORAL_UI_PORT,
      namespace: config.TEMPORAL_NAMESPACE,
      // The dev server's own shutdown chatter is noise once we are stopping.
      log: (line) => { if (!stopping) console.log(`[temporal] ${line}`); },
    });
    const server = devServer;
    cleanups.push(() => server.stop());
    address = devServer.address;
  }
  // An external Temporal may want TLS or an API key; the embedded dev server speaks plain.
  const security = devServer ? undefined : securityOf(config);
  const temporal = await connectTemporal({ address, namespace: config.TEMPORAL_NAMESPACE, ...(security ? { security } : {}) });
  cleanups.push(() => temporal.close());
  const { client, connection } = temporal;

  // With an OTLP endpoint, each part traces as its own service (docs/tracing.md); the demo worker reads the same variables.
  const apiTracing = await tracingFromEnv('api', config);
  const coreTracing = await tracingFromEnv('core-worker', config);
  for (const tracing of [apiTracing, coreTracing]) if (tracing) cleanups.push(() => tracing.shutdown());

  const jwtSecret = config.TEMPOJOB_JWT_SECRET ?? secrets.jwtSecret;
  const adminToken = config.TEMPOJOB_ADMIN_TOKEN ?? secrets.adminToken;
  let ready = false;
  const webUiUrl = config.TEMPOJOB_WEB_UI_URL ?? (devServer ? `http://127.0.0.1:${config.TEMPORAL_UI_PORT}` : undefined);
  const api = await startApi({
    client,
    config: { ...config, TEMPOJOB_ADMIN_TOKEN: adminToken, TEMPOJOB_LOG_DIR: config.TEMPOJOB_LOG_DIR ?? join(dataDir, 'logs') },
    jwtSecret,
    ready: async () => ready,
    metrics,
    ...(apiTracing ? { tracing: apiTracing } : {}),
    ...(webUiUrl ? { webUiUrl } : {}),
  });
  cleanups.push(() => closeServer(api.server));
  // After the API: it purges the API's log store, so it stops (cleanups run in reverse) before that store closes.
  // Alerting works out of the box: links point at this API and the dev server's Web UI (email only with TEMPOJOB_SMTP_URL).
  const alertLinks = {
    TEMPOJOB_PUBLIC_API_URL: config.TEMPOJOB_PUBLIC_API_URL ?? api.url,
    ...(webUiUrl ? { TEMPOJOB_WEB_UI_URL: webUiUrl } : {}),
  };
  const core = await startCoreWorker({
    connection, client, config: { ...config, ...alertLinks }, logStore: api.logStore, metrics, ...(coreTracing ? { tracing: coreTracing } : {}),
  });
  cleanups.push(async () => { core.worker.shutdown(); await core.done; });

  const seeds = parseSeedApps(config.TEMPOJOB_APPS);
  if (!seeds.some((seed) => seed.appName === DEMO_APP) && !(await api.apps.byName(DEMO_APP))) {
    seeds.push({ appName: DEMO_APP, password: secrets.demoPassword });
  }
  await api.apps.seed(seeds);

  const demoPassword = seeds.find((seed) => seed.appName === DEMO_APP)?.password ?? secrets.demoPassword;
  const demo = await createWorker({
    appName: DEMO_APP, processors: demoProcessors, connection, namespace: config.TEMPORAL_NAMESPACE, workerId: 'demo-worker',
    logs: { apiUrl: api.url, password: demoPassword },
    metrics: { into: metrics },
    // Installed above with the Runtime, for the whole process.
    temporalMetricsAddress: '',
  });
  const demoDone = demo.run();
  cleanups.push(async () => { await demo.shutdown(); await demoDone; });
  await consoleBuilt;
  ready = true;

  console.log(`
tempojob is running.
  Console    ${api.url}/console   (sign in with an app's name and password, e.g. the demo app below)
  API        ${api.url}   (PowerJob OpenAPI at /openApi/*, health at /healthz)
  Temporal   ${address}${devServer ? `   Web UI http://127.0.0.1:${config.TEMPORAL_UI_PORT}` : ''}
  Alerts     targets: saveAlertTarget; email ${config.TEMPOJOB_SMTP_URL ? 'through TEMPOJOB_SMTP_URL' : 'off (set TEMPOJOB_SMTP_URL)'}; webhook, Slack, Lark, DingTalk, WeCom on
  Demo app   name "${DEMO_APP}", password in ${join(dataDir, 'secrets.json')} (demoPassword) unless TEMPOJOB_APPS sets it
  Admin      Authorization: Bearer <adminToken from ${join(dataDir, 'secrets.json')}> unless TEMPOJOB_ADMIN_TOKEN is set
  Metrics    ${api.url}/metrics   (Prometheus; ${config.TEMPOJOB_METRICS_PUBLIC ? 'no token' : 'the admin token as bearer token'})${
  config.TEMPOJOB_TEMPORAL_METRICS_ADDRESS ? `; Temporal SDK metrics at http://${config.TEMPOJOB_TEMPORAL_METRICS_ADDRESS}/metrics` : ''}${
  apiTracing ? `\n  Traces     OTLP/HTTP to ${config.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT ?? config.OTEL_EXPORTER_OTLP_ENDPOINT}` : ''}
Press Ctrl-C to stop.`);
}

main().catch((err: unknown) => {
  console.error(err instanceof ConfigError ? err.message : err);
  process.exit(1);
});
