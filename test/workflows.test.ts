import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { OpenApiCaller } from './support/api-client.js';
import { eventually } from './support/eventually.js';
import { startTestStack, type TestStack } from './support/stack.js';

/**
 * Workflow (DAG) definitions through PowerJob's OpenAPI: nodes from addWorkflowNode, a DAG
 * saved over them, fetched back in PowerJob's shapes; copy, enable, disable, delete, the
 * paged query; every refusal names its problem and saves nothing.
 */

let stack: TestStack;
let api: OpenApiCaller;
let other: OpenApiCaller;
let jobA: number;
let jobB: number;
let otherAppsJob: number;

interface NodeInfo { id: number; appId: number; workflowId: number | null; type: number; jobId: number | null; nodeName: string | null; nodeParams: string | null; enable: boolean; skipWhenFailed: boolean }
interface WorkflowInfo {
  id: number; wfName: string; appId: number; status: number; enable: boolean; maxWfInstanceNum: number; timeExpressionType: string;
  failurePolicy: string;
  peworkflowDAG: { nodes: { nodeId: number; nodeType: number; jobId: number | null; nodeName: string | null; enable: boolean }[]; edges: { from: number; to: number; property: string | null }[] };
}

const saveJob = (caller: OpenApiCaller, name: string) => caller.data<number>('saveJob', {
  jobName: name, timeExpressionType: 'API', executeType: 'STANDALONE', processorType: 'BUILT_IN', processorInfo: name,
});
const addNodes = (nodes: Record<string, unknown>[], key?: string) =>
  api.data<NodeInfo[]>('addWorkflowNode', nodes, key ? { idempotencyKey: key } : {});
const jobNode = (jobId: number, nodeName: string) => ({ type: 1, jobId, nodeName });
const fetchWorkflow = (workflowId: number) => api.data<WorkflowInfo>('fetchWorkflow', { workflowId }, { form: true });
const saveWorkflow = (body: Record<string, unknown>, key?: string) =>
  api.call<number>('saveWorkflow', { timeExpressionType: 'API', ...body }, key ? { idempotencyKey: key } : {});
/** A node as the registry has it now: a no-change update of it answers with its record. */
const nodeNow = async (node: NodeInfo) =>
  (await addNodes([{ id: node.id, type: node.type, jobId: node.jobId, nodeName: node.nodeName, nodeParams: node.nodeParams }]))[0]!;

beforeAll(async () => {
  stack = await startTestStack();
  api = (await stack.newApp('wf')).api;
  other = (await stack.newApp('wf-other')).api;
  jobA = await saveJob(api, 'a');
  jobB = await saveJob(api, 'b');
  otherAppsJob = await saveJob(other, 'theirs');
});
afterAll(() => stack?.close());

