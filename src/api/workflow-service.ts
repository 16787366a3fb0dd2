import { randomInt } from 'node:crypto';
import { WithStartWorkflowOperation, type Client } from '@temporalio/client';
import type { UpdateDefinition } from '@temporalio/common';
import { findNestedWorkflowCycle, validateDag, type PEWorkflowDAG } from '../domain/dag.js';
import { freshId, keyedId } from '../domain/ids.js';
import { DEFAULT_MISFIRE_POLICY, type JobDefinition } from '../domain/job.js';
import { isValidTimeZone } from '../domain/schedule/zoned-time.js';
import { catchupWindowMs } from '../domain/time-expression.js';
import {
  WORKFLOW_TIME_TYPES, dagSkeleton, dagWithNodes, type WorkflowDefinition, type WorkflowNodeRecord, type WorkflowTimeType,
} from '../domain/workflow.js';
import { MemoKey } from '../contract/memo.js';
import { bindWorkflowNodesUpdate, saveWorkflowNodesUpdate } from '../contract/messages.js';
import { workflowNodesWorkflowId, workflowScheduleId } from '../contract/names.js';
import { workflowOfSchedule } from '../contract/schedules.js';
import { SA } from '../contract/search-attributes.js';
import { type SaveNodesRequest, type ScheduledWorkflowRunInput, type WorkflowNodesWorkflow, WorkflowType } from '../contract/workflows.js';
import { isNotFound, updateRefusal, updateRefusalType } from '../temporal/errors.js';
import { scheduleSpecOf } from '../temporal/schedule-spec.js';
import type { AuthenticatedApp } from './auth.js';
import { IdempotencyKeyReuseError, InvalidRequestError, NotFoundError, StateConflictError } from './errors.js';
import { CREATE_ATTEMPTS, type Idempotency, createIdempotently, createdByOf } from './idempotency.js';
import { ruleOf, type JobService } from './job-service.js';
import { describeSchedule, readAppSchedules, updateSchedule } from './schedule-reads.js';
import type { SaveWorkflowRequest, saveWorkflowNodeSchema } from './schemas.js';
import type { z } from 'zod';

type SaveNodeRequest = z.infer<typeof saveWorkflowNodeSchema>;
/** A saveWorkflow request, its DAG as the model has it (copyWorkflow builds one). */
type WorkflowRequest = Omit<SaveWorkflowRequest, 'dag'> & { dag?: PEWorkflowDAG | null };

/**
 * Workflow (DAG) definitions, stored as the jobs are: one Temporal Schedule per workflow
 * (`tempojob-workflow-<id>`), the definition in its action's arguments, paused unless it is
 * an enabled CRON workflow. Nodes (addWorkflowNode) live in one registry workflow per app
 * (`tempojob-wf-nodes-<appId>`), read from its memo. Reads by id are strongly consistent;
 * listing goes through Temporal's visibility index, which trails writes.
 */
export class WorkflowService {
  constructor(
    private readonly client: Client,
    private readonly coreTaskQueue: string,
    private readonly jobs: JobService,
    private readonly heartbeatTimeoutMs: number,
    private readonly defaultTimeZone: string,
  ) {}

  /** addWorkflowNode: creates (no id) or changes (id) nodes of the app; they join a workflow when a saved DAG lists them. */
  async saveNodes(app: AuthenticatedApp, requests: SaveNodeRequest[], idempotency: Idempotency | null): Promise<WorkflowNodeRecord[]> {
    const problems: string[] = [];
    for (const [index, node] of requests.entries()) {
      const label = `node[${index}]${node.nodeName ? ` "${node.nodeName}"` : ''}`;
      if (node.appId != null && node.appId !== app.appId) {
        problems.push(`${label}: appId ${node.appId} does not match the authenticated app ${app.appId}; omit appId or send your own`);
      }
      problems.push(...(await this.nodeProblems(app, node)).map((problem) => `${label}: ${problem}`));
    }
    if (problems.length > 0) throw new InvalidRequestError(`invalid workflow nodes: ${problems.join('; ')}`);
    return this.registryUpdate(app, saveWorkflowNodesUpdate, {
      appId: app.appId, nodes: requests.map(({ appId: _appId, ...node }) => node), now: Date.now(), idempotency,
    });
  }

