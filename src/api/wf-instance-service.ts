import { randomInt } from 'node:crypto';
import type { Client, WorkflowExecutionDescription } from '@temporalio/client';
import { type PEWorkflowDAG, contextSizeProblem, newRunDag, parseInitParams } from '../domain/dag.js';
import { freshId, keyedId } from '../domain/ids.js';
import { type JobSnapshot, snapshotOf } from '../domain/job.js';
import { type DagInput, type DagState, type WorkflowDefinition, type WorkflowSnapshot, dagWithNodes } from '../domain/workflow.js';
import { MemoKey, type WfRunMemo } from '../contract/memo.js';
import { wfInstanceWorkflowId } from '../contract/names.js';
import { dagStartOptions } from '../contract/start-options.js';
import { type DagWorkflow, WorkflowType } from '../contract/workflows.js';
import { isNotFound } from '../temporal/errors.js';
import type { AuthenticatedApp } from './auth.js';
import type { WfInstanceView } from './dto.js';
import { InvalidRequestError, NotFoundError, StateConflictError } from './errors.js';
import { type Idempotency, createIdempotently, createdByOf } from './idempotency.js';
import type { JobService } from './job-service.js';
import type { WorkflowService } from './workflow-service.js';

/**
 * Workflow instances: one dagWorkflow run each (`tempojob-wf-instance-<id>`), started with a
 * deterministic id so that a repeated runWorkflow (same Idempotency-Key) is a no-op. The run
 * freezes its DAG, its jobs and the workflows it nests when it is created (PowerJob's DAG
 * snapshot); its state is read from its memo with one describe().
 */
export class WfInstanceService {
  constructor(
    private readonly client: Client,
    private readonly workflows: WorkflowService,
    private readonly jobs: JobService,
    private readonly coreTaskQueue: string,
    private readonly heartbeatTimeoutMs: number,
  ) {}

  async run(
    app: AuthenticatedApp,
    request: { workflowId: number; initParams: string | null; delay: number },
    idempotency: Idempotency | null,
  ): Promise<number> {
    const receivedAt = Date.now();
    const workflow = await this.workflows.get(app, request.workflowId);
    if (workflow.status === 'DELETED') throw new StateConflictError(`workflow ${workflow.id} was deleted; it cannot run`);
    const frozen = await this.freeze(app, workflow);
    const context = parseInitParams(request.initParams);
    const tooBig = contextSizeProblem(context, 'the workflow context from initParams');
    if (tooBig) throw new InvalidRequestError(tooBig);
    return createIdempotently({
      idempotency,
      idOf: (attempt) => idempotency ? keyedId('wf-run', app.appId, workflow.id, idempotency.key, attempt) : freshId(receivedAt, randomInt(1024)),
      create: (wfInstanceId) => this.client.workflow.start<DagWorkflow>(WorkflowType.dag, {
        ...dagStartOptions({
          wfInstanceId,
          appId: app.appId,
          appName: app.appName,
          ...frozen,
          context,
          initParams: request.initParams,
          maxWfInstanceNum: workflow.maxWfInstanceNum,
          expectedTriggerTime: receivedAt + request.delay,
          createdAt: receivedAt,
          createdBy: createdByOf(idempotency),
          parentWfInstanceId: null,
          heartbeatTimeoutMs: this.heartbeatTimeoutMs,
          round: 0,
          retriedBy: null,
          actualTriggerTime: null,
        }),
        taskQueue: this.coreTaskQueue,
        workflowIdReusePolicy: 'REJECT_DUPLICATE',
        workflowIdConflictPolicy: 'FAIL',
      }).then(() => undefined),
      createdBy: async (wfInstanceId) => {
        const existing = await this.describe(wfInstanceId);
        const run = existing && runMemo(existing);
        return run?.workflowId === workflow.id ? run.createdBy : null;
      },
    });
  }

