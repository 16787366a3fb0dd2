/**
 * The core worker as its own process (production, replicas, tests):
 * `TEMPORAL_ADDRESS=host:7233 tsx src/core/main.ts`. SIGINT/SIGTERM drain it.
 */
import { readFileSync } from 'node:fs';
import { ConfigError, loadConfig } from '../config.js';
import { openLogStore } from '../logs/store.js';
import { processMetrics } from '../metrics/metrics.js';
import { serveMetrics } from '../metrics/server.js';
import { installTemporalMetrics } from '../metrics/temporal-runtime.js';
import { connectTemporal, targetOf } from '../temporal/connection.js';
import { tracingFromEnv } from '../tracing/index.js';
import { startCoreWorker } from './worker.js';

async function main(): Promise<void> {
  const config = loadConfig();
  // Before anything touches Temporal's Runtime: its Prometheus exporter is set when it is installed.
  if (config.TEMPOJOB_TEMPORAL_METRICS_ADDRESS) {
    installTemporalMetrics(config.TEMPOJOB_TEMPORAL_METRICS_ADDRESS);
    console.log(`Temporal SDK metrics at http://${config.TEMPOJOB_TEMPORAL_METRICS_ADDRESS}/metrics`);
  }
  const metrics = processMetrics();
  const metricsServer = config.TEMPOJOB_METRICS_PORT === undefined ? undefined : await serveMetrics(metrics, {
    port: config.TEMPOJOB_METRICS_PORT,
    host: config.TEMPOJOB_METRICS_HOST,
    token: config.TEMPOJOB_METRICS_TOKEN ?? config.TEMPOJOB_ADMIN_TOKEN,
  });
  if (metricsServer) console.log(`core worker metrics at ${metricsServer.url}`);
  const target = targetOf(config);
  const { client, connection, close } = await connectTemporal(target);
  // Only a shared PostgreSQL: an embedded store's folder belongs to the API process that writes it.
  const logStore = config.TEMPOJOB_LOG_DATABASE_URL ? await openLogStore({ url: config.TEMPOJOB_LOG_DATABASE_URL }) : undefined;
  const tracing = await tracingFromEnv('core-worker', config);
  const { done } = await startCoreWorker({
    connection,
    client,
    config,
    metrics,
    ...(logStore ? { logStore } : {}),
    ...(tracing ? { tracing } : {}),
    ...(config.TEMPOJOB_WORKFLOW_BUNDLE ? { workflowBundle: { code: readFileSync(config.TEMPOJOB_WORKFLOW_BUNDLE, 'utf8') } } : {}),
  });
  console.log(`core worker ready on task queue ${config.TEMPOJOB_CORE_TASK_QUEUE} at ${target.address}${tracing ? `, tracing as ${tracing.serviceName}` : ''}`);
  await done;
  await tracing?.shutdown();
  await logStore?.close();
  await metricsServer?.close();
  await close();
}

main().catch((err: unknown) => {
  console.error(err instanceof ConfigError ? err.message : err);
  process.exit(1);
});
