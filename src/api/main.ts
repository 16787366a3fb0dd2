/**
 * The API as its own process (production, replicas):
 * `TEMPORAL_ADDRESS=host:7233 TEMPOJOB_JWT_SECRET=… tsx src/api/main.ts`.
 * Replicas are interchangeable: they keep no state of their own (instance logs go to the
 * PostgreSQL database of TEMPOJOB_LOG_DATABASE_URL, which they share).
 */
import { ConfigError, loadConfig, parseSeedApps } from '../config.js';
import { closeServer, startApi } from './server.js';
import { connectClient, ensureSearchAttributes, targetOf } from '../temporal/connection.js';
import { tracingFromEnv } from '../tracing/index.js';

async function main(): Promise<void> {
  const config = loadConfig();
  if (!config.TEMPOJOB_JWT_SECRET) {
    throw new ConfigError('TEMPOJOB_JWT_SECRET is required when the API runs on its own (all replicas must share it)');
  }
  const client = await connectClient(targetOf(config));
  await ensureSearchAttributes(client);
  const tracing = await tracingFromEnv('api', config);
  const api = await startApi({ client, config, jwtSecret: config.TEMPOJOB_JWT_SECRET, ...(tracing ? { tracing } : {}) });
  await api.apps.seed(parseSeedApps(config.TEMPOJOB_APPS));
  if (!config.TEMPOJOB_LOG_DATABASE_URL) {
    console.warn(`instance logs are kept ${config.TEMPOJOB_LOG_DIR ? `in ${config.TEMPOJOB_LOG_DIR}` : 'in memory'} by this replica alone: `
      + 'set TEMPOJOB_LOG_DATABASE_URL (PostgreSQL) when running more than one replica or to keep logs across restarts');
  }
  console.log(`API ready on ${api.url}${tracing ? `, tracing as ${tracing.serviceName}` : ''}; Prometheus metrics at ${api.url}/metrics (${config.TEMPOJOB_METRICS_PUBLIC ? 'no token'
    : config.TEMPOJOB_ADMIN_TOKEN ? 'Authorization: Bearer $TEMPOJOB_ADMIN_TOKEN' : 'off until TEMPOJOB_ADMIN_TOKEN is set'})`);
  const stop = async () => {
    await closeServer(api.server);
    await tracing?.shutdown();
    await client.connection.close();
    process.exit(0);
  };
  process.on('SIGINT', () => void stop());
  process.on('SIGTERM', () => void stop());
}

main().catch((err: unknown) => {
  console.error(err instanceof ConfigError ? err.message : err);
  process.exit(1);
});
