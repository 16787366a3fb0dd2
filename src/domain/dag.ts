/**
 * PowerJob workflows (DAGs) as a pure model: the DAG as it travels on the wire
 * (`PEWorkflowDAG`), its validation, the run-time state machine over a DAG snapshot (which
 * nodes start now, decision pruning, disabled and skippable nodes, the workflow instance's
 * status), the workflow context and nested-workflow cycles.
 *
 * Pure and deterministic: no clock, no randomness, no I/O, no mutation of arguments — every
 * function returns a new snapshot. Times are strings the caller formats (PowerJob writes
 * `yyyy-MM-dd HH:mm:ss`). Decision scripts are not evaluated here: a decision's verdict comes
 * in as a boolean (`applyDecision`), evaluated elsewhere in a sandbox.
 *
 * Behaviour follows PowerJob 5.1.1 (`WorkflowDAGUtils`, `WorkflowInstanceManager`,
 * `WorkflowInstanceService`, `DecisionNodeHandler`, the node validators) unless a comment
 * says "Beyond PowerJob".
 */
import { InstanceStatus, type InstanceStatusName } from './enums.js';
import { cutResult } from './instance.js';

// ---------------------------------------------------------------------------------------------
// Codes and system results
// ---------------------------------------------------------------------------------------------

/** A name ↔ code table with the same shape as enums.ts's tables. */
function namedCodes<const T extends Record<string, number>>(codes: T) {
  const names = Object.keys(codes) as [keyof T & string, ...(keyof T & string)[]];
  return { codes, names, nameOf: (code: number): (keyof T & string) | undefined => names.find((name) => codes[name] === code) };
}

/** A workflow instance's status (PowerJob's `WorkflowInstanceStatus`). */
export const WorkflowInstanceStatus = namedCodes({ WAITING: 1, RUNNING: 2, FAILED: 3, SUCCEED: 4, STOPPED: 10 });
export type WorkflowInstanceStatusName = keyof typeof WorkflowInstanceStatus.codes;

/** WAITING and RUNNING: PowerJob's "generalized running" workflow statuses. */
export function isWorkflowRunning(status: WorkflowInstanceStatusName): boolean {
  return status === 'WAITING' || status === 'RUNNING';
}

/** A DAG node's type (PowerJob's `WorkflowNodeType`); DECISION is its one control node type. */
export const WorkflowNodeType = namedCodes({ JOB: 1, DECISION: 2, NESTED_WORKFLOW: 3 });
export type WorkflowNodeTypeName = keyof typeof WorkflowNodeType.codes;

/**
 * DAG nodes carry *instance* status codes (`InstanceStatus`: WAITING_DISPATCH 1, RUNNING 3,
 * FAILED 4, SUCCEED 5, CANCELED 9, STOPPED 10), not workflow codes.
 */
export const NodeStatus = InstanceStatus;
export type NodeStatusName = InstanceStatusName;

/** The result strings PowerJob writes on workflow instances and DAG nodes (`SystemInstanceResult`). */
export const WorkflowSystemResult = {
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
} as const;

/**
 * Beyond PowerJob: what a non-skippable failure does. FAIL_FAST is PowerJob's behaviour (the
 * first one fails the workflow; nothing new starts). CONTINUE_BRANCHES lets branches that do
 * not depend on the failed node finish; the workflow then ends FAILED naming every failed node.
 */
export const FAILURE_POLICIES = ['FAIL_FAST', 'CONTINUE_BRANCHES'] as const;
export type FailurePolicy = (typeof FAILURE_POLICIES)[number];

// ---------------------------------------------------------------------------------------------
// The DAG on the wire
// ---------------------------------------------------------------------------------------------

/**
 * A node of `PEWorkflowDAG`. Optional fields are Java boxed types that may be absent or null:
 * `nodeType` null is a JOB (PowerJob's forward compatibility), `enable` null is enabled,
 * `skipWhenFailed` null is false. The run-time fields (`status` onwards) are filled in the
 * snapshot a workflow instance runs on. `instanceId` is a JOB node's job instance id or a
 * NESTED_WORKFLOW node's child workflow instance id (PowerJob's Jackson writes it as a string;
 * the API's DTO does that, the model keeps a number).
 */
export interface PEWorkflowNode {
  nodeId: number;
  nodeType?: number | null;
  /** The job id, or for NESTED_WORKFLOW the nested workflow's id. */
  jobId?: number | null;
  nodeName?: string | null;
  /** JOB: the job params (falling back to the job's jobParams); DECISION: the script. */
  nodeParams?: string | null;
  enable?: boolean | null;
  skipWhenFailed?: boolean | null;
  /** Set on nodes a decision pruned (then `enable` is false and `status` CANCELED). */
  disableByControlNode?: boolean | null;
  /** An `InstanceStatus` code; absent or null means WAITING_DISPATCH. */
  status?: number | null;
  instanceId?: number | null;
  /** DECISION: "true" or "false"; other nodes: their instance's result or a system result. */
  result?: string | null;
  startTime?: string | null;
  finishedTime?: string | null;
}

