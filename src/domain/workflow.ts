/**
 * A PowerJob workflow (DAG) definition and its nodes, as tempojob stores them: the pure
 * shapes the API saves and the DAG workflow runs from. The DAG itself, its validation and
 * the run-time state machine are in dag.ts.
 */
import type { CreatedBy, LifeCycle, MisfirePolicy } from './job.js';
import { type FailurePolicy, type PEWorkflowDAG, WorkflowNodeType, type WorkflowNodeTypeName } from './dag.js';

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
