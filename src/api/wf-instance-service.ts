import { randomInt } from 'node:crypto';
import type { Client, WorkflowExecutionDescription, WorkflowExecutionInfo } from '@temporalio/client';
import {
  type PEWorkflowDAG, WorkflowInstanceStatus, contextSizeProblem, isWorkflowRunning, markNodeSucceeded, nodeStatusOf, nodeTypeOf, parseInitParams,
  retryDag,
} from '../domain/dag.js';
import { freshId, keyedId } from '../domain/ids.js';
import { snapshotOf } from '../domain/job.js';
import { type DagInput, type DagState, type NestedResume, type WorkflowDefinition, freezeRun } from '../domain/workflow.js';
import { MemoKey, type WfRunMemo, dagStateOfMemo, startedDagOfMemo } from '../contract/memo.js';
import { stopWfInstanceUpdate } from '../contract/messages.js';
import { wfInstanceWorkflowId } from '../contract/names.js';
import { SA } from '../contract/search-attributes.js';
import { dagStartOptions } from '../contract/start-options.js';
import { type DagWorkflow, WorkflowType } from '../contract/workflows.js';
import { isAlreadyStarted, isNotFound, isTransient, isUpdateUnanswered, updateRefusal } from '../temporal/errors.js';
import { startAgain } from '../temporal/start-again.js';
import type { AuthenticatedApp } from './auth.js';
import type { WfInstanceView } from './dto.js';
import { InvalidRequestError, NotFoundError, StateConflictError, UnavailableError } from './errors.js';
import { type Idempotency, createIdempotently, createdByOf } from './idempotency.js';
import type { JobService } from './job-service.js';
import { type Page, type WfInstanceQuery, matchesWfInstanceQuery, page, wfInstanceSortKey } from './queries.js';
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
    private readonly callTimeoutMs: number,
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
    const run = description && runMemo(description);
    const view = run?.appId === app.appId ? viewOf(wfInstanceId, description!, await this.startedDag(description!)) : undefined;
    if (!view) throw new NotFoundError(`workflow instance ${wfInstanceId} not found in app ${app.appName}`);
    return view;
  }

  /**
   * The DAG a run started with: in its memo for runs started before `dagStartMemo`, else in
   * its input, the first event of its history.
   */
  private async startedDag(execution: ExecutionFacts & Pick<WorkflowExecutionInfo, 'workflowId' | 'runId'>): Promise<PEWorkflowDAG> {
    const inMemo = startedDagOfMemo(execution.memo);
    if (inMemo) return inMemo;
    const { history } = await this.client.workflowService.getWorkflowExecutionHistory({
      namespace: this.client.options.namespace,
      execution: { workflowId: execution.workflowId, runId: execution.runId },
      maximumPageSize: 1,
    });
    const payload = history?.events?.[0]?.workflowExecutionStartedEventAttributes?.input?.payloads?.[0];
    if (!payload) throw new Error(`workflow instance ${execution.workflowId} (run ${execution.runId}) has no input in its first history event`);
    return this.client.options.loadedDataConverter.payloadConverter.fromPayload<DagInput>(payload).dag;
  }

  /**
   * What a run freezes (freezeRun): the workflow's DAG, or the one a retry resumes, with its
   * jobs and nested workflows as they are now; StateConflictError naming each one that is gone.
   */
  private async freeze(app: AuthenticatedApp, workflow: WorkflowDefinition, resume?: PEWorkflowDAG): Promise<Pick<DagInput, 'workflow' | 'dag' | 'jobs' | 'nested'>> {
    const orNone = (err: unknown) => { if (err instanceof NotFoundError) return undefined; throw err; };
    const frozen = await freezeRun(workflow, {
      nodes: await this.workflows.nodes(app.appId),
      job: async (jobId) => {
        const job = await this.jobs.getForRun(app, jobId).catch(orNone);
        return job && { ...snapshotOf(job), deleted: job.status === 'DELETED' };
      },
      workflow: (workflowId) => this.workflows.get(app, workflowId).catch(orNone),
    }, resume);
    if (!frozen.ok) throw new StateConflictError(`workflow ${workflow.id} cannot run: ${frozen.problems.join('; ')}`);
    const { ok: _ok, ...fields } = frozen;
    return fields;
  }

  /** With an Idempotency-Key, a retried stop of a workflow instance already stopped succeeds. */
  async stop(app: AuthenticatedApp, wfInstanceId: number, idempotency: Idempotency | null): Promise<void> {
    const { state } = await this.get(app, wfInstanceId);
    if (idempotency && state.status === 'STOPPED') return;
    const handle = this.client.workflow.getHandle(wfInstanceWorkflowId(wfInstanceId));
    try {
      await this.client.withDeadline(Date.now() + this.callTimeoutMs, () => handle.executeUpdate(stopWfInstanceUpdate));
    } catch (err) {
      const refusal = updateRefusal(err);
      if (refusal !== undefined) throw new StateConflictError(refusal);
      if (isNotFound(err)) throw new StateConflictError(`workflow instance ${wfInstanceId} has already finished; it cannot be stopped`);
      if (isUpdateUnanswered(err)) throw new UnavailableError(`the core worker did not answer within ${this.callTimeoutMs} ms; is it running? Retry the call`);
      throw err;
    }
  }

  /**
   * retryWfInstance: a new run under the same wfInstanceId that carries on from where the last
   * one ended: its FAILED (not skippable) and STOPPED nodes run again, with the jobs' current
   * definitions; everything that succeeded, decided or was pruned stays. With an
   * Idempotency-Key, a retried call finds its own run and starts no other.
   */
  async retry(app: AuthenticatedApp, wfInstanceId: number, idempotency: Idempotency | null): Promise<void> {
    const { run, state } = await this.get(app, wfInstanceId);
    if (idempotency && run.retriedBy === idempotency.key) return;
    const change = retryDag(state.dag, state.status, state.result);
    if (!change.ok) throw new StateConflictError(`workflow instance ${wfInstanceId}: ${change.reason}`);
    if (run.parentWfInstanceId !== null) {
      throw new StateConflictError(`workflow instance ${wfInstanceId} is nested in workflow instance ${run.parentWfInstanceId}: retry that one`);
    }
    const workflow = await this.workflows.get(app, run.workflowId);
    if (workflow.status !== 'ENABLE') throw new StateConflictError(`workflow ${workflow.id} is ${workflow.status === 'DELETED' ? 'deleted' : 'disabled'}; its instances cannot be retried`);
    const frozen = await this.freeze(app, workflow, change.dag);
    await this.startAgain(wfInstanceId, {
      appId: app.appId, appName: app.appName, ...frozen, context: state.context,
      maxWfInstanceNum: workflow.maxWfInstanceNum,
      retriedBy: idempotency?.key ?? null,
      resumeNested: await this.nestedResumes(app, change.dag),
    }, run, state);
  }

  /**
   * The nested runs a retry carries on, as PowerJob does: each NESTED_WORKFLOW node the retry
   * runs again that had a run keeps it, retried (its failed and stopped nodes only), and so on
   * down. A nested run that is gone, or cannot be retried, runs anew.
   */
  private async nestedResumes(app: AuthenticatedApp, dag: PEWorkflowDAG, into: Record<string, NestedResume> = {}): Promise<Record<string, NestedResume>> {
    for (const node of dag.nodes) {
      if (nodeTypeOf(node) !== 'NESTED_WORKFLOW' || node.instanceId == null || nodeStatusOf(node) !== 'WAITING_DISPATCH') continue;
      const nested = await this.get(app, node.instanceId).catch((err: unknown) => { if (err instanceof NotFoundError) return undefined; throw err; });
      const change = nested && retryDag(nested.state.dag, nested.state.status, nested.state.result);
      if (!nested || !change?.ok) continue;
      into[String(node.instanceId)] = { dag: change.dag, context: nested.state.context, round: nested.run.round + 1, actualTriggerTime: nested.state.actualTriggerTime };
      await this.nestedResumes(app, change.dag, into);
    }
    return into;
  }

  /**
   * markWorkflowNodeAsSuccess, as PowerJob: a FAILED node (not skippable) of a finished run
   * becomes SUCCEED ("mark as successful node"), so that a retry carries on past it; the run
   * stays as it ended. Recorded as a run under the same id that only records that state.
   */
  async markNodeSucceeded(app: AuthenticatedApp, wfInstanceId: number, nodeId: number, idempotency: Idempotency | null): Promise<void> {
    const { run, state } = await this.get(app, wfInstanceId);
    if (idempotency && run.retriedBy === idempotency.key) return;
    const change = markNodeSucceeded(state.dag, state.status, nodeId);
    if (!change.ok) throw new StateConflictError(`workflow instance ${wfInstanceId}: ${change.reason}`);
    const recorded: DagState = { ...state, dag: change.dag };
    await this.startAgain(wfInstanceId, {
      appId: app.appId, appName: app.appName,
      workflow: { workflowId: run.workflowId, wfName: run.wfName, dag: change.dag, failurePolicy: 'FAIL_FAST' },
      dag: change.dag, context: state.context, jobs: {}, nested: {}, maxWfInstanceNum: 0,
      retriedBy: idempotency?.key ?? null, recorded,
    }, run, state);
  }

  /** A new run of a finished workflow instance, under the same id. */
  private async startAgain(
    wfInstanceId: number,
    fields: Pick<DagInput, 'appId' | 'appName' | 'workflow' | 'dag' | 'context' | 'jobs' | 'nested' | 'maxWfInstanceNum' | 'retriedBy' | 'recorded' | 'resumeNested'>,
    run: WfRunMemo,
    state: DagState,
  ): Promise<void> {
    const input: DagInput = {
      ...fields,
      wfInstanceId,
      initParams: run.initParams,
      expectedTriggerTime: Date.now(),
      createdAt: run.createdAt,
      createdBy: run.createdBy,
      parentWfInstanceId: run.parentWfInstanceId,
      heartbeatTimeoutMs: this.heartbeatTimeoutMs,
      round: run.round + 1,
      actualTriggerTime: state.actualTriggerTime,
    };
    try {
      const handle = await startAgain(this.client, wfInstanceWorkflowId(wfInstanceId), this.callTimeoutMs, () => this.client.workflow.start<DagWorkflow>(WorkflowType.dag, {
        ...dagStartOptions(input),
        taskQueue: this.coreTaskQueue,
        workflowIdReusePolicy: 'ALLOW_DUPLICATE',
        workflowIdConflictPolicy: 'FAIL',
      }));
      // A run that only records a mark ends in its first task: answer once it has, so a retry right after finds it closed.
      if (input.recorded) await this.client.withDeadline(Date.now() + this.callTimeoutMs, () => handle.result());
    } catch (err) {
      if (isAlreadyStarted(err)) throw new StateConflictError(`workflow instance ${wfInstanceId} is already running again`);
      if (isTransient(err)) throw new UnavailableError(`the core worker did not record the change within ${this.callTimeoutMs} ms; is it running? Retry the call`);
      throw err;
    }
  }

  /**
   * queryWfInstance (beyond PowerJob): the app's workflow instances over Temporal's visibility
   * index (which trails writes by a moment); workflow, id and status conditions are pushed
   * into the query, the rest is filtered, sorted and paged here.
   */
  async query(app: AuthenticatedApp, q: WfInstanceQuery): Promise<Page<WfInstanceView>> {
    const conditions = [`WorkflowType = '${WorkflowType.dag}'`, `${SA.appId.name} = ${app.appId}`];
    if (q.workflowIdEq != null) conditions.push(`${SA.workflowId.name} = '${q.workflowIdEq}'`);
    if (q.wfInstanceIdEq != null) conditions.push(`${SA.wfInstanceId.name} = '${q.wfInstanceIdEq}'`);
    if (q.statusIn?.length) {
      conditions.push(`${SA.status.name} IN (${q.statusIn.map((code) => `'${WorkflowInstanceStatus.nameOf(code)}'`).join(', ')})`);
    }
    // A retried instance has one run per retry; the newest speaks for it.
    const latest = new Map<string, WorkflowExecutionInfo>();
    for await (const execution of this.client.workflow.list({ query: conditions.join(' AND ') })) {
      const seen = latest.get(execution.workflowId);
      if (!seen || seen.startTime < execution.startTime) latest.set(execution.workflowId, execution);
    }
    // Filtered and sorted on what the memos say; the DAGs are read for the page's runs only.
    const listed: { view: WfInstanceView; execution: WorkflowExecutionInfo }[] = [];
    for (const execution of latest.values()) {
      const id = Number(execution.typedSearchAttributes.get(SA.wfInstanceId));
      const view = Number.isSafeInteger(id) ? viewOf(id, execution, NO_DAG) : undefined;
      if (!view || view.run.appId !== app.appId || !matchesWfInstanceQuery(view, q)) continue;
      listed.push({ view, execution });
    }
    const key = wfInstanceSortKey(q.sortBy);
    const direction = q.asc ? 1 : -1;
    listed.sort((a, b) => direction * ((key(a.view) ?? -Infinity) - (key(b.view) ?? -Infinity)) || direction * (a.view.wfInstanceId - b.view.wfInstanceId));
    const found = page(listed, q.index, q.pageSize);
    const data = await Promise.all(found.data.map(async ({ view, execution }) => viewOf(view.wfInstanceId, execution, await this.startedDag(execution))!));
    return { ...found, data };
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

type ExecutionFacts = Pick<WorkflowExecutionInfo, 'memo' | 'type' | 'status' | 'closeTime'>;

function runMemo(execution: ExecutionFacts): WfRunMemo | undefined {
  return execution.type === WorkflowType.dag ? (execution.memo?.[MemoKey.wfRun] as WfRunMemo | undefined) : undefined;
}

/** What a listed run's DAG reads as until its page is known. */
const NO_DAG: PEWorkflowDAG = { nodes: [], edges: [] };

function viewOf(wfInstanceId: number, execution: ExecutionFacts, startedDag: PEWorkflowDAG): WfInstanceView | undefined {
  const run = runMemo(execution);
  const state = dagStateOfMemo(execution.memo, startedDag);
  return run && state ? { wfInstanceId, run, state: closedState(state, execution) } : undefined;
}

/**
 * A run whose Temporal workflow closed before its DAG finished (terminated from the Web UI
 * or by Temporal's history limit, timed out) reads as ended, as instances do, not as running forever.
 */
function closedState(state: DagState, execution: ExecutionFacts): DagState {
  const closedAs = execution.status.name;
  if (closedAs === 'RUNNING' || !isWorkflowRunning(state.status)) return state;
  return {
    ...state,
    status: closedAs === 'TERMINATED' || closedAs === 'CANCELLED' ? 'STOPPED' : 'FAILED',
    result: `the workflow instance's Temporal workflow was ${closedAs.toLowerCase()}`,
    finishedTime: execution.closeTime?.getTime() ?? null,
  };
}