/** An edge of `PEWorkflowDAG`. Out of a DECISION node, `property` is "true" or "false". */
export interface PEWorkflowEdge {
  from: number;
  to: number;
  property?: string | null;
  /** false once a decision pruned it; absent or null means enabled. */
  enable?: boolean | null;
}

export interface PEWorkflowDAG {
  nodes: PEWorkflowNode[];
  edges: PEWorkflowEdge[];
}

/** `node 12 "extract"` (or `node 12` without a name): how every message names a node. */
export function nodeLabel(node: Pick<PEWorkflowNode, 'nodeId' | 'nodeName'>): string {
  return node.nodeName ? `node ${node.nodeId} "${node.nodeName}"` : `node ${node.nodeId}`;
}

/** The node's type; null or absent is a JOB, an unknown code is undefined. */
export function nodeTypeOf(node: Pick<PEWorkflowNode, 'nodeType'>): WorkflowNodeTypeName | undefined {
  return node.nodeType === null || node.nodeType === undefined ? 'JOB' : WorkflowNodeType.nameOf(node.nodeType);
}

/** The node's status; absent, null or an unknown code is WAITING_DISPATCH. */
export function nodeStatusOf(node: Pick<PEWorkflowNode, 'status'>): NodeStatusName {
  return (node.status === null || node.status === undefined ? undefined : NodeStatus.nameOf(node.status)) ?? 'WAITING_DISPATCH';
}

const isDisabled = (node: PEWorkflowNode): boolean => node.enable === false;
const skipsWhenFailed = (node: PEWorkflowNode): boolean => node.skipWhenFailed === true;
const isBlank = (text: string | null | undefined): boolean => text === null || text === undefined || text.trim() === '';
const FINISHED: ReadonlySet<NodeStatusName> = new Set(['FAILED', 'SUCCEED', 'CANCELED', 'STOPPED']);
/** A failure that stops what depends on it: FAILED without skipWhenFailed. */
const isRealFailure = (node: PEWorkflowNode): boolean => nodeStatusOf(node) === 'FAILED' && !skipsWhenFailed(node);

/** Started and not finished: the node's instance (or child workflow) is under way. */
const isStarted = (node: PEWorkflowNode): boolean => {
  const status = nodeStatusOf(node);
  return status === 'WAITING_WORKER_RECEIVE' || status === 'RUNNING';
};

/** "true"/"false" (trimmed, any case, as PowerJob's validator accepts them) → boolean; else undefined. */
export function decisionLabel(property: string | null | undefined): boolean | undefined {
  const label = property?.trim().toLowerCase();
  return label === 'true' ? true : label === 'false' ? false : undefined;
}

function copyDag(dag: PEWorkflowDAG): PEWorkflowDAG {
  return { nodes: dag.nodes.map((node) => ({ ...node })), edges: dag.edges.map((edge) => ({ ...edge })) };
}

/** Adjacency of a DAG: successors and predecessors by node id, edges out of and into each node. */
interface Graph {
  byId: Map<number, PEWorkflowNode>;
  successors: Map<number, number[]>;
  predecessors: Map<number, number[]>;
  edgesOut: Map<number, PEWorkflowEdge[]>;
  edgesIn: Map<number, PEWorkflowEdge[]>;
}

/** Edges to or from unknown nodes are left out (validateDag reports them). */
function graphOf(dag: PEWorkflowDAG): Graph {
  const byId = new Map(dag.nodes.map((node) => [node.nodeId, node]));
  const graph: Graph = { byId, successors: new Map(), predecessors: new Map(), edgesOut: new Map(), edgesIn: new Map() };
  const push = <V>(map: Map<number, V[]>, key: number, value: V) => {
    const list = map.get(key);
    if (list) list.push(value);
    else map.set(key, [value]);
  };
  for (const edge of dag.edges) {
    if (!byId.has(edge.from) || !byId.has(edge.to)) continue;
    push(graph.successors, edge.from, edge.to);
    push(graph.predecessors, edge.to, edge.from);
    push(graph.edgesOut, edge.from, edge);
    push(graph.edgesIn, edge.to, edge);
  }
  return graph;
}

// ---------------------------------------------------------------------------------------------
// Validation
// ---------------------------------------------------------------------------------------------

export interface ValidateDagOptions {
  /** The id of the workflow the DAG belongs to, to refuse a nested-workflow node naming it. */
  workflowId?: number;
}

const isPositiveInteger = (value: unknown): value is number => typeof value === 'number' && Number.isSafeInteger(value) && value > 0;

/**
 * Every reason the DAG is refused, each a message saying what to fix; empty when it is valid.
 * PowerJob answers a bad DAG with a bare "illegal DAG" (and an exponential path walk); this
 * names each problem and finds cycles in linear time (Tarjan's strongly connected components).
 * Edges' `null` list counts as no edges. Existence and ownership of jobs and nested workflows
 * need storage and are checked by the caller; cycles across workflows: `findNestedWorkflowCycle`.
 */