  /** The app's nodes by id (none before its first addWorkflowNode). */
  async nodes(appId: number): Promise<Map<number, WorkflowNodeRecord>> {
    try {
      const description = await this.client.workflow.getHandle(workflowNodesWorkflowId(appId)).describe();
      const nodes = (description.memo?.[MemoKey.nodes] ?? []) as WorkflowNodeRecord[];
      return new Map(nodes.map((node) => [node.id, node]));
    } catch (err) {
      if (isNotFound(err)) return new Map();
      throw err;
    }
  }

  /** saveWorkflow: creates (no id) or replaces (id) a workflow; its DAG's nodes become its own. */
  async save(app: AuthenticatedApp, request: WorkflowRequest, idempotency: Idempotency | null): Promise<number> {
    if (request.appId != null && request.appId !== app.appId) {
      throw new InvalidRequestError(`appId ${request.appId} does not match the authenticated app ${app.appId}; omit appId or send your own`);
    }
    const timeType = request.timeExpressionType as WorkflowTimeType;
    if (!WORKFLOW_TIME_TYPES.includes(timeType)) {
      throw new InvalidRequestError(`timeExpressionType ${request.timeExpressionType} is not supported for workflows: use API or CRON`);
    }
    const timeZone = request.timeZone ?? this.defaultTimeZone;
    if (!isValidTimeZone(timeZone)) throw new InvalidRequestError(`timeZone "${timeZone}" is not an IANA time zone (e.g. "Europe/Berlin", "UTC")`);
    ruleOf({ timeExpressionType: timeType, timeExpression: request.timeExpression });
    await this.jobs.checkAlertTargets(app, request.notifyUserIds);
    const dag: PEWorkflowDAG = request.dag ? dagSkeleton(request.dag) : { nodes: [], edges: [] };
    // A repeated create (same key, same body) answers with the first id, before its nodes, now bound, would be refused.
    const repeat = request.id == null && idempotency ? await this.createdWith(app, idempotency) : undefined;
    if (repeat !== undefined) {
      await this.registryUpdate(app, bindWorkflowNodesUpdate, { workflowId: repeat, nodeIds: dag.nodes.map((node) => node.nodeId), now: Date.now() });
      return repeat;
    }
    await this.checkDag(app, request.id ?? null, dag);

    const fields = (id: number, gmtCreate: number, createdBy: WorkflowDefinition['createdBy']): WorkflowDefinition => ({
      id, appId: app.appId, wfName: request.wfName, wfDescription: request.wfDescription,
      timeExpressionType: timeType,
      timeExpression: timeType === 'API' ? null : request.timeExpression?.trim() ?? null,
      timeZone,
      misfirePolicy: request.misfirePolicy ? { ...DEFAULT_MISFIRE_POLICY, ...request.misfirePolicy } : DEFAULT_MISFIRE_POLICY,
      maxWfInstanceNum: request.maxWfInstanceNum,
      status: request.enable ? 'ENABLE' : 'DISABLE',
      notifyUserIds: request.notifyUserIds,
      dag,
      lifeCycle: request.lifeCycle
        ? { ...(request.lifeCycle.start != null ? { start: request.lifeCycle.start } : {}), ...(request.lifeCycle.end != null ? { end: request.lifeCycle.end } : {}) }
        : null,
      failurePolicy: request.failurePolicy,
      extra: request.extra,
      gmtCreate, gmtModified: Date.now(), createdBy,
    });

    let id: number;
    if (request.id != null) {
      id = request.id;
      await this.modify(app, id, (current) => fields(id, current.gmtCreate, current.createdBy));
    } else {
      id = await createIdempotently({
        idempotency,
        idOf: (attempt) => idempotency ? keyedId('workflow', app.appId, idempotency.key, attempt) : freshId(Date.now(), randomInt(1024)),
        create: async (newId) => {
          const workflow = fields(newId, Date.now(), createdByOf(idempotency));
          await this.client.schedule.create({
            scheduleId: workflowScheduleId(newId),
            ...this.timing(app, workflow),
            memo: { appId: app.appId },
            typedSearchAttributes: [{ key: SA.appId, value: app.appId }, { key: SA.workflowId, value: String(newId) }],
          });
        },
        createdBy: async (existing) => (await this.find(existing))?.createdBy,
      });
    }
    // Binding is idempotent, so a repeated save (same Idempotency-Key) completes one cut short.
    await this.registryUpdate(app, bindWorkflowNodesUpdate, { workflowId: id, nodeIds: dag.nodes.map((node) => node.nodeId), now: Date.now() });
    return id;
  }

