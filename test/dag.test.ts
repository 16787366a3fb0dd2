import { describe, expect, it } from 'vitest';
import {
  CONTEXT_INIT_PARAMS_KEY,
  NodeStatus,
  WORKFLOW_CONTEXT_LIMITS,
  WorkflowInstanceStatus,
  WorkflowNodeType,
  WorkflowSystemResult,
  applyDecision,
  contextSizeProblem,
  contextValueOf,
  decisionLabel,
  findNestedWorkflowCycle,
  markNodeStarted,
  markNodeSucceeded,
  mergeAppendedContext,
  mergeChildContext,
  newRunDag,
  nodeLabel,
  nodeStatusOf,
  parseInitParams,
  recordNodeFinished,
  retryDag,
  stepDag,
  stopDag,
  validateDag,
  type FailurePolicy,
  type PEWorkflowDAG,
  type PEWorkflowEdge,
  type PEWorkflowNode,
  type WorkflowOutcome,
} from '../src/domain/dag.js';
import { dagMemoChanges, dagStartMemo, dagStateOfMemo, startedDagOfMemo } from '../src/contract/memo.js';
import type { DagState } from '../src/domain/workflow.js';

// ---------------------------------------------------------------------------------------------
// Builders: node n is named "n<n>" and runs job 500 + n; decision n is named "d<n>".
// ---------------------------------------------------------------------------------------------

const job = (nodeId: number, more: Partial<PEWorkflowNode> = {}): PEWorkflowNode => ({
  nodeId, nodeType: 1, jobId: 500 + nodeId, nodeName: `n${nodeId}`, nodeParams: null, enable: true, skipWhenFailed: false, ...more,
});
const decision = (nodeId: number, more: Partial<PEWorkflowNode> = {}): PEWorkflowNode => ({
  nodeId, nodeType: 2, jobId: null, nodeName: `d${nodeId}`, nodeParams: 'context.go == "yes"', enable: true, skipWhenFailed: false, ...more,
});
const nested = (nodeId: number, workflowId: number, more: Partial<PEWorkflowNode> = {}): PEWorkflowNode => ({
  nodeId, nodeType: 3, jobId: workflowId, nodeName: `w${nodeId}`, nodeParams: null, enable: true, skipWhenFailed: false, ...more,
});
const edge = (from: number, to: number, property: string | null = null): PEWorkflowEdge => ({ from, to, property });
const dagOf = (nodes: PEWorkflowNode[], edges: PEWorkflowEdge[] = []): PEWorkflowDAG => ({ nodes, edges });

const node = (dag: PEWorkflowDAG, nodeId: number): PEWorkflowNode => {
  const found = dag.nodes.find((candidate) => candidate.nodeId === nodeId);
  if (!found) throw new Error(`no node ${nodeId}`);
  return found;
};
const statusOf = (dag: PEWorkflowDAG, nodeId: number) => nodeStatusOf(node(dag, nodeId));
const ids = (nodes: PEWorkflowNode[]) => nodes.map((n) => n.nodeId);
const ok = <T extends { ok: boolean }>(change: T): Extract<T, { ok: true }> => {
  if (!change.ok) throw new Error(`refused: ${JSON.stringify(change)}`);
  return change as Extract<T, { ok: true }>;
};
const refusal = (change: { ok: true } | { ok: false; reason: string }): string => {
  if (change.ok) throw new Error('expected a refusal');
  return change.reason;
};

/** Instance ids in these tests: node n's instance is 1000 + n (its retries 2000 + n, …). */
const start = (dag: PEWorkflowDAG, nodeId: number, round = 1) => markNodeStarted(dag, nodeId, round * 1000 + nodeId, 't0');
const finish = (dag: PEWorkflowDAG, nodeId: number, status: 'SUCCEED' | 'FAILED' | 'STOPPED', result: string | null = `r${nodeId}`, round = 1) => {
  const recorded = recordNodeFinished(dag, { instanceId: round * 1000 + nodeId, status, result, finishedTime: 't1' });
  if (!recorded) throw new Error(`node ${nodeId} was not running`);
  return recorded.dag;
};

interface Run {
  outcome: WorkflowOutcome;
  dag: PEWorkflowDAG;
  /** Node ids in the order they were started (decisions excluded). */
  started: number[];
}

/**
 * Drives a run as the workflow will: step; decide every ready decision (verdicts[nodeId],
 * default true) and step again; start every ready task node; finish the running nodes one at
 * a time in DAG order (FAILED for `fail`, else SUCCEED) until the outcome is final.
 */
function drive(
  dag: PEWorkflowDAG,
  options: { fail?: number[]; verdicts?: Record<number, boolean>; policy?: FailurePolicy; round?: number; fresh?: boolean } = {},
): Run {
  const { fail = [], verdicts = {}, policy, round = 1, fresh = true } = options;
  let current = fresh ? newRunDag(dag) : dag;
  let finishedNodeId: number | undefined;
  const started: number[] = [];
  for (let guard = 0; guard < 10_000; guard++) {
    const step = stepDag(current, { policy, finishedNodeId });
    current = step.dag;
    if (step.decide.length > 0) {
      for (const d of step.decide) current = applyDecision(current, d.nodeId, verdicts[d.nodeId] ?? true, { finishedTime: 't' });
      continue;
    }
    if (step.outcome.status !== 'RUNNING') return { outcome: step.outcome, dag: current, started };
    for (const ready of step.start) {
      current = start(current, ready.nodeId, round);
      started.push(ready.nodeId);
    }
    const running = current.nodes.find((n) => nodeStatusOf(n) === 'RUNNING');
    if (!running) throw new Error('RUNNING with nothing running or ready');
    current = finish(current, running.nodeId, fail.includes(running.nodeId) ? 'FAILED' : 'SUCCEED', fail.includes(running.nodeId) ? 'boom' : `r${running.nodeId}`, round);
    finishedNodeId = running.nodeId;
  }
  throw new Error('the run did not end');
}

// ---------------------------------------------------------------------------------------------

