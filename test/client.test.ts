import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  InstanceStatus, JobStatus, TempojobError, TransportError, createClient,
  type ClientOptions, type FetchLike, type SaveJobRequest, type TempojobClient,
} from '../src/client/index.js';
import { Recorder } from './support/recorder.js';
import { startTestStack, uniqueName, type TestStack } from './support/stack.js';

/**
 * The typed client against the real stack: PowerJob users' flows, and the guarantee that
 * one logical call is one effect even when the answer is lost after the server acted.
 */

let stack: TestStack;
let appName: string;
let password: string;
const recorder = new Recorder();

const processors = recorder.wrap({
  echo: (ctx) => ({ success: true, msg: ctx.instanceParams }),
  /** Runs until aborted (stopInstance). */
  block: async (ctx) => {
    await sleep(120_000, undefined, { signal: ctx.signal });
    return { success: true, msg: 'never' };
  },
  reportsFailure: () => ({ success: false, msg: 'business rule said no' }),
  // One processor per lost-answer test, so any duplicate execution would show in its count.
  lostRun: () => ({ success: true, msg: 'ran' }),
  lostRetry: () => ({ success: true, msg: 'ran' }),
  lostKey: () => ({ success: true, msg: 'ran' }),
  flakyWire: () => ({ success: true, msg: 'ran' }),
});

interface Sent { operation: string; idempotencyKey: string | null }

/**
 * A `fetch` that records every request and can lose answers: the request reaches the
 * server and is acted on, then the caller sees a connection reset instead of the answer.
 */
class Wire {
  readonly sent: Sent[] = [];
  /** What the server answered to the requests whose answer was lost. */
  readonly lost: { operation: string; data: unknown }[] = [];
  private readonly losses = new Map<string, number>();