describe('nodes and DAGs', () => {
  it('saves nodes, a DAG over them, and fetches both back in PowerJob\'s shapes', async () => {
    const [extract, decide, load] = await addNodes([
      jobNode(jobA, 'extract'),
      { type: 2, nodeName: 'big?', nodeParams: 'context.amount > 100' },
      { ...jobNode(jobB, 'load'), nodeParams: 'fast', enable: false, skipWhenFailed: true },
    ]);
    expect(extract).toMatchObject({ appId: api.appId, workflowId: null, type: 1, jobId: jobA, nodeName: 'extract', enable: true, skipWhenFailed: false });
    expect(decide).toMatchObject({ type: 2, jobId: null, nodeParams: 'context.amount > 100' });
    expect(load).toMatchObject({ nodeParams: 'fast', enable: false, skipWhenFailed: true });

    const res = await saveWorkflow({
      wfName: 'etl', wfDescription: 'nightly', maxWfInstanceNum: 3,
      dag: {
        nodes: [{ nodeId: extract!.id }, { nodeId: decide!.id }, { nodeId: load!.id }],
        edges: [{ from: extract!.id, to: decide!.id }, { from: decide!.id, to: load!.id, property: 'true' }, { from: decide!.id, to: extract!.id, property: 'false' }],
      },
    });
    // The false edge back to extract closes a cycle: refused, naming it.
    expect(res.body.success).toBe(false);
    expect(res.body.message).toMatch(/cycle, node \d+ "extract" → node \d+ "big\?" → node \d+ "extract"/);
    expect((await nodeNow(extract!)).workflowId).toBeNull();

    const end = (await addNodes([jobNode(jobA, 'end')]))[0]!;
    const workflowId = (await saveWorkflow({
      wfName: 'etl', wfDescription: 'nightly', maxWfInstanceNum: 3, failurePolicy: 'CONTINUE_BRANCHES',
      dag: {
        nodes: [{ nodeId: extract!.id }, { nodeId: decide!.id }, { nodeId: load!.id }, { nodeId: end.id }],
        edges: [{ from: extract!.id, to: decide!.id }, { from: decide!.id, to: load!.id, property: 'true' }, { from: decide!.id, to: end.id, property: 'false' }],
      },
    })).body.data!;
    const info = await fetchWorkflow(workflowId);
    expect(info).toMatchObject({
      id: workflowId, wfName: 'etl', appId: api.appId, status: 1, enable: true, maxWfInstanceNum: 3, timeExpressionType: 'API',
      failurePolicy: 'CONTINUE_BRANCHES',
    });
    expect(info.peworkflowDAG.nodes).toEqual([
      expect.objectContaining({ nodeId: extract!.id, nodeType: 1, jobId: jobA, nodeName: 'extract', enable: true }),
      expect.objectContaining({ nodeId: decide!.id, nodeType: 2, jobId: null, nodeParams: 'context.amount > 100' }),
      expect.objectContaining({ nodeId: load!.id, nodeType: 1, jobId: jobB, enable: false, skipWhenFailed: true }),
      expect.objectContaining({ nodeId: end.id, nodeName: 'end' }),
    ]);
    expect(info.peworkflowDAG.edges).toContainEqual({ from: decide!.id, to: load!.id, property: 'true', enable: true });
    expect((await nodeNow(extract!)).workflowId).toBe(workflowId);

    // A node of this workflow cannot join another one.
    const stolen = await saveWorkflow({ wfName: 'thief', dag: { nodes: [{ nodeId: end.id }], edges: [] } });
    expect(stolen.body.message).toContain(`node ${end.id} belongs to workflow ${workflowId}: a node is part of one workflow only`);

    // Saving the DAG without a node deletes that node, as PowerJob does.
    await saveWorkflow({ id: workflowId, wfName: 'etl', dag: { nodes: [{ nodeId: extract!.id }], edges: [] } });
    expect((await fetchWorkflow(workflowId)).peworkflowDAG.nodes.map((node) => node.nodeId)).toEqual([extract!.id]);
    const gone = await api.call('addWorkflowNode', [{ id: end.id, type: 1, jobId: jobA }]);
    expect(gone.body.message).toContain(`no workflow node ${end.id} in this app`);
  });

  it('refuses bad DAGs and nodes with every problem named, and saves nothing', async () => {
    const [a, b, decision] = await addNodes([jobNode(jobA, 'a'), jobNode(jobB, 'b'), { type: 2, nodeParams: 'true' }]);
    const refusal = async (body: Record<string, unknown>) => {
      const res = await saveWorkflow({ wfName: 'bad', ...body });
      expect(res.body.success, JSON.stringify(res.body)).toBe(false);
      return res.body.message ?? '';
    };
    expect(await refusal({ dag: { nodes: [{ nodeId: a!.id }], edges: [{ from: a!.id, to: 999_999 }] } }))
      .toContain('edge');
    expect(await refusal({ dag: { nodes: [{ nodeId: a!.id }, { nodeId: 424_242 }], edges: [] } }))
      .toContain('node 424242 does not exist in app');
    expect(await refusal({ dag: { nodes: [{ nodeId: a!.id }, { nodeId: decision!.id }], edges: [{ from: decision!.id, to: a!.id, property: 'true' }] } }))
      .toMatch(/1 edge\(s\) labelled "true" and 0 labelled "false"/);
    expect(await refusal({ dag: { nodes: [{ nodeId: 'abc' }], edges: [] } })).toContain('dag.nodes.0.nodeId');
    expect(await refusal({ dag: { nodes: [{ nodeId: a!.id }], edges: [] }, timeExpressionType: 'FIXED_RATE', timeExpression: '1000' }))
      .toContain('timeExpressionType FIXED_RATE is not supported for workflows');
    expect(await refusal({ wfName: '', dag: null })).toContain('wfName must not be empty');
    // Nothing of that was saved: the nodes are still free.
    for (const node of [a!, b!, decision!]) expect((await nodeNow(node)).workflowId).toBeNull();

    const badNodes = await api.call('addWorkflowNode', [
      { type: 1, jobId: otherAppsJob }, { type: 2, nodeParams: '  ' }, { type: 1 }, { type: 7, jobId: jobA },
    ]);
    expect(badNodes.body.success).toBe(false);
    expect(badNodes.body.message).toContain('type 7 is not a node type');
    const nodeRefusal = (await api.call('addWorkflowNode', [{ type: 1, jobId: otherAppsJob }, { type: 2, nodeParams: '  ' }, { type: 1 }])).body.message;
    expect(nodeRefusal).toContain(`node[0]: job ${otherAppsJob} not found in app`);
    expect(nodeRefusal).toContain('node[1]: a DECISION node needs its condition script');
    expect(nodeRefusal).toContain('node[2]: a JOB node needs jobId');
  });

  it('refuses nested workflows that nest themselves, directly or through others', async () => {
    const leaf = (await addNodes([jobNode(jobA, 'leaf')]))[0]!;
    const first = (await saveWorkflow({ wfName: 'first', dag: { nodes: [{ nodeId: leaf.id }], edges: [] } })).body.data!;
    const nestsFirst = (await addNodes([{ type: 3, jobId: first }]))[0]!;
    const second = (await saveWorkflow({ wfName: 'second', dag: { nodes: [{ nodeId: nestsFirst.id }], edges: [] } })).body.data!;
    const nestsSecond = (await addNodes([{ type: 3, jobId: second }]))[0]!;
    const cycle = await saveWorkflow({ id: first, wfName: 'first', dag: { nodes: [{ nodeId: leaf.id }, { nodeId: nestsSecond.id }], edges: [] } });
    expect(cycle.body.message).toContain(`nested workflows form a cycle: workflow ${first} nests workflow ${second}`);
    const self = (await addNodes([{ type: 3, jobId: first }]))[0]!;
    const selfNest = await saveWorkflow({ id: first, wfName: 'first', dag: { nodes: [{ nodeId: leaf.id }, { nodeId: self.id }], edges: [] } });
    expect(selfNest.body.message).toContain(`nests workflow ${first}, the workflow it belongs to`);
    expect((await fetchWorkflow(first)).peworkflowDAG.nodes.map((node) => node.nodeId)).toEqual([leaf.id]);
  });
});