describe('codes and system results (PowerJob 5.1.1)', () => {
  it('uses PowerJob\'s numeric codes', () => {
    expect(WorkflowInstanceStatus.codes).toEqual({ WAITING: 1, RUNNING: 2, FAILED: 3, SUCCEED: 4, STOPPED: 10 });
    expect(WorkflowInstanceStatus.nameOf(10)).toBe('STOPPED');
    expect(WorkflowInstanceStatus.nameOf(5)).toBeUndefined();
    expect(WorkflowNodeType.codes).toEqual({ JOB: 1, DECISION: 2, NESTED_WORKFLOW: 3 });
    expect(WorkflowNodeType.names).toEqual(['JOB', 'DECISION', 'NESTED_WORKFLOW']);
    // Nodes carry instance codes, not workflow codes.
    expect(NodeStatus.codes).toMatchObject({ WAITING_DISPATCH: 1, RUNNING: 3, FAILED: 4, SUCCEED: 5, CANCELED: 9, STOPPED: 10 });
  });

  it('writes PowerJob\'s exact result strings', () => {
    expect(WorkflowSystemResult).toEqual({
      middleJobFailed: 'middle job failed',
      middleJobStopped: 'middle job stopped by user',
      canNotFindJob: "can't find some job",
      canNotFindNode: "can't find some node",
      illegalNode: 'illegal node info',
      noEnabledNodes: 'no enabled nodes',
      stoppedByUser: 'stopped by user',
      canceledByUser: 'canceled by user',
      invalidDag: 'invalid dag',
      disableNode: 'disable node',
      markAsSuccessfulNode: 'mark as successful node',
    });
  });

  it('reads absent fields as PowerJob does', () => {
    expect(nodeStatusOf({ status: null })).toBe('WAITING_DISPATCH');
    expect(nodeStatusOf({ status: 9 })).toBe('CANCELED');
    expect(nodeLabel({ nodeId: 3, nodeName: 'load' })).toBe('node 3 "load"');
    expect(nodeLabel({ nodeId: 3, nodeName: null })).toBe('node 3');
    expect([decisionLabel('true'), decisionLabel(' FALSE '), decisionLabel('yes'), decisionLabel(null)]).toEqual([true, false, undefined, undefined]);
  });
});

