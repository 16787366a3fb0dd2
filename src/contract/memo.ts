import type { InstanceInput } from '../domain/instance.js';
import type { CreatedBy } from '../domain/job.js';
import type { MapCounts } from '../domain/map.js';
import type { PEWorkflowNode } from '../domain/dag.js';
import type { DagState } from '../domain/workflow.js';

/**
 * Memo keys: what the API reads with one describe() (no worker needed) and the Web UI shows.
 * instance: `run` (what was asked, a RunMemo) and `instance` (an InstanceState);
 * broadcast share: `share` (a BroadcastShare); map batch: `batch` (a BatchMemo);
 * app directory: `apps` (AppRecord[]); workflow node registry: `nodes` (WorkflowNodeRecord[]);
 * workflow instance: `wfRun` (a WfRunMemo) and `wf` (a DagState as it started), then what
 * changed as it runs (`dagMemoChanges`): `wfNow`, `wfContext`, `wfEdges`, `wfNode:<nodeId>`.
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

/** A running workflow instance's state fields besides its DAG and context (memo `wfNow`). */
type DagStateNow = Pick<DagState, 'status' | 'result' | 'actualTriggerTime' | 'finishedTime'>;

/**
 * The memo fields to upsert for a workflow instance's state going from `before` to `after`:
 * only what changed, each node under its own key, so a run's history grows with what its
 * steps change, not with nodes × steps. Empty when nothing changed.
 */
export function dagMemoChanges(before: DagState, after: DagState): Record<string, unknown> {
  const changes: Record<string, unknown> = {};
  const now: DagStateNow = { status: after.status, result: after.result, actualTriggerTime: after.actualTriggerTime, finishedTime: after.finishedTime };
  const was: DagStateNow = { status: before.status, result: before.result, actualTriggerTime: before.actualTriggerTime, finishedTime: before.finishedTime };
  if (JSON.stringify(now) !== JSON.stringify(was)) changes[MemoKey.wfNow] = now;
  if (after.context !== before.context && JSON.stringify(after.context) !== JSON.stringify(before.context)) changes[MemoKey.wfContext] = after.context;
  if (JSON.stringify(after.dag.edges) !== JSON.stringify(before.dag.edges)) changes[MemoKey.wfEdges] = after.dag.edges;
  const previous = new Map(before.dag.nodes.map((node) => [node.nodeId, JSON.stringify(node)]));
  for (const node of after.dag.nodes) {
    if (previous.get(node.nodeId) !== JSON.stringify(node)) changes[`${WF_NODE_PREFIX}${node.nodeId}`] = node;
  }
  return changes;
}

/** A workflow instance's state from its memo: `wf` as it started, overlaid with what `dagMemoChanges` recorded since. */
export function dagStateOfMemo(memo: Record<string, unknown> | undefined): DagState | undefined {
  const started = memo?.[MemoKey.wf] as DagState | undefined;
  if (!memo || !started) return undefined;
  const now = memo[MemoKey.wfNow] as DagStateNow | undefined;
  const nodes = started.dag.nodes.map((node) => (memo[`${WF_NODE_PREFIX}${node.nodeId}`] as PEWorkflowNode | undefined) ?? node);
  return {
    ...started,
    ...now,
    context: (memo[MemoKey.wfContext] as DagState['context'] | undefined) ?? started.context,
    dag: { nodes, edges: (memo[MemoKey.wfEdges] as DagState['dag']['edges'] | undefined) ?? started.dag.edges },
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