  /** The workflow instance of this app, or NotFoundError: another app's does not exist for the caller. */
  async get(app: AuthenticatedApp, wfInstanceId: number): Promise<WfInstanceView> {
    const description = await this.describe(wfInstanceId);
    const view = description && viewOf(wfInstanceId, description);
    if (!view || view.run.appId !== app.appId) throw new NotFoundError(`workflow instance ${wfInstanceId} not found in app ${app.appName}`);
    return view;
  }

  /**
   * What a run freezes: the workflow's DAG as a new run (each JOB node's params falling back
   * to its job's jobParams), every job its nodes and nested workflows run, every workflow it
   * nests. Refused, naming each problem, when a node, job or nested workflow is gone.
   */
  private async freeze(app: AuthenticatedApp, workflow: WorkflowDefinition): Promise<Pick<DagInput, 'workflow' | 'dag' | 'jobs' | 'nested'>> {
    if (workflow.dag.nodes.length === 0) throw new InvalidRequestError(`workflow ${workflow.id} has no nodes: save a DAG with at least one node first`);
    const nodes = await this.workflows.nodes(app.appId);
    const jobs: Record<string, JobSnapshot> = {};
    const nested: Record<string, WorkflowSnapshot> = {};
    const problems: string[] = [];
    const visit = async (definition: WorkflowDefinition): Promise<PEWorkflowDAG> => {
      const dag = dagWithNodes(definition.dag, nodes);
      for (const node of dag.nodes) {
        const record = nodes.get(node.nodeId);
        const where = `workflow ${definition.id} node ${node.nodeId}`;
        if (!record) problems.push(`${where} no longer exists: save the workflow's DAG again`);
        else if (record.type === 'JOB' && record.jobId !== null && !jobs[record.jobId]) {
          const job = await this.jobs.getForRun(app, record.jobId).catch((err: unknown) => { if (err instanceof NotFoundError) return undefined; throw err; });
          if (!job || job.status === 'DELETED') problems.push(`${where} runs job ${record.jobId}, which ${job ? 'was deleted' : 'does not exist'}`);
          else jobs[record.jobId] = snapshotOf(job);
        } else if (record.type === 'NESTED_WORKFLOW' && record.jobId !== null && !nested[record.jobId]) {
          const inner = await this.workflows.get(app, record.jobId).catch((err: unknown) => { if (err instanceof NotFoundError) return undefined; throw err; });
          if (!inner || inner.status === 'DELETED') problems.push(`${where} nests workflow ${record.jobId}, which ${inner ? 'was deleted' : 'does not exist'}`);
          else {
            // Marked before the visit, so a workflow nested twice is frozen once.
            nested[record.jobId] = { workflowId: inner.id, wfName: inner.wfName, dag: dagWithNodes(inner.dag, nodes), failurePolicy: inner.failurePolicy };
            await visit(inner);
          }
        }
      }
      return dag;
    };
    const dag = await visit(workflow);
    if (problems.length > 0) throw new StateConflictError(`workflow ${workflow.id} cannot run: ${problems.join('; ')}`);
    return {
      workflow: { workflowId: workflow.id, wfName: workflow.wfName, dag, failurePolicy: workflow.failurePolicy },
      dag: newRunDag(dag, (jobId) => jobs[jobId]?.jobParams),
      jobs,
      nested,
    };
  }

  private async describe(wfInstanceId: number): Promise<WorkflowExecutionDescription | undefined> {
    try {
      return await this.client.workflow.getHandle(wfInstanceWorkflowId(wfInstanceId)).describe();
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw err;
    }
  }
}

type ExecutionFacts = Pick<WorkflowExecutionDescription, 'memo' | 'type'>;

function runMemo(execution: ExecutionFacts): WfRunMemo | undefined {
  return execution.type === WorkflowType.dag ? (execution.memo?.[MemoKey.wfRun] as WfRunMemo | undefined) : undefined;
}

function viewOf(wfInstanceId: number, execution: ExecutionFacts): WfInstanceView | undefined {
  const run = runMemo(execution);
  const state = execution.memo?.[MemoKey.wf] as DagState | undefined;
  return run && state ? { wfInstanceId, run, state } : undefined;
}