describe('validateDag', () => {
  const diamond = () => dagOf([job(1), decision(2), job(3), job(4), job(5)], [edge(1, 2), edge(2, 3, 'true'), edge(2, 4, 'false'), edge(3, 5), edge(4, 5)]);

  it('accepts a valid DAG, several roots included', () => {
    expect(validateDag(diamond())).toEqual([]);
    expect(validateDag(dagOf([job(1), job(2)]))).toEqual([]);
    // nodeType null is a JOB (PowerJob's forward compatibility); labels any case, trimmed.
    expect(validateDag(dagOf([job(1, { nodeType: null }), decision(2), job(3), job(4)], [edge(1, 2), edge(2, 3, ' TRUE'), edge(2, 4, 'False ')]))).toEqual([]);
  });

  it('refuses an empty DAG', () => {
    const message = 'the DAG has no nodes: add at least one node (create nodes with addWorkflowNode, then list their ids in dag.nodes)';
    expect(validateDag(null)).toEqual([message]);
    expect(validateDag(undefined)).toEqual([message]);
    expect(validateDag(dagOf([]))).toEqual([message]);
  });

  it('treats null edges as none', () => {
    expect(validateDag({ nodes: [job(1)], edges: null as unknown as PEWorkflowEdge[] })).toEqual([]);
  });

  it('refuses bad and duplicate node ids', () => {
    expect(validateDag(dagOf([job(1), job(1)]))).toEqual(['node 1 "n1" is listed more than once: list each node once']);
    expect(validateDag(dagOf([job(0), job(1.5)]))).toEqual([
      'a node has nodeId 0: every node needs the positive integer id addWorkflowNode returned',
      'a node has nodeId 1.5: every node needs the positive integer id addWorkflowNode returned',
    ]);
  });

  it('refuses edges to unknown nodes, self-loops and duplicate edges', () => {
    expect(validateDag(dagOf([job(1), job(2)], [edge(1, 9), edge(8, 2)]))).toEqual([
      'edge 1 → 9 refers to node 9, which is not in the DAG: add that node to dag.nodes or remove the edge',
      'edge 8 → 2 refers to node 8, which is not in the DAG: add that node to dag.nodes or remove the edge',
    ]);
    expect(validateDag(dagOf([job(1), job(2)], [edge(1, 2), edge(2, 2)]))).toEqual([
      'edge 2 → 2 is a self-loop: a node cannot depend on itself; remove the edge',
    ]);
    expect(validateDag(dagOf([job(1), job(2)], [edge(1, 2), edge(1, 2)]))).toEqual(['edge 1 → 2 is listed more than once: list each edge once']);
  });

  it('names a cycle, each one of several, whether or not a root reaches it', () => {
    // 1 → 2 → 3 → 2 is reachable from root 1; 4 → 5 → 6 → 4 is an isolated cycle.
    const problems = validateDag(dagOf([job(1), job(2), job(3), job(4), job(5), job(6)], [edge(1, 2), edge(2, 3), edge(3, 2), edge(4, 5), edge(5, 6), edge(6, 4)]));
    expect(problems).toHaveLength(2);
    expect(problems).toContain('the edges form a cycle, node 2 "n2" → node 3 "n3" → node 2 "n2": a workflow must be acyclic; remove one of these edges');
    expect(problems).toContain('the edges form a cycle, node 4 "n4" → node 5 "n5" → node 6 "n6" → node 4 "n4": a workflow must be acyclic; remove one of these edges');
  });

  it('names a cycle inside a larger tangle', () => {
    const [problem] = validateDag(dagOf([job(1), job(2), job(3), job(4)], [edge(1, 2), edge(2, 3), edge(3, 1), edge(3, 4), edge(4, 2)]));
    expect(problem).toBe('the edges form a cycle, node 1 "n1" → node 2 "n2" → node 3 "n3" → node 1 "n1": a workflow must be acyclic; remove one of these edges');
  });

  it('needs each decision to have exactly one "true" and one "false" edge out', () => {
    const badLabel = dagOf([decision(1), job(2), job(3)], [edge(1, 2, 'yes'), edge(1, 3, 'false')]);
    expect(validateDag(badLabel)).toEqual([
      'edge 1 → 2 leaves decision node 1 "d1" with property "yes": label it "true" or "false"',
      'decision node 1 "d1" has 0 edge(s) labelled "true" and 1 labelled "false": a decision needs exactly one edge out labelled "true" and one labelled "false"',
    ]);
    const oneBranch = dagOf([decision(1), job(2)], [edge(1, 2, 'true')]);
    expect(validateDag(oneBranch)).toEqual([
      'decision node 1 "d1" has 1 edge(s) labelled "true" and 0 labelled "false": a decision needs exactly one edge out labelled "true" and one labelled "false"',
    ]);
    const unlabelled = dagOf([decision(1), job(2), job(3)], [edge(1, 2), edge(1, 3)]);
    expect(validateDag(unlabelled)).toEqual([
      'edge 1 → 2 leaves decision node 1 "d1" with property null: label it "true" or "false"',
      'edge 1 → 3 leaves decision node 1 "d1" with property null: label it "true" or "false"',
      'decision node 1 "d1" has 0 edge(s) labelled "true" and 0 labelled "false": a decision needs exactly one edge out labelled "true" and one labelled "false"',
    ]);
    const threeWays = dagOf([decision(1), job(2), job(3), job(4)], [edge(1, 2, 'true'), edge(1, 3, 'false'), edge(1, 4, 'true')]);
    expect(validateDag(threeWays)).toEqual([
      'decision node 1 "d1" has 2 edge(s) labelled "true" and 1 labelled "false": a decision needs exactly one edge out labelled "true" and one labelled "false"',
    ]);
  });

  it('refuses a decision without a script, a job node without a job, an unknown node type', () => {
    expect(validateDag(dagOf([decision(1, { nodeParams: '  ' }), job(2), job(3)], [edge(1, 2, 'true'), edge(1, 3, 'false')]))).toEqual([
      'decision node 1 "d1" has an empty script: put a condition returning true or false in nodeParams',
    ]);
    expect(validateDag(dagOf([job(1, { jobId: null }), nested(2, 0)]))).toEqual([
      'JOB node 1 "n1" has jobId null: set jobId to the id of the job it runs',
      'NESTED_WORKFLOW node 2 "w2" has jobId 0: set jobId to the id of the workflow it nests',
    ]);
    expect(validateDag(dagOf([job(1, { nodeType: 7 })]))).toEqual(['node 1 "n1" has nodeType 7: use 1 (JOB), 2 (DECISION) or 3 (NESTED_WORKFLOW)']);
  });

  it('refuses a nested-workflow node that nests its own workflow', () => {
    const dag = dagOf([nested(1, 42)]);
    expect(validateDag(dag)).toEqual([]);
    expect(validateDag(dag, { workflowId: 42 })).toEqual([
      'NESTED_WORKFLOW node 1 "w1" nests workflow 42, the workflow it belongs to: a workflow cannot nest itself',
    ]);
  });

  it('returns every problem, not just the first', () => {
    const dag = dagOf([job(1), job(1), job(2, { jobId: null }), decision(3, { nodeParams: '' }), job(4)], [edge(1, 9), edge(4, 4), edge(3, 1, 'maybe')]);
    expect(validateDag(dag)).toEqual([
      'node 1 "n1" is listed more than once: list each node once',
      'JOB node 2 "n2" has jobId null: set jobId to the id of the job it runs',
      'decision node 3 "d3" has an empty script: put a condition returning true or false in nodeParams',
      'edge 1 → 9 refers to node 9, which is not in the DAG: add that node to dag.nodes or remove the edge',
      'edge 4 → 4 is a self-loop: a node cannot depend on itself; remove the edge',
      'edge 3 → 1 leaves decision node 3 "d3" with property "maybe": label it "true" or "false"',
      'decision node 3 "d3" has 0 edge(s) labelled "true" and 0 labelled "false": a decision needs exactly one edge out labelled "true" and one labelled "false"',
    ]);
  });

  it('runs in linear time where a path walk explodes', () => {
    // 40 layers of 2 nodes, each node joined to both of the next layer: 2^40 paths.
    const nodes: PEWorkflowNode[] = [];
    const edges: PEWorkflowEdge[] = [];
    for (let layer = 0; layer < 40; layer++) {
      nodes.push(job(layer * 2 + 1), job(layer * 2 + 2));
      if (layer > 0) for (const from of [layer * 2 - 1, layer * 2]) for (const to of [layer * 2 + 1, layer * 2 + 2]) edges.push(edge(from, to));
    }
    const started = performance.now();
    expect(validateDag(dagOf(nodes, edges))).toEqual([]);
    // A 20,000-node chain closed into one cycle: one message, no stack overflow.
    const chain = Array.from({ length: 20_000 }, (_, i) => job(i + 1));
    const ring = [...chain.slice(1).map((n) => edge(n.nodeId - 1, n.nodeId)), edge(20_000, 1)];
    expect(validateDag(dagOf(chain, ring))).toHaveLength(1);
    expect(performance.now() - started).toBeLessThan(2_000);
  });
});

describe('newRunDag', () => {
  it('starts every node waiting, with job params falling back to the job\'s', () => {
    const stored = dagOf(
      [job(1, { nodeParams: 'own', status: 5, instanceId: 77, result: 'old' }), job(2, { nodeParams: ' ' }), decision(3), job(4, { nodeType: null, enable: null, skipWhenFailed: null }), job(5)],
      [edge(1, 3), { ...edge(3, 2, 'true'), enable: false }, edge(3, 4, 'false')],
    );
    const jobParams: Record<number, string> = { 502: 'job-2-params', 504: 'job-4-params' };
    const run = newRunDag(stored, (jobId) => jobParams[jobId]);
    expect(run.nodes.map((n) => [n.nodeId, n.status, n.instanceId, n.result, n.nodeParams])).toEqual([
      [1, 1, null, null, 'own'],
      [2, 1, null, null, 'job-2-params'],
      [3, 1, null, null, 'context.go == "yes"'],
      [4, 1, null, null, 'job-4-params'],
      [5, 1, null, null, null],
    ]);
    expect(node(run, 4)).toMatchObject({ nodeType: 1, enable: true, skipWhenFailed: false, disableByControlNode: false });
    expect(run.edges.every((e) => e.enable === true)).toBe(true);
    expect(stored.nodes[0]?.status).toBe(5);
  });
});

