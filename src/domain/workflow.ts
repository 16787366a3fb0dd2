/**
 * A PowerJob workflow (DAG) definition and its nodes, as tempojob stores them: the pure
 * shapes the API saves and the DAG workflow runs from. The DAG itself, its validation and
 * the run-time state machine are in dag.ts.
 */
import type { CreatedBy, JobSnapshot, LifeCycle, MisfirePolicy } from './job.js';
import {
  type FailurePolicy, type PEWorkflowDAG, type WorkflowContextData, type WorkflowInstanceStatusName, WorkflowNodeType, type WorkflowNodeTypeName,
  newRunDag, nodeTypeOf,
} from './dag.js';

/** Workflows are run through the API (runWorkflow) or by CRON; PowerJob schedules no other type. */
export const WORKFLOW_TIME_TYPES = ['API', 'CRON'] as const;
export type WorkflowTimeType = (typeof WORKFLOW_TIME_TYPES)[number];

/**
 * A node as addWorkflowNode saves it (PowerJob's `WorkflowNodeInfoDO`). A node is created
 * unbound (`workflowId` null) and bound to the workflow whose DAG first lists it.
 */
export interface WorkflowNodeRecord {
  id: number;
  appId: number;
  workflowId: number | null;
  type: WorkflowNodeTypeName;
  /** The job it runs; for NESTED_WORKFLOW the workflow it nests; null for DECISION. */
  jobId: number | null;
  nodeName: string | null;
  /** JOB: params (blank = the job's jobParams); DECISION: the script. */
  nodeParams: string | null;
  enable: boolean;
  skipWhenFailed: boolean;
  extra: string | null;
  gmtCreate: number;
  gmtModified: number;
}

/** The fields of a node a caller sets (id absent: a new node). */
export type WorkflowNodeInput = Pick<WorkflowNodeRecord, 'type' | 'jobId' | 'nodeName' | 'nodeParams' | 'enable' | 'skipWhenFailed' | 'extra'> & {
  id: number | null;
};

/** A workflow as saved (PowerJob's `WorkflowInfoDO`); its DAG lists node ids and edges, the nodes live in the app's node registry. */
export interface WorkflowDefinition {
  id: number;
  appId: number;
  wfName: string;
  wfDescription: string | null;
  timeExpressionType: WorkflowTimeType;
  timeExpression: string | null;
  /** IANA zone a CRON expression is read in. */
  timeZone: string;
  misfirePolicy: MisfirePolicy;
  /** Runs (WAITING or RUNNING) allowed at once; 0 = unlimited. */
  maxWfInstanceNum: number;
  status: 'ENABLE' | 'DISABLE' | 'DELETED';
  notifyUserIds: number[];
  /** Node ids (and nothing else of the nodes) and edges. */
  dag: PEWorkflowDAG;
  lifeCycle: LifeCycle | null;
  /** Beyond PowerJob: what a failed node does to the rest of the DAG. */
  failurePolicy: FailurePolicy;
  extra: string | null;
  gmtCreate: number;
  gmtModified: number;
  createdBy: CreatedBy | null;
}

/** The definition's DAG with each node's saved fields filled in from its record. */
export function dagWithNodes(dag: PEWorkflowDAG, nodes: ReadonlyMap<number, WorkflowNodeRecord>): PEWorkflowDAG {
  return {
    nodes: dag.nodes.map((node) => {
      const record = nodes.get(node.nodeId);
      if (!record) return { nodeId: node.nodeId };
      return {
        nodeId: record.id,
        nodeType: WorkflowNodeType.codes[record.type],
        jobId: record.jobId,
        nodeName: record.nodeName,
        nodeParams: record.nodeParams,
        enable: record.enable,
        skipWhenFailed: record.skipWhenFailed,
      };
    }),
    edges: dag.edges.map(({ from, to, property, enable }) => ({ from, to, property: property ?? null, enable: enable ?? true })),
  };
}

/** Only the ids of the nodes and the edges: what a definition keeps of a DAG. */
export function dagSkeleton(dag: PEWorkflowDAG): PEWorkflowDAG {
  return {
    nodes: dag.nodes.map((node) => ({ nodeId: node.nodeId })),
    edges: (dag.edges ?? []).map(({ from, to, property }) => ({ from, to, property: property ?? null })),
  };
}

/** What a run freezes of a workflow: its DAG with every node's fields, and its failure policy. */
export interface WorkflowSnapshot {
  workflowId: number;
  wfName: string;
  dag: PEWorkflowDAG;
  failurePolicy: FailurePolicy;
}

