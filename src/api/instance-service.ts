import { randomInt } from 'node:crypto';
import type { Client, WorkflowExecutionDescription } from '@temporalio/client';
import { WorkflowExecutionAlreadyStartedError, WorkflowNotFoundError, WorkflowUpdateFailedError } from '@temporalio/client';
import proto from '@temporalio/proto';
import type { InstanceStatusName } from '../domain/enums.js';
import { isFinished } from '../domain/enums.js';
import { freshId, keyedId } from '../domain/ids.js';
import type { InstanceInput, InstanceState } from '../domain/instance.js';
import { snapshotOf } from '../domain/job.js';
import type { RunMemo } from '../temporal/instance-start.js';
import { INSTANCE_MEMO_KEY, RUN_MEMO_KEY, instanceStartOptions } from '../temporal/instance-start.js';
import { instanceWorkflowId } from '../temporal/names.js';
import { cancelInstanceUpdate, instanceWorkflow, stopInstanceUpdate } from '../workflows/instance.js';
import type { AuthenticatedApp } from './auth.js';
import { IdempotencyKeyReuseError, NotFoundError, StateConflictError, UnavailableError } from './errors.js';
import type { JobService } from './job-service.js';

/** An instance as the API reports it: what was asked, and how it went. */
export interface InstanceView extends RunMemo, InstanceState {
  instanceId: number;
  /** Last change, for gmtModified. */
  updatedAt: number;
}

const { PendingActivityState } = proto.temporal.api.enums.v1;

/**
 * Instances: one instance workflow each (`tempojob-instance-<id>`), started with a
 * deterministic id so that a repeated request (same Idempotency-Key) is a no-op.
 */
export class InstanceService {
  constructor(
    private readonly client: Client,
    private readonly jobs: JobService,
    private readonly coreTaskQueue: string,
    private readonly heartbeatTimeoutMs: number,
    private readonly callTimeoutMs: number,
  ) {}

  async run(
    app: AuthenticatedApp,
    request: { jobId: number; instanceParams: string | null; delay: number },
    idempotency: { key: string; hash: string } | null,
  ): Promise<number> {
    const receivedAt = Date.now();
    const job = await this.jobs.get(app, request.jobId);
    if (job.status === 'DELETED') throw new StateConflictError(`job ${job.id} was deleted; it cannot run`);
    for (let attempt = 0; ; attempt++) {
      const instanceId = idempotency
        ? keyedId('run', app.appId, job.id, idempotency.key, attempt)
        : freshId(receivedAt, randomInt(1024));
      const input: InstanceInput = {
        instanceId,
        appName: app.appName,
        job: snapshotOf(job),
        instanceParams: request.instanceParams,
        expectedTriggerTime: receivedAt + request.delay,
        previousRunningTimes: 0,
        createdAt: receivedAt,
        createdBy: idempotency ? { idempotencyKey: idempotency.key, requestHash: idempotency.hash } : null,
        heartbeatTimeoutMs: this.heartbeatTimeoutMs,
      };
      try {
        await this.client.workflow.start(instanceWorkflow, {
          ...instanceStartOptions(input),
          taskQueue: this.coreTaskQueue,
          workflowIdReusePolicy: 'REJECT_DUPLICATE',
          workflowIdConflictPolicy: 'FAIL',
        });
        return instanceId;
      } catch (err) {
        if (!(err instanceof WorkflowExecutionAlreadyStartedError) || attempt >= 5) throw err;
        if (!idempotency) continue;
        const existing = await this.describe(instanceId);
        const createdBy = existing && runMemo(existing)?.createdBy;
        if (createdBy?.idempotencyKey !== idempotency.key || runMemo(existing!)?.jobId !== job.id) continue;
        if (createdBy.requestHash !== idempotency.hash) throw new IdempotencyKeyReuseError(idempotency.key);
        return instanceId;
      }
    }
  }