  /** The workflow of this app, or NotFoundError: another app's workflow does not exist for the caller. */
  async get(app: AuthenticatedApp, workflowId: number): Promise<WorkflowDefinition> {
    return owned(app, workflowId, await this.find(workflowId));
  }

  async list(app: AuthenticatedApp): Promise<WorkflowDefinition[]> {
    const found = await readAppSchedules(this.client, app.appId, workflowScheduleId, (id) => this.find(id));
    return found.filter((workflow): workflow is WorkflowDefinition => workflow?.appId === app.appId);
  }

  async setStatus(app: AuthenticatedApp, workflowId: number, status: WorkflowDefinition['status']): Promise<void> {
    // Deleting twice is a no-op, as in PowerJob, so a retried delete is safe.
    if (status === 'DELETED' && (await this.get(app, workflowId)).status === 'DELETED') return;
    await this.modify(app, workflowId, (current) => ({ ...current, status, gmtModified: Date.now() }));
  }

  /** A copy named `<name>_COPY`, with copies of its nodes; with an Idempotency-Key, a retried copy returns the first copy. */
  async copy(app: AuthenticatedApp, workflowId: number, idempotency: Idempotency | null): Promise<number> {
    const source = await this.get(app, workflowId);
    if (source.status === 'DELETED') throw new StateConflictError(`workflow ${workflowId} was deleted; it cannot be copied`);
    const nodes = await this.nodes(app.appId);
    const originals = source.dag.nodes.flatMap((node) => nodes.get(node.nodeId) ?? []);
    const copies = originals.length === 0 ? [] : await this.saveNodes(
      app,
      originals.map(({ type, jobId, nodeName, nodeParams, enable, skipWhenFailed, extra }) => ({
        id: null, type, jobId, nodeName, nodeParams, enable, skipWhenFailed, extra,
      })),
      idempotency && { key: `${idempotency.key}#nodes`, hash: idempotency.hash },
    );
    const newId = new Map(originals.map((node, index) => [node.id, copies[index]!.id]));
    const remap = (id: number) => newId.get(id) ?? id;
    return this.save(app, {
      ...toRequest(source),
      wfName: `${source.wfName}_COPY`,
      dag: {
        nodes: source.dag.nodes.map((node) => ({ nodeId: remap(node.nodeId) })),
        edges: source.dag.edges.map((edge) => ({ ...edge, from: remap(edge.from), to: remap(edge.to) })),
      },
    }, idempotency);
  }

  /** The workflow an earlier create with this Idempotency-Key made (IdempotencyKeyReuseError for another body). */
  private async createdWith(app: AuthenticatedApp, idempotency: Idempotency): Promise<number | undefined> {
    for (let attempt = 0; attempt < CREATE_ATTEMPTS; attempt++) {
      const id = keyedId('workflow', app.appId, idempotency.key, attempt);
      const existing = await this.find(id);
      if (!existing) return undefined;
      if (existing.createdBy?.idempotencyKey !== idempotency.key) continue;
      if (existing.createdBy.requestHash !== idempotency.hash) throw new IdempotencyKeyReuseError(idempotency.key);
      return id;
    }
    return undefined;
  }

  /** Every reason a node cannot be saved as it is. */
  private async nodeProblems(app: AuthenticatedApp, node: SaveNodeRequest): Promise<string[]> {
    if (node.type === 'DECISION') {
      return node.nodeParams?.trim() ? [] : ['a DECISION node needs its condition script in nodeParams (e.g. `context.amount > 100`)'];
    }
    if (node.jobId === null) {
      return [node.type === 'JOB' ? 'a JOB node needs jobId: the job it runs' : 'a NESTED_WORKFLOW node needs jobId: the id of the workflow it runs'];
    }
    return node.type === 'JOB' ? this.jobProblems(app, node.jobId) : this.nestedProblems(app, node.jobId);
  }