export function validateDag(dag: PEWorkflowDAG | null | undefined, options: ValidateDagOptions = {}): string[] {
  if (!dag || !Array.isArray(dag.nodes) || dag.nodes.length === 0) {
    return ['the DAG has no nodes: add at least one node (create nodes with addWorkflowNode, then list their ids in dag.nodes)'];
  }
  const edges: PEWorkflowEdge[] = Array.isArray(dag.edges) ? dag.edges : [];
  const problems: string[] = [];
  const seen = new Set<number>();
  for (const node of dag.nodes) {
    if (!isPositiveInteger(node.nodeId)) {
      problems.push(`a node has nodeId ${JSON.stringify(node.nodeId)}: every node needs the positive integer id addWorkflowNode returned`);
      continue;
    }
    if (seen.has(node.nodeId)) problems.push(`${nodeLabel(node)} is listed more than once: list each node once`);
    seen.add(node.nodeId);
    problems.push(...nodeProblems(node, options));
  }

  const pairs = new Set<string>();
  for (const edge of edges) {
    const name = `edge ${edge.from} → ${edge.to}`;
    for (const end of new Set([edge.from, edge.to])) {
      if (!seen.has(end)) problems.push(`${name} refers to node ${JSON.stringify(end)}, which is not in the DAG: add that node to dag.nodes or remove the edge`);
    }
    if (edge.from === edge.to) problems.push(`${name} is a self-loop: a node cannot depend on itself; remove the edge`);
    const pair = `${edge.from}→${edge.to}`;
    if (pairs.has(pair)) problems.push(`${name} is listed more than once: list each edge once`);
    pairs.add(pair);
  }

  const clean: PEWorkflowDAG = { nodes: dag.nodes.filter((node) => isPositiveInteger(node.nodeId)), edges };
  const graph = graphOf(clean);
  for (const node of clean.nodes) {
    if (nodeTypeOf(node) === 'DECISION') problems.push(...decisionEdgeProblems(node, graph.edgesOut.get(node.nodeId) ?? []));
  }
  problems.push(...cycleProblems(clean, graph));
  return problems;
}

function nodeProblems(node: PEWorkflowNode, options: ValidateDagOptions): string[] {
  const type = nodeTypeOf(node);
  const label = nodeLabel(node);
  if (type === undefined) {
    return [`${label} has nodeType ${String(node.nodeType)}: use 1 (JOB), 2 (DECISION) or 3 (NESTED_WORKFLOW)`];
  }
  if (type === 'DECISION') {
    return isBlank(node.nodeParams) ? [`decision ${label} has an empty script: put a condition returning true or false in nodeParams`] : [];
  }
  if (!isPositiveInteger(node.jobId)) {
    const what = type === 'JOB' ? 'the id of the job it runs' : 'the id of the workflow it nests';
    return [`${type} ${label} has jobId ${JSON.stringify(node.jobId ?? null)}: set jobId to ${what}`];
  }
  if (type === 'NESTED_WORKFLOW' && options.workflowId !== undefined && node.jobId === options.workflowId) {
    return [`NESTED_WORKFLOW ${label} nests workflow ${node.jobId}, the workflow it belongs to: a workflow cannot nest itself`];
  }
  return [];
}

/** A decision needs exactly two edges out: one labelled "true", one "false" (PowerJob's DecisionNodeValidator). */
function decisionEdgeProblems(node: PEWorkflowNode, out: PEWorkflowEdge[]): string[] {
  const label = nodeLabel(node);
  const problems: string[] = [];
  let trueEdges = 0;
  let falseEdges = 0;
  for (const edge of out) {
    const verdict = decisionLabel(edge.property);
    if (verdict === undefined) {
      problems.push(`edge ${edge.from} → ${edge.to} leaves decision ${label} with property ${JSON.stringify(edge.property ?? null)}: label it "true" or "false"`);
    } else if (verdict) trueEdges++;
    else falseEdges++;
  }
  if (trueEdges !== 1 || falseEdges !== 1) {
    problems.push(
      `decision ${label} has ${trueEdges} edge(s) labelled "true" and ${falseEdges} labelled "false": ` +
        'a decision needs exactly one edge out labelled "true" and one labelled "false"',
    );
  }
  return problems;
}

/** One message per strongly connected component of two or more nodes, naming a cycle inside it (self-loops are reported per edge). */
function cycleProblems(dag: PEWorkflowDAG, graph: Graph): string[] {
  const problems: string[] = [];
  for (const component of stronglyConnectedComponents(dag.nodes.map((node) => node.nodeId), graph.successors)) {
    if (component.length < 2) continue;
    const members = new Set(component);
    // Every member has a successor inside the component: walk until a node repeats.
    const order = new Map<number, number>();
    const path: number[] = [];
    let current = dag.nodes.find((node) => members.has(node.nodeId))?.nodeId ?? component[0]!;
    while (!order.has(current)) {
      order.set(current, path.length);
      path.push(current);
      current = (graph.successors.get(current) ?? []).find((next) => next !== current && members.has(next)) ?? current;
    }
    const cycle = [...path.slice(order.get(current)), current];
    const names = cycle.map((id) => nodeLabel(graph.byId.get(id) ?? { nodeId: id })).join(' → ');
    problems.push(`the edges form a cycle, ${names}: a workflow must be acyclic; remove one of these edges`);
  }
  return problems;
}

