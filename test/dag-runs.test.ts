import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { wfInstanceWorkflowId } from '../src/contract/names.js';
import { SA } from '../src/contract/search-attributes.js';
import { mapProcessor, type TaskContext } from '../src/workers/index.js';
import type { OpenApiCaller } from './support/api-client.js';
import { startTestStack, type TestStack } from './support/stack.js';

/**
 * Workflow runs through the API, as users drive them: which processors ran how many times,
 * with what context, what fetchWfInstanceInfo and fetchInstanceInfo say, and how a DAG
 * with a decision, nested workflows and failing nodes ends.
 */

let stack: TestStack;
let api: OpenApiCaller;
let jobId: number;

/** What one node's processor saw: its node (jobParams), the context, its instance. */
interface Seen { node: string; context: Readonly<Record<string, string | null>> | null; instanceId: number; instanceParams: string | null; aborted: boolean }
const seen: Seen[] = [];
/** Nodes whose processor fails while their name is here (`failWhileListed`). */
const failing = new Set<string>();
/** A node named here waits until its gate opens (the test resolves it). */
const gates = new Map<string, Promise<void>>();

/**
 * One processor for every node; the node's params say what it does:
 * `{"name":"A","append":{"k":"v"},"fail":true,"sleepMs":1500}`; a node with a gate in `gates` waits for it.
 */
async function node(ctx: TaskContext) {
  const spec = JSON.parse(ctx.jobParams ?? '{}') as { name: string; append?: Record<string, unknown>; fail?: boolean; sleepMs?: number; failWhileListed?: boolean };
  const entry: Seen = { node: spec.name, context: ctx.workflowContext, instanceId: ctx.instanceId, instanceParams: ctx.instanceParams, aborted: false };
  seen.push(entry);
  for (const [key, value] of Object.entries(spec.append ?? {})) ctx.appendWorkflowContext(key, value);
  await gates.get(spec.name);
  if (spec.sleepMs) {
    try {
      await sleep(spec.sleepMs, undefined, { signal: ctx.signal });
    } catch {
      entry.aborted = true;
      return { success: false, msg: 'aborted' };
    }
  }
  if (spec.fail || (spec.failWhileListed && failing.has(spec.name))) throw new Error(`${spec.name} broke`);
  return { success: true, msg: `${spec.name} done` };
}

const ran = (name: string) => seen.filter((entry) => entry.node === name);

/** A MAP_REDUCE node: its sub-task tries to append (refused), its reduce appends what it saw. */
const mapper = mapProcessor({
  async process(ctx) {
    if (ctx.isRootTask) {
      await ctx.map([1], 'one');
      return { success: true };
    }
    ctx.appendWorkflowContext('fromSubTask', 'lost');
    return { success: true };
  },
  reduce: (ctx, results) => {
    ctx.appendWorkflowContext('subTask', results[0]?.result ?? null);
    return { success: true, msg: 'reduced' };
  },
});

interface NodeSpec { type?: number; params?: Record<string, unknown> | string; jobId?: number; enable?: boolean; skipWhenFailed?: boolean }
interface WfNode { nodeId: number; nodeType: number; status: number; instanceId: string | null; result: string | null; nodeName: string; disableByControlNode: boolean }
interface WfInstance { status: number; result: string | null; wfContext: string; dag: string; workflowId: number; wfInitParams: string | null; expectedTriggerTime: number; actualTriggerTime: number | null; finishedTime: number | null }

