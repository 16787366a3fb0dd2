import type { InstanceInput } from '../domain/instance.js';
import type { CreatedBy } from '../domain/job.js';
import type { MapCounts } from '../domain/map.js';
import type { PEWorkflowDAG, PEWorkflowNode } from '../domain/dag.js';
import type { DagState } from '../domain/workflow.js';

/**
 * Memo keys: what the API reads with one describe() (no worker needed) and the Web UI shows.
 * instance: `run` (what was asked, a RunMemo) and `instance` (an InstanceState);
 * broadcast share: `share` (a BroadcastShare); map batch: `batch` (a BatchMemo);
 * app directory: `apps` (AppRecord[]); workflow node registry: `nodes` (WorkflowNodeRecord[]);
 * workflow instance: `wfRun` (a WfRunMemo), its state without the DAG (`dagStartMemo`: `wfNow`,
 * `wfContext`; runs started before it: `wf`, a whole DagState), then what changed as it runs
 * (`dagMemoChanges`): `wfNow`, `wfContext`, `wfEdges`, `wfNode:<nodeId>`.
 */
export const MemoKey = {
  run: 'run',
  instance: 'instance',
  share: 'share',
  batch: 'batch',
  apps: 'apps',
  nodes: 'nodes',
  wfRun: 'wfRun',
  wf: 'wf',
  wfNow: 'wfNow',
  wfContext: 'wfContext',
  wfEdges: 'wfEdges',
} as const;

const WF_NODE_PREFIX = 'wfNode:';

/** A workflow instance's state fields besides its DAG and context (memo `wfNow`). */
type DagStateNow = Pick<DagState, 'status' | 'result' | 'actualTriggerTime' | 'finishedTime'>;

function nowOf(state: DagState): DagStateNow {
  return { status: state.status, result: state.result, actualTriggerTime: state.actualTriggerTime, finishedTime: state.finishedTime };
}

const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);

/**
 * A workflow instance's memo when it starts: its state without the DAG, which is in the run's
 * input (the first event of its history). A memo that held the DAG would be rewritten, whole,
 * by Temporal at every event of the run (hundreds of KiB for a few hundred nodes).
 */
export function dagStartMemo(state: DagState): Record<string, unknown> {
  return { [MemoKey.wfNow]: nowOf(state), [MemoKey.wfContext]: state.context };
}

/**
 * The memo fields to upsert as a workflow instance's state goes from `before` to `after`: only
 * what changed — status fields, context, edges, and each changed node as its fields that differ
 * from the DAG the run started with (`startedDag`), under its own key — so that the memo stays
 * small and the run's history grows with what its steps change, not with nodes × steps.
 * Empty when nothing changed.
 */
export function dagMemoChanges(before: DagState, after: DagState, startedDag: PEWorkflowDAG): Record<string, unknown> {
  const changes: Record<string, unknown> = {};
  if (!same(nowOf(after), nowOf(before))) changes[MemoKey.wfNow] = nowOf(after);
  if (after.context !== before.context && !same(after.context, before.context)) changes[MemoKey.wfContext] = after.context;
  if (!same(after.dag.edges, before.dag.edges)) changes[MemoKey.wfEdges] = after.dag.edges;
  const started = new Map(startedDag.nodes.map((node) => [node.nodeId, node]));
  const previous = new Map(before.dag.nodes.map((node) => [node.nodeId, node]));
  for (const node of after.dag.nodes) {
    if (same(node, previous.get(node.nodeId))) continue;
    const base = started.get(node.nodeId) as Record<string, unknown> | undefined;
    changes[`${WF_NODE_PREFIX}${node.nodeId}`] = Object.fromEntries(Object.entries(node).filter(([key, value]) => !same(value, base?.[key])));
  }
  return changes;
}

/** The DAG a workflow instance started with when its memo holds it (`wf`: runs started before dagStartMemo); else undefined. */
export function startedDagOfMemo(memo: Record<string, unknown> | undefined): PEWorkflowDAG | undefined {
  return (memo?.[MemoKey.wf] as DagState | undefined)?.dag;
}

/**
 * A workflow instance's state from its memo and the DAG it started with: the memo at start
 * (`wf`, or `wfNow` and `wfContext`) overlaid with what `dagMemoChanges` recorded since.
 * Undefined when the memo is not a workflow instance's.
 */
export function dagStateOfMemo(memo: Record<string, unknown> | undefined, startedDag: PEWorkflowDAG): DagState | undefined {
  const whole = memo?.[MemoKey.wf] as DagState | undefined;
  const now = memo?.[MemoKey.wfNow] as DagStateNow | undefined;
  const context = (memo?.[MemoKey.wfContext] as DagState['context'] | undefined) ?? whole?.context;
  const fields = now ?? whole;
  if (!memo || !fields || !context) return undefined;
  const nodes = startedDag.nodes.map((node) => ({ ...node, ...(memo[`${WF_NODE_PREFIX}${node.nodeId}`] as Partial<PEWorkflowNode> | undefined) }));
  return {
    ...nowOf({ ...fields, dag: startedDag, context }),
    context,
    dag: { nodes, edges: (memo[MemoKey.wfEdges] as DagState['dag']['edges'] | undefined) ?? startedDag.edges },
  };
}

/** What the API needs to answer fetchWfInstanceInfo besides the run's state (memo `wf`), kept in memo `wfRun`. */
export interface WfRunMemo {
  appId: number;
  workflowId: number;
  wfName: string;
  initParams: string | null;
  expectedTriggerTime: number;
  createdAt: number;
  createdBy: CreatedBy | null;
  parentWfInstanceId: number | null;
  round: number;
  retriedBy: string | null;
}

/** What the API needs to answer fetchInstanceInfo, kept in the instance's memo. */
export interface RunMemo {
  appId: number;
  jobId: number;
  /** Absent in instances started before map jobs existed. */
  executeType?: InstanceInput['job']['executeType'];
  jobParams: string | null;
  instanceParams: string | null;
  expectedTriggerTime: number;
  createdAt: number;
  createdBy: InstanceInput['createdBy'];
  retriedBy: string | null;
  catchUp: boolean;
  /** The workflow instance whose JOB node this run is (absent for a run of its own). */
  wfInstanceId?: number;
}

/** A batch's own sub-tasks' counts, and `waiting` until its parent lets it run. */
export interface BatchMemo extends MapCounts {
  waiting?: true;
}