/** Tarjan's algorithm, iterative: the strongly connected components, in linear time. */
function stronglyConnectedComponents(ids: number[], successors: Map<number, number[]>): number[][] {
  const index = new Map<number, number>();
  const low = new Map<number, number>();
  const stack: number[] = [];
  const onStack = new Set<number>();
  const components: number[][] = [];
  const visit = (id: number) => {
    index.set(id, index.size);
    low.set(id, index.get(id)!);
    stack.push(id);
    onStack.add(id);
  };
  for (const root of ids) {
    if (index.has(root)) continue;
    visit(root);
    const frames: { id: number; next: number }[] = [{ id: root, next: 0 }];
    while (frames.length > 0) {
      const frame = frames[frames.length - 1]!;
      const out = successors.get(frame.id) ?? [];
      if (frame.next < out.length) {
        const to = out[frame.next++]!;
        if (!index.has(to)) {
          visit(to);
          frames.push({ id: to, next: 0 });
        } else if (onStack.has(to)) {
          low.set(frame.id, Math.min(low.get(frame.id)!, index.get(to)!));
        }
        continue;
      }
      frames.pop();
      const parent = frames[frames.length - 1];
      if (parent) low.set(parent.id, Math.min(low.get(parent.id)!, low.get(frame.id)!));
      if (low.get(frame.id) === index.get(frame.id)) {
        const component: number[] = [];
        let member: number | undefined;
        do {
          member = stack.pop()!;
          onStack.delete(member);
          component.push(member);
        } while (member !== frame.id);
        components.push(component);
      }
    }
  }
  return components;
}

// ---------------------------------------------------------------------------------------------
// A run's snapshot
// ---------------------------------------------------------------------------------------------

/**
 * The snapshot a new workflow instance runs on: every node WAITING_DISPATCH with no instance,
 * result or times; every edge enabled. A JOB node with blank nodeParams takes its job's
 * jobParams (`jobParamsOf`), as PowerJob's `WorkflowInstanceManager.initNodeInfo` does.
 */
export function newRunDag(dag: PEWorkflowDAG, jobParamsOf: (jobId: number) => string | null | undefined = () => null): PEWorkflowDAG {
  return {
    nodes: dag.nodes.map((node) => {
      const type = nodeTypeOf(node);
      const nodeParams =
        type === 'JOB' && isBlank(node.nodeParams) && node.jobId !== null && node.jobId !== undefined
          ? (jobParamsOf(node.jobId) ?? null)
          : (node.nodeParams ?? null);
      return {
        nodeId: node.nodeId,
        nodeType: node.nodeType ?? WorkflowNodeType.codes.JOB,
        jobId: node.jobId ?? null,
        nodeName: node.nodeName ?? null,
        nodeParams,
        enable: node.enable ?? true,
        skipWhenFailed: node.skipWhenFailed ?? false,
        disableByControlNode: false,
        status: NodeStatus.codes.WAITING_DISPATCH,
        instanceId: null,
        result: null,
        startTime: null,
        finishedTime: null,
      };
    }),
    edges: dag.edges.map(({ from, to, property }) => ({ from, to, property: property ?? null, enable: true })),
  };
}

/** What a workflow instance is, given its DAG snapshot. */
export type WorkflowOutcome =
  | { status: 'RUNNING' }
  | { status: 'SUCCEED'; result: string | null }
  | { status: 'FAILED'; result: string; failedNodeIds: number[] }
  | { status: 'STOPPED'; result: string };

/** One step of a run: the snapshot after it, what to do now, and the workflow's status. */
export interface DagStep {
  /** The snapshot with newly reached disabled nodes passed (SUCCEED, "disable node"). */
  dag: PEWorkflowDAG;
  /** JOB and NESTED_WORKFLOW nodes to start now, in DAG order. */
  start: PEWorkflowNode[];
  /** DECISION nodes to evaluate now, in DAG order; each verdict goes back through `applyDecision`. */
  decide: PEWorkflowNode[];
  outcome: WorkflowOutcome;
}

export interface StepOptions {
  policy?: FailurePolicy;
  /**
   * The node whose finishing led to this step. When the workflow then succeeds, its result is
   * that node's result (PowerJob: the last finished node's); without it (a start or a retry
   * with nothing left to run) the result is "no enabled nodes".
   */
  finishedNodeId?: number;
}

/**
 * The state machine: which nodes start now and the workflow's status, from a snapshot.
 *
 * - A node is ready when it is WAITING_DISPATCH and every predecessor passed: SUCCEED,
 *   CANCELED (pruned by a decision), or FAILED with skipWhenFailed.
 * - A ready node with `enable: false` passes at once: SUCCEED with result "disable node", and
 *   its successors are looked at again (so chains of disabled nodes pass in one step). A
 *   disabled decision passes the same way and prunes nothing: both branches run.
 * - A STOPPED node stops the workflow ("middle job stopped by user").
 * - FAIL_FAST: a FAILED node without skipWhenFailed fails the workflow at once; nothing starts.
 *   CONTINUE_BRANCHES: it blocks only its descendants; when nothing runs or can start, the
 *   workflow fails. Either way the result is "middle job failed" naming every failed node
 *   (beyond PowerJob, whose result names none).
 * - When every node is finished the workflow succeeds.
 */
