import type { TempojobMetrics } from '../metrics/metrics.js';
import { randomInt } from 'node:crypto';
import type { Client, WorkflowExecutionDescription, WorkflowExecutionInfo } from '@temporalio/client';
import proto from '@temporalio/proto';
import type { InstanceStatusName } from '../domain/enums.js';
import { InstanceStatus, isFinished } from '../domain/enums.js';
import { freshId, keyedId } from '../domain/ids.js';
import type { InstanceInput, InstanceState } from '../domain/instance.js';
import { newInstanceInput } from '../domain/instance.js';
import { snapshotOf } from '../domain/job.js';
import type { MapCounts, MapProgress } from '../domain/map.js';
import { NO_COUNTS, addCounts, progressOf } from '../domain/map.js';
import { MemoKey, type RunMemo } from '../contract/memo.js';
import { cancelInstanceUpdate, stopInstanceUpdate } from '../contract/messages.js';
import { instanceWorkflowId, mapBatchAttemptPrefix } from '../contract/names.js';
import { SA } from '../contract/search-attributes.js';
import { instanceStartDelay, instanceStartOptions } from '../contract/start-options.js';
import { type InstanceWorkflow, WorkflowType } from '../contract/workflows.js';
import { supportsEagerStart } from '../temporal/connection.js';
import { isAlreadyStarted, isNotFound, isTransient, isUpdateUnanswered, updateRefusal } from '../temporal/errors.js';
import { startAgain } from '../temporal/start-again.js';
import type { AuthenticatedApp } from './auth.js';
import type { InstanceView } from './dto.js';
import { type Idempotency, createIdempotently, createdByOf } from './idempotency.js';
import { NotFoundError, StateConflictError, UnavailableError } from './errors.js';
import { InstanceOwners } from './instance-owners.js';
import type { JobService } from './job-service.js';
import type { InstanceQuery, Page } from './queries.js';
import { page } from './queries.js';

const { PendingActivityState } = proto.temporal.api.enums.v1;

/** `newest` first counts the runs this far back, then looks 4 times as far until a page is in. */
export const NEWEST_FIRST_WINDOW_MS = 5_000;

/**
 * Instances: one instance workflow each (`tempojob-instance-<id>`), started with a
 * deterministic id so that a repeated request (same Idempotency-Key) is a no-op. Where the
 * client shares a native connection with this process's core worker (`npm start`), runs due
 * now start eagerly: the first workflow task comes back in the start call's answer.
 */
export class InstanceService {
  private readonly eagerStart: boolean;

  constructor(
    private readonly client: Client,
    private readonly jobs: JobService,
    private readonly coreTaskQueue: string,
    private readonly heartbeatTimeoutMs: number,
    private readonly callTimeoutMs: number,
    private readonly owners = new InstanceOwners(),
    /** Where runs started here are counted (tempojob_instances_started_total); absent: not counted. */
    private readonly metrics?: TempojobMetrics,
  ) {
    this.eagerStart = supportsEagerStart(client);
  }

  async run(
    app: AuthenticatedApp,
    request: { jobId: number; instanceParams: string | null; delay: number },
    idempotency: Idempotency | null,
  ): Promise<number> {
    const receivedAt = Date.now();
    const job = await this.jobs.getForRun(app, request.jobId);
    if (job.status === 'DELETED') throw new StateConflictError(`job ${job.id} was deleted; it cannot run`);
    const instanceId = await createIdempotently({
      idempotency,
      idOf: (attempt) => idempotency ? keyedId('run', app.appId, job.id, idempotency.key, attempt) : freshId(receivedAt, randomInt(1024)),
      create: (instanceId) => this.client.workflow.start<InstanceWorkflow>(WorkflowType.instance, {
        ...instanceStartOptions(newInstanceInput({
          instanceId,
          appName: app.appName,
          job: snapshotOf(job),
          instanceParams: request.instanceParams,
          expectedTriggerTime: receivedAt + request.delay,
          createdAt: receivedAt,
          createdBy: createdByOf(idempotency),
          heartbeatTimeoutMs: this.heartbeatTimeoutMs,
        })),
        taskQueue: this.coreTaskQueue,
        workflowIdReusePolicy: 'REJECT_DUPLICATE',
        workflowIdConflictPolicy: 'FAIL',
        // Only a run due now: for runs that wait, eager first tasks halved the submit rate
        // under 32 clients (bench:delays, 194 -> 102 runs/s), and nobody waits on their first task.
        requestEagerStart: this.eagerStart && request.delay === 0,
        startDelay: instanceStartDelay(request.delay),
      }).then(() => { this.metrics?.instancesStarted.labels(app.appName, String(job.id), 'api').inc(); }),
      createdBy: async (instanceId) => {
        const existing = await this.describe(instanceId);
        const run = existing && runMemo(existing);
        return run?.jobId === job.id ? run.createdBy : null;
      },
    });
    this.owners.remember(instanceId, app.appId);
    return instanceId;
  }