describe('stepDag: which nodes start', () => {
  it('starts the roots, then each node once all its predecessors passed', () => {
    // 1 → 3, 2 → 3, 3 → 4
    let dag = newRunDag(dagOf([job(1), job(2), job(3), job(4)], [edge(1, 3), edge(2, 3), edge(3, 4)]));
    let step = stepDag(dag);
    expect(ids(step.start)).toEqual([1, 2]);
    expect(step.outcome).toEqual({ status: 'RUNNING' });
    dag = start(start(dag, 1), 2);
    expect(ids(stepDag(dag).start)).toEqual([]);
    dag = finish(dag, 1, 'SUCCEED');
    step = stepDag(dag, { finishedNodeId: 1 });
    expect(ids(step.start)).toEqual([]);
    expect(step.outcome.status).toBe('RUNNING');
    dag = finish(dag, 2, 'SUCCEED');
    expect(ids(stepDag(dag, { finishedNodeId: 2 }).start)).toEqual([3]);
  });

  it('never returns a started node again', () => {
    const dag = start(newRunDag(dagOf([job(1), job(2)])), 1);
    expect(ids(stepDag(dag).start)).toEqual([2]);
  });

  it('succeeds when every node finished, with the last finished node\'s result', () => {
    const run = drive(dagOf([job(1), job(2)], [edge(1, 2)]));
    expect(run.started).toEqual([1, 2]);
    expect(run.outcome).toEqual({ status: 'SUCCEED', result: 'r2' });
  });

  it('passes disabled nodes as "disable node" and goes on past them', () => {
    // 1 → 2 (disabled) → 3 (disabled) → 4
    const dag = dagOf([job(1), job(2, { enable: false }), job(3, { enable: false }), job(4)], [edge(1, 2), edge(2, 3), edge(3, 4)]);
    let run = newRunDag(dag);
    expect(ids(stepDag(run).start)).toEqual([1]);
    expect(statusOf(stepDag(run).dag, 2)).toBe('WAITING_DISPATCH');
    run = finish(start(run, 1), 1, 'SUCCEED');
    const step = stepDag(run, { finishedNodeId: 1 });
    expect(ids(step.start)).toEqual([4]);
    expect(node(step.dag, 2)).toMatchObject({ status: 5, result: 'disable node' });
    expect(node(step.dag, 3)).toMatchObject({ status: 5, result: 'disable node' });
    expect(drive(dag).started).toEqual([1, 4]);
  });

  it('starts the successors of a disabled root at once', () => {
    const step = stepDag(newRunDag(dagOf([job(1, { enable: false }), job(2), job(3)], [edge(1, 2), edge(1, 3)])));
    expect(ids(step.start)).toEqual([2, 3]);
    expect(statusOf(step.dag, 1)).toBe('SUCCEED');
  });

  it('succeeds with "no enabled nodes" when every node is disabled', () => {
    const step = stepDag(newRunDag(dagOf([job(1, { enable: false }), job(2, { enable: false })], [edge(1, 2)])));
    expect(step.start).toEqual([]);
    expect(step.outcome).toEqual({ status: 'SUCCEED', result: 'no enabled nodes' });
    expect(step.dag.nodes.map((n) => n.result)).toEqual(['disable node', 'disable node']);
  });

  it('lets a failed node with skipWhenFailed pass; it stays FAILED in a workflow that succeeds', () => {
    const run = drive(dagOf([job(1, { skipWhenFailed: true }), job(2)], [edge(1, 2)]), { fail: [1] });
    expect(run.started).toEqual([1, 2]);
    expect(run.outcome).toEqual({ status: 'SUCCEED', result: 'r2' });
    expect(statusOf(run.dag, 1)).toBe('FAILED');
  });

  it('does not change the snapshot it is given', () => {
    const dag = newRunDag(dagOf([job(1, { enable: false }), job(2)], [edge(1, 2)]));
    const before = JSON.stringify(dag);
    stepDag(dag);
    expect(JSON.stringify(dag)).toBe(before);
  });
});

describe('stepDag: failures and stops', () => {
  // Two independent branches: 1 → 2 and 3 → 4.
  const branches = () => dagOf([job(1), job(2), job(3), job(4)], [edge(1, 2), edge(3, 4)]);

  it('FAIL_FAST (PowerJob): the first failure fails the workflow, naming the node; nothing new starts', () => {
    let dag = newRunDag(branches());
    dag = start(start(dag, 1), 3);
    dag = finish(dag, 1, 'FAILED', 'boom');
    const step = stepDag(dag, { finishedNodeId: 1 });
    expect(step.start).toEqual([]);
    expect(step.outcome).toEqual({ status: 'FAILED', result: 'middle job failed: node 1 "n1": boom', failedNodeIds: [1] });
    // Node 3 finishing afterwards changes nothing: still failed, 4 never starts.
    dag = finish(dag, 3, 'SUCCEED');
    expect(stepDag(dag, { finishedNodeId: 3 }).start).toEqual([]);
    expect(drive(branches(), { fail: [1] }).started).toEqual([1, 3]);
  });

  it('CONTINUE_BRANCHES: a failure blocks only its descendants; the workflow fails when the rest is done', () => {
    const run = drive(branches(), { fail: [1], policy: 'CONTINUE_BRANCHES' });
    expect(run.started).toEqual([1, 3, 4]);
    expect(run.outcome).toEqual({ status: 'FAILED', result: 'middle job failed: node 1 "n1": boom', failedNodeIds: [1] });
    expect(statusOf(run.dag, 2)).toBe('WAITING_DISPATCH');
  });

  it('the same DAG under both policies: which nodes ran and the final status', () => {
    // 1 → 2 → 5, 3 → 4 → 5, 6 alone; 2 fails.
    const dag = dagOf([job(1), job(2), job(3), job(4), job(5), job(6)], [edge(1, 2), edge(2, 5), edge(3, 4), edge(4, 5)]);
    const failFast = drive(dag, { fail: [2] });
    const continued = drive(dag, { fail: [2], policy: 'CONTINUE_BRANCHES' });
    expect(failFast.started).toEqual([1, 3, 6, 2]);
    expect(continued.started).toEqual([1, 3, 6, 2, 4]);
    expect(failFast.outcome.status).toBe('FAILED');
    expect(continued.outcome).toEqual(failFast.outcome);
    expect(statusOf(continued.dag, 5)).toBe('WAITING_DISPATCH');
  });

  it('CONTINUE_BRANCHES names every failed node', () => {
    const run = drive(branches(), { fail: [1, 4], policy: 'CONTINUE_BRANCHES' });
    expect(run.outcome).toEqual({ status: 'FAILED', result: 'middle job failed: node 1 "n1": boom; node 4 "n4": boom', failedNodeIds: [1, 4] });
  });

  it('a failure without a result is named by its node alone', () => {
    const dag = finish(start(newRunDag(dagOf([job(1)])), 1), 1, 'FAILED', null);
    expect(stepDag(dag).outcome).toMatchObject({ result: 'middle job failed: node 1 "n1"' });
  });

  it('a stopped node stops the workflow', () => {
    const dag = finish(start(newRunDag(branches()), 1), 1, 'STOPPED', 'user stop instance,interrupted success');
    expect(stepDag(dag, { policy: 'CONTINUE_BRANCHES' })).toMatchObject({ start: [], outcome: { status: 'STOPPED', result: 'middle job stopped by user' } });
  });
});