/** Saves a workflow from named nodes (a JOB node's params say what it does) and edges by name. */
async function saveDag(
  nodes: Record<string, NodeSpec>,
  edges: [string, string, ('true' | 'false')?][],
  extra: Record<string, unknown> = {},
): Promise<{ workflowId: number; ids: Record<string, number> }> {
  const names = Object.keys(nodes);
  const created = await api.data<{ id: number }[]>('addWorkflowNode', names.map((name) => {
    const spec = nodes[name]!;
    const type = spec.type ?? 1;
    const params = type === 1 ? JSON.stringify({ name, ...(spec.params as object | undefined) }) : spec.params;
    return { type, jobId: type === 2 ? null : (spec.jobId ?? jobId), nodeName: name, nodeParams: params, enable: spec.enable ?? true, skipWhenFailed: spec.skipWhenFailed ?? false };
  }));
  const ids = Object.fromEntries(names.map((name, i) => [name, created[i]!.id]));
  const workflowId = await api.data<number>('saveWorkflow', {
    wfName: names.join('-'), timeExpressionType: 'API', ...extra,
    dag: { nodes: names.map((name) => ({ nodeId: ids[name] })), edges: edges.map(([from, to, property]) => ({ from: ids[from], to: ids[to], property })) },
  });
  return { workflowId, ids };
}

const run = (workflowId: number, extra: Record<string, unknown> = {}) => api.data<number>('runWorkflow', { workflowId, ...extra }, { form: true });
const finished = (wfInstanceId: number) => stack.client.workflow.getHandle(wfInstanceWorkflowId(wfInstanceId)).result();
const info = (wfInstanceId: number) => api.data<WfInstance>('fetchWfInstanceInfo', { wfInstanceId }, { form: true });
const nodesOf = (instance: WfInstance) => Object.fromEntries((JSON.parse(instance.dag) as { nodes: WfNode[] }).nodes.map((n) => [n.nodeName, n]));

beforeAll(async () => {
  stack = await startTestStack();
  const app = await stack.newApp('dag');
  api = app.api;
  await stack.startWorker(app.appName, { node, mapper });
  jobId = await api.data<number>('saveJob', {
    jobName: 'node', timeExpressionType: 'API', executeType: 'STANDALONE', processorType: 'BUILT_IN', processorInfo: 'node',
  });
});
afterAll(() => stack?.close());