  async get(app: AuthenticatedApp, instanceId: number): Promise<InstanceView> {
    const description = await this.describe(instanceId);
    const view = description && viewOf(instanceId, description, description.raw.pendingActivities ?? []);
    if (!view || view.appId !== app.appId) throw new NotFoundError(`instance ${instanceId} not found in app ${app.appName}`);
    this.owners.remember(instanceId, view.appId);
    if (view.executeType !== 'MAP' && view.executeType !== 'MAP_REDUCE') return view;
    if (description.status.name === 'RUNNING' && view.status === 'RUNNING') return { ...view, map: await this.mapProgress(view) };
    // Stopped (or ended before its batches reported): the counts as its batches last wrote
    // them; sub-tasks that never finished are in `total` only.
    if (view.status === 'STOPPED' || !view.map) return { ...view, map: { ...(await this.mapProgress(view)), running: 0 } };
    return view;
  }

  /**
   * A map's progress, summed over its current attempt's batch workflows (each keeps its
   * own sub-tasks' counts in its memo), through the visibility index.
   */
  private async mapProgress(view: InstanceView): Promise<MapProgress> {
    const prefix = mapBatchAttemptPrefix(view.instanceId, view.instanceAttempt);
    let counts = NO_COUNTS;
    const query = `WorkflowType = '${WorkflowType.mapBatch}' AND ${SA.instanceId.name} = ${view.instanceId}`;
    for await (const batch of this.client.workflow.list({ query })) {
      const own = batch.memo?.[MemoKey.batch] as MapCounts | undefined;
      if (own && batch.workflowId.startsWith(prefix)) counts = addCounts(counts, own);
    }
    return progressOf(counts);
  }

  /**
   * PowerJob's queryInstance, over Temporal's visibility index (which trails writes by a
   * moment). Id, job and status conditions are pushed into the visibility query; the rest
   * is filtered, sorted (honouring `asc`) and paged here.
   */
  async query(app: AuthenticatedApp, q: InstanceQuery): Promise<Page<InstanceView>> {
    const conditions = instanceConditions(app, q);
    if (q.instanceIdEq != null) conditions.push(`${SA.instanceId.name} = ${q.instanceIdEq}`);
    if (q.instanceIdLt != null) conditions.push(`${SA.instanceId.name} < ${q.instanceIdLt}`);
    if (q.instanceIdGt != null) conditions.push(`${SA.instanceId.name} > ${q.instanceIdGt}`);
    const views = (await this.latestViews(app, conditions.join(' AND '))).filter((view) => {
      const created = view.createdAt;
      const modified = view.updatedAt;
      return (q.gmtCreateLt == null || created < q.gmtCreateLt) && (q.gmtCreateGt == null || created > q.gmtCreateGt)
        && (q.gmtModifiedLt == null || modified < q.gmtModifiedLt) && (q.gmtModifiedGt == null || modified > q.gmtModifiedGt)
        && hasStatus(view, q.statusIn);
    });
    const key = sortKey(q.sortBy);
    const direction = q.asc ? 1 : -1;
    views.sort((a, b) => direction * ((key(a) ?? -Infinity) - (key(b) ?? -Infinity)) || direction * (a.instanceId - b.instanceId));
    return page(views, q.index, q.pageSize);
  }