export function stepDag(dag: PEWorkflowDAG, options: StepOptions = {}): DagStep {
  const policy = options.policy ?? 'FAIL_FAST';
  const next = copyDag(dag);
  const graph = graphOf(next);
  const halted = (outcome: WorkflowOutcome): DagStep => ({ dag: next, start: [], decide: [], outcome });

  const stopped = next.nodes.find((node) => nodeStatusOf(node) === 'STOPPED');
  if (stopped) return halted({ status: 'STOPPED', result: WorkflowSystemResult.middleJobStopped });
  const failed = next.nodes.filter(isRealFailure);
  if (failed.length > 0 && policy === 'FAIL_FAST') return halted(failedOutcome(failed));

  const passed = (node: PEWorkflowNode): boolean => {
    const status = nodeStatusOf(node);
    return status === 'SUCCEED' || status === 'CANCELED' || (status === 'FAILED' && skipsWhenFailed(node));
  };
  const isReady = (node: PEWorkflowNode): boolean =>
    nodeStatusOf(node) === 'WAITING_DISPATCH' &&
    (graph.predecessors.get(node.nodeId) ?? []).every((id) => {
      const predecessor = graph.byId.get(id);
      return predecessor !== undefined && passed(predecessor);
    });

  // A worklist: every node once, then the successors of each disabled node passed on the way.
  const ready = new Set<number>();
  const queue = next.nodes.map((node) => node.nodeId);
  for (let i = 0; i < queue.length; i++) {
    const node = graph.byId.get(queue[i]!);
    if (!node || !isReady(node)) continue;
    if (isDisabled(node)) {
      node.status = NodeStatus.codes.SUCCEED;
      node.result = WorkflowSystemResult.disableNode;
      queue.push(...(graph.successors.get(node.nodeId) ?? []));
    } else {
      ready.add(node.nodeId);
    }
  }
  const readyNodes = next.nodes.filter((node) => ready.has(node.nodeId));
  const decide = readyNodes.filter((node) => nodeTypeOf(node) === 'DECISION');
  const start = readyNodes.filter((node) => nodeTypeOf(node) !== 'DECISION');
  if (start.length > 0 || decide.length > 0 || next.nodes.some(isStarted)) return { dag: next, start, decide, outcome: { status: 'RUNNING' } };

  if (failed.length > 0) return halted(failedOutcome(failed));
  const waiting = next.nodes.filter((node) => !FINISHED.has(nodeStatusOf(node)));
  if (waiting.length > 0) {
    // Unreachable for a DAG validateDag accepts: something waits on a node that cannot finish.
    const names = waiting.map(nodeLabel).join(', ');
    return halted({ status: 'FAILED', result: `${WorkflowSystemResult.invalidDag}: ${names} can never start`, failedNodeIds: [] });
  }
  const last = options.finishedNodeId === undefined ? undefined : graph.byId.get(options.finishedNodeId);
  return halted({ status: 'SUCCEED', result: last ? (last.result ?? null) : WorkflowSystemResult.noEnabledNodes });
}

function failedOutcome(failed: PEWorkflowNode[]): WorkflowOutcome {
  const which = failed.map((node) => (isBlank(node.result) ? nodeLabel(node) : `${nodeLabel(node)}: ${node.result}`)).join('; ');
  const result = cutResult(`${WorkflowSystemResult.middleJobFailed}: ${which}`) ?? WorkflowSystemResult.middleJobFailed;
  return { status: 'FAILED', result, failedNodeIds: failed.map((node) => node.nodeId) };
}

/** Transforms one node of a copy of the DAG; unknown ids leave the copy as it was. */
function withNode(dag: PEWorkflowDAG, nodeId: number, change: (node: PEWorkflowNode) => void): PEWorkflowDAG {
  const next = copyDag(dag);
  const node = next.nodes.find((candidate) => candidate.nodeId === nodeId);
  if (node) change(node);
  return next;
}

/** A node was started: RUNNING with its job instance (or child workflow instance) id. */
export function markNodeStarted(dag: PEWorkflowDAG, nodeId: number, instanceId: number, startTime: string | null = null): PEWorkflowDAG {
  return withNode(dag, nodeId, (node) => {
    node.status = NodeStatus.codes.RUNNING;
    node.instanceId = instanceId;
    node.startTime = startTime;
  });
}

export interface NodeFinished {
  /** The job instance (or child workflow instance) that finished. */
  instanceId: number;
  /** A child workflow's SUCCEED, FAILED or STOPPED is its node's status of the same name (PowerJob's `StatusMappingHelper`). */
  status: 'SUCCEED' | 'FAILED' | 'STOPPED' | 'CANCELED';
  result: string | null;
  finishedTime?: string | null;
}

/**
 * A node's instance finished: its status, result and finish time, on the started node holding
 * that instance id. Null when no started node holds it — a report from an instance a retry
 * replaced, or a duplicate — which PowerJob ignores too ("dissociative" instance).
 */