describe('running a DAG', () => {
  it('a diamond with a decision: the right branch runs, the other is canceled, context flows to successors', async () => {
    const { workflowId } = await saveDag({
      start: { params: { append: { amount: 150, region: 'eu' } } },
      big: { type: 2, params: 'context.get("amount") > 100 && context.region === "eu"' },
      express: { params: { append: { shipped: 'express' } } },
      standard: {},
      done: {},
    }, [['start', 'big'], ['big', 'express', 'true'], ['big', 'standard', 'false'], ['express', 'done'], ['standard', 'done']]);
    const wfInstanceId = await run(workflowId, { initParams: '{"order":"o-1"}' });
    await finished(wfInstanceId);

    expect(ran('start')).toHaveLength(1);
    expect(ran('express')).toHaveLength(1);
    expect(ran('standard')).toHaveLength(0);
    expect(ran('done')).toHaveLength(1);
    expect(ran('start')[0]!.context).toEqual({ order: 'o-1' });
    expect(ran('express')[0]!.context).toEqual({ order: 'o-1', amount: '150', region: 'eu' });
    expect(ran('done')[0]!.context).toEqual({ order: 'o-1', amount: '150', region: 'eu', shipped: 'express' });

    const instance = await info(wfInstanceId);
    expect(instance).toMatchObject({ workflowId, status: 4, result: 'done done', wfInitParams: '{"order":"o-1"}' });
    expect(JSON.parse(instance.wfContext)).toEqual({ order: 'o-1', amount: '150', region: 'eu', shipped: 'express' });
    const nodes = nodesOf(instance);
    expect(nodes['big']).toMatchObject({ status: 5, result: 'true' });
    expect(nodes['standard']).toMatchObject({ status: 9, disableByControlNode: true });
    expect(nodes['done']).toMatchObject({ status: 5, result: 'done done' });

    // Each JOB node is a normal instance of the job, marked as part of the workflow instance.
    const doneInstance = Number(nodes['done']!.instanceId);
    expect(doneInstance).toBe(ran('done')[0]!.instanceId);
    expect(await api.data('fetchInstanceInfo', { instanceId: doneInstance }, { form: true })).toMatchObject({
      jobId, wfInstanceId, type: 2, status: 5, jobParams: JSON.stringify({ name: 'done' }), instanceParams: ran('done')[0]!.instanceParams,
    });

    // Findable in the Temporal Web UI by app, workflow, wf instance and status.
    const query = `WorkflowType = 'dagWorkflow' AND ${SA.appId.name} = ${api.appId} AND ${SA.workflowId.name} = '${workflowId}' AND ${SA.wfInstanceId.name} = '${wfInstanceId}' AND ${SA.status.name} = 'SUCCEED'`;
    await expect.poll(() => stack.client.workflow.count(query).then((c) => c.count), { timeout: 10_000 }).toBe(1);
  });

  it('plain-text initParams are kept under "initParams"; a delayed run waits, then runs; disabled and skippable nodes pass', async () => {
    const { workflowId } = await saveDag({
      first: { params: { fail: true }, skipWhenFailed: true },
      off: { enable: false },
      last: {},
    }, [['first', 'off'], ['off', 'last']]);
    const sent = Date.now();
    const wfInstanceId = await run(workflowId, { initParams: 'hello there', delay: 1_500 });
    expect((await info(wfInstanceId)).status).toBe(1);
    await finished(wfInstanceId);
    const instance = await info(wfInstanceId);
    expect(instance.status).toBe(4);
    expect(instance.expectedTriggerTime).toBeGreaterThanOrEqual(sent + 1_500);
    expect(instance.actualTriggerTime!).toBeGreaterThanOrEqual(instance.expectedTriggerTime);
    expect(ran('first').at(-1)!.context).toEqual({ initParams: 'hello there' });
    const nodes = nodesOf(instance);
    expect(nodes['first']).toMatchObject({ status: 4 });
    expect(nodes['off']).toMatchObject({ status: 5, result: 'disable node' });
    expect(nodes['last']).toMatchObject({ status: 5 });
  });

  it('nested workflows three levels deep: context goes down as it is and merges back up', async () => {
    const deepest = await saveDag({ leaf: { params: { append: { depth: 3 } } } }, []);
    const middle = await saveDag({ nestDeepest: { type: 3, jobId: deepest.workflowId }, mid: { params: { append: { mid: 'yes' } } } }, [['nestDeepest', 'mid']]);
    const top = await saveDag({ nestMiddle: { type: 3, jobId: middle.workflowId }, top: {} }, [['nestMiddle', 'top']]);
    const wfInstanceId = await run(top.workflowId, { initParams: '{"from":"top"}' });
    await finished(wfInstanceId);
    expect(ran('leaf').at(-1)!.context).toEqual({ from: 'top' });
    expect(ran('mid').at(-1)!.context).toEqual({ from: 'top', depth: '3' });
    expect(ran('top').at(-1)!.context).toEqual({ from: 'top', depth: '3', mid: 'yes' });
    const instance = await info(wfInstanceId);
    expect(instance.status).toBe(4);
    const nested = nodesOf(instance)['nestMiddle']!;
    expect(nested).toMatchObject({ nodeType: 3, status: 5 });
    expect(await info(Number(nested.instanceId))).toMatchObject({ workflowId: middle.workflowId, status: 4, parentWfInstanceId: wfInstanceId });
  });

  it('FAIL_FAST vs CONTINUE_BRANCHES on the same DAG: which nodes ran, final status and message', async () => {
    const shape: Record<string, NodeSpec> = { broken: { params: { fail: true } }, after: {}, slow: { params: { sleepMs: 2_000 } }, tail: {} };
    const edges: [string, string][] = [['broken', 'after'], ['slow', 'tail']];
    const failFast = await saveDag(Object.fromEntries(Object.entries(shape).map(([k, v]) => [`${k}FF`, { ...v, params: { ...(v.params as object), name: `${k}FF` } }])),
      edges.map(([a, b]) => [`${a}FF`, `${b}FF`]));
    const continuing = await saveDag(Object.fromEntries(Object.entries(shape).map(([k, v]) => [`${k}CB`, { ...v, params: { ...(v.params as object), name: `${k}CB` } }])),
      edges.map(([a, b]) => [`${a}CB`, `${b}CB`]), { failurePolicy: 'CONTINUE_BRANCHES' });

    const ff = await run(failFast.workflowId);
    await finished(ff);
    const ffInfo = await info(ff);
    expect(ffInfo.status).toBe(3);
    expect(ffInfo.result).toMatch(/^middle job failed: node \d+ "brokenFF": .*brokenFF broke/);
    expect([ran('afterFF').length, ran('tailFF').length]).toEqual([0, 0]);
    // The stop reaches the processor on its next heartbeat.
    await expect.poll(() => ran('slowFF')[0]!.aborted, { timeout: 5_000 }).toBe(true);
    expect(nodesOf(ffInfo)['slowFF']).toMatchObject({ status: 10 });

    const cb = await run(continuing.workflowId);
    await finished(cb);
    const cbInfo = await info(cb);
    expect(cbInfo.status).toBe(3);
    expect(cbInfo.result).toMatch(/^middle job failed: node \d+ "brokenCB"/);
    expect([ran('afterCB').length, ran('slowCB').length, ran('tailCB').length]).toEqual([0, 1, 1]);
    expect(ran('slowCB')[0]!.aborted).toBe(false);
    expect(nodesOf(cbInfo)['tailCB']).toMatchObject({ status: 5 });
  });

  it('maxWfInstanceNum holds exactly: a run while the one allowed runs fails "too many instances"', async () => {
    const { workflowId } = await saveDag({ hold: {} }, [], { maxWfInstanceNum: 1 });
    let open = () => {};
    gates.set('hold', new Promise<void>((resolve) => { open = resolve; }));
    const first = await run(workflowId);
    await expect.poll(() => ran('hold').length, { timeout: 10_000 }).toBe(1);
    // The first run holds its node until the second has been refused, however slow the machine.
    const second = await run(workflowId);
    await finished(second);
    expect(await info(second)).toMatchObject({ status: 3, result: 'too many instances(2>1)' });
    open();
    gates.delete('hold');
    await finished(first);
    expect((await info(first)).status).toBe(4);
    const third = await run(workflowId);
    await finished(third);
    expect((await info(third)).status).toBe(4);
  });

  it('a run whose Temporal workflow was terminated (Web UI, history limit) reads as STOPPED, not as running forever', async () => {
    const { workflowId } = await saveDag({ stuck: { params: { sleepMs: 20_000 } } }, []);
    const wfInstanceId = await run(workflowId);
    await expect.poll(() => ran('stuck').length, { timeout: 10_000 }).toBe(1);
    await stack.client.workflow.getHandle(wfInstanceWorkflowId(wfInstanceId)).terminate('an operator, in the Web UI');
    const instance = await info(wfInstanceId);
    expect(instance).toMatchObject({ status: 10, result: "the workflow instance's Temporal workflow was terminated" });
    expect(instance.finishedTime).toEqual(expect.any(Number));
  });

  it('decision scripts run sandboxed: escapes, endless loops, huge strings and non-booleans fail their node, named', async () => {
    const scripts: Record<string, string> = {
      exit: 'process.exit(); true',
      fs: 'require("fs"); true',
      loop: 'while (true) {}',
      huge: '"x".repeat(1e9).length > 0',
      escape: 'this.constructor.constructor("return process")().exit(); true',
      notBoolean: 'return "yes"',
    };
    const nodes: Record<string, NodeSpec> = { yes: {}, no: {} };
    for (const [name, script] of Object.entries(scripts)) nodes[name] = { type: 2, params: script };
    const edges: [string, string, 'true' | 'false'][] = Object.keys(scripts).flatMap((name) => [[name, 'yes', 'true'], [name, 'no', 'false']] as [string, string, 'true' | 'false'][]);
    const { workflowId } = await saveDag(nodes, edges, { failurePolicy: 'CONTINUE_BRANCHES' });
    const wfInstanceId = await run(workflowId);
    await finished(wfInstanceId);
    const instance = await info(wfInstanceId);
    expect(instance.status).toBe(3);
    const results = nodesOf(instance);
    expect(results['exit']!.result).toContain("ReferenceError: 'process' is not defined");
    expect(results['fs']!.result).toContain("ReferenceError: 'require' is not defined");
    expect(results['loop']!.result).toContain('the script ran longer than 1000 ms and was stopped');
    expect(results['huge']!.result).toContain('more than 32 MiB of memory');
    expect(results['escape']!.result).toContain("'process' is not defined");
    expect(results['notBoolean']!.result).toContain('the script returned "yes"; a decision must return true or false');
    for (const name of Object.keys(scripts)) expect(results[name]).toMatchObject({ status: 4 });
    expect(instance.result).toContain('middle job failed');
    expect(ran('yes').length + ran('no').length).toBe(0);

    // The core worker is healthy: the next decision decides.
    const healthy = await saveDag({ ok: { type: 2, params: 'return context.get("initParams") === "go"' }, yes2: {}, no2: {} }, [['ok', 'yes2', 'true'], ['ok', 'no2', 'false']]);
    const next = await run(healthy.workflowId, { initParams: 'go' });
    await finished(next);
    expect((await info(next)).status).toBe(4);
    expect([ran('yes2').length, ran('no2').length]).toEqual([1, 0]);
  });

  it('refuses to run a deleted workflow or one whose job is gone, naming why', async () => {
    const { workflowId } = await saveDag({ only: {} }, []);
    await api.data('deleteWorkflow', { workflowId }, { form: true });
    expect((await api.call('runWorkflow', { workflowId }, { form: true })).body.message).toContain(`workflow ${workflowId} was deleted; it cannot run`);
    const doomedJob = await api.data<number>('saveJob', { jobName: 'doomed', timeExpressionType: 'API', executeType: 'STANDALONE', processorType: 'BUILT_IN', processorInfo: 'node' });
    const orphan = await saveDag({ orphan: { jobId: doomedJob } }, []);
    await api.data('deleteJob', { jobId: doomedJob }, { form: true });
    expect((await api.call('runWorkflow', { workflowId: orphan.workflowId }, { form: true })).body.message)
      .toMatch(new RegExp(`workflow ${orphan.workflowId} cannot run: workflow ${orphan.workflowId} node \\d+ runs job ${doomedJob}, which was deleted`));
  });
});

