import type { InstanceInput } from '../domain/instance.js';
import type { CreatedBy } from '../domain/job.js';
import type { MapCounts } from '../domain/map.js';

/**
 * Memo keys: what the API reads with one describe() (no worker needed) and the Web UI shows.
 * instance: `run` (what was asked, a RunMemo) and `instance` (an InstanceState);
 * broadcast share: `share` (a BroadcastShare); map batch: `batch` (a BatchMemo);
 * app directory: `apps` (AppRecord[]); workflow node registry: `nodes` (WorkflowNodeRecord[]);
 * workflow instance: `wfRun` (a WfRunMemo) and `wf` (a DagState).
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
} as const;

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
