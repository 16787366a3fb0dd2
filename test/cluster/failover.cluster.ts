import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Client } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { AppService } from '../../src/api/app-service.js';
import type { Envelope } from '../../src/api/envelope.js';
import { PROJECT_ROOT } from '../../src/temporal/cli.js';
import { connectClient } from '../../src/temporal/connection.js';
import { instanceWorkflowId } from '../../src/contract/names.js';
import { SA } from '../../src/contract/search-attributes.js';
import { OpenApiCaller } from '../support/api-client.js';
import { freePort } from '../support/ports.js';
import { uniqueName } from '../support/stack.js';
import { spawnNode, type NodeProcess } from './support/node-process.js';
import { testTarget } from '../support/temporal-env.js';

/**
 * Replicas fail, nothing is lost or doubled. Its own topology on the cluster — 2 API
 * replicas, 2 core workers (on their own core task queue, so only they run these
 * instances), 3 recording processor workers — takes a burst of 500 runJob calls, each with
 * its own Idempotency-Key. Mid-burst one API replica and one core worker are SIGKILLed.
 * The client fails over to the other replica on transport errors and re-sends with the
 * same key. Afterwards Temporal holds exactly 500 instances, and each ran exactly once.
 */

const BURST = 500;
const CONCURRENCY = 16;
/** The kill happens once this many calls have been answered. */
const KILL_AFTER = 150;

const address = inject('temporalAddress');
const cluster = inject('cluster')!;
const dir = join(PROJECT_ROOT, '.data', 'cluster', 'test-run', `failover-${randomBytes(3).toString('hex')}`);
const recordFile = join(dir, 'executions.jsonl');
const appName = uniqueName('failover');
const password = randomBytes(12).toString('hex');
const coreQueue = uniqueName('tempojob-core-failover');
const processes: NodeProcess[] = [];
let client: Client;
let apiUrls: string[];
let apis: NodeProcess[];
let cores: NodeProcess[];

beforeAll(async () => {
  mkdirSync(dir, { recursive: true });
  writeFileSync(recordFile, '');
  client = await connectClient(testTarget(address));
  // The app directory lives on the run's shared core queue (its core workers serve it).
  await new AppService(client, cluster.coreTaskQueue).put(appName, password, 'create');

  const jwtSecret = randomBytes(32).toString('hex');
  const common = { TEMPORAL_ADDRESS: address, TEMPOJOB_CORE_TASK_QUEUE: coreQueue };
  const start = (name: string, script: string, env: Record<string, string>, ready: RegExp) => {
    const child = spawnNode(name, script, { ...common, ...env }, ready, dir);
    processes.push(child);
    return child;
  };
  const ports = [await freePort(), await freePort()];
  apiUrls = ports.map((port) => `http://127.0.0.1:${port}`);
  apis = ports.map((port, i) => start(`api-${i + 1}`, 'src/api/main.ts',
    { TEMPOJOB_PORT: String(port), TEMPOJOB_HOST: '127.0.0.1', TEMPOJOB_JWT_SECRET: jwtSecret }, /API ready/));
  cores = [1, 2].map((n) => start(`core-${n}`, 'src/core/main.ts', { TEMPOJOB_WORKFLOW_BUNDLE: inject('workflowBundlePath') }, /core worker ready/));
  [1, 2, 3].forEach((n) => start(`processor-${n}`, 'test/fixtures/recording-worker.ts',
    { RECORD_FILE: recordFile, RECORD_APP: appName, RECORD_WORKER_ID: `failover-worker-${n}` }, /processor worker ready/));
  await Promise.all(processes.map((p) => p.ready));
}, 120_000);

afterAll(async () => {
  await Promise.all(processes.map((p) => p.stop()));
  await client?.connection.close();
  // The processes' logs stay in `dir` (.data/cluster/test-run/, cleared by the next run).
});

/** The caller's side: which replica answered, and how often it had to fail over. */
interface BurstStats { answered: number; failovers: number; transportErrors: string[] }

/**
 * runJob with an Idempotency-Key, starting on replica `first`; on a transport error
 * (connection refused or reset, no answer within 20 s) the same request goes to the other
 * replica, with the same key, until one answers.
 */
async function runJobWithFailover(auth: OpenApiCaller, jobId: number, key: string, first: number, stats: BurstStats): Promise<number> {
  let replica = first;
  for (let attempt = 1; ; attempt++) {
    try {
      const res = await fetch(`${apiUrls[replica]}/openApi/runJob`, {
        method: 'POST',
        headers: {
          'Content-Type': 'application/x-www-form-urlencoded',
          'X-POWERJOB-APP-ID': String(auth.appId),
          'X-POWERJOB-ACCESS-TOKEN': auth.token,
          'Idempotency-Key': key,
        },
        body: new URLSearchParams({ jobId: String(jobId) }).toString(),
        signal: AbortSignal.timeout(20_000),
      });
      if (res.status >= 500) throw new Error(`HTTP ${res.status}`);
      const body = (await res.json()) as Envelope<number>;
      // A business error is an answer, not a transport failure: it must not happen here.
      if (!body.success) throw Object.assign(new Error(`runJob ${key}: ${body.message}`), { business: true });
      stats.answered++;
      return body.data!;
    } catch (err) {
      if ((err as { business?: boolean }).business || attempt > 20) throw err;
      stats.failovers++;
      const cause = (err as { cause?: { code?: string } }).cause?.code ?? (err as Error).message;
      if (stats.transportErrors.length < 20) stats.transportErrors.push(`${key} on replica ${replica + 1}: ${cause}`);
      replica = (replica + 1) % apiUrls.length;
      await sleep(Math.min(50 * attempt, 500));
    }
  }
}

