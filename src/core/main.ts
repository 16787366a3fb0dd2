/**
 * The core worker as its own process (production, replicas, tests):
 * `TEMPORAL_ADDRESS=host:7233 tsx src/core/main.ts`. SIGINT/SIGTERM drain it.
 */
import { readFileSync } from 'node:fs';
import { ConfigError, loadConfig } from '../config.js';
import { openLogStore } from '../logs/store.js';
import { connectTemporal, targetOf } from '../temporal/connection.js';
import { tracingFromEnv } from '../tracing/index.js';
import { startCoreWorker } from './worker.js';

async function main(): Promise<void> {
  const config = loadConfig();
  const target = targetOf(config);
  const { client, connection, close } = await connectTemporal(target);
  // Only a shared PostgreSQL: an embedded store's folder belongs to the API process that writes it.
  const logStore = config.TEMPOJOB_LOG_DATABASE_URL ? await openLogStore({ url: config.TEMPOJOB_LOG_DATABASE_URL }) : undefined;
  const tracing = await tracingFromEnv('core-worker', config);
  const { done } = await startCoreWorker({
    connection,
    client,
    config,
    ...(logStore ? { logStore } : {}),
    ...(tracing ? { tracing } : {}),
    ...(config.TEMPOJOB_WORKFLOW_BUNDLE ? { workflowBundle: { code: readFileSync(config.TEMPOJOB_WORKFLOW_BUNDLE, 'utf8') } } : {}),
  });
  console.log(`core worker ready on task queue ${config.TEMPOJOB_CORE_TASK_QUEUE} at ${target.address}${tracing ? `, tracing as ${tracing.serviceName}` : ''}`);
  await done;
  await tracing?.shutdown();
  await logStore?.close();
  await close();
}

main().catch((err: unknown) => {
  console.error(err instanceof ConfigError ? err.message : err);
  process.exit(1);
});