  private async jobProblems(app: AuthenticatedApp, jobId: number): Promise<string[]> {
    const job = await this.findJob(app, jobId);
    if (!job) return [`job ${jobId} not found in app ${app.appName}`];
    return job.status === 'DELETED' ? [`job ${jobId} was deleted`] : [];
  }

  private async nestedProblems(app: AuthenticatedApp, workflowId: number): Promise<string[]> {
    const workflow = await this.find(workflowId);
    if (!workflow || workflow.appId !== app.appId) return [`workflow ${workflowId} not found in app ${app.appName}`];
    return workflow.status === 'DELETED' ? [`workflow ${workflowId} was deleted`] : [];
  }

  private async findJob(app: AuthenticatedApp, jobId: number): Promise<JobDefinition | undefined> {
    try {
      return await this.jobs.get(app, jobId);
    } catch (err) {
      if (err instanceof NotFoundError) return undefined;
      throw err;
    }
  }

  /** Refuses a DAG with any problem, naming every one: its shape, its nodes, their jobs and nested workflows, nesting cycles. */
  private async checkDag(app: AuthenticatedApp, workflowId: number | null, skeleton: PEWorkflowDAG): Promise<void> {
    if (skeleton.nodes.length === 0 && skeleton.edges.length === 0) return;
    const nodes = await this.nodes(app.appId);
    const problems: string[] = [];
    for (const { nodeId } of skeleton.nodes) {
      const node = nodes.get(nodeId);
      if (!node) problems.push(`node ${nodeId} does not exist in app ${app.appName}: create it with addWorkflowNode first`);
      else if (node.workflowId !== null && node.workflowId !== workflowId) {
        problems.push(`node ${nodeId} belongs to workflow ${node.workflowId}: a node is part of one workflow only; create a new node`);
      }
    }
    const dag = dagWithNodes(skeleton, nodes);
    problems.push(...validateDag(dag, workflowId === null ? {} : { workflowId }));
    for (const node of dag.nodes) {
      const record = nodes.get(node.nodeId);
      if (!record || record.jobId === null) continue;
      const found = record.type === 'JOB' ? await this.jobProblems(app, record.jobId)
        : record.type === 'NESTED_WORKFLOW' && record.jobId !== workflowId ? await this.nestedProblems(app, record.jobId) : [];
      problems.push(...found.map((problem) => `node ${node.nodeId}: ${problem}`));
    }
    if (problems.length === 0 && workflowId !== null) {
      const cycle = findNestedWorkflowCycle(workflowId, dag, await this.nestedDags(app, dag, nodes));
      if (cycle) problems.push(cycle.message);
    }
    if (problems.length > 0) throw new InvalidRequestError(`invalid workflow DAG: ${problems.join('; ')}`);
  }

  /** Every workflow reachable through nested-workflow nodes from `dag`, loaded for the cycle check. */
  private async nestedDags(app: AuthenticatedApp, dag: PEWorkflowDAG, nodes: Map<number, WorkflowNodeRecord>) {
    const dags = new Map<number, PEWorkflowDAG>();
    const nestedIn = (of: PEWorkflowDAG) =>
      of.nodes.flatMap((node) => { const record = nodes.get(node.nodeId); return record?.type === 'NESTED_WORKFLOW' && record.jobId !== null ? [record.jobId] : []; });
    const pending = nestedIn(dag);
    while (pending.length > 0) {
      const id = pending.pop()!;
      if (dags.has(id)) continue;
      const workflow = await this.find(id);
      if (!workflow || workflow.appId !== app.appId) continue;
      const full = dagWithNodes(workflow.dag, nodes);
      dags.set(id, full);
      pending.push(...nestedIn(full));
    }
    return (id: number) => dags.get(id);
  }

