import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { TestProject } from 'vitest/node';
import { AppService } from '../../src/api/app-service.js';
import { PROJECT_ROOT } from '../../src/temporal/cli.js';
import { connectClient } from '../../src/temporal/connection.js';
import { DEFAULT_CORE_TASK_QUEUE } from '../../src/contract/names.js';
import baseSetup from '../global-setup.js';
import { freePort } from '../support/ports.js';
import { ADMIN_TOKEN } from '../support/stack.js';
import { statsFileIn, type ClusterContext } from './support/cluster-stack.js';
import { portAnswers, runClusterScript as runScript } from './support/cluster-scripts.js';
import { chooseClusterPorts } from './support/cluster-ports.js';
import { spawnNode, type NodeProcess } from './support/node-process.js';
import { testTarget } from '../support/temporal-env.js';

/**
 * The cluster run's topology, once for the whole run:
 * - scripts/cluster/up.sh: PostgreSQL, Temporal v1.29.1 (frontend, history, matching and
 *   worker as separate processes), schema, namespace and search attributes — built and
 *   installed on first use;
 * - tempojob as separate processes: 2 API replicas on their own ports, 2 core workers and
 *   3 (recording) processor workers, as in production.
 * The feature suites then run against it (test/support/stack.ts spreads their requests over
 * both API replicas). Temporal is stopped again at the end if this run started it
 * (TEMPOJOB_CLUSTER_KEEP=1 keeps it running).
 */