export function recordNodeFinished(dag: PEWorkflowDAG, report: NodeFinished): { dag: PEWorkflowDAG; nodeId: number } | null {
  const target = dag.nodes.find((node) => node.instanceId === report.instanceId && isStarted(node));
  if (!target) return null;
  const next = withNode(dag, target.nodeId, (node) => {
    node.status = NodeStatus.codes[report.status];
    node.result = report.result;
    node.finishedTime = report.finishedTime ?? null;
  });
  return { dag: next, nodeId: target.nodeId };
}

/**
 * A decision's verdict, evaluated elsewhere: the node SUCCEED with result "true"/"false"; its
 * edges whose label differs are disabled; a node is pruned (CANCELED, `enable: false`,
 * `disableByControlNode: true`) only when every edge into it is disabled, and its own edges
 * out are then disabled in turn. So a join reached by another live path still runs
 * (PowerJob's `handleDisableEdges`; PowerJob issue #728 asked for this rule to be plain).
 * Only nodes not yet started are pruned. Unknown ids, other node types and a decision already
 * decided change nothing (so a repeated verdict is harmless).
 */
export function applyDecision(
  dag: PEWorkflowDAG,
  nodeId: number,
  verdict: boolean,
  times: { startTime?: string | null; finishedTime?: string | null } = {},
): PEWorkflowDAG {
  const next = copyDag(dag);
  const graph = graphOf(next);
  const decision = graph.byId.get(nodeId);
  if (!decision || nodeTypeOf(decision) !== 'DECISION' || nodeStatusOf(decision) !== 'WAITING_DISPATCH') return next;
  decision.status = NodeStatus.codes.SUCCEED;
  decision.result = String(verdict);
  decision.startTime = times.startTime ?? decision.startTime ?? null;
  decision.finishedTime = times.finishedTime ?? null;

  const disabled = (graph.edgesOut.get(nodeId) ?? []).filter((edge) => decisionLabel(edge.property) !== verdict);
  for (let i = 0; i < disabled.length; i++) {
    const edge = disabled[i]!;
    edge.enable = false;
    const target = graph.byId.get(edge.to);
    if (!target || nodeStatusOf(target) !== 'WAITING_DISPATCH') continue;
    if (!(graph.edgesIn.get(edge.to) ?? []).every((into) => into.enable === false)) continue;
    target.enable = false;
    target.disableByControlNode = true;
    target.status = NodeStatus.codes.CANCELED;
    disabled.push(...(graph.edgesOut.get(edge.to) ?? []));
  }
  return next;
}

/**
 * A decision that could not decide (its script threw, ran too long, or returned no boolean):
 * the node FAILED with the reason, so its descendants never run and the workflow fails
 * (FAIL_FAST) or its other branches finish first (CONTINUE_BRANCHES).
 */
export function failDecision(
  dag: PEWorkflowDAG,
  nodeId: number,
  reason: string,
  times: { startTime?: string | null; finishedTime?: string | null } = {},
): PEWorkflowDAG {
  return withNode(dag, nodeId, (node) => {
    if (nodeTypeOf(node) !== 'DECISION' || nodeStatusOf(node) !== 'WAITING_DISPATCH') return;
    node.status = NodeStatus.codes.FAILED;
    node.result = cutResult(reason);
    node.startTime = times.startTime ?? null;
    node.finishedTime = times.finishedTime ?? null;
  });
}

/** Either a new snapshot or the reason the operation is refused. */
export type DagChange<T = object> = ({ ok: true; dag: PEWorkflowDAG } & T) | { ok: false; reason: string };

/**
 * stopWfInstance: every started, unfinished node STOPPED with result "stopped by user"; the
 * caller stops their instances (and child workflows) and sets the workflow STOPPED with
 * `result`. Refused unless the workflow is WAITING or RUNNING.
 */
export function stopDag(
  dag: PEWorkflowDAG,
  workflowStatus: WorkflowInstanceStatusName,
): DagChange<{ stopped: PEWorkflowNode[]; result: string }> {
  if (!isWorkflowRunning(workflowStatus)) {
    return { ok: false, reason: `workflow instance already stopped: it is ${workflowStatus}, and only a WAITING or RUNNING one can be stopped` };
  }
  const next = copyDag(dag);
  const stopped = next.nodes.filter(isStarted);
  for (const node of stopped) {
    node.status = NodeStatus.codes.STOPPED;
    node.result = WorkflowSystemResult.stoppedByUser;
  }
  return { ok: true, dag: next, stopped, result: WorkflowSystemResult.stoppedByUser };
}

/**
 * retryWfInstance under the same wfInstanceId: FAILED nodes without skipWhenFailed and STOPPED
 * nodes go back to WAITING_DISPATCH (a JOB node loses its instance id, a NESTED_WORKFLOW node
 * keeps its child, which is retried in turn); everything else, decisions and pruned branches
 * included, stays as it was. Refused for a running or succeeded workflow, and for one that
 * failed because a job was missing (PowerJob's rules).
 */
