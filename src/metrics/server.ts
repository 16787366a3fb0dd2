import { timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { TempojobMetrics } from './metrics.js';

/** Whether a request carries `Authorization: Bearer <token>` (always true without a token). */
export function bearerMatches(header: string | undefined, token: string | undefined): boolean {
  if (!token) return true;
  if (!header?.startsWith('Bearer ')) return false;
  const given = Buffer.from(header.slice(7).trim());
  const expected = Buffer.from(token);
  return given.length === expected.length && timingSafeEqual(given, expected);
}

/** Answers GET /metrics with the registry's text exposition; 401 without the bearer token when one is set. */
export function metricsRequestHandler(metrics: TempojobMetrics, token?: string) {
  return async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const path = (req.url ?? '/').split('?')[0];
    if (req.method !== 'GET' || path !== '/metrics') {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('only GET /metrics here\n');
      return;
    }
    if (!bearerMatches(req.headers.authorization, token)) {
      res.writeHead(401, { 'content-type': 'text/plain', 'www-authenticate': 'Bearer' }).end('send Authorization: Bearer <token>\n');
      return;
    }
    try {
      const { contentType, body } = await metrics.exposition();
      res.writeHead(200, { 'content-type': contentType }).end(body);
    } catch (err) {
      res.writeHead(500, { 'content-type': 'text/plain' }).end(`metrics failed: ${(err as Error).message}\n`);
    }
  };
}

export interface MetricsServer {
  /** http://host:port/metrics */
  url: string;
  port: number;
  close(): Promise<void>;
}

/** Serves `GET /metrics` of `metrics` on its own port (core and processor worker processes). Port 0 = any free port. */
export async function serveMetrics(metrics: TempojobMetrics, { port, host = '0.0.0.0', token }: { port: number; host?: string; token?: string | undefined }): Promise<MetricsServer> {
  const handler = metricsRequestHandler(metrics, token);
  const server = createServer((req, res) => void handler(req, res));
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => { server.off('error', reject); resolve(); });
  });
  // Scrapes must never keep a process alive that is otherwise done.
  server.unref();
  const bound = (server.address() as AddressInfo).port;
  const shown = host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host;
  return {
    url: `http://${shown}:${bound}/metrics`,
    port: bound,
    close: () => new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
}