  async get(app: AuthenticatedApp, instanceId: number): Promise<InstanceView> {
    const description = await this.describe(instanceId);
    const run = description && runMemo(description);
    if (!description || !run || run.appId !== app.appId) {
      throw new NotFoundError(`instance ${instanceId} not found in app ${app.appName}`);
    }
    const state = instanceState(description);
    return {
      instanceId,
      ...run,
      ...state,
      updatedAt: state.finishedTime ?? state.actualTriggerTime ?? run.createdAt,
    };
  }

  async cancel(app: AuthenticatedApp, instanceId: number): Promise<void> {
    await this.get(app, instanceId);
    await this.update(instanceId, cancelInstanceUpdate, 'canceled');
  }

  async stop(app: AuthenticatedApp, instanceId: number): Promise<void> {
    await this.get(app, instanceId);
    await this.update(instanceId, stopInstanceUpdate, 'stopped');
  }

  /** Runs a finished instance again under the same id, with the job's current definition. */
  async retry(app: AuthenticatedApp, instanceId: number): Promise<void> {
    const instance = await this.get(app, instanceId);
    if (!isFinished(instance.status)) {
      throw new StateConflictError(`instance ${instanceId} is still ${instance.status}; only a finished instance can be retried`);
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
      previousRunningTimes: instance.runningTimes,
      createdAt: instance.createdAt,
      createdBy: instance.createdBy,
      heartbeatTimeoutMs: this.heartbeatTimeoutMs,
    };
    try {
      await this.client.workflow.start(instanceWorkflow, {
        ...instanceStartOptions(input),
        taskQueue: this.coreTaskQueue,
        workflowIdReusePolicy: 'ALLOW_DUPLICATE',
        workflowIdConflictPolicy: 'FAIL',
      });
    } catch (err) {
      if (err instanceof WorkflowExecutionAlreadyStartedError) {
        throw new StateConflictError(`instance ${instanceId} is already being retried`);
      }
      throw err;
    }
  }

  private async update(instanceId: number, update: typeof cancelInstanceUpdate, verb: string): Promise<void> {
    const handle = this.client.workflow.getHandle(instanceWorkflowId(instanceId));
    try {
      await this.client.withDeadline(Date.now() + this.callTimeoutMs, () => handle.executeUpdate(update));
    } catch (err) {
      if (err instanceof WorkflowUpdateFailedError) throw new StateConflictError(err.cause?.message ?? err.message);
      if (err instanceof WorkflowNotFoundError || /already completed/i.test((err as Error).message)) {
        throw new StateConflictError(`instance ${instanceId} has already finished; it cannot be ${verb}`);
      }
      if ((err as Error).name === 'WorkflowUpdateRPCTimeoutOrCancelledError') {
        throw new UnavailableError(`the core worker did not answer within ${this.callTimeoutMs} ms; is it running? Retry the call`);
      }
      throw err;
    }
  }

  private async describe(instanceId: number): Promise<WorkflowExecutionDescription | undefined> {
    try {
      return await this.client.workflow.getHandle(instanceWorkflowId(instanceId)).describe();
    } catch (err) {
      if (err instanceof WorkflowNotFoundError) return undefined;
      throw err;
    }
  }
}

function runMemo(description: WorkflowExecutionDescription): RunMemo | undefined {
  return description.memo?.[RUN_MEMO_KEY] as RunMemo | undefined;
}

/**
 * The instance's state from its memo, refined with what only Temporal knows: whether a
 * dispatched attempt was picked up by a worker yet, and runs closed from outside (e.g.
 * terminated in the Web UI).
 */
function instanceState(description: WorkflowExecutionDescription): InstanceState {
  const state = { ...(description.memo?.[INSTANCE_MEMO_KEY] as InstanceState) };
  const closedAs = description.status.name;
  if (closedAs === 'RUNNING') {
    if (state.status === 'RUNNING') {
      const pending = description.raw.pendingActivities ?? [];
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
    state.finishedTime = description.closeTime?.getTime() ?? null;
  }
  return state;
}