describe('lifecycle', () => {
  it('copies, disables, enables and deletes; a deleted workflow can no longer change', async () => {
    const [a, b] = await addNodes([jobNode(jobA, 'a'), jobNode(jobB, 'b')]);
    const workflowId = (await saveWorkflow({ wfName: 'orig', dag: { nodes: [{ nodeId: a!.id }, { nodeId: b!.id }], edges: [{ from: a!.id, to: b!.id }] } })).body.data!;
    const copyId = await api.data<number>('copyWorkflow', { workflowId }, { form: true });
    const copy = await fetchWorkflow(copyId);
    expect(copy.wfName).toBe('orig_COPY');
    const [ca, cb] = copy.peworkflowDAG.nodes;
    expect([ca!.nodeName, cb!.nodeName]).toEqual(['a', 'b']);
    expect([ca!.nodeId, cb!.nodeId]).not.toContain(a!.id);
    expect(copy.peworkflowDAG.edges).toEqual([{ from: ca!.nodeId, to: cb!.nodeId, property: null, enable: true }]);

    await api.data('disableWorkflow', { workflowId }, { form: true });
    expect(await fetchWorkflow(workflowId)).toMatchObject({ status: 2, enable: false });
    await api.data('enableWorkflow', { workflowId }, { form: true });
    expect(await fetchWorkflow(workflowId)).toMatchObject({ status: 1, enable: true });
    await api.data('deleteWorkflow', { workflowId }, { form: true });
    await api.data('deleteWorkflow', { workflowId }, { form: true });
    expect(await fetchWorkflow(workflowId)).toMatchObject({ status: 99, enable: false });
    const change = await api.call('enableWorkflow', { workflowId }, { form: true });
    expect(change.body.message).toContain(`workflow ${workflowId} was deleted`);
    expect((await api.call('copyWorkflow', { workflowId }, { form: true })).body.message).toContain('was deleted; it cannot be copied');
  });

  it('makes one workflow and one set of nodes per Idempotency-Key', async () => {
    const first = await addNodes([jobNode(jobA, 'once')], 'nodes-key');
    const again = await addNodes([jobNode(jobA, 'once')], 'nodes-key');
    expect(again.map((node) => node.id)).toEqual(first.map((node) => node.id));
    const reuse = await api.call('addWorkflowNode', [jobNode(jobB, 'other')], { idempotencyKey: 'nodes-key' });
    expect(reuse.body.message).toContain('Idempotency-Key "nodes-key" was already used for a different request');

    const body = { wfName: 'keyed', dag: { nodes: [{ nodeId: first[0]!.id }], edges: [] } };
    const id1 = (await saveWorkflow(body, 'wf-key')).body.data;
    const id2 = (await saveWorkflow(body, 'wf-key')).body.data;
    expect(id2).toBe(id1);
    expect((await saveWorkflow({ ...body, wfName: 'changed' }, 'wf-key')).body.message).toContain('was already used for a different request');
    const copy1 = await api.data<number>('copyWorkflow', { workflowId: id1 }, { form: true, idempotencyKey: 'copy-key' });
    const copy2 = await api.data<number>('copyWorkflow', { workflowId: id1 }, { form: true, idempotencyKey: 'copy-key' });
    expect(copy2).toBe(copy1);
  });

  it('pages and filters workflows with queryWorkflow', async () => {
    const app = (await stack.newApp('wf-query')).api;
    const job = await saveJob(app, 'q');
    const ids: number[] = [];
    for (const name of ['alpha', 'beta', 'gamma']) {
      const node = (await app.data<NodeInfo[]>('addWorkflowNode', [jobNode(job, name)]))[0]!;
      ids.push(await app.data<number>('saveWorkflow', { wfName: `report-${name}`, timeExpressionType: 'API', dag: { nodes: [{ nodeId: node.id }], edges: [] } }));
    }
    await app.data('disableWorkflow', { workflowId: ids[1] }, { form: true });
    const all = await eventually(
      () => app.data<{ totalItems: number; totalPages: number; data: WorkflowInfo[] }>('queryWorkflow', { pageSize: 2, sortBy: 'wfName', asc: true }),
      (page) => page.totalItems === 3,
    );
    expect(all.totalPages).toBe(2);
    expect(all.data.map((workflow) => workflow.wfName)).toEqual(['report-alpha', 'report-beta']);
    const enabled = await app.data<{ data: WorkflowInfo[] }>('queryWorkflow', { statusIn: [1], wfNameLike: 'report' });
    expect(enabled.data.map((workflow) => workflow.id).sort()).toEqual([ids[0], ids[2]].sort());
  });
});