  /**
   * The app's instances newest first (by creation, ties by id), one page, reading about as
   * many runs from the visibility index as the page needs instead of every run, as `query`
   * does: a run starts no earlier than its instance was created, so the runs started after T
   * include every instance created after T, and the newest of those are the newest overall.
   * The window back from now widens (×4, counting runs, which is cheap) until it holds the
   * page, is narrowed again when it holds far more, and only then is listed. `more` says
   * whether a next page exists; `runs` is the count of matching runs (a retried instance
   * counts once per run), for an "about N" total.
   */
  async newest(
    app: AuthenticatedApp,
    q: { jobIdEq?: number | null; statusIn?: number[] | null; createdAfter?: number | null; createdBefore?: number | null; index: number; pageSize: number },
    firstWindowMs = NEWEST_FIRST_WINDOW_MS,
  ): Promise<{ data: InstanceView[]; more: boolean; runs: number }> {
    const conditions = instanceConditions(app, q);
    if (q.createdAfter != null) conditions.push(`StartTime > '${new Date(q.createdAfter).toISOString()}'`);
    const base = conditions.join(' AND ');
    const { count: runs } = await this.client.workflow.count(base);
    const wanted = (q.index + 1) * q.pageSize + 1;
    const now = Date.now();
    /** The query for runs started in the last `span` ms, or null when that bound would hold every run anyway. */
    const within = (span: number) => {
      const since = now - span;
      return since <= 0 || (q.createdAfter != null && q.createdAfter >= since) ? null : `${base} AND StartTime > '${new Date(since).toISOString()}'`;
    };
    const counted = async (span: number) => {
      const query = within(span);
      return query === null ? runs : (await this.client.workflow.count(query)).count;
    };
    let tooFew = 0;
    for (let span = firstWindowMs; ; tooFew = span, span *= 4) {
      let inWindow = await counted(span);
      if (inWindow < wanted && inWindow < runs && within(span) !== null) continue;
      // Counting is cheap, listing is not: narrow a window much larger than the page before reading it.
      for (let step = 0; step < 6 && inWindow > 4 * wanted && span - tooFew > 1_000; step++) {
        const mid = Math.floor((tooFew + span) / 2);
        const midCount = await counted(mid);
        if (midCount >= wanted) { span = mid; inWindow = midCount; } else tooFew = mid;
      }
      const query = within(span);
      const everything = query === null || inWindow >= runs;
      const since = now - span;
      const views = (await this.latestViews(app, query ?? base)).filter((view) =>
        // Only instances created inside the window are sure to be all there (a retried older one may be too).
        (everything || view.createdAt > since) && (q.createdBefore == null || view.createdAt < q.createdBefore) && hasStatus(view, q.statusIn));
      if (!everything && views.length < wanted) continue;
      views.sort((a, b) => b.createdAt - a.createdAt || b.instanceId - a.instanceId);
      const start = q.index * q.pageSize;
      return { data: views.slice(start, start + q.pageSize), more: views.length > start + q.pageSize, runs };
    }
  }

  /** The app's instances among the runs `query` lists, each as its newest run says (a retried instance has one run per attempt series). */
  private async latestViews(app: AuthenticatedApp, query: string): Promise<InstanceView[]> {
    const latest = new Map<string, WorkflowExecutionInfo>();
    for await (const execution of this.client.workflow.list({ query })) {
      const seen = latest.get(execution.workflowId);
      if (!seen || seen.startTime < execution.startTime) latest.set(execution.workflowId, execution);
    }
    return [...latest.values()].flatMap((execution) => {
      const instanceId = execution.typedSearchAttributes.get(SA.instanceId);
      const view = instanceId === undefined ? undefined : viewOf(instanceId, execution, []);
      return view && view.appId === app.appId ? [view] : [];
    });
  }

  /**
   * Runs of the app (or a job) per status, by their start time, from the visibility index:
   * one count per status. WAITING_WORKER_RECEIVE is not a search-attribute value (it is
   * RUNNING refined by describe), so it counts as RUNNING.
   */
  async count(app: AuthenticatedApp, q: { jobIdEq?: number | null; startedAfter?: number | null; startedBefore?: number | null }): Promise<{ status: InstanceStatusName; count: number }[]> {
    const conditions = instanceConditions(app, q);
    if (q.startedAfter != null) conditions.push(`StartTime > '${new Date(q.startedAfter).toISOString()}'`);
    if (q.startedBefore != null) conditions.push(`StartTime < '${new Date(q.startedBefore).toISOString()}'`);
    const statuses = InstanceStatus.names.filter((name) => name !== 'WAITING_WORKER_RECEIVE');
    return Promise.all(statuses.map(async (status) => {
      const { count } = await this.client.workflow.count([...conditions, `${SA.status.name} = '${status}'`].join(' AND '));
      return { status, count };
    }));
  }