describe('workflow instance operations', () => {
  it('stopWfInstance reaches every running node, nested ones too; a second stop is refused', async () => {
    const inner = await saveDag({ innerHold: { params: { sleepMs: 60_000 } } }, []);
    const { workflowId } = await saveDag({ outerHold: { params: { sleepMs: 60_000 } }, nest: { type: 3, jobId: inner.workflowId }, never: {} }, [['outerHold', 'never']]);
    const wfInstanceId = await run(workflowId);
    await expect.poll(() => ran('outerHold').length + ran('innerHold').length, { timeout: 10_000 }).toBe(2);
    await api.data('stopWfInstance', { wfInstanceId }, { form: true });
    await finished(wfInstanceId);
    const instance = await info(wfInstanceId);
    expect(instance).toMatchObject({ status: 10, result: 'stopped by user' });
    const nodes = nodesOf(instance);
    expect(nodes['outerHold']).toMatchObject({ status: 10, result: 'stopped by user' });
    expect(nodes['nest']).toMatchObject({ status: 10 });
    expect(await info(Number(nodes['nest']!.instanceId))).toMatchObject({ status: 10 });
    await expect.poll(() => ran('outerHold')[0]!.aborted && ran('innerHold')[0]!.aborted, { timeout: 5_000 }).toBe(true);
    expect(ran('never')).toHaveLength(0);
    const again = await api.call('stopWfInstance', { wfInstanceId }, { form: true });
    expect(again.body.message).toContain(`workflow instance ${wfInstanceId} has already finished`);
    // With an Idempotency-Key, a re-sent stop of a stopped instance succeeds.
    expect((await api.call('stopWfInstance', { wfInstanceId }, { form: true, idempotencyKey: `stop-${wfInstanceId}` })).body.success).toBe(true);
  });

  it('retryWfInstance runs only the failed node and what follows, under the same id', async () => {
    failing.add('flakyNode');
    const { workflowId } = await saveDag({ before: {}, flakyNode: { params: { failWhileListed: true } }, afterFlaky: {} }, [['before', 'flakyNode'], ['flakyNode', 'afterFlaky']]);
    const wfInstanceId = await run(workflowId);
    await finished(wfInstanceId);
    expect((await info(wfInstanceId)).status).toBe(3);
    expect((await api.call('retryInstance', { instanceId: ran('flakyNode')[0]!.instanceId }, { form: true })).body.message)
      .toContain(`is a node of workflow instance ${wfInstanceId}: retry that with retryWfInstance`);

    failing.delete('flakyNode');
    await api.data('retryWfInstance', { wfInstanceId }, { form: true });
    await expect.poll(async () => (await info(wfInstanceId)).status, { timeout: 10_000 }).toBe(4);
    expect([ran('before').length, ran('flakyNode').length, ran('afterFlaky').length]).toEqual([1, 2, 1]);
    const retried = await api.call('retryWfInstance', { wfInstanceId }, { form: true });
    expect(retried.body.message).toContain('already successful: only a FAILED or STOPPED workflow instance can be retried');
  });

  it('retryWfInstance carries a failed nested run on under its own id: only its failed node runs again', async () => {
    failing.add('innerFlaky');
    const inner = await saveDag({ innerOk: {}, innerFlaky: { params: { failWhileListed: true } } }, [['innerOk', 'innerFlaky']]);
    const { workflowId } = await saveDag({ nestFlaky: { type: 3, jobId: inner.workflowId }, afterNest: {} }, [['nestFlaky', 'afterNest']]);
    const wfInstanceId = await run(workflowId);
    await finished(wfInstanceId);
    const failed = await info(wfInstanceId);
    expect(failed.status).toBe(3);
    const nestedRun = Number(nodesOf(failed)['nestFlaky']!.instanceId);
    expect((await info(nestedRun)).status).toBe(3);

    failing.delete('innerFlaky');
    await api.data('retryWfInstance', { wfInstanceId }, { form: true });
    await expect.poll(async () => (await info(wfInstanceId)).status, { timeout: 10_000 }).toBe(4);
    expect(Number(nodesOf(await info(wfInstanceId))['nestFlaky']!.instanceId)).toBe(nestedRun);
    expect(await info(nestedRun)).toMatchObject({ status: 4, parentWfInstanceId: wfInstanceId });
    expect([ran('innerOk').length, ran('innerFlaky').length, ran('afterNest').length]).toEqual([1, 2, 1]);
  });

  it('markWorkflowNodeAsSuccess: the run stays FAILED, the node SUCCEED; a retry carries on past it', async () => {
    const { workflowId, ids } = await saveDag({ broken: { params: { fail: true } }, behind: {} }, [['broken', 'behind']]);
    const wfInstanceId = await run(workflowId);
    // Marked as soon as the API reads FAILED, as a user would: that is a moment before the run's
    // Temporal workflow closes (it still releases its maxWfInstanceNum slot).
    await expect.poll(async () => (await info(wfInstanceId)).status, { timeout: 10_000, interval: 20 }).toBe(3);
    await api.data('markWorkflowNodeAsSuccess', { wfInstanceId, nodeId: ids['broken'] }, { form: true });
    const refused = await api.call('markWorkflowNodeAsSuccess', { wfInstanceId, nodeId: ids['behind'] }, { form: true });
    expect(refused.body.message).toMatch(/node \d+ "behind" is WAITING_DISPATCH: only a FAILED node without skipWhenFailed can be marked successful/);
    await expect.poll(async () => nodesOf(await info(wfInstanceId))['broken']!.status, { timeout: 10_000 }).toBe(5);
    const marked = await info(wfInstanceId);
    expect(marked.status).toBe(3);
    expect(nodesOf(marked)['broken']!.result).toBe('mark as successful node');
    await api.data('retryWfInstance', { wfInstanceId }, { form: true });
    await expect.poll(async () => (await info(wfInstanceId)).status, { timeout: 10_000 }).toBe(4);
    expect([ran('broken').length, ran('behind').length]).toEqual([1, 1]);
  });

  it('queryWfInstance pages and filters by workflow and status', async () => {
    const { workflowId } = await saveDag({ quick: {} }, []);
    // One after the other: maxWfInstanceNum is 1 by default, as in PowerJob.
    const ids: number[] = [];
    for (const initParams of ['first', 'second']) {
      ids.push(await run(workflowId, { initParams }));
      await finished(ids.at(-1)!);
    }
    await expect.poll(async () => (await api.data<{ totalItems: number }>('queryWfInstance', { workflowIdEq: workflowId, statusIn: [4] })).totalItems, { timeout: 10_000 })
      .toBe(2);
    const page = await api.data<{ data: { wfInstanceId: number }[]; totalPages: number }>('queryWfInstance', { workflowIdEq: workflowId, pageSize: 1, sortBy: 'wfInstanceId', asc: true });
    expect(page.totalPages).toBe(2);
    expect(page.data.map((d) => d.wfInstanceId)).toEqual([Math.min(...ids)]);
    expect((await api.data<{ totalItems: number }>('queryWfInstance', { workflowIdEq: workflowId, statusIn: [3] })).totalItems).toBe(0);
  });
});