export function retryDag(dag: PEWorkflowDAG, workflowStatus: WorkflowInstanceStatusName, workflowResult: string | null): DagChange {
  if (isWorkflowRunning(workflowStatus)) {
    return { ok: false, reason: 'workflow instance is running: only a FAILED or STOPPED workflow instance can be retried' };
  }
  if (workflowStatus === 'SUCCEED') {
    return { ok: false, reason: 'workflow instance is already successful: only a FAILED or STOPPED workflow instance can be retried' };
  }
  if (workflowResult === WorkflowSystemResult.canNotFindJob) {
    return { ok: false, reason: "workflow instance failed because some of its jobs are missing: it can't be retried; run the workflow again" };
  }
  const next = copyDag(dag);
  for (const node of next.nodes) {
    if (!isRealFailure(node) && nodeStatusOf(node) !== 'STOPPED') continue;
    node.status = NodeStatus.codes.WAITING_DISPATCH;
    if (nodeTypeOf(node) === 'JOB') node.instanceId = null;
  }
  return { ok: true, dag: next };
}

/**
 * markWorkflowNodeAsSuccess: a FAILED node without skipWhenFailed becomes SUCCEED with result
 * "mark as successful node", so that a retry carries on past it. Only the DAG changes (not
 * the node's job instance), and the workflow does not resume by itself. Refused while the
 * workflow is WAITING or RUNNING, and for any other node.
 */
export function markNodeSucceeded(dag: PEWorkflowDAG, workflowStatus: WorkflowInstanceStatusName, nodeId: number): DagChange {
  if (isWorkflowRunning(workflowStatus)) {
    return { ok: false, reason: `you can't mark a node of a running workflow instance (it is ${workflowStatus}): stop it or wait for it to finish` };
  }
  const node = dag.nodes.find((candidate) => candidate.nodeId === nodeId);
  if (!node) return { ok: false, reason: `can't find node ${nodeId} in the workflow instance's DAG` };
  if (!isRealFailure(node)) {
    return {
      ok: false,
      reason: `${nodeLabel(node)} is ${nodeStatusOf(node)}${skipsWhenFailed(node) ? ' with skipWhenFailed' : ''}: only a FAILED node without skipWhenFailed can be marked successful`,
    };
  }
  const next = withNode(dag, nodeId, (target) => {
    target.status = NodeStatus.codes.SUCCEED;
    target.result = WorkflowSystemResult.markAsSuccessfulNode;
  });
  return { ok: true, dag: next };
}

// ---------------------------------------------------------------------------------------------
// Workflow context
// ---------------------------------------------------------------------------------------------

/** The workflow context: string values by key (PowerJob's `Map<String, String>`; values may be null). */
export type WorkflowContextData = Readonly<Record<string, string | null>>;

/** The key plain (non-map) initParams are kept under (`WorkflowContextConstant.CONTEXT_INIT_PARAMS_KEY`). */
export const CONTEXT_INIT_PARAMS_KEY = 'initParams';

/**
 * Limits of the workflow context, in characters of its JSON text (UTF-16 units, as PowerJob
 * counts). `appendedChars` is PowerJob's worker default `maxAppendedWfContextLength` for what
 * one node appends; PowerJob drops an over-long append silently (#737), tempojob fails the node.
 * Beyond PowerJob, `totalChars` caps the whole context, which every node receives as its
 * instance params and which lives in the workflow's history.
 */
export const WORKFLOW_CONTEXT_LIMITS = {
  appendedChars: 8_192,
  totalChars: 256 * 1024,
} as const;

/** A JSON value as a context value: strings as they are, anything else as its JSON (PowerJob's `toJSONStringUnsafe`). */
export function contextValueOf(value: unknown): string {
  if (typeof value === 'string') return value;
  const json: unknown = JSON.stringify(value === undefined ? null : value);
  if (typeof json !== 'string') throw new TypeError(`a ${typeof value} can't be put in the workflow context: append a string or a JSON value`);
  return json;
}

/**
 * The context a workflow instance starts with: initParams that parse as a JSON object with at
 * least one key become the context (values not strings are kept as their JSON text);
 * anything else — plain text, an array, `{}`, none at all — is kept whole under "initParams".
 * A nested workflow does not parse: it starts with its parent's context as it is.
 */
export function parseInitParams(initParams: string | null | undefined): WorkflowContextData {
  const parsed = parseJson(initParams);
  if (typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed)) {
    const entries = Object.entries(parsed).map(([key, value]): [string, string | null] => [key, value === null ? null : contextValueOf(value)]);
    if (entries.length > 0) return Object.fromEntries(entries);
  }
  return Object.fromEntries([[CONTEXT_INIT_PARAMS_KEY, initParams ?? null]]);
}