  /** With an Idempotency-Key, a retried cancel of an instance already canceled succeeds. */
  async cancel(app: AuthenticatedApp, instanceId: number, idempotency: Idempotency | null = null): Promise<void> {
    if (await this.alreadyIn(app, instanceId, idempotency, 'CANCELED')) return;
    await this.update(instanceId, cancelInstanceUpdate, 'canceled');
  }

  /** With an Idempotency-Key, a retried stop of an instance already stopped succeeds. */
  async stop(app: AuthenticatedApp, instanceId: number, idempotency: Idempotency | null = null): Promise<void> {
    if (await this.alreadyIn(app, instanceId, idempotency, 'STOPPED')) return;
    await this.update(instanceId, stopInstanceUpdate, 'stopped');
  }

  /**
   * Checks the caller's app owns the instance, and whether a keyed (retried) call finds it
   * already in `status`. The instance's own update validator decides the rest atomically,
   * so an instance this replica knows to be the app's, without a key, needs no read first
   * (one describe fewer per cancel of a run submitted here).
   */
  private async alreadyIn(app: AuthenticatedApp, instanceId: number, idempotency: Idempotency | null, status: InstanceView['status']): Promise<boolean> {
    if (!idempotency && this.owners.appOf(instanceId) === app.appId) return false;
    const instance = await this.get(app, instanceId);
    return idempotency !== null && instance.status === status;
  }

  /**
   * Runs a finished instance again under the same id, with the job's current definition.
   * With an Idempotency-Key, a retried call finds its own run and starts no other.
   */
  async retry(app: AuthenticatedApp, instanceId: number, idempotency: Idempotency | null = null): Promise<void> {
    const instance = await this.get(app, instanceId);
    if (idempotency && instance.retriedBy === idempotency.key) return;
    if (!isFinished(instance.status)) {
      throw new StateConflictError(`instance ${instanceId} is still ${instance.status}; only a finished instance can be retried`);
    }
    if (instance.wfInstanceId !== undefined) {
      throw new StateConflictError(
        `instance ${instanceId} is a node of workflow instance ${instance.wfInstanceId}: retry that with retryWfInstance, which runs its failed nodes again`,
      );
    }
    const job = await this.jobs.get(app, instance.jobId);
    if (job.status === 'DELETED') throw new StateConflictError(`job ${job.id} was deleted; its instances cannot be retried`);
    const now = Date.now();
    const input: InstanceInput = {
      instanceId,
      appName: app.appName,
      job: snapshotOf(job),
      instanceParams: instance.instanceParams,
      expectedTriggerTime: now,
      previousRunningTimes: instance.instanceAttempt,
      createdAt: instance.createdAt,
      createdBy: instance.createdBy,
      retriedBy: idempotency?.key ?? null,
      catchUp: false,
      heartbeatTimeoutMs: this.heartbeatTimeoutMs,
    };
    try {
      await startAgain(this.client, instanceWorkflowId(instanceId), this.callTimeoutMs, () => this.client.workflow.start<InstanceWorkflow>(WorkflowType.instance, {
        ...instanceStartOptions(input),
        taskQueue: this.coreTaskQueue,
        workflowIdReusePolicy: 'ALLOW_DUPLICATE',
        workflowIdConflictPolicy: 'FAIL',
        requestEagerStart: this.eagerStart,
      }));
      this.metrics?.instancesStarted.labels(app.appName, String(job.id), 'retry').inc();
    } catch (err) {
      if (isAlreadyStarted(err)) throw new StateConflictError(`instance ${instanceId} is already being retried`);
      if (isTransient(err)) throw new UnavailableError(`instance ${instanceId}'s last run did not close, or Temporal did not answer, within ${this.callTimeoutMs} ms; retry the call`);
      throw err;
    }
  }

  private async update(instanceId: number, update: typeof cancelInstanceUpdate, verb: string): Promise<void> {
    const handle = this.client.workflow.getHandle(instanceWorkflowId(instanceId));
    try {
      await this.client.withDeadline(Date.now() + this.callTimeoutMs, () => handle.executeUpdate(update));
    } catch (err) {
      const refusal = updateRefusal(err);
      if (refusal !== undefined) throw new StateConflictError(refusal);
      if (isNotFound(err)) throw new StateConflictError(`instance ${instanceId} has already finished; it cannot be ${verb}`);
      if (isUpdateUnanswered(err)) {
        throw new UnavailableError(`the core worker did not answer within ${this.callTimeoutMs} ms; is it running? Retry the call`);
      }
      throw err;
    }
  }