/** Input of one run of a workflow (a PowerJob workflow instance), top-level or nested. */
export interface DagInput {
  wfInstanceId: number;
  appId: number;
  appName: string;
  workflow: WorkflowSnapshot;
  /** The DAG this run steps through: a new run's (newRunDag), or the one a retry resumes. */
  dag: PEWorkflowDAG;
  context: WorkflowContextData;
  initParams: string | null;
  /** Every job a JOB node of this workflow or of one it nests runs, by job id. */
  jobs: Record<string, JobSnapshot>;
  /** Every workflow a NESTED_WORKFLOW node of this workflow or of one it nests runs, by workflow id. */
  nested: Record<string, WorkflowSnapshot>;
  /** Runs at once; 0 = unlimited (nested runs count against nothing). */
  maxWfInstanceNum: number;
  /** Absolute fire time (epoch ms), fixed when the request arrived. */
  expectedTriggerTime: number;
  createdAt: number;
  createdBy: CreatedBy | null;
  parentWfInstanceId: number | null;
  heartbeatTimeoutMs: number;
  /** Runs made before under this wfInstanceId (retries, marks): child ids are derived from it, so none repeats. */
  round: number;
  /** The Idempotency-Key of the retryWfInstance call that started this run, if any. */
  retriedBy: string | null;
  /** Kept from the run this one continues (a retry); null for a first run. */
  actualTriggerTime: number | null;
  /** markWorkflowNodeAsSuccess: this run only records the state and ends. */
  recorded?: DagState;
  /**
   * retryWfInstance: the nested runs (by wfInstanceId, at any depth below this one) that run
   * again under their own ids, from where they ended, instead of anew.
   */
  resumeNested?: Record<string, NestedResume>;
}

/** A nested run a retry carries on: its retried DAG, context and next round. */
export interface NestedResume {
  dag: PEWorkflowDAG;
  context: WorkflowContextData;
  round: number;
  actualTriggerTime: number | null;
}

/** What a run records as it goes (memo `wf`) and returns. */
export interface DagState {
  status: WorkflowInstanceStatusName;
  result: string | null;
  dag: PEWorkflowDAG;
  context: WorkflowContextData;
  actualTriggerTime: number | null;
  finishedTime: number | null;
}

/** A node's start or finish time, as PowerJob writes it (`yyyy-MM-dd HH:mm:ss`, here in UTC). */
export function nodeTime(epochMs: number): string {
  return new Date(epochMs).toISOString().slice(0, 19).replace('T', ' ');
}

/** How a run's freeze reads what is stored: nodes of the app, jobs and workflows by id (undefined: none in the app). */
export interface StoredDefinitions {
  nodes: ReadonlyMap<number, WorkflowNodeRecord>;
  job(jobId: number): Promise<JobSnapshot & { deleted: boolean } | undefined>;
  workflow(workflowId: number): Promise<WorkflowDefinition | undefined>;
}

/** What a run freezes, or every reason it cannot run. */
export type Frozen = { ok: true } & Pick<DagInput, 'workflow' | 'dag' | 'jobs' | 'nested'> | { ok: false; problems: string[] };

/**
 * What a run freezes when it is created (PowerJob's DAG snapshot): the workflow's DAG as a
 * new run (each JOB node's blank params falling back to its job's jobParams), every job its
 * nodes and the workflows it nests run, every workflow it nests. With `resume`, the DAG a
 * retry carries on from instead of a new one. Each node, job or nested workflow that is gone
 * is a problem naming it.
 */
export async function freezeRun(root: WorkflowDefinition, stored: StoredDefinitions, resume?: PEWorkflowDAG): Promise<Frozen> {
  const problems: string[] = [];
  if (root.dag.nodes.length === 0) return { ok: false, problems: [`workflow ${root.id} has no nodes: save a DAG with at least one node first`] };
  const jobs: Record<string, JobSnapshot> = {};
  const nested: Record<string, WorkflowSnapshot> = {};
  const visit = async (ownerId: number, dag: PEWorkflowDAG): Promise<void> => {
    for (const node of dag.nodes) {
      const where = `workflow ${ownerId} node ${node.nodeId}`;
      const type = nodeTypeOf(node);
      if (node.jobId == null || type === 'DECISION') continue;
      if (type === 'JOB' && !jobs[node.jobId]) {
        const job = await stored.job(node.jobId);
        if (!job || job.deleted) problems.push(`${where} runs job ${node.jobId}, which ${job ? 'was deleted' : 'does not exist'}`);
        else {
          const { deleted: _deleted, ...snapshot } = job;
          jobs[node.jobId] = snapshot;
        }
      } else if (type === 'NESTED_WORKFLOW' && !nested[node.jobId]) {
        const inner = await stored.workflow(node.jobId);
        if (!inner || inner.status === 'DELETED') {
          problems.push(`${where} nests workflow ${node.jobId}, which ${inner ? 'was deleted' : 'does not exist'}`);
          continue;
        }
        // Kept before the visit, so a workflow nested twice is frozen once.
        nested[inner.id] = { workflowId: inner.id, wfName: inner.wfName, dag: dagWithNodes(inner.dag, stored.nodes), failurePolicy: inner.failurePolicy };
        await visit(inner.id, nested[inner.id]!.dag);
      }
    }
  };
  const dag = dagWithNodes(root.dag, stored.nodes);
  for (const node of root.dag.nodes) {
    if (!stored.nodes.has(node.nodeId)) problems.push(`workflow ${root.id} node ${node.nodeId} no longer exists: save the workflow's DAG again`);
  }
  await visit(root.id, resume ?? dag);
  if (problems.length > 0) return { ok: false, problems };
  return {
    ok: true,
    workflow: { workflowId: root.id, wfName: root.wfName, dag, failurePolicy: root.failurePolicy },
    dag: resume ?? newRunDag(dag, (jobId) => jobs[jobId]?.jobParams),
    jobs,
    nested,
  };
}