describe('context from map jobs', () => {
  it('a map task cannot append (it would be lost), and says so; reduce can', async () => {
    const mapJob = await api.data<number>('saveJob', {
      jobName: 'mapper', timeExpressionType: 'API', executeType: 'MAP_REDUCE', processorType: 'BUILT_IN', processorInfo: 'mapper',
    });
    const { workflowId } = await saveDag({ mapNode: { jobId: mapJob }, afterMap: {} }, [['mapNode', 'afterMap']]);
    const wfInstanceId = await run(workflowId);
    await finished(wfInstanceId);
    expect((await info(wfInstanceId)).status).toBe(4);
    const context = ran('afterMap').at(-1)!.context!;
    expect(context['fromSubTask']).toBeUndefined();
    expect(context['subTask']).toContain('a map task cannot append to the workflow context');
  });
});

describe('CRON workflows', () => {
  it('fire on their Temporal Schedule, one workflow instance per fire, until disabled', async () => {
    const { workflowId } = await saveDag({ tick: {} }, [], { timeExpressionType: 'CRON', timeExpression: '* * * * * ?', timeZone: 'Europe/Berlin' });
    expect((await api.data<{ nextTriggerTime: number | null }>('fetchWorkflow', { workflowId }, { form: true })).nextTriggerTime).not.toBeNull();
    await expect.poll(
      async () => (await api.data<{ totalItems: number }>('queryWfInstance', { workflowIdEq: workflowId, statusIn: [4] })).totalItems,
      { timeout: 15_000 },
    ).toBeGreaterThanOrEqual(2);
    await api.data('disableWorkflow', { workflowId }, { form: true });
    expect((await api.data<{ nextTriggerTime: number | null }>('fetchWorkflow', { workflowId }, { form: true })).nextTriggerTime).toBeNull();
    const runs = await api.data<{ data: (WfInstance & { wfInstanceId: number })[] }>('queryWfInstance', { workflowIdEq: workflowId, pageSize: 100 });
    for (const instance of runs.data.filter((run) => run.status === 4)) {
      expect(instance.expectedTriggerTime % 1000).toBe(0);
      const tick = nodesOf(instance)['tick']!;
      expect(ran('tick').filter((entry) => entry.instanceId === Number(tick.instanceId))).toHaveLength(1);
    }
  });
});
