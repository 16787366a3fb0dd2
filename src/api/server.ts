import type { Server } from 'node:http';
import type { Client } from '@temporalio/client';
import { createApi } from './app.js';
import type { Config } from '../config.js';

/** Starts the API on host:port; resolves once it listens. */
export async function startApi(options: {
  client: Client;
  config: Config;
  jwtSecret: string;
  port?: number;
  ready?: () => Promise<boolean>;
}): Promise<{ server: Server; url: string; apps: ReturnType<typeof createApi>['apps'] }> {
  const { app, apps } = createApi({ client: options.client, config: options.config, jwtSecret: options.jwtSecret, ready: options.ready });
  const port = options.port ?? options.config.TEMPOJOB_PORT;
  const server = await new Promise<Server>((resolveListen, reject) => {
    const listening = app.listen(port, options.config.TEMPOJOB_HOST, () => resolveListen(listening));
    listening.once('error', reject);
  });
  const address = server.address();
  const actualPort = typeof address === 'object' && address ? address.port : port;
  return { server, url: `http://127.0.0.1:${actualPort}`, apps };
}

export function closeServer(server: Server): Promise<void> {
  return new Promise((resolveClose) => {
    server.close(() => resolveClose());
    server.closeAllConnections();
  });
}