const API_REPLICAS = 2;
const CORE_WORKERS = 2;
const PROCESSOR_WORKERS = 3;
export default async function setup(project: TestProject) {
  await chooseClusterPorts();
  const wasRunning = await portAnswers(Number(process.env.TEMPOJOB_CLUSTER_FRONTEND_PORT));
  const started = Date.now();
  const output = await runScript('up.sh').catch(async (err: unknown) => {
    if (!wasRunning) await runScript('down.sh').catch(() => {});
    throw err;
  });
  const address = /^TEMPORAL_ADDRESS=(\S+)$/m.exec(output)?.[1];
  if (!address) throw new Error('scripts/cluster/up.sh did not print TEMPORAL_ADDRESS=…');
  const logDatabaseUrl = /^TEMPOJOB_LOG_DATABASE_URL=(\S+)$/m.exec(output)?.[1];
  if (!logDatabaseUrl) throw new Error('scripts/cluster/up.sh did not print TEMPOJOB_LOG_DATABASE_URL=…');
  // Test files that start an API process of their own store its logs there too.
  process.env.TEMPOJOB_CLUSTER_LOG_DATABASE_URL = logDatabaseUrl;
  // The frontend asks for mTLS: every connection of this run presents the cluster's client
  // certificate. In the environment, so the test forks and every process they spawn have it.
  for (const line of output.matchAll(/^(TEMPORAL_TLS_[A-Z_]+)=(\S+)$/gm)) process.env[line[1]!] = line[2]!;
  console.log(`[cluster] Temporal cluster ready in ${Math.round((Date.now() - started) / 1000)} s at ${address}`);

  // The usual setup (workflow bundle, CLI path), pointed at the cluster instead of a dev server.
  process.env.TEMPOJOB_TEST_TEMPORAL_ADDRESS = address;
  const baseTeardown = await baseSetup(project);
  const { workflowBundlePath } = project.getProvidedContext();

  const runDir = join(PROJECT_ROOT, '.data', 'cluster', 'test-run');
  rmSync(runDir, { recursive: true, force: true });
  mkdirSync(runDir, { recursive: true });
  const jwtSecret = randomBytes(32).toString('hex');
  const coreTaskQueue = DEFAULT_CORE_TASK_QUEUE;
  const recordFile = join(runDir, 'executions.jsonl');
  writeFileSync(recordFile, '');
  const recorder = {
    appName: `cluster-rec-${randomBytes(4).toString('hex')}`,
    password: randomBytes(12).toString('hex'),
    recordFile,
    workerIds: Array.from({ length: PROCESSOR_WORKERS }, (_, i) => `recorder-${i + 1}`),
  };
  const common = { TEMPORAL_ADDRESS: address, TEMPOJOB_CORE_TASK_QUEUE: coreTaskQueue };
  const children: NodeProcess[] = [];
  const start = (name: string, script: string, env: Record<string, string>, ready: RegExp) => {
    children.push(spawnNode(name, script, { ...common, ...env }, ready, runDir));
  };
  // SIGTERM drains workers and closes servers; SIGKILL whatever is still there after 10 s.
  const stopAll = () => Promise.all(children.map((child) => child.stop()));

  try {
    const apiPorts: number[] = [];
    // Every replica shares the cluster PostgreSQL's log database, as in production.
    const apiEnv = { ...common, TEMPOJOB_HOST: '127.0.0.1', TEMPOJOB_JWT_SECRET: jwtSecret, TEMPOJOB_ADMIN_TOKEN: ADMIN_TOKEN, TEMPOJOB_LOG_DATABASE_URL: logDatabaseUrl };
    for (let i = 1; i <= API_REPLICAS; i++) {
      const port = await freePort();
      apiPorts.push(port);
      start(`api-${i}`, 'src/api/main.ts', { ...apiEnv, TEMPOJOB_PORT: String(port) }, /API ready/);
    }
    for (let i = 1; i <= CORE_WORKERS; i++) {
      start(`core-${i}`, 'src/core/main.ts', { TEMPOJOB_WORKFLOW_BUNDLE: workflowBundlePath, TEMPOJOB_LOG_DATABASE_URL: logDatabaseUrl }, /core worker ready/);
    }
    recorder.workerIds.forEach((workerId) => {
      start(workerId, 'test/fixtures/recording-worker.ts', { RECORD_FILE: recordFile, RECORD_APP: recorder.appName, RECORD_WORKER_ID: workerId }, /processor worker ready/);
    });
    await Promise.all(children.map((child) => child.ready));

    // The recorder app, created once the core workers serve the app directory.
    const client = await connectClient(testTarget(address));
    await new AppService(client, coreTaskQueue).put(recorder.appName, recorder.password, 'create');
    await client.connection.close();

    const cluster: ClusterContext = {
      apiUrls: apiPorts.map((port) => `http://127.0.0.1:${port}`),
      jwtSecret,
      coreTaskQueue,
      recorder,
      statsFile: statsFileIn(runDir),
      apiEnv,
      logDir: runDir,
    };
    writeFileSync(cluster.statsFile, '');
    project.provide('cluster', cluster);
    console.log(`[cluster] tempojob: ${API_REPLICAS} API replicas (${cluster.apiUrls.join(', ')}), ${CORE_WORKERS} core workers, ${PROCESSOR_WORKERS} processor workers; logs in ${runDir}`);

    return async () => {
      await stopAll();
      reportSpread(cluster);
      await baseTeardown();
      if (!wasRunning && !process.env.TEMPOJOB_CLUSTER_KEEP) await runScript('down.sh');
    };
  } catch (err) {
    await stopAll();
    await baseTeardown();
    if (!wasRunning) await runScript('down.sh').catch(() => {});
    throw err;
  }
}

/** How the suites' requests were spread over the API replicas. */
function reportSpread(cluster: ClusterContext): void {
  const totals = new Map<string, number>();
  for (const line of readFileSync(cluster.statsFile, 'utf8').split('\n')) {
    if (!line.trim()) continue;
    const { urls, counts } = JSON.parse(line) as { urls: string[]; counts: number[] };
    urls.forEach((url, i) => totals.set(url, (totals.get(url) ?? 0) + (counts[i] ?? 0)));
  }
  console.log(`[cluster] API requests through the test stacks, per replica: ${[...totals].map(([url, n]) => `${url} ${n}`).join(', ')}`);
}