describe('decisions', () => {
  // 1 → decision 2; true → 3, false → 4; 3 → 5 and 4 → 5 (a join).
  const diamond = () => dagOf([job(1), decision(2), job(3), job(4), job(5)], [edge(1, 2), edge(2, 3, 'true'), edge(2, 4, 'false'), edge(3, 5), edge(4, 5)]);

  it('offers a ready decision to decide, not to start', () => {
    const dag = finish(start(newRunDag(diamond()), 1), 1, 'SUCCEED');
    const step = stepDag(dag, { finishedNodeId: 1 });
    expect(ids(step.decide)).toEqual([2]);
    expect(step.start).toEqual([]);
    expect(step.outcome.status).toBe('RUNNING');
  });

  it('runs the chosen branch, cancels the other, and still runs the join reached by a live path (PowerJob #728)', () => {
    const run = drive(diamond(), { verdicts: { 2: true } });
    expect(run.started).toEqual([1, 3, 5]);
    expect(run.outcome).toEqual({ status: 'SUCCEED', result: 'r5' });
    expect(node(run.dag, 2)).toMatchObject({ status: 5, result: 'true', finishedTime: 't' });
    expect(node(run.dag, 4)).toMatchObject({ status: 9, enable: false, disableByControlNode: true });
    expect(node(run.dag, 5)).toMatchObject({ status: 5, disableByControlNode: false });
    expect(run.dag.edges.map((e) => `${e.from}→${e.to}:${String(e.enable)}`)).toEqual(['1→2:true', '2→3:true', '2→4:false', '3→5:true', '4→5:false']);

    const other = drive(diamond(), { verdicts: { 2: false } });
    expect(other.started).toEqual([1, 4, 5]);
    expect(statusOf(other.dag, 3)).toBe('CANCELED');
  });

  it('cancels a whole branch reachable only through disabled edges', () => {
    // decision 1: true → 2; false → 3 → 4 → 5, and 3 → 6
    const dag = dagOf([decision(1), job(2), job(3), job(4), job(5), job(6)], [edge(1, 2, 'true'), edge(1, 3, 'false'), edge(3, 4), edge(4, 5), edge(3, 6)]);
    const run = drive(dag, { verdicts: { 1: true } });
    expect(run.started).toEqual([2]);
    expect([3, 4, 5, 6].map((id) => statusOf(run.dag, id))).toEqual(['CANCELED', 'CANCELED', 'CANCELED', 'CANCELED']);
    expect(run.outcome).toEqual({ status: 'SUCCEED', result: 'r2' });
  });

  it('keeps a node that another, independent path reaches', () => {
    // root 1 → 4; decision 2: true → 3, false → 5 → 4
    const dag = dagOf([job(1), decision(2), job(3), job(4), job(5)], [edge(1, 4), edge(2, 3, 'true'), edge(2, 5, 'false'), edge(5, 4)]);
    const run = drive(dag, { verdicts: { 2: true } });
    expect(statusOf(run.dag, 5)).toBe('CANCELED');
    expect(run.started).toEqual([1, 3, 4]);
  });

  it('reads edge labels in any case, trimmed', () => {
    const dag = dagOf([decision(1), job(2), job(3)], [edge(1, 2, ' TRUE '), edge(1, 3, 'False')]);
    expect(drive(dag, { verdicts: { 1: false } }).started).toEqual([3]);
  });

  it('a decision at the end: the workflow succeeds with the last job\'s result', () => {
    const dag = dagOf([job(1), decision(2), job(3), job(4)], [edge(1, 2), edge(2, 3, 'true'), edge(2, 4, 'false')]);
    let run = finish(start(newRunDag(dag), 1), 1, 'SUCCEED', 'loaded');
    run = applyDecision(run, 2, true);
    run = finish(start(run, 3), 3, 'SUCCEED', 'done');
    expect(stepDag(run, { finishedNodeId: 3 }).outcome).toEqual({ status: 'SUCCEED', result: 'done' });
  });

  it('a disabled decision passes as "disable node" and prunes nothing: both branches run', () => {
    const dag = dagOf([decision(1, { enable: false }), job(2), job(3)], [edge(1, 2, 'true'), edge(1, 3, 'false')]);
    const step = stepDag(newRunDag(dag));
    expect(step.decide).toEqual([]);
    expect(ids(step.start)).toEqual([2, 3]);
    expect(node(step.dag, 1)).toMatchObject({ status: 5, result: 'disable node' });
  });

  it('ignores a second verdict, other node types and unknown ids; never changes its input', () => {
    const dag = newRunDag(diamond());
    const once = applyDecision(dag, 2, true);
    expect(applyDecision(once, 2, false)).toEqual(once);
    expect(applyDecision(dag, 1, true)).toEqual(dag);
    expect(applyDecision(dag, 99, true)).toEqual(dag);
    expect(statusOf(dag, 2)).toBe('WAITING_DISPATCH');
    expect(dag.edges.every((e) => e.enable === true)).toBe(true);
  });
});

