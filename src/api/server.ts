import type { Server } from 'node:http';
import type { Client } from '@temporalio/client';
import { createApi } from './app.js';
import type { Config } from '../config.js';
import type { TempojobMetrics } from '../metrics/metrics.js';
import { type LogStore, openLogStore } from '../logs/store.js';
import type { Tracing } from '../tracing/index.js';

/**
 * Starts the API on host:port; resolves once it listens. Its log store (TEMPOJOB_LOG_DATABASE_URL,
 * else the embedded one in TEMPOJOB_LOG_DIR, else in memory) is opened first, with its
 * migrations applied, and closed with the server.
 */
export async function startApi(options: {
  client: Client;
  config: Config;
  jwtSecret: string;
  port?: number;
  ready?: () => Promise<boolean>;
  /** What GET /metrics serves (default: this process's metrics). */
  metrics?: TempojobMetrics | false;
  /** Request spans and traced workflow starts (src/tracing); the caller shuts it down. */
  tracing?: Tracing;
  /** Temporal's Web UI for the console's links (default TEMPOJOB_WEB_UI_URL). */
  webUiUrl?: string;
}): Promise<{ server: Server; url: string; apps: ReturnType<typeof createApi>['apps']; logStore: LogStore }> {
  const { config } = options;
  const logStore = await openLogStore({
    ...(config.TEMPOJOB_LOG_DATABASE_URL ? { url: config.TEMPOJOB_LOG_DATABASE_URL } : {}),
    ...(config.TEMPOJOB_LOG_DIR ? { dataDir: config.TEMPOJOB_LOG_DIR } : {}),
  });
  const { app, apps } = createApi({
    client: options.client, config, jwtSecret: options.jwtSecret, logStore, ready: options.ready,
    ...(options.metrics !== undefined ? { metrics: options.metrics } : {}),
    ...(options.tracing ? { tracing: options.tracing } : {}),
    ...(options.webUiUrl ? { webUiUrl: options.webUiUrl } : {}),
  });
  const port = options.port ?? options.config.TEMPOJOB_PORT;
  const server = await new Promise<Server>((resolveListen, reject) => {
    const listening = app.listen(port, options.config.TEMPOJOB_HOST, () => resolveListen(listening));
    listening.once('error', reject);
  }).catch(async (err: unknown) => {
    await logStore.close();
    throw err;
  });
  server.once('close', () => void logStore.close());
  const address = server.address();
  const actualPort = typeof address === 'object' && address ? address.port : port;
  return { server, url: `http://127.0.0.1:${actualPort}`, apps, logStore };
}

export function closeServer(server: Server): Promise<void> {
  return new Promise((resolveClose) => {
    server.close(() => resolveClose());
    server.closeAllConnections();
  });
}