  private async describe(instanceId: number): Promise<WorkflowExecutionDescription | undefined> {
    try {
      return await this.client.workflow.getHandle(instanceWorkflowId(instanceId)).describe();
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw err;
    }
  }
}

/** What both describe() and list() tell about an execution. */
type ExecutionFacts = Pick<WorkflowExecutionInfo, 'memo' | 'status' | 'closeTime'>;

function runMemo(execution: ExecutionFacts): RunMemo | undefined {
  return execution.memo?.[MemoKey.run] as RunMemo | undefined;
}

function viewOf(instanceId: number, execution: ExecutionFacts, pending: PendingActivity[]): InstanceView | undefined {
  const run = runMemo(execution);
  if (!run || !execution.memo?.[MemoKey.instance]) return undefined;
  const state = instanceState(execution, pending);
  return { instanceId, ...run, ...state, updatedAt: state.finishedTime ?? state.actualTriggerTime ?? run.createdAt };
}

function sortKey(field: InstanceQuery['sortBy']): (view: InstanceView) => number | null {
  switch (field) {
    case 'gmtCreate': return (v) => v.createdAt;
    case 'gmtModified': return (v) => v.updatedAt;
    case 'status': return (v) => InstanceStatus.codes[v.status];
    case 'runningTimes': return (v) => v.instanceAttempt;
    default: return (v) => v[field];
  }
}

/**
 * The instance's state from its memo, refined with what only Temporal knows: whether a
 * dispatched attempt was picked up by a worker yet, and runs closed from outside (e.g.
 * terminated in the Web UI).
 */
type PendingActivity = NonNullable<WorkflowExecutionDescription['raw']['pendingActivities']>[number];

/** How instances started before tempojob 0.2 named two fields of their memo. */
interface LegacyStateFields {
  runningTimes?: number;
  taskTrackerAddress?: string | null;
}

function instanceState(execution: ExecutionFacts, pending: PendingActivity[]): InstanceState {
  const stored = execution.memo?.[MemoKey.instance] as InstanceState & LegacyStateFields;
  const { runningTimes, taskTrackerAddress, ...current } = stored;
  const state: InstanceState = { ...current, instanceAttempt: stored.instanceAttempt ?? runningTimes ?? 0, workerId: stored.workerId ?? taskTrackerAddress ?? null };
  const closedAs = execution.status.name;
  if (closedAs === 'RUNNING') {
    if (state.status === 'RUNNING') {
      if (pending.length > 0 && pending.every((a) => a.state === PendingActivityState.PENDING_ACTIVITY_STATE_SCHEDULED)) {
        state.status = 'WAITING_WORKER_RECEIVE';
      }
    }
    return state;
  }
  if (!isFinished(state.status)) {
    const outcome: Record<string, InstanceStatusName> = { TERMINATED: 'STOPPED', CANCELLED: 'CANCELED' };
    state.status = outcome[closedAs] ?? 'FAILED';
    state.result = `the instance workflow was ${closedAs.toLowerCase()} in Temporal`;
    state.finishedTime = execution.closeTime?.getTime() ?? null;
  }
  return state;
}

/**
 * What every read of an app's instances asks visibility first: its instance runs, of one job
 * and in some statuses when asked. WAITING_WORKER_RECEIVE is RUNNING in the index (describe
 * refines it), so it is asked as RUNNING.
 */
function instanceConditions(app: AuthenticatedApp, q: { jobIdEq?: number | null; statusIn?: number[] | null }): string[] {
  const conditions = [`WorkflowType = '${WorkflowType.instance}'`, `${SA.appId.name} = ${app.appId}`];
  if (q.jobIdEq != null) conditions.push(`${SA.jobId.name} = ${q.jobIdEq}`);
  if (q.statusIn?.length) {
    const names = q.statusIn.map((code) => InstanceStatus.nameOf(code) === 'WAITING_WORKER_RECEIVE' ? 'RUNNING' : InstanceStatus.nameOf(code));
    conditions.push(`${SA.status.name} IN (${[...new Set(names)].map((n) => `'${n}'`).join(', ')})`);
  }
  return conditions;
}

/** Whether the view's status is among the codes asked for (none asked: any). */
function hasStatus(view: InstanceView, statusIn: number[] | null | undefined): boolean {
  return !statusIn?.length || statusIn.includes(InstanceStatus.codes[view.status]);
}
