import { readFileSync } from 'node:fs';
import type { Client, TLSConfig } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { InstanceState } from '../../src/domain/instance.js';
import { connectClient } from '../../src/temporal/connection.js';
import { instanceWorkflowId } from '../../src/contract/names.js';
import { OpenApiCaller } from '../support/api-client.js';
import { testTarget } from '../support/temporal-env.js';

/**
 * The production topology itself: a Temporal v1.29.1 cluster on PostgreSQL whose frontend
 * asks for mTLS, two API replicas, two core workers and three processor workers, all
 * separate processes (test/cluster/global-setup.ts). Any replica serves any call, and work spreads over the
 * processor workers, each run executed once.
 */

const cluster = inject('cluster')!;
let client: Client;
let replicas: OpenApiCaller[];

beforeAll(async () => {
  client = await connectClient(testTarget(inject('temporalAddress')));
  const first = await OpenApiCaller.login(cluster.apiUrls[0]!, cluster.recorder.appName, cluster.recorder.password);
  // One token, used on every replica: they share nothing but the JWT secret and Temporal.
  replicas = cluster.apiUrls.map((url) => new OpenApiCaller(url, first.appId, first.token));
});
afterAll(() => client?.connection.close());

const readExecutions = () => readFileSync(cluster.recorder.recordFile, 'utf8').split('\n').filter(Boolean)
  .map((line) => JSON.parse(line) as { instanceId: number; workerId: string });

describe('production topology', () => {
  it('is a Temporal v1.29.1 cluster with PostgreSQL persistence and visibility', async () => {
    const info = await client.workflowService.getClusterInfo({});
    expect(info).toMatchObject({ serverVersion: '1.29.1', persistenceStore: 'postgres12', visibilityStore: 'postgres12' });
    expect(cluster.apiUrls).toHaveLength(2);
    for (const url of cluster.apiUrls) expect((await fetch(`${url}/healthz`)).status).toBe(200);
  });

  it('asks for mTLS: every process here connects with the cluster\'s client certificate, a client without one is refused', async () => {
    const target = testTarget(inject('temporalAddress'));
    expect(target.security?.tls).toMatchObject({ clientCertPair: expect.anything(), serverRootCACertificate: expect.anything() });
    await expect(connectClient({ address: target.address, namespace: target.namespace }, 2_000)).rejects.toThrow(/Cannot reach Temporal/);
    // TLS that trusts the frontend but presents no certificate of its own.
    const tls = target.security!.tls as TLSConfig;
    const serverOnly: TLSConfig = { serverRootCACertificate: tls.serverRootCACertificate!, serverNameOverride: tls.serverNameOverride! };
    await expect(connectClient({ ...target, security: { tls: serverOnly } }, 2_000)).rejects.toThrow(/Cannot reach Temporal/);
  });

  it('any API replica serves what another one wrote, with the token another one issued', async () => {
    const [a, b] = replicas as [OpenApiCaller, OpenApiCaller];
    const jobId = await a.data<number>('saveJob', {
      jobName: 'written-on-a', timeExpressionType: 'API', executeType: 'STANDALONE', processorType: 'BUILT_IN', processorInfo: 'record',
    });
    expect(await b.data('fetchJob', { jobId })).toMatchObject({ id: jobId, jobName: 'written-on-a' });
    const key = 'same-key-on-both-replicas';
    const first = await b.data<number>('runJob', { jobId }, { idempotencyKey: key });
    const second = await a.data<number>('runJob', { jobId }, { idempotencyKey: key });
    expect(second).toBe(first);
    await client.workflow.getHandle(instanceWorkflowId(first)).result();
    expect(await a.data('fetchInstanceStatus', { instanceId: first })).toBe(5);
    expect(readExecutions().filter((e) => e.instanceId === first)).toHaveLength(1);
  });

  it('spreads runs over the three processor workers, each run executed exactly once', { timeout: 120_000 }, async () => {
    const jobId = await replicas[1]!.data<number>('saveJob', {
      jobName: 'spread', timeExpressionType: 'API', executeType: 'STANDALONE', processorType: 'BUILT_IN', processorInfo: 'record',
    });
    const ids = await Promise.all(Array.from({ length: 60 }, (_, i) => replicas[i % replicas.length]!.data<number>('runJob', { jobId })));
    expect(new Set(ids).size).toBe(60);
    const states = await Promise.all(ids.map((id) => client.workflow.getHandle(instanceWorkflowId(id)).result() as Promise<InstanceState>));
    expect(states.every((state) => state.status === 'SUCCEED')).toBe(true);
    const mine = readExecutions().filter((e) => ids.includes(e.instanceId));
    expect(mine).toHaveLength(60);
    expect(new Set(mine.map((e) => e.instanceId)).size).toBe(60);
    const workers = new Set(mine.map((e) => e.workerId));
    for (const worker of workers) expect(cluster.recorder.workerIds).toContain(worker);
    expect(workers.size, `executions per worker: ${JSON.stringify(mine.reduce<Record<string, number>>((acc, e) => ({ ...acc, [e.workerId]: (acc[e.workerId] ?? 0) + 1 }), {}))}`).toBeGreaterThanOrEqual(2);
  });
});