/** What Temporal holds for each instance that did not succeed: the evidence a failed run needs. */
async function unfinished(instanceIds: number[]): Promise<string[]> {
  const lines: string[] = [];
  for (const instanceId of instanceIds) {
    const handle = client.workflow.getHandle(instanceWorkflowId(instanceId));
    try {
      const d = await handle.describe();
      const status = d.typedSearchAttributes.get(SA.status);
      if (status === 'SUCCEED' && d.status.name === 'COMPLETED') continue;
      const events = (await handle.fetchHistory()).events ?? [];
      const last = events.slice(-4).map((e) => `${e.eventId}:${Object.keys(e).find((k) => k.endsWith('Attributes')) ?? '?'}`);
      lines.push(`${instanceId}: ${d.status.name}, status SA ${status}, pending activities ${d.raw.pendingActivities?.length ?? 0}, `
        + `pending task ${d.raw.pendingWorkflowTask ? `${d.raw.pendingWorkflowTask.state} attempt ${d.raw.pendingWorkflowTask.attempt}` : 'none'}, last events ${last.join(' ')}`);
    } catch (err) {
      lines.push(`${instanceId}: ${(err as Error).message}`);
    }
  }
  return lines;
}

describe('replica failure during a keyed runJob burst', () => {
  it(`${BURST} keyed runJob calls while an API replica and a core worker are killed: ${BURST} instances, each executed once`, { timeout: 300_000 }, async () => {
    const caller = await OpenApiCaller.login(apiUrls[0]!, appName, password);
    const jobId = await caller.data<number>('saveJob', {
      jobName: 'burst', timeExpressionType: 'API', executeType: 'STANDALONE', processorType: 'BUILT_IN', processorInfo: 'record',
    });

    const stats: BurstStats = { answered: 0, failovers: 0, transportErrors: [] };
    const ids = new Map<string, number>();
    let killed: Promise<void> | undefined;
    let killedAt = 0;
    let next = 0;
    const started = Date.now();
    await Promise.all(Array.from({ length: CONCURRENCY }, async () => {
      while (next < BURST) {
        const i = next++;
        const key = `burst-${i}`;
        ids.set(key, await runJobWithFailover(caller, jobId, key, i % apiUrls.length, stats));
        if (!killed && stats.answered >= KILL_AFTER) {
          killedAt = Date.now();
          // A crash, not a shutdown: in-flight requests and workflow tasks are cut off.
          killed = Promise.all([apis[0]!.kill(), cores[0]!.kill()]).then(() => undefined);
        }
      }
    }));
    await killed;
    const burstMs = Date.now() - started;

    // One instance id per key, all different.
    expect(ids.size).toBe(BURST);
    const instanceIds = [...ids.values()];
    expect(new Set(instanceIds).size).toBe(BURST);
    expect(killedAt).toBeGreaterThan(0);
    expect(apis[0]!.child.signalCode).toBe('SIGKILL');
    expect(cores[0]!.child.signalCode).toBe('SIGKILL');

    // Temporal's own count: exactly BURST instances of this job, all of them succeeded.
    const ofJob = `WorkflowType = 'instanceWorkflow' AND ${SA.jobId.name} = ${jobId}`;
    try {
      await expect.poll(async () => (await client.workflow.count(`${ofJob} AND ${SA.status.name} = 'SUCCEED'`)).count, { timeout: 180_000, interval: 1_000 })
        .toBe(BURST);
    } catch (err) {
      console.log(`[failover] instances not SUCCEED after 180 s:\n${(await unfinished(instanceIds)).join('\n')}`);
      throw err;
    }
    expect((await client.workflow.count(ofJob)).count).toBe(BURST);
    expect((await client.workflow.count(`${ofJob} AND ExecutionStatus = 'Completed'`)).count).toBe(BURST);
    const doneMs = Date.now() - started;

    // The processors' own record: every instance executed exactly once, nothing else ran.
    const executions = readFileSync(recordFile, 'utf8').split('\n').filter(Boolean)
      .map((line) => JSON.parse(line) as { instanceId: number; attempt: number; workerId: string });
    const perInstance = new Map<number, number>();
    for (const e of executions) perInstance.set(e.instanceId, (perInstance.get(e.instanceId) ?? 0) + 1);
    expect([...perInstance.entries()].filter(([, n]) => n !== 1), 'instances executed more than once').toEqual([]);
    expect(new Set(perInstance.keys())).toEqual(new Set(instanceIds));
    expect(executions).toHaveLength(BURST);

    const perWorker = executions.reduce<Record<string, number>>((acc, e) => ({ ...acc, [e.workerId]: (acc[e.workerId] ?? 0) + 1 }), {});
    console.log(`[failover] ${BURST} keyed runJob in ${burstMs} ms (killed API replica 1 and core worker 1 after ${KILL_AFTER} answers), `
      + `${stats.failovers} fail-overs; all executed ${doneMs} ms after the first call; executions per worker ${JSON.stringify(perWorker)}`);
    console.log(`[failover] first transport errors: ${stats.transportErrors.slice(0, 5).join('; ')}`);
  });
});
