import { appendFileSync } from 'node:fs';
import { request, createServer, type Server } from 'node:http';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Client } from '@temporalio/client';
import { AppService } from '../../../src/api/app-service.js';
import type { AppRecord } from '../../../src/contract/workflows.js';
import { freePort } from '../../support/ports.js';
import { spawnNode, type NodeProcess } from './node-process.js';

/**
 * The cluster run (vitest.cluster.config.ts): the feature suites talk to API replicas that
 * run as their own processes against the PostgreSQL-backed Temporal cluster, and every
 * HTTP request of a test goes to the next replica in turn.
 */

export interface ClusterContext {
  /** Base URLs of the API replica processes. */
  apiUrls: string[];
  /** The HMAC secret every replica signs access tokens with. */
  jwtSecret: string;
  coreTaskQueue: string;
  /** The app served by the topology's three recording processor workers. */
  recorder: { appName: string; password: string; recordFile: string; workerIds: string[] };
  /** Where each test stack appends how many requests each replica served. */
  statsFile: string;
  /** The environment the API replicas run with, and where their logs go. */
  apiEnv: Record<string, string>;
  logDir: string;
}

declare module 'vitest' {
  export interface ProvidedContext {
    /** Set only in the cluster run. */
    cluster?: ClusterContext;
  }
}

/**
 * How long an app write (create, password change) may take to reach every API replica:
 * each replica caches the app table for 1 s (CACHE_MS in src/api/app-service.ts). A miss
 * and a token newer than the cache re-read at once, but a token issued *before* a password
 * change stays valid on another replica for up to that second; the suites expect a change
 * to be visible on the next call, so in the cluster run an app write returns after it.
 */
export const APP_PROPAGATION_MS = Number(process.env.TEMPOJOB_TEST_APP_PROPAGATION_MS ?? 1_100);

export interface RoundRobinProxy {
  url: string;
  /** Requests forwarded to each target, in the order of `targets`. */
  counts: number[];
  close(): Promise<void>;
}

/**
 * A tiny HTTP proxy that sends each request to the next target in turn, passing status,
 * headers (with their exact spelling) and bodies through unchanged. Tests keep one base
 * URL, and consecutive calls (login, then use the token; write, then read) land on
 * different replicas.
 */
export async function startRoundRobinProxy(targets: string[], options: { holdAdminWritesMs?: number } = {}): Promise<RoundRobinProxy> {
  const urls = targets.map((target) => new URL(target));
  const counts = targets.map(() => 0);
  let next = 0;
  const server: Server = createServer((req, res) => {
    const index = next++ % urls.length;
    counts[index]!++;
    const target = urls[index]!;
    const upstream = request(
      { host: target.hostname, port: target.port, method: req.method, path: req.url, headers: req.headers },
      (answer) => {
        const forward = () => {
          res.writeHead(answer.statusCode ?? 502, answer.statusMessage, answer.rawHeaders);
          answer.pipe(res);
        };
        const appWrite = req.method === 'POST' && req.url?.startsWith('/admin/') && (answer.statusCode ?? 500) < 300;
        if (appWrite && options.holdAdminWritesMs) setTimeout(forward, options.holdAdminWritesMs);
        else forward();
      },
    );
    upstream.on('error', (err) => {
      // A replica that is gone looks like one to the caller: the connection breaks.
      res.destroy(err);
    });
    req.pipe(upstream);
  });
  await new Promise<void>((resolveListen) => server.listen(0, '127.0.0.1', resolveListen));
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  return {
    url: `http://127.0.0.1:${port}`,
    counts,
    close: () => new Promise<void>((resolveClose) => {
      server.close(() => resolveClose());
      server.closeAllConnections();
    }),
  };
}

/**
 * The API side of a test stack in the cluster run: the topology's API replicas, behind a
 * round-robin proxy. A stack that asks for API settings of its own (`env`, e.g. a shorter
 * TEMPOJOB_HEARTBEAT_TIMEOUT_MS) gets two API replica processes of its own, started with them.
 */
export async function clusterApi(client: Client, cluster: ClusterContext, env: Record<string, string> = {}): Promise<{ url: string; apps: AppService; close(): Promise<void> }> {
  let own: NodeProcess[] = [];
  let urls = cluster.apiUrls;
  if (Object.keys(env).length > 0) {
    const ports = [await freePort(), await freePort()];
    own = ports.map((port, i) => spawnNode(`api-${port}-${i + 1}`, 'src/api/main.ts',
      { ...cluster.apiEnv, ...env, TEMPOJOB_PORT: String(port) }, /API ready/, cluster.logDir));
    await Promise.all(own.map((replica) => replica.ready));
    urls = ports.map((port) => `http://127.0.0.1:${port}`);
  }
  const proxy = await startRoundRobinProxy(urls, { holdAdminWritesMs: APP_PROPAGATION_MS });
  return {
    url: proxy.url,
    apps: new PropagatedAppService(client, cluster.coreTaskQueue),
    async close() {
      await proxy.close();
      await Promise.all(own.map((replica) => replica.stop()));
      appendFileSync(cluster.statsFile, `${JSON.stringify({ urls, counts: proxy.counts })}\n`);
    },
  };
}

/** App writes that return once every replica sees them (see APP_PROPAGATION_MS). */
class PropagatedAppService extends AppService {
  override async put(appName: string, password: string, mode: 'create' | 'upsert'): Promise<AppRecord> {
    const record = await super.put(appName, password, mode);
    await sleep(APP_PROPAGATION_MS);
    return record;
  }
}

export function statsFileIn(dir: string): string {
  return join(dir, 'api-requests.jsonl');
}