  /** Read-modify-write in one schedule update, refusing other apps' and deleted workflows. */
  private async modify(app: AuthenticatedApp, workflowId: number, change: (workflow: WorkflowDefinition) => WorkflowDefinition): Promise<void> {
    try {
      await updateSchedule(this.client, workflowScheduleId(workflowId), (previous) => {
        const before = owned(app, workflowId, workflowOfSchedule(previous));
        if (before.status === 'DELETED') throw new StateConflictError(`workflow ${workflowId} was deleted; create a new workflow instead`);
        return { ...previous, ...this.timing(app, change(before)) };
      });
    } catch (err) {
      if (isNotFound(err)) throw notFound(app, workflowId);
      throw err;
    }
  }

  private timing(app: AuthenticatedApp, workflow: WorkflowDefinition) {
    const timed = workflow.timeExpressionType === 'CRON' && workflow.status !== 'DELETED';
    const rule = ruleOf(workflow);
    const spec = timed ? scheduleSpecOf(workflow, rule) : undefined;
    const input: ScheduledWorkflowRunInput = { workflow, appName: app.appName, heartbeatTimeoutMs: this.heartbeatTimeoutMs };
    return {
      spec: spec ?? {},
      action: { type: 'startWorkflow' as const, workflowType: WorkflowType.scheduledWorkflowRun, taskQueue: this.coreTaskQueue, args: [input] },
      policies: { overlap: 'ALLOW_ALL' as const, catchupWindow: catchupWindowMs(workflow, rule, Date.now()) },
      state: { paused: !spec || workflow.status !== 'ENABLE', note: pauseNote(workflow) },
    };
  }

  private async find(workflowId: number): Promise<WorkflowDefinition | undefined> {
    const description = await describeSchedule(this.client, workflowScheduleId(workflowId));
    return description && workflowOfSchedule(description);
  }

  /** An update on the app's node registry, starting it on first use; its refusals become the API's. */
  private async registryUpdate<Ret, Args extends [unknown]>(
    app: AuthenticatedApp,
    update: UpdateDefinition<Ret, Args>,
    ...args: Args
  ): Promise<Ret> {
    try {
      return await this.client.workflow.executeUpdateWithStart(update, {
        args,
        startWorkflowOperation: new WithStartWorkflowOperation<WorkflowNodesWorkflow>(WorkflowType.workflowNodes, {
          workflowId: workflowNodesWorkflowId(app.appId),
          taskQueue: this.coreTaskQueue,
          args: [],
          workflowIdConflictPolicy: 'USE_EXISTING',
        }),
      });
    } catch (err) {
      const refusal = updateRefusal(err);
      if (refusal === undefined) throw err;
      if (updateRefusalType(err) === 'IdempotencyKeyReuse') throw new IdempotencyKeyReuseError((args[0] as Partial<SaveNodesRequest>).idempotency?.key ?? '');
      throw new InvalidRequestError(refusal);
    }
  }
}

function owned(app: AuthenticatedApp, workflowId: number, workflow: WorkflowDefinition | undefined): WorkflowDefinition {
  if (!workflow || workflow.appId !== app.appId) throw notFound(app, workflowId);
  return workflow;
}

function notFound(app: AuthenticatedApp, workflowId: number): NotFoundError {
  return new NotFoundError(`workflow ${workflowId} not found in app ${app.appName}`);
}

function pauseNote(workflow: WorkflowDefinition): string {
  if (workflow.status === 'DELETED') return 'deleted';
  if (workflow.status === 'DISABLE') return 'disabled';
  if (workflow.timeExpressionType === 'API') return 'API workflow: runs only through runWorkflow';
  return `CRON ${workflow.timeExpression} (${workflow.timeZone})`;
}

/** The request that would save this workflow again. */
function toRequest(workflow: WorkflowDefinition): WorkflowRequest {
  return {
    id: null, appId: workflow.appId, wfName: workflow.wfName, wfDescription: workflow.wfDescription,
    timeExpressionType: workflow.timeExpressionType, timeExpression: workflow.timeExpression, timeZone: workflow.timeZone,
    misfirePolicy: workflow.misfirePolicy, maxWfInstanceNum: workflow.maxWfInstanceNum, enable: workflow.status === 'ENABLE',
    notifyUserIds: workflow.notifyUserIds, dag: workflow.dag, lifeCycle: workflow.lifeCycle,
    failurePolicy: workflow.failurePolicy, extra: workflow.extra,
  };
}