describe('node reports', () => {
  it('records a finish on the node holding the instance; ignores stale and duplicate reports', () => {
    let dag = start(newRunDag(dagOf([job(1)])), 1);
    expect(node(dag, 1)).toMatchObject({ status: 3, instanceId: 1001, startTime: 't0' });
    expect(recordNodeFinished(dag, { instanceId: 999, status: 'SUCCEED', result: null })).toBeNull();
    const recorded = recordNodeFinished(dag, { instanceId: 1001, status: 'FAILED', result: 'boom', finishedTime: 't1' });
    expect(recorded?.nodeId).toBe(1);
    dag = recorded!.dag;
    expect(node(dag, 1)).toMatchObject({ status: 4, result: 'boom', finishedTime: 't1' });
    expect(recordNodeFinished(dag, { instanceId: 1001, status: 'SUCCEED', result: 'late' })).toBeNull();
  });
});

describe('stop, retry, mark a node successful', () => {
  it('stop: running nodes STOPPED "stopped by user"; refused once the workflow ended', () => {
    let dag = newRunDag(dagOf([job(1), job(2), job(3)], [edge(1, 3)]));
    dag = start(start(dag, 1), 2);
    dag = finish(dag, 2, 'SUCCEED');
    const stopped = ok(stopDag(dag, 'RUNNING'));
    expect(ids(stopped.stopped)).toEqual([1]);
    expect(stopped.result).toBe('stopped by user');
    expect(node(stopped.dag, 1)).toMatchObject({ status: 10, result: 'stopped by user' });
    expect(statusOf(stopped.dag, 2)).toBe('SUCCEED');
    expect(statusOf(stopped.dag, 3)).toBe('WAITING_DISPATCH');
    expect(refusal(stopDag(dag, 'SUCCEED'))).toBe('workflow instance already stopped: it is SUCCEED, and only a WAITING or RUNNING one can be stopped');
  });

  it('retry re-runs only failed and stopped nodes; skipped failures, decisions and pruned branches stay', () => {
    // 1 (skipWhenFailed) and 2 → decision 3: true → 4, false → 5; nested 6 alone.
    const dag = dagOf([job(1, { skipWhenFailed: true }), job(2), decision(3), job(4), job(5), nested(6, 77)], [edge(1, 3), edge(2, 3), edge(3, 4, 'true'), edge(3, 5, 'false')]);
    let run = newRunDag(dag);
    run = start(start(start(run, 1), 2), 6);
    run = finish(finish(run, 1, 'FAILED'), 2, 'SUCCEED');
    run = applyDecision(run, 3, true);
    run = finish(start(run, 4), 4, 'FAILED', 'boom');
    run = finish(run, 6, 'STOPPED', 'stopped by user');

    const retried = ok(retryDag(run, 'FAILED', 'middle job failed: node 4 "n4": boom')).dag;
    expect(retried.nodes.map((n) => [n.nodeId, nodeStatusOf(n), n.instanceId])).toEqual([
      [1, 'FAILED', 1001],
      [2, 'SUCCEED', 1002],
      [3, 'SUCCEED', null],
      [4, 'WAITING_DISPATCH', null],
      [5, 'CANCELED', null],
      // A nested workflow keeps its child instance: the child is retried, not replaced.
      [6, 'WAITING_DISPATCH', 1006],
    ]);
    const step = stepDag(retried);
    expect(ids(step.start)).toEqual([4, 6]);
    // Finishing the retried nodes ends the workflow SUCCEED.
    let again = markNodeStarted(markNodeStarted(step.dag, 4, 2004), 6, 1006);
    again = finish(finish(again, 4, 'SUCCEED', 'ok', 2), 6, 'SUCCEED', 'child ok');
    expect(stepDag(again, { finishedNodeId: 6 }).outcome).toEqual({ status: 'SUCCEED', result: 'child ok' });
  });

  it('retry is refused while running, after success, and when a job was missing', () => {
    const dag = newRunDag(dagOf([job(1)]));
    expect(refusal(retryDag(dag, 'RUNNING', null))).toMatch(/^workflow instance is running: /);
    expect(refusal(retryDag(dag, 'WAITING', null))).toMatch(/^workflow instance is running: /);
    expect(refusal(retryDag(dag, 'SUCCEED', null))).toMatch(/^workflow instance is already successful: /);
    expect(refusal(retryDag(dag, 'FAILED', "can't find some job"))).toBe(
      "workflow instance failed because some of its jobs are missing: it can't be retried; run the workflow again",
    );
    expect(retryDag(dag, 'STOPPED', 'stopped by user').ok).toBe(true);
  });

  it('markNodeSucceeded turns a failed node into "mark as successful node"; a retry then carries on past it', () => {
    const dag = dagOf([job(1), job(2), job(3)], [edge(1, 2), edge(2, 3)]);
    const failed = drive(dag, { fail: [2] });
    expect(failed.outcome.status).toBe('FAILED');
    const marked = ok(markNodeSucceeded(failed.dag, 'FAILED', 2)).dag;
    expect(node(marked, 2)).toMatchObject({ status: 5, result: 'mark as successful node' });
    expect(node(failed.dag, 2).status).toBe(4);
    // Retry resets nothing (no failed node is left) and starts node 3.
    const resumed = drive(ok(retryDag(marked, 'FAILED', failed.outcome.status === 'FAILED' ? failed.outcome.result : null)).dag, { fresh: false, round: 2 });
    expect(resumed.started).toEqual([3]);
    expect(resumed.outcome).toEqual({ status: 'SUCCEED', result: 'r3' });
  });

  it('markNodeSucceeded is refused while running and for any node but a failed, non-skippable one', () => {
    let dag = newRunDag(dagOf([job(1), job(2, { skipWhenFailed: true }), job(3)]));
    dag = finish(finish(start(start(dag, 1), 2), 1, 'SUCCEED'), 2, 'FAILED');
    expect(refusal(markNodeSucceeded(dag, 'RUNNING', 1))).toBe("you can't mark a node of a running workflow instance (it is RUNNING): stop it or wait for it to finish");
    expect(refusal(markNodeSucceeded(dag, 'FAILED', 9))).toBe("can't find node 9 in the workflow instance's DAG");
    expect(refusal(markNodeSucceeded(dag, 'FAILED', 1))).toBe('node 1 "n1" is SUCCEED: only a FAILED node without skipWhenFailed can be marked successful');
    expect(refusal(markNodeSucceeded(dag, 'FAILED', 2))).toBe('node 2 "n2" is FAILED with skipWhenFailed: only a FAILED node without skipWhenFailed can be marked successful');
    expect(refusal(markNodeSucceeded(dag, 'STOPPED', 3))).toBe('node 3 "n3" is WAITING_DISPATCH: only a FAILED node without skipWhenFailed can be marked successful');
  });
});