  readonly fetch: FetchLike = async (url, init) => {
    const operation = url.slice(url.lastIndexOf('/') + 1);
    this.sent.push({ operation, idempotencyKey: new Headers(init.headers).get('Idempotency-Key') });
    const res = await fetch(url, init);
    const left = this.losses.get(operation) ?? 0;
    if (left === 0) return res;
    this.losses.set(operation, left - 1);
    this.lost.push({ operation, data: ((await res.json()) as { data: unknown }).data });
    throw new TypeError('fetch failed', { cause: Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' }) });
  };

  loseAnswers(operation: string, times = 1): void {
    this.losses.set(operation, times);
  }

  of(operation: string): Sent[] {
    return this.sent.filter((s) => s.operation === operation);
  }
}

function connect(options: Partial<ClientOptions> = {}): { client: TempojobClient; wire: Wire } {
  const wire = new Wire();
  const client = createClient({ baseUrl: stack.url, appName, password, fetch: wire.fetch, retry: { attempts: 4, backoffMs: 20 }, ...options });
  return { client, wire };
}

const job = (jobName: string, processorInfo = 'echo', extra: Partial<SaveJobRequest> = {}): SaveJobRequest => ({
  jobName, timeExpressionType: 'API', executeType: 'STANDALONE', processorType: 'BUILT_IN', processorInfo, ...extra,
});

/** Listing trails writes: once a job saved afterwards is listed, every earlier save is too. */
async function afterMarker(client: TempojobClient): Promise<void> {
  const marker = uniqueName('marker');
  await client.saveJob(job(marker));
  await expect.poll(async () => (await client.fetchAllJob()).map((j) => j.jobName), { timeout: 10_000 }).toContain(marker);
}

/** Ids of a job's instances, once the listing shows `expected` of them. */
async function instanceIdsOf(client: TempojobClient, jobId: number, expected: number): Promise<number[]> {
  await expect.poll(async () => (await client.queryInstance({ jobIdEq: jobId, pageSize: 100 })).totalItems, { timeout: 10_000 })
    .toBeGreaterThanOrEqual(expected);
  return (await client.queryInstance({ jobIdEq: jobId, pageSize: 100, sortBy: 'instanceId', asc: true })).data.map((i) => i.instanceId);
}

const keysOf = (sent: Sent[]) => sent.map((s) => s.idempotencyKey);

beforeAll(async () => {
  stack = await startTestStack();
  const app = await stack.newApp('client');
  appName = app.appName;
  password = app.password;
  await stack.startWorker(appName, processors, { workerId: 'client-worker' });
});
afterAll(() => stack?.close());

describe('PowerJob flows through the typed client', () => {
  it('authenticates with md5 once and shares the token between concurrent calls', async () => {
    const { client, wire } = connect();
    await Promise.all(Array.from({ length: 5 }, () => client.fetchAllJob()));
    const session = await client.authenticate();
    expect(session.appId).toBeGreaterThan(0);
    expect(wire.of('authApp')).toHaveLength(1);
    expect(wire.of('fetchAllJob')).toHaveLength(5);
    // Reads carry no Idempotency-Key: they have no effect to protect.
    expect(keysOf(wire.of('fetchAllJob'))).toEqual([null, null, null, null, null]);

    const wrong = connect({ password: 'not-the-password' });
    await expect(wrong.client.fetchAllJob()).rejects.toMatchObject({ name: 'TempojobError', code: '-400', operation: 'authApp' });
    await expect(connect({ appName: 'no-such-app' }).client.authenticate()).rejects.toMatchObject({ code: '-402' });
    expect(wrong.wire.of('authApp')).toHaveLength(1);
    expect(wrong.wire.of('fetchAllJob')).toHaveLength(0);
  });

  it('saveJob, fetchJob, update, fetchAllJob, queryJob, exportJob, copyJob', async () => {
    const { client, wire } = connect();
    const name = uniqueName('flow');
    const jobId = await client.saveJob(job(name, 'echo', { jobParams: 'static', tag: name, instanceRetryNum: 2 }));
    expect(await client.fetchJob(jobId)).toMatchObject({
      id: jobId, jobName: name, jobParams: 'static', tag: name, instanceRetryNum: 2, processorInfo: 'echo',
      status: JobStatus.codes.ENABLE, timeExpressionType: 1, executeType: 1, processorType: 1,
    });
    const [firstSave] = wire.of('saveJob');
    expect(firstSave!.idempotencyKey).toMatch(/^[0-9a-f-]{36}$/);

    expect(await client.saveJob(job(name, 'echo', { id: jobId, jobDescription: 'updated', tag: name }))).toBe(jobId);
    expect(await client.fetchJob(jobId)).toMatchObject({ jobDescription: 'updated', jobParams: null });
    expect(new Set(keysOf(wire.of('saveJob'))).size).toBe(2);

    await expect.poll(async () => (await client.fetchAllJob()).map((j) => j.id), { timeout: 10_000 }).toContain(jobId);
    expect((await client.queryJob({ jobNameEq: name })).map((j) => j.id)).toEqual([jobId]);
    expect((await client.queryJob({ tagEq: name, jobDescriptionLike: 'upd' })).map((j) => j.id)).toEqual([jobId]);
    expect(await client.queryJob({ tagEq: name, statusIn: [JobStatus.codes.DISABLE] })).toEqual([]);

    const exported = await client.exportJob(jobId);
    expect(exported).toMatchObject({ id: null, jobDescription: 'updated', processorInfo: 'echo', timeExpressionType: 'API', tag: name });
    expect(exported.jobName).toMatch(new RegExp(`^${name}_EXPORT_\\d+$`));
    const imported = await client.saveJob(exported);
    expect(imported).not.toBe(jobId);
    expect(await client.fetchJob(imported)).toMatchObject({ jobName: exported.jobName, jobDescription: 'updated' });

    const copyId = await client.copyJob(jobId);
    expect(copyId).not.toBe(jobId);
    expect(await client.fetchJob(copyId)).toMatchObject({ id: copyId, jobName: `${name}_COPY`, jobDescription: 'updated', tag: name });
    await expect.poll(async () => (await client.queryJob({ tagEq: name })).map((j) => j.jobName).sort(), { timeout: 10_000 })
      .toEqual([name, `${name}_COPY`, exported.jobName].sort());
  });

  it('runJob now and after a delay; fetchInstanceStatus and fetchInstanceInfo', async () => {
    const { client } = connect();
    const jobId = await client.saveJob(job(uniqueName('run'), 'echo', { jobParams: 'static' }));
    const now = await client.runJob(jobId, { instanceParams: 'hello' });
    await stack.finished(now);
    expect(await client.fetchInstanceStatus(now)).toBe(InstanceStatus.codes.SUCCEED);
    expect(await client.fetchInstanceInfo(now)).toMatchObject({
      instanceId: now, jobId, status: InstanceStatus.codes.SUCCEED, result: 'hello', instanceParams: 'hello', jobParams: 'static',
      runningTimes: 1, taskTrackerAddress: 'client-worker',
    });

    const sent = Date.now();
    const delayed = await client.runJob(jobId, { delay: 1500 });
    expect(await client.fetchInstanceStatus(delayed)).toBe(InstanceStatus.codes.WAITING_DISPATCH);
    expect(recorder.of(delayed)).toHaveLength(0);
    await stack.finished(delayed);
    const info = await client.fetchInstanceInfo(delayed);
    expect(info).toMatchObject({ status: InstanceStatus.codes.SUCCEED, instanceParams: null });
    expect(info.expectedTriggerTime).toBeGreaterThanOrEqual(sent + 1500);
    expect(recorder.of(delayed)[0]!.at).toBeGreaterThanOrEqual(info.expectedTriggerTime);
  });

  it('queryInstance pages and honours asc/desc sorting', async () => {
    const { client } = connect();
    const jobId = await client.saveJob(job(uniqueName('page')));
    const ids = [];
    for (let i = 0; i < 3; i++) ids.push(await client.runJob(jobId, { instanceParams: `run-${i}` }));
    await Promise.all(ids.map((id) => stack.finished(id)));
    const ascending = [...ids].sort((a, b) => a - b);

    expect(await instanceIdsOf(client, jobId, 3)).toEqual(ascending);
    const page = (index: number, asc: boolean) => client.queryInstance({ jobIdEq: jobId, pageSize: 2, index, sortBy: 'instanceId', asc });
    const first = await page(0, true);
    expect(first).toMatchObject({ index: 0, pageSize: 2, totalItems: 3, totalPages: 2 });
    expect(first.data.map((i) => i.instanceId)).toEqual(ascending.slice(0, 2));
    expect((await page(1, true)).data.map((i) => i.instanceId)).toEqual(ascending.slice(2));
    expect((await page(0, false)).data.map((i) => i.instanceId)).toEqual([ascending[2], ascending[1]]);
    expect((await page(1, false)).data.map((i) => i.instanceId)).toEqual([ascending[0]]);
    const byStatus = await client.queryInstance({ jobIdEq: jobId, statusIn: [InstanceStatus.codes.FAILED] });
    expect(byStatus.totalItems).toBe(0);
  });

  it('stopInstance: the processor sees the abort; a refused call is not re-sent', async () => {
    const { client, wire } = connect();
    const jobId = await client.saveJob(job(uniqueName('stop'), 'block'));
    const instanceId = await client.runJob(jobId);
    await recorder.until(() => recorder.of(instanceId).length === 1);
    expect(await client.fetchInstanceStatus(instanceId)).toBe(InstanceStatus.codes.RUNNING);
    await client.stopInstance(instanceId);
    expect(await client.fetchInstanceStatus(instanceId)).toBe(InstanceStatus.codes.STOPPED);
    await recorder.until(() => recorder.of(instanceId)[0]!.aborted === true, 20_000);

    const refused = await client.cancelInstance(instanceId).catch((err: unknown) => err);
    expect(refused).toBeInstanceOf(TempojobError);
    expect(refused).toMatchObject({ code: '-501', operation: 'cancelInstance', message: expect.stringContaining('already finished') });
    expect(wire.of('cancelInstance')).toHaveLength(1);
  });

  it('cancelInstance on a delayed run: it never executes', async () => {
    const { client } = connect();
    const jobId = await client.saveJob(job(uniqueName('cancel')));
    const canceled = await client.runJob(jobId, { delay: 1500 });
    const sentinel = await client.runJob(jobId, { delay: 1500 });
    await client.cancelInstance(canceled);
    expect(await client.fetchInstanceStatus(canceled)).toBe(InstanceStatus.codes.CANCELED);
    // The sentinel fires at the same moment: once it ran, the canceled one would have too.
    await stack.finished(sentinel);
    expect(recorder.of(sentinel)).toHaveLength(1);
    expect(recorder.of(canceled)).toHaveLength(0);
    expect(await client.fetchInstanceInfo(canceled)).toMatchObject({ status: InstanceStatus.codes.CANCELED, runningTimes: 0 });
  });

  it('retryInstance runs a finished instance again under the same id', async () => {
    const { client } = connect();
    const jobId = await client.saveJob(job(uniqueName('retry'), 'reportsFailure'));
    const instanceId = await client.runJob(jobId);
    await stack.finished(instanceId);
    expect(await client.fetchInstanceInfo(instanceId)).toMatchObject({ status: InstanceStatus.codes.FAILED, result: 'business rule said no', runningTimes: 1 });
    await client.retryInstance(instanceId);
    await stack.finished(instanceId);
    expect(await client.fetchInstanceInfo(instanceId)).toMatchObject({ status: InstanceStatus.codes.FAILED, runningTimes: 2 });
    expect(recorder.of(instanceId).map((e) => e.attempt)).toEqual([1, 2]);
  });

  it('disableJob, enableJob, deleteJob; a deleted job refuses to run, once', async () => {
    const { client, wire } = connect();
    const jobId = await client.saveJob(job(uniqueName('status')));
    await client.disableJob(jobId);
    expect((await client.fetchJob(jobId)).status).toBe(JobStatus.codes.DISABLE);
    // Disabled still runs through runJob, as in PowerJob.
    const ran = await client.runJob(jobId);
    await stack.finished(ran);
    expect(await client.fetchInstanceStatus(ran)).toBe(InstanceStatus.codes.SUCCEED);
    await client.enableJob(jobId);
    expect((await client.fetchJob(jobId)).status).toBe(JobStatus.codes.ENABLE);
    await client.deleteJob(jobId);
    expect((await client.fetchJob(jobId)).status).toBe(JobStatus.codes.DELETED);
    await client.deleteJob(jobId);

    const [runs, fetches] = [wire.of('runJob').length, wire.of('fetchJob').length];
    await expect(client.runJob(jobId)).rejects.toMatchObject({ name: 'TempojobError', code: '-501', message: expect.stringContaining('deleted') });
    await expect(client.fetchJob(987_654_321)).rejects.toMatchObject({ code: '-501', message: expect.stringContaining('not found') });
    expect(wire.of('runJob')).toHaveLength(runs + 1);
    expect(wire.of('fetchJob')).toHaveLength(fetches + 1);
  });
});

describe('one logical call, one effect, when the answer is lost after the server acted', () => {
  it('saveJob: re-sent with the same key, the same id, one job', async () => {
    const { client, wire } = connect();
    const name = uniqueName('lost-save');
    wire.loseAnswers('saveJob');
    const jobId = await client.saveJob(job(name));
    const sends = wire.of('saveJob');
    expect(sends).toHaveLength(2);
    expect(sends[0]!.idempotencyKey).toBeTruthy();
    expect(sends[1]!.idempotencyKey).toBe(sends[0]!.idempotencyKey);
    expect(wire.lost).toEqual([{ operation: 'saveJob', data: jobId }]);
    await afterMarker(client);
    expect((await client.queryJob({ jobNameEq: name })).map((j) => j.id)).toEqual([jobId]);
  });

  it('runJob: the same instance id, one instance, one execution', async () => {
    const { client, wire } = connect();
    const jobId = await client.saveJob(job(uniqueName('lost-run'), 'lostRun'));
    wire.loseAnswers('runJob');
    const instanceId = await client.runJob(jobId, { instanceParams: 'once' });
    expect(new Set(keysOf(wire.of('runJob'))).size).toBe(1);
    expect(wire.of('runJob')).toHaveLength(2);
    expect(wire.lost).toEqual([{ operation: 'runJob', data: instanceId }]);
    await stack.finished(instanceId);
    // A run started after the retried one: once it is listed, a duplicate would be too.
    const marker = await client.runJob(jobId);
    await stack.finished(marker);
    expect(await instanceIdsOf(client, jobId, 2)).toEqual([instanceId, marker].sort((a, b) => a - b));
    expect(recorder.of(instanceId)).toHaveLength(1);
    expect(recorder.executions.filter((e) => e.processor === 'lostRun')).toHaveLength(2);
  });

  it('retryInstance: the re-send finds its own run; two attempts in total', async () => {
    const { client, wire } = connect();
    const jobId = await client.saveJob(job(uniqueName('lost-retry'), 'lostRetry'));
    const instanceId = await client.runJob(jobId);
    await stack.finished(instanceId);
    wire.loseAnswers('retryInstance');
    await client.retryInstance(instanceId);
    const sends = wire.of('retryInstance');
    expect(sends).toHaveLength(2);
    expect(sends[1]!.idempotencyKey).toBe(sends[0]!.idempotencyKey);
    await stack.finished(instanceId);
    expect(await client.fetchInstanceInfo(instanceId)).toMatchObject({ status: InstanceStatus.codes.SUCCEED, runningTimes: 2 });
    expect(recorder.of(instanceId).map((e) => e.attempt)).toEqual([1, 2]);
    expect(recorder.executions.filter((e) => e.processor === 'lostRetry')).toHaveLength(2);
    expect(await instanceIdsOf(client, jobId, 1)).toEqual([instanceId]);
  });

  it('copyJob: the same copy id, one copy', async () => {
    const { client, wire } = connect();
    const name = uniqueName('lost-copy');
    const jobId = await client.saveJob(job(name));
    wire.loseAnswers('copyJob');
    const copyId = await client.copyJob(jobId);
    const sends = wire.of('copyJob');
    expect(sends).toHaveLength(2);
    expect(sends[1]!.idempotencyKey).toBe(sends[0]!.idempotencyKey);
    expect(wire.lost).toEqual([{ operation: 'copyJob', data: copyId }]);
    await afterMarker(client);
    expect((await client.queryJob({ jobNameEq: `${name}_COPY` })).map((j) => j.id)).toEqual([copyId]);
  });

  it('workflows: nodes, saveWorkflow and runWorkflow re-sent (one each), fetch, run info, copy, query, disable, enable, delete', async () => {
    const { client, wire } = connect();
    const jobId = await client.saveJob(job(uniqueName('wf-job')));
    const [first, second] = await client.addWorkflowNode([{ type: 1, jobId, nodeName: 'first' }, { type: 1, jobId, nodeName: 'second' }]);
    expect(first).toMatchObject({ type: 1, jobId, nodeName: 'first', workflowId: null, enable: true });
    const name = uniqueName('wf');
    wire.loseAnswers('saveWorkflow');
    const workflowId = await client.saveWorkflow({
      wfName: name, timeExpressionType: 'API',
      dag: { nodes: [{ nodeId: first!.id }, { nodeId: second!.id }], edges: [{ from: first!.id, to: second!.id }] },
    });
    expect(wire.of('saveWorkflow')).toHaveLength(2);
    expect(new Set(keysOf(wire.of('saveWorkflow'))).size).toBe(1);
    expect(await client.fetchWorkflow(workflowId)).toMatchObject({
      id: workflowId, wfName: name, enable: true, peworkflowDAG: { edges: [{ from: first!.id, to: second!.id }] },
    });
    // runWorkflow re-sent after a lost answer: one workflow instance, two nodes run once each.
    wire.loseAnswers('runWorkflow');
    const wfInstanceId = await client.runWorkflow(workflowId, { initParams: '{"order":"o-7"}' });
    expect(new Set(keysOf(wire.of('runWorkflow'))).size).toBe(1);
    await expect.poll(async () => (await client.fetchWfInstanceInfo(wfInstanceId)).status, { timeout: 10_000 }).toBe(4);
    const run = await client.fetchWfInstanceInfo(wfInstanceId);
    expect(JSON.parse(run.wfContext)).toEqual({ order: 'o-7' });
    const nodeInstances = (JSON.parse(run.dag) as { nodes: { instanceId: string }[] }).nodes.map((node) => Number(node.instanceId));
    for (const instanceId of nodeInstances) expect(recorder.of(instanceId)).toHaveLength(1);
    await expect.poll(async () => (await client.queryWfInstance({ workflowIdEq: workflowId })).data.map((i) => i.wfInstanceId), { timeout: 10_000 })
      .toEqual([wfInstanceId]);
    await expect(client.retryWfInstance(wfInstanceId)).rejects.toMatchObject({ name: 'TempojobError', operation: 'retryWfInstance' });

    const copyId = await client.copyWorkflow(workflowId);
    expect((await client.fetchWorkflow(copyId)).wfName).toBe(`${name}_COPY`);
    await expect.poll(async () => (await client.queryWorkflow({ wfNameLike: name })).totalItems, { timeout: 10_000 }).toBe(2);
    await client.disableWorkflow(workflowId);
    expect((await client.fetchWorkflow(workflowId)).status).toBe(JobStatus.codes.DISABLE);
    await client.enableWorkflow(workflowId);
    await client.deleteWorkflow(workflowId);
    expect((await client.fetchWorkflow(workflowId)).status).toBe(JobStatus.codes.DELETED);
  });

  it('retries a 502 without an envelope and a timeout with the same key', async () => {
    const wire = new Wire();
    let faults = 0;
    const flaky: FetchLike = async (url, init) => {
      if (url.endsWith('/runJob') && faults < 2) {
        faults++;
        if (faults === 1) return new Response('<html>502 Bad Gateway</html>', { status: 502, headers: { 'Content-Type': 'text/html' } });
        // Never answers: only the client's timeout ends this attempt.
        return new Promise<Response>((_resolve, reject) => init.signal!.addEventListener('abort', () => reject(init.signal!.reason)));
      }
      return wire.fetch(url, init);
    };
    const keys: (string | null)[] = [];
    const { client } = connect({
      timeoutMs: 1_000,
      fetch: (url, init) => {
        if (url.endsWith('/runJob')) keys.push(new Headers(init.headers).get('Idempotency-Key'));
        return flaky(url, init);
      },
    });
    const jobId = await client.saveJob(job(uniqueName('flaky-wire'), 'flakyWire'));
    const instanceId = await client.runJob(jobId);
    expect(keys.length).toBeGreaterThanOrEqual(3);
    expect(new Set(keys).size).toBe(1);
    await stack.finished(instanceId);
    expect(await instanceIdsOf(client, jobId, 1)).toEqual([instanceId]);
    expect(recorder.of(instanceId)).toHaveLength(1);
  });

  it('gives up with a TransportError that carries the key; re-sending with it later runs nothing twice', async () => {
    const { client, wire } = connect({ retry: { attempts: 3, backoffMs: 10 } });
    const jobId = await client.saveJob(job(uniqueName('lost-key'), 'lostKey'));
    wire.loseAnswers('runJob', 3);
    const failure = await client.runJob(jobId).catch((err: unknown) => err);
    expect(failure).toBeInstanceOf(TransportError);
    const { idempotencyKey, attempts, retryable } = failure as TransportError;
    expect({ attempts, retryable }).toEqual({ attempts: 3, retryable: true });
    expect(keysOf(wire.of('runJob'))).toEqual([idempotencyKey, idempotencyKey, idempotencyKey]);

    const instanceId = await client.runJob(jobId, { idempotencyKey });
    expect(wire.lost.map((l) => l.data)).toEqual([instanceId, instanceId, instanceId]);
    await stack.finished(instanceId);
    const marker = await client.runJob(jobId);
    await stack.finished(marker);
    expect(await instanceIdsOf(client, jobId, 2)).toEqual([instanceId, marker].sort((a, b) => a - b));
    expect(recorder.executions.filter((e) => e.processor === 'lostKey')).toHaveLength(2);
  });
});

describe('tokens', () => {
  it('after a password rotation: one re-auth with the new password, and the stale client stops at -400', async () => {
    const app = await stack.newApp('client-rotate');
    let current = app.password;
    const rotating = new Wire();
    const stale = new Wire();
    const base = { baseUrl: stack.url, appName: app.appName, retry: { attempts: 4, backoffMs: 20 } };
    const client = createClient({ ...base, password: () => current, fetch: rotating.fetch });
    const staleClient = createClient({ ...base, password: app.password, fetch: stale.fetch });
    await client.fetchAllJob();
    await staleClient.fetchAllJob();

    current = uniqueName('new-password');
    await stack.apps.put(app.appName, current, 'upsert');

    const name = uniqueName('after-rotation');
    const jobId = await client.saveJob(job(name));
    expect(rotating.of('authApp')).toHaveLength(2);
    const saves = rotating.of('saveJob');
    expect(saves).toHaveLength(2);
    expect(saves[1]!.idempotencyKey).toBe(saves[0]!.idempotencyKey);
    expect((await client.fetchJob(jobId)).jobName).toBe(name);

    await expect(staleClient.fetchAllJob()).rejects.toMatchObject({ name: 'TempojobError', code: '-400', operation: 'authApp' });
    expect(stale.of('authApp')).toHaveLength(2);
    expect(stale.of('fetchAllJob')).toHaveLength(2);

    await afterMarker(client);
    expect((await client.queryJob({ jobNameEq: name })).map((j) => j.id)).toEqual([jobId]);
  });
});