function parseJson(text: string | null | undefined): unknown {
  if (text === null || text === undefined) return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

/** The context as the JSON text nodes receive (their instanceParams) and the API returns (wfContext). */
export function contextJson(context: WorkflowContextData): string {
  return JSON.stringify(context);
}

/** Null when the context is within `WORKFLOW_CONTEXT_LIMITS.totalChars`; else why not. */
export function contextSizeProblem(context: WorkflowContextData, what = 'the workflow context'): string | null {
  const length = contextJson(context).length;
  const max = WORKFLOW_CONTEXT_LIMITS.totalChars;
  return length > max
    ? `${what} would be ${length} characters of JSON, over the ${max} allowed: keep large data elsewhere (a file, a table) and put its key in the context`
    : null;
}

export type ContextMerge = { ok: true; context: WorkflowContextData } | { ok: false; reason: string };

/**
 * What a node appended, merged into the context by key (a key already there is overwritten),
 * as PowerJob's `updateWorkflowContext` does. `from` names the node in messages (`nodeLabel`).
 * Beyond PowerJob, an append over `WORKFLOW_CONTEXT_LIMITS.appendedChars`, or a merge that
 * takes the context over `totalChars`, is refused with a reason instead of dropped silently.
 */
export function mergeAppendedContext(context: WorkflowContextData, appended: WorkflowContextData, from: string): ContextMerge {
  const length = contextJson(appended).length;
  const max = WORKFLOW_CONTEXT_LIMITS.appendedChars;
  if (length > max) {
    return {
      ok: false,
      reason: `${from} appended ${length} characters of workflow context (as JSON), over the ${max} one node may append: append less, or keep large data elsewhere and append its key`,
    };
  }
  return mergeContext(context, appended, `${from}'s appended context`);
}

/**
 * A nested workflow that succeeded hands its whole context back: merged into the parent's by
 * key (PowerJob does this on SUCCEED only), within `totalChars` but not `appendedChars`.
 */
export function mergeChildContext(parent: WorkflowContextData, child: WorkflowContextData, from: string): ContextMerge {
  return mergeContext(parent, child, `the context of ${from}`);
}

function mergeContext(context: WorkflowContextData, added: WorkflowContextData, what: string): ContextMerge {
  // Object.fromEntries defines own properties, so a "__proto__" key is data, not a prototype.
  const merged: WorkflowContextData = Object.fromEntries([...Object.entries(context), ...Object.entries(added)]);
  const problem = contextSizeProblem(merged, `merging ${what}, the workflow context`);
  return problem === null ? { ok: true, context: merged } : { ok: false, reason: problem };
}

// ---------------------------------------------------------------------------------------------
// Nested workflows
// ---------------------------------------------------------------------------------------------

/** One hop of a nesting path: workflow `workflowId`, entered through node `nodeId` of the previous one. */
export interface NestingHop {
  workflowId: number;
  /** The NESTED_WORKFLOW node of the previous workflow that nests this one; null for the first. */
  nodeId: number | null;
}

/**
 * A cycle of nested workflows through `workflowId` (A nests B nests A), found before saving
 * `dag` as that workflow's DAG: `dagOf` gives every other workflow's DAG (undefined for
 * unknown ones, which are not followed — their existence is the caller's check). Disabled
 * nested nodes count: they can be enabled later. Returns the path, first and last hop the same
 * workflow, with a message; null when there is no cycle. Beyond PowerJob, which allows one level
 * of nesting only; tempojob nests to any depth and refuses only cycles.
 */
export function findNestedWorkflowCycle(
  workflowId: number,
  dag: PEWorkflowDAG,
  dagOf: (workflowId: number) => PEWorkflowDAG | undefined,
): { path: NestingHop[]; message: string } | null {
  const lookup = (id: number) => (id === workflowId ? dag : dagOf(id));
  const nested = (id: number): { workflowId: number; nodeId: number }[] =>
    (lookup(id)?.nodes ?? [])
      .filter((node) => nodeTypeOf(node) === 'NESTED_WORKFLOW' && isPositiveInteger(node.jobId))
      .map((node) => ({ workflowId: node.jobId!, nodeId: node.nodeId }));

  // Depth-first from workflowId; any cycle reachable from it that matters passes through it,
  // but a cycle among the others (B nests C nests B) is reported too: saving would run into it.
  const done = new Set<number>();
  const onPath = new Map<number, number>();
  const path: NestingHop[] = [{ workflowId, nodeId: null }];
  const frames: { edges: { workflowId: number; nodeId: number }[]; next: number }[] = [{ edges: nested(workflowId), next: 0 }];
  onPath.set(workflowId, 0);
  while (frames.length > 0) {
    const frame = frames[frames.length - 1]!;
    const edge = frame.edges[frame.next++];
    if (!edge) {
      frames.pop();
      const left = path.pop()!;
      onPath.delete(left.workflowId);
      done.add(left.workflowId);
      continue;
    }
    const repeat = onPath.get(edge.workflowId);
    if (repeat !== undefined) {
      const cycle = [...path.slice(repeat), { workflowId: edge.workflowId, nodeId: edge.nodeId }];
      return { path: cycle, message: nestingMessage(cycle) };
    }
    if (done.has(edge.workflowId) || lookup(edge.workflowId) === undefined) continue;
    onPath.set(edge.workflowId, path.length);
    path.push({ workflowId: edge.workflowId, nodeId: edge.nodeId });
    frames.push({ edges: nested(edge.workflowId), next: 0 });
  }
  return null;
}

function nestingMessage(cycle: NestingHop[]): string {
  const [first, ...rest] = cycle;
  const hops = rest.map((hop) => `workflow ${hop.workflowId} (node ${hop.nodeId})`).join(', which nests ');
  return (
    `nested workflows form a cycle: workflow ${first?.workflowId} nests ${hops}. ` +
    'A workflow may not nest itself, directly or through others: remove one of these nested-workflow nodes'
  );
}