describe('workflow context', () => {
  it('a JSON object of initParams becomes the context; other values kept as their JSON text', () => {
    expect(parseInitParams('{"a":"x","n":42,"b":true,"o":{"k":[1]},"z":null}')).toEqual({ a: 'x', n: '42', b: 'true', o: '{"k":[1]}', z: null });
  });

  it('anything else is kept whole under "initParams"', () => {
    expect(CONTEXT_INIT_PARAMS_KEY).toBe('initParams');
    expect(parseInitParams('hello')).toEqual({ initParams: 'hello' });
    expect(parseInitParams('{}')).toEqual({ initParams: '{}' });
    expect(parseInitParams('[1,2]')).toEqual({ initParams: '[1,2]' });
    expect(parseInitParams('"text"')).toEqual({ initParams: '"text"' });
    expect(parseInitParams('{"broken"')).toEqual({ initParams: '{"broken"' });
    expect(parseInitParams('')).toEqual({ initParams: '' });
    expect(parseInitParams(null)).toEqual({ initParams: null });
    expect(parseInitParams(undefined)).toEqual({ initParams: null });
  });

  it('keeps a "__proto__" key as data', () => {
    const context = parseInitParams('{"__proto__":"p","a":"1"}');
    expect(Object.keys(context)).toEqual(['__proto__', 'a']);
    expect(Object.getPrototypeOf(context)).toBe(Object.prototype);
    const merged = ok(mergeAppendedContext({}, context, 'node 1'));
    expect(Object.keys(merged.context)).toEqual(['__proto__', 'a']);
  });

  it('turns appended values into strings as PowerJob does', () => {
    expect(contextValueOf('v')).toBe('v');
    expect(contextValueOf(42)).toBe('42');
    expect(contextValueOf({ a: [1] })).toBe('{"a":[1]}');
    expect(contextValueOf(null)).toBe('null');
    expect(() => contextValueOf(() => 1)).toThrow("a function can't be put in the workflow context: append a string or a JSON value");
  });

  it('merges a node\'s appended entries by key, overwriting', () => {
    const context = { initParams: 'x', a: '1' };
    const merged = ok(mergeAppendedContext(context, { a: '2', b: '3' }, 'node 4 "load"'));
    expect(merged.context).toEqual({ initParams: 'x', a: '2', b: '3' });
    expect(context).toEqual({ initParams: 'x', a: '1' });
  });

  it('fails an append over the per-node cap instead of dropping it', () => {
    expect(WORKFLOW_CONTEXT_LIMITS.appendedChars).toBe(8192);
    // {"k":"…"} is 8 characters plus the value.
    expect(mergeAppendedContext({}, { k: 'x'.repeat(8192 - 8) }, 'node 4 "load"').ok).toBe(true);
    expect(refusal(mergeAppendedContext({}, { k: 'x'.repeat(8192 - 7) }, 'node 4 "load"'))).toBe(
      'node 4 "load" appended 8193 characters of workflow context (as JSON), over the 8192 one node may append: append less, or keep large data elsewhere and append its key',
    );
  });

  it('fails a merge that takes the whole context over its cap', () => {
    const big = { big: 'x'.repeat(WORKFLOW_CONTEXT_LIMITS.totalChars - 20) };
    expect(contextSizeProblem(big)).toBeNull();
    const reason = refusal(mergeAppendedContext(big, { more: 'y'.repeat(100) }, 'node 4 "load"'));
    expect(reason).toMatch(/^merging node 4 "load"'s appended context, the workflow context would be \d+ characters of JSON, over the 262144 allowed: /);
    expect(contextSizeProblem({ huge: 'x'.repeat(WORKFLOW_CONTEXT_LIMITS.totalChars) }, 'initParams')).toMatch(/^initParams would be 262155 characters of JSON, over the 262144 allowed/);
  });

  it('merges a nested workflow\'s whole context back, with only the total cap', () => {
    const child = { fromChild: 'z'.repeat(20_000), shared: 'child' };
    expect(ok(mergeChildContext({ shared: 'parent', own: '1' }, child, 'node 6 "w6"')).context).toEqual({ shared: 'child', own: '1', fromChild: child.fromChild });
    const reason = refusal(mergeChildContext({}, { huge: 'z'.repeat(WORKFLOW_CONTEXT_LIMITS.totalChars) }, 'node 6 "w6"'));
    expect(reason).toMatch(/^merging the context of node 6 "w6", the workflow context would be/);
  });
});

describe('findNestedWorkflowCycle', () => {
  const stored = (entries: Record<number, PEWorkflowDAG>) => (id: number) => entries[id];

  it('finds A nests B nests A, and says the path', () => {
    const found = findNestedWorkflowCycle(1, dagOf([job(10), nested(11, 2)]), stored({ 2: dagOf([nested(21, 1)]) }));
    expect(found?.path).toEqual([
      { workflowId: 1, nodeId: null },
      { workflowId: 2, nodeId: 11 },
      { workflowId: 1, nodeId: 21 },
    ]);
    expect(found?.message).toBe(
      'nested workflows form a cycle: workflow 1 nests workflow 2 (node 11), which nests workflow 1 (node 21). ' +
        'A workflow may not nest itself, directly or through others: remove one of these nested-workflow nodes',
    );
  });

  it('finds a direct self-nesting and a long cycle', () => {
    expect(findNestedWorkflowCycle(1, dagOf([nested(11, 1)]), stored({}))?.path).toEqual([
      { workflowId: 1, nodeId: null },
      { workflowId: 1, nodeId: 11 },
    ]);
    const chain = stored({ 2: dagOf([nested(21, 3)]), 3: dagOf([job(30), nested(31, 4)]), 4: dagOf([nested(41, 1, { enable: false })]) });
    expect(findNestedWorkflowCycle(1, dagOf([nested(11, 2)]), chain)?.path.map((hop) => hop.workflowId)).toEqual([1, 2, 3, 4, 1]);
  });

  it('allows nesting to any depth, and shared sub-workflows, without a cycle', () => {
    // 1 nests 2 and 3, both nest 4, which nests 5.
    const others = stored({ 2: dagOf([nested(21, 4)]), 3: dagOf([nested(31, 4)]), 4: dagOf([nested(41, 5)]), 5: dagOf([job(50)]) });
    expect(findNestedWorkflowCycle(1, dagOf([nested(11, 2), nested(12, 3)]), others)).toBeNull();
  });

  it('checks the DAG being saved, not the stored one, and does not follow unknown workflows', () => {
    const others = stored({ 1: dagOf([nested(11, 2)]), 2: dagOf([nested(21, 1)]) });
    expect(findNestedWorkflowCycle(1, dagOf([job(10)]), others)).toBeNull();
    expect(findNestedWorkflowCycle(1, dagOf([nested(11, 404)]), others)).toBeNull();
  });

  it('reports a cycle among the workflows the saved one reaches', () => {
    const others = stored({ 2: dagOf([nested(21, 3)]), 3: dagOf([nested(31, 2)]) });
    expect(findNestedWorkflowCycle(1, dagOf([nested(11, 2)]), others)?.path.map((hop) => hop.workflowId)).toEqual([2, 3, 2]);
  });
});

describe('the memo of a running workflow instance (dagStartMemo, dagMemoChanges, dagStateOfMemo)', () => {
  const stateOf = (dag: PEWorkflowDAG, patch: Partial<DagState> = {}): DagState => ({
    status: 'RUNNING', result: null, dag, context: { initParams: null }, actualTriggerTime: 1, finishedTime: null, ...patch,
  });
  const chain = (length: number) => dagOf(
    Array.from({ length }, (_, i) => job(i + 1, { nodeParams: 'x'.repeat(200) })),
    Array.from({ length: length - 1 }, (_, i) => edge(i + 1, i + 2)),
  );

  it('starts without the DAG, records only what changed, and reads back the whole state with the DAG it started with', () => {
    const startedDag = newRunDag(dagOf([job(1), decision(2), job(3), job(4)], [edge(1, 2), edge(2, 3, 'true'), edge(2, 4, 'false')]));
    const started = stateOf(startedDag, { status: 'WAITING', actualTriggerTime: null });
    const memo: Record<string, unknown> = dagStartMemo(started);
    expect(JSON.stringify(memo)).not.toContain('nodeId');
    let previous = started;
    const step = (next: DagState) => {
      const changes = dagMemoChanges(previous, next, startedDag);
      Object.assign(memo, changes);
      previous = next;
      return Object.keys(changes).sort();
    };
    expect(step(stateOf(startedDag))).toEqual(['wfNow']);
    expect(step(stateOf(start(startedDag, 1)))).toEqual(['wfNode:1']);
    expect(memo['wfNode:1']).toEqual({ status: NodeStatus.codes.RUNNING, instanceId: 1001, startTime: 't0' });
    expect(step(stateOf(finish(previous.dag, 1, 'SUCCEED'), { context: { initParams: null, k: 'v' } }))).toEqual(['wfContext', 'wfNode:1']);
    const decided = applyDecision(previous.dag, 2, true, { finishedTime: 't' });
    expect(step({ ...previous, dag: decided })).toEqual(['wfEdges', 'wfNode:2', 'wfNode:4']);
    expect(step({ ...previous })).toEqual([]);
    const ended = { ...previous, status: 'SUCCEED' as const, result: 'done', finishedTime: 9 };
    expect(step(ended)).toEqual(['wfNow']);
    expect(dagStateOfMemo(memo, startedDag)).toEqual(ended);
  });

  it('a 300-node chain writes a few small fields per node, not its whole DAG per step', () => {
    const startedDag = newRunDag(chain(300));
    let state = stateOf(startedDag);
    let written = 0;
    for (let nodeId = 1; nodeId <= 300; nodeId++) {
      for (const next of [stateOf(start(state.dag, nodeId)), stateOf(finish(start(state.dag, nodeId), nodeId, 'SUCCEED'))]) {
        written += JSON.stringify(dagMemoChanges(state, next, startedDag)).length;
        state = next;
      }
    }
    // Under 200 characters per node over its two changes (its node params stay out), against the whole DAG (300 × ~400) at each of 600 steps.
    expect(written).toBeLessThan(300 * 200);
    expect(JSON.stringify(state.dag).length).toBeGreaterThan(300 * 400);
  });

  it('an instance started before memos without the DAG (whole state under "wf") reads as it was, with or without changes since', () => {
    const whole = stateOf(finish(start(newRunDag(chain(2)), 1), 1, 'SUCCEED'));
    expect(startedDagOfMemo({ wf: whole })).toBe(whole.dag);
    expect(dagStateOfMemo({ wf: whole }, whole.dag)).toEqual(whole);
    const later = stateOf(start(whole.dag, 2));
    expect(dagStateOfMemo({ wf: whole, ...dagMemoChanges(whole, later, whole.dag) }, whole.dag)).toEqual(later);
    expect(startedDagOfMemo({})).toBeUndefined();
    expect(dagStateOfMemo({}, whole.dag)).toBeUndefined();
  });
});
