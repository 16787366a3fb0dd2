/**
 * Alerting's activities (issue #16), registered on the alert queue (alertTaskQueue) by core
 * workers that hold the store: the scan that turns failed runs into alerts, and the
 * delivery of one alert on one channel of one target.
 */
import { Context, log } from '@temporalio/activity';
import type { Client, WorkflowExecutionInfo } from '@temporalio/client';
import { defineSearchAttributeKey } from '@temporalio/common';
import type { AlertCover, AlertStore, PlannedDelivery } from '../alerts/store.js';
import { channelConfigOf, channelsOf } from '../alerts/targets.js';
import { type DeliverAlert, PermanentDeliveryError } from '../alerts/types.js';
import type { AlertActivities } from '../contract/activities.js';
import type { RunMemo, WfRunMemo } from '../contract/memo.js';
import { MemoKey } from '../contract/memo.js';
import { alertDeliveryWorkflowId, alertTaskQueue, instanceWorkflowId, jobScheduleId, wfInstanceWorkflowId, workflowScheduleId } from '../contract/names.js';
import { jobOfSchedule, workflowOfSchedule } from '../contract/schedules.js';
import { MISFIRE_DROPPED, SA } from '../contract/search-attributes.js';
import { type AlertDeliveryWorkflow, WorkflowType } from '../contract/workflows.js';
import type { Alert, AlertEvent, SmtpSettings } from '../domain/alert.js';
import type { BroadcastShare } from '../domain/broadcast.js';
import { isWorkerLost, type InstanceState } from '../domain/instance.js';
import type { JobDefinition } from '../domain/job.js';
import type { WorkflowDefinition } from '../domain/workflow.js';
import type { TempojobMetrics } from '../metrics/metrics.js';
import { isAlreadyStarted, isNotFound } from '../temporal/errors.js';

/**
 * A scan looks at runs closed since the last watermark minus this: visibility trails writes
 * by a moment (Elasticsearch by up to a second or so), and a run that became visible late is
 * still found. Events seen twice are raised once (deterministic ids, `started` in the store).
 */
export const SCAN_OVERLAP_MS = 60_000;

/** How often a delivery in progress heartbeats (its heartbeat timeout is the delivery workflow's, 10 s). */
const DELIVERY_HEARTBEAT_MS = 1_000;

/** An alert recorded but never started (its scan died in between) is started by the scans of this long after. */
const REDRIVE_WITHIN_MS = 3_600_000;

/** When a schedule's fire was due (set by Temporal on every workflow a schedule starts). */
const TemporalScheduledStartTime = defineSearchAttributeKey('TemporalScheduledStartTime', 'DATETIME');

export interface AlertActivityOptions {
  client: Client;
  store: AlertStore;
  deliver: DeliverAlert;
  /** Counts alerts raised and delivery outcomes (the process's metrics); absent: not counted. */
  metrics?: TempojobMetrics;
  /** Absent: email targets fail with a PermanentDeliveryError saying SMTP is not configured. */
  smtp?: SmtpSettings;
  /** Where readers reach the API and Temporal's Web UI (links in alerts); absent: no such link. */
  publicApiUrl?: string;
  webUiUrl?: string;
  /** Per request to a receiver; default the channels' (10 s). */
  timeoutMs?: number;
}

/** An event found by a scan, before it becomes an alert. */
interface Failure {
  alert: Alert;
  notifyUserIds: number[];
  closeTime: number;
  /** INSTANCE_FAILED: the job, whose alarmConfig may turn it into FAILURE_THRESHOLD or nothing. */
  job?: JobDefinition;
  /** An aggregated event (MISFIRE_SKIPPED): what its alert covers. */
  cover?: AlertCover;
}

export function alertActivities(options: AlertActivityOptions): AlertActivities {
  const { client, store } = options;
  const namespace = client.options.namespace;

  const apiBase = options.publicApiUrl?.replace(/\/+$/, '');
  const uiBase = options.webUiUrl && `${options.webUiUrl.replace(/\/+$/, '')}/namespaces/${encodeURIComponent(namespace)}`;
  /** The API's read and the Web UI's page of a workflow (`workflows`) or schedule (`schedules`). */
  const links = (id: string, apiPath: string, page: 'workflows' | 'schedules' = 'workflows'): Alert['links'] => ({
    api: apiBase ? `${apiBase}/openApi/${apiPath}` : null,
    webUi: uiBase ? `${uiBase}/${page}/${encodeURIComponent(id)}` : null,
  });
  const since = (from: number) => `CloseTime >= '${new Date(from).toISOString()}'`;

  /** An alert about one instance of a job: app, job, instance and links said the same way for every instance event. */
  const instanceAlert = (
    { execution, run, job, instanceId }: { execution: WorkflowExecutionInfo; run: RunMemo; job: JobDefinition; instanceId: number },
    event: Pick<Alert, 'id' | 'event' | 'status' | 'result' | 'actualTriggerTime' | 'finishedTime' | 'time' | 'title'>,
  ): Alert => ({
    appId: run.appId,
    appName: execution.typedSearchAttributes.get(SA.appName) ?? String(run.appId),
    jobId: run.jobId,
    jobName: job.jobName,
    instanceId,
    workflowId: null,
    wfInstanceId: run.wfInstanceId ?? null,
    expectedTriggerTime: run.expectedTriggerTime,
    links: links(instanceWorkflowId(instanceId), `fetchInstanceInfo?instanceId=${instanceId}`),
    ...event,
  });

  /** Memoised per scan: a job's or workflow's current definition, read from its schedule. */
  const definitions = () => {
    const jobs = new Map<number, Promise<JobDefinition | undefined>>();
    const workflows = new Map<number, Promise<WorkflowDefinition | undefined>>();
    return {
      job(jobId: number): Promise<JobDefinition | undefined> {
        let job = jobs.get(jobId);
        if (!job) jobs.set(jobId, job = describeSchedule(jobScheduleId(jobId), jobOfSchedule));
        return job;
      },
      workflow(workflowId: number): Promise<WorkflowDefinition | undefined> {
        let workflow = workflows.get(workflowId);
        if (!workflow) workflows.set(workflowId, workflow = describeSchedule(workflowScheduleId(workflowId), workflowOfSchedule));
        return workflow;
      },
    };
  };

  async function describeSchedule<T>(scheduleId: string, read: (d: Parameters<typeof jobOfSchedule>[0]) => T | undefined): Promise<T | undefined> {
    try {
      return read(await client.schedule.getHandle(scheduleId).describe());
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw err;
    }
  }

  /** Failed instances (INSTANCE_FAILED, or FAILURE_THRESHOLD candidates) of the core queue closed since `from`. */
  async function failedInstances(coreTaskQueue: string, from: number, read: ReturnType<typeof definitions>): Promise<Failure[]> {
    const query = `WorkflowType = '${WorkflowType.instance}' AND TaskQueue = '${coreTaskQueue}' AND ${SA.status.name} = 'FAILED' AND ${since(from)}`;
    const listed: { execution: WorkflowExecutionInfo; run: RunMemo; state: InstanceState; instanceId: number; id: string }[] = [];
    for await (const execution of client.workflow.list({ query })) {
      const run = execution.memo?.[MemoKey.run] as RunMemo | undefined;
      const state = execution.memo?.[MemoKey.instance] as InstanceState | undefined;
      const instanceId = execution.typedSearchAttributes.get(SA.instanceId);
      if (!run || !state || instanceId === undefined || state.status !== 'FAILED') continue;
      listed.push({ execution, run, state, instanceId, id: `INSTANCE_FAILED:${instanceId}:${state.instanceAttempt}` });
    }
    // Events raised by an earlier scan (the overlap) cost no further reads.
    const started = await store.startedAlerts(listed.flatMap((l) => [l.id, thresholdIdOf(l.id, l.run.jobId)]));
    const found: Failure[] = [];
    for (const { execution, run, state, instanceId, id } of listed) {
      if (started.has(id) || started.has(thresholdIdOf(id, run.jobId))) continue;
      const definition = await read.job(run.jobId);
      if (!definition || definition.appId !== run.appId || definition.notifyUserIds.length === 0) continue;
      const closeTime = closeTimeOf(execution, state.finishedTime);
      found.push({
        job: definition,
        notifyUserIds: definition.notifyUserIds,
        closeTime,
        alert: instanceAlert({ execution, run, job: definition, instanceId }, {
          id,
          event: 'INSTANCE_FAILED',
          status: 'FAILED',
          result: state.result,
          actualTriggerTime: state.actualTriggerTime,
          finishedTime: state.finishedTime ?? closeTime,
          time: closeTime,
          title: `Job "${definition.jobName}" (${run.jobId}): instance ${instanceId} failed`,
        }),
      });
    }
    return found;
  }

  /** Failed top-level workflow instances (WF_INSTANCE_FAILED) of the core queue closed since `from`. */
  async function failedWfInstances(coreTaskQueue: string, from: number, read: ReturnType<typeof definitions>): Promise<Failure[]> {
    const query = `WorkflowType = '${WorkflowType.dag}' AND TaskQueue = '${coreTaskQueue}' AND ${SA.status.name} = 'FAILED' AND ${since(from)}`;
    type WfNow = { status: string; result: string | null; actualTriggerTime: number | null; finishedTime: number | null };
    const listed: { execution: WorkflowExecutionInfo; run: WfRunMemo; now: WfNow; wfInstanceId: number; id: string }[] = [];
    for await (const execution of client.workflow.list({ query })) {
      const run = execution.memo?.[MemoKey.wfRun] as WfRunMemo | undefined;
      const now = (execution.memo?.[MemoKey.wfNow] ?? execution.memo?.[MemoKey.wf]) as WfNow | undefined;
      const wfInstanceId = Number(execution.typedSearchAttributes.get(SA.wfInstanceId));
      // A nested run's failure fails its parent, which raises the alert.
      if (!run || !now || !Number.isSafeInteger(wfInstanceId) || run.parentWfInstanceId !== null) continue;
      listed.push({ execution, run, now, wfInstanceId, id: `WF_INSTANCE_FAILED:${wfInstanceId}:${run.round}` });
    }
    const started = await store.startedAlerts(listed.map((l) => l.id));
    const found: Failure[] = [];
    for (const { execution, run, now, wfInstanceId, id } of listed) {
      if (started.has(id)) continue;
      const definition = await read.workflow(run.workflowId);
      if (!definition || definition.appId !== run.appId || definition.notifyUserIds.length === 0) continue;
      const closeTime = closeTimeOf(execution, now.finishedTime);
      found.push({
        notifyUserIds: definition.notifyUserIds,
        closeTime,
        alert: {
          id,
          event: 'WF_INSTANCE_FAILED',
          appId: run.appId,
          appName: execution.typedSearchAttributes.get(SA.appName) ?? String(run.appId),
          jobId: null,
          jobName: null,
          instanceId: null,
          workflowId: run.workflowId,
          wfInstanceId,
          status: 'FAILED',
          result: now.result,
          expectedTriggerTime: run.expectedTriggerTime,
          actualTriggerTime: now.actualTriggerTime,
          finishedTime: now.finishedTime ?? closeTime,
          time: closeTime,
          title: `Workflow "${run.wfName}" (${run.workflowId}): workflow instance ${wfInstanceId} failed`,
          links: links(wfInstanceWorkflowId(wfInstanceId), `fetchWfInstanceInfo?wfInstanceId=${wfInstanceId}`),
        },
      });
    }
    return found;
  }

  /**
   * Broadcast shares lost with their worker (BROADCAST_SHARE_LOST) closed since `from`: a
   * share that ended FAILED as "worker lost" (its worker died mid-share or never took it),
   * one alert per share run.
   */
  async function lostShares(coreTaskQueue: string, from: number, read: ReturnType<typeof definitions>): Promise<Failure[]> {
    const query = `WorkflowType = '${WorkflowType.broadcastShare}' AND TaskQueue = '${coreTaskQueue}' AND ${SA.status.name} = 'FAILED' AND ${since(from)}`;
    const listed: { execution: WorkflowExecutionInfo; share: BroadcastShare; instanceId: number; id: string }[] = [];
    for await (const execution of client.workflow.list({ query })) {
      const share = execution.memo?.[MemoKey.share] as BroadcastShare | undefined;
      const instanceId = execution.typedSearchAttributes.get(SA.instanceId);
      if (!share || instanceId === undefined || !isWorkerLost(share.result)) continue;
      listed.push({ execution, share, instanceId, id: `BROADCAST_SHARE_LOST:${instanceId}:${share.workerId}:${execution.runId}` });
    }
    const started = await store.startedAlerts(listed.map((l) => l.id));
    const found: Failure[] = [];
    for (const { execution, share, instanceId, id } of listed) {
      if (started.has(id)) continue;
      const instance = await describeWorkflow(instanceWorkflowId(instanceId));
      const run = instance?.memo?.[MemoKey.run] as RunMemo | undefined;
      const state = instance?.memo?.[MemoKey.instance] as InstanceState | undefined;
      if (!run || !state) continue;
      const definition = await read.job(run.jobId);
      if (!definition || definition.appId !== run.appId || definition.notifyUserIds.length === 0) continue;
      const closeTime = closeTimeOf(execution, null);
      found.push({
        notifyUserIds: definition.notifyUserIds,
        closeTime,
        alert: instanceAlert({ execution, run, job: definition, instanceId }, {
          id,
          event: 'BROADCAST_SHARE_LOST',
          status: share.status,
          result: share.result,
          actualTriggerTime: state.actualTriggerTime,
          finishedTime: closeTime,
          time: closeTime,
          title: `Job "${definition.jobName}" (${run.jobId}): broadcast instance ${instanceId} lost its share on worker ${share.workerId}`,
        }),
      });
    }
    return found;
  }

  /**
   * Fires their misfire policy dropped (MISFIRE_SKIPPED) closed since `from`, one alert per
   * job or CRON workflow and scan for the fires no earlier alert covered: an outage that
   * drops 600 fires of a one-second job is one alert saying so, not 600.
   */
  async function droppedFires(coreTaskQueue: string, from: number, read: ReturnType<typeof definitions>): Promise<Failure[]> {
    const query = `WorkflowType IN ('${WorkflowType.scheduledRun}', '${WorkflowType.scheduledWorkflowRun}') AND TaskQueue = '${coreTaskQueue}' `
      + `AND ${SA.status.name} = '${MISFIRE_DROPPED}' AND ${since(from)}`;
    interface Scope { appId: number; appName: string; jobId: number | null; workflowId: number | null; fires: number[]; closeTime: number }
    const scopes = new Map<string, Scope>();
    for await (const execution of client.workflow.list({ query })) {
      const attributes = execution.typedSearchAttributes;
      const appId = attributes.get(SA.appId);
      const jobId = attributes.get(SA.jobId) ?? null;
      const workflowId = Number(attributes.get(SA.workflowId) ?? Number.NaN);
      if (appId === undefined || (jobId === null && !Number.isSafeInteger(workflowId))) continue;
      const key = jobId !== null ? `misfire:job:${jobId}` : `misfire:wf:${workflowId}`;
      const scope = scopes.get(key) ?? { appId, appName: attributes.get(SA.appName) ?? String(appId), jobId, workflowId: jobId === null ? workflowId : null, fires: [], closeTime: 0 };
      scope.fires.push((attributes.get(TemporalScheduledStartTime) ?? execution.startTime).getTime());
      scope.closeTime = Math.max(scope.closeTime, closeTimeOf(execution, null));
      scopes.set(key, scope);
    }
    const covered = await store.coveredUpTo([...scopes.keys()]);
    const found: Failure[] = [];
    for (const [key, scope] of scopes) {
      const fires = [...new Set(scope.fires)].filter((t) => t > (covered.get(key) ?? Number.NEGATIVE_INFINITY)).sort((x, y) => x - y);
      if (fires.length === 0) continue;
      const first = fires[0]!;
      const last = fires[fires.length - 1]!;
      const owner = scope.jobId !== null ? await read.job(scope.jobId) : await read.workflow(scope.workflowId!);
      if (!owner || owner.appId !== scope.appId || owner.notifyUserIds.length === 0) continue;
      const what = 'jobName' in owner ? `Job "${owner.jobName}" (${owner.id})` : `Workflow "${owner.wfName}" (${owner.id})`;
      const count = fires.length === 1 ? 'a fire' : `${fires.length} fires`;
      const due = fires.length === 1 ? new Date(first).toISOString() : `${new Date(first).toISOString()} … ${new Date(last).toISOString()}`;
      found.push({
        notifyUserIds: owner.notifyUserIds,
        closeTime: scope.closeTime,
        cover: { scope: key, upTo: last },
        alert: {
          id: `MISFIRE_SKIPPED:${key.slice('misfire:'.length)}:${last}`,
          event: 'MISFIRE_SKIPPED',
          appId: scope.appId,
          appName: scope.appName,
          jobId: scope.jobId,
          jobName: 'jobName' in owner ? owner.jobName : null,
          instanceId: null,
          workflowId: scope.workflowId,
          wfInstanceId: null,
          status: null,
          result: `${count} due ${due} dropped by misfire policy ${owner.misfirePolicy.type} (later than ${owner.misfirePolicy.thresholdMs} ms)`,
          expectedTriggerTime: first,
          actualTriggerTime: null,
          finishedTime: null,
          time: scope.closeTime,
          title: `${what}: ${count} missed and dropped by misfire policy ${owner.misfirePolicy.type}`,
          links: scope.jobId !== null
            ? links(jobScheduleId(scope.jobId), `fetchJob?jobId=${scope.jobId}`, 'schedules')
            : links(workflowScheduleId(scope.workflowId!), `fetchWorkflow?workflowId=${scope.workflowId}`, 'schedules'),
        },
      });
    }
    return found;
  }

  async function describeWorkflow(workflowId: string) {
    try {
      return await client.workflow.getHandle(workflowId).describe();
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw err;
    }
  }

  /**
   * PowerJob's alarmConfig: a failure alerts (as FAILURE_THRESHOLD) only when the job failed
   * at least `alertThreshold` times in the `statisticWindowLen` seconds up to it, and no
   * other such alert's `silenceWindowLen` seconds cover it. Undefined: no alert.
   */
  async function thresholdAlert(failure: Failure, coreTaskQueue: string): Promise<Alert | undefined> {
    const config = failure.job?.alarmConfig;
    if (failure.alert.event !== 'INSTANCE_FAILED' || !config || config.alertThreshold <= 0 || failure.alert.jobId === null) return failure.alert;
    // Visibility keeps close times finer than the milliseconds read back: the failure itself
    // counts with a bound just past its millisecond.
    const at = failure.closeTime;
    const from = at - config.statisticWindowLen * 1000;
    const { count } = await client.workflow.count(
      `WorkflowType = '${WorkflowType.instance}' AND TaskQueue = '${coreTaskQueue}' AND ${SA.jobId.name} = ${failure.alert.jobId} `
      + `AND ${SA.status.name} = 'FAILED' AND CloseTime >= '${new Date(from).toISOString()}' AND CloseTime < '${new Date(at + 1).toISOString()}'`,
    );
    if (count < config.alertThreshold) return undefined;
    const alert: Alert = {
      ...failure.alert,
      id: thresholdIdOf(failure.alert.id, failure.alert.jobId),
      event: 'FAILURE_THRESHOLD' satisfies AlertEvent,
      title: `Job "${failure.alert.jobName}" (${failure.alert.jobId}) failed ${count} times in ${config.statisticWindowLen} s (threshold ${config.alertThreshold}); `
        + `latest: instance ${failure.alert.instanceId}`,
    };
    const holds = await store.claimSilence(alert.appId, failure.alert.jobId, alert.id, at, at + config.silenceWindowLen * 1000);
    return holds ? alert : undefined;
  }

  /** Records the alert with a PENDING delivery per channel of each target, starts its delivery workflow (once per alert id). */
  async function raise(alert: Alert, notifyUserIds: number[], coreTaskQueue: string, cover?: AlertCover): Promise<boolean> {
    // Only the app's own live targets: an id of another app's target is never used.
    const targets = await store.targetsAmong(alert.appId, notifyUserIds);
    const deliveries: PlannedDelivery[] = targets.flatMap((target) => channelsOf(target.channels).map((channel) => ({ targetId: target.id, channel })));
    if (deliveries.length === 0) return false;
    await store.recordAlert(alert, deliveries, cover);
    await startDelivery(alert, deliveries, coreTaskQueue);
    return true;
  }

  async function startDelivery(alert: Alert, deliveries: PlannedDelivery[], coreTaskQueue: string): Promise<void> {
    try {
      await client.workflow.start<AlertDeliveryWorkflow>(WorkflowType.alertDelivery, {
        workflowId: alertDeliveryWorkflowId(alert.id),
        taskQueue: coreTaskQueue,
        args: [{ taskQueue: alertTaskQueue(coreTaskQueue), appId: alert.appId, alertId: alert.id, deliveries }],
        // An event is delivered once, even when scans overlap or one is retried.
        workflowIdReusePolicy: 'REJECT_DUPLICATE',
        workflowIdConflictPolicy: 'FAIL',
      });
    } catch (err) {
      if (!isAlreadyStarted(err)) throw err;
    }
    await store.markStarted(alert.id);
    options.metrics?.alertsRaised.labels(alert.appName, alert.event).inc();
  }

  return {
    async scanAlerts({ coreTaskQueue, since }) {
      const until = Date.now();
      for (const { alert, deliveries } of await store.unstartedAlerts(until - REDRIVE_WITHIN_MS)) await startDelivery(alert, deliveries, coreTaskQueue);
      const from = (since ?? until) - SCAN_OVERLAP_MS;
      const read = definitions();
      const failures = [
        ...await failedInstances(coreTaskQueue, from, read),
        ...await failedWfInstances(coreTaskQueue, from, read),
        ...await lostShares(coreTaskQueue, from, read),
        ...await droppedFires(coreTaskQueue, from, read),
      ].sort((a, b) => a.closeTime - b.closeTime);
      let raised = 0;
      for (const failure of failures) {
        const alert = await thresholdAlert(failure, coreTaskQueue);
        if (alert && await raise(alert, failure.notifyUserIds, coreTaskQueue, failure.cover)) raised++;
      }
      return { until, raised };
    },

    async deliverAlertToChannel({ appId, alertId, targetId, channel }) {
      const { attempt } = Context.current().info;
      const refuse = async (message: string): Promise<never> => {
        await store.markFailed(appId, alertId, targetId, channel, message, attempt);
        throw new PermanentDeliveryError(message);
      };
      const target = await store.getTarget(appId, targetId);
      if (!target) return refuse(`alert target ${targetId} was deleted`);
      const config = channelConfigOf(target.channels, channel);
      if (!config) return refuse(`alert target ${targetId} no longer has a ${channel} channel`);
      const alert = await store.getAlert(appId, alertId);
      if (!alert) return refuse(`alert ${alertId} is no longer stored (purged)`);
      // Beats while the receiver takes its time: a worker that dies mid-delivery is noticed
      // within the heartbeat timeout (the workflow's), and the delivery retried by another.
      const context = Context.current();
      const beat = setInterval(() => context.heartbeat(), DELIVERY_HEARTBEAT_MS);
      // A final failure is counted by recordAlertDeliveryFailure, which the delivery workflow runs for every one.
      const counted = (outcome: 'delivered' | 'retry') => options.metrics?.alertDeliveries.labels(alert.appName, channel, outcome).inc();
      try {
        await options.deliver(config, alert, {
          ...(options.smtp ? { smtp: options.smtp } : {}),
          ...(options.timeoutMs !== undefined ? { timeoutMs: options.timeoutMs } : {}),
        });
      } catch (err) {
        const message = err instanceof Error ? err.message : String(err);
        if (err instanceof Error && err.name === 'PermanentDeliveryError') {
          // Logged by recordAlertDeliveryFailure, which the delivery workflow runs next.
          await store.markFailed(appId, alertId, targetId, channel, message, attempt);
        } else {
          await store.recordAttempt(appId, alertId, targetId, channel, attempt, message);
          counted('retry');
        }
        throw err;
      } finally {
        clearInterval(beat);
      }
      await store.markDelivered(appId, alertId, targetId, channel, attempt);
      counted('delivered');
    },

    async recordAlertDeliveryFailure({ appId, alertId, targetId, channel, error }) {
      log.error('alert delivery failed for good', { alertId, targetId, channel, error });
      await store.markFailed(appId, alertId, targetId, channel, error);
      if (options.metrics) {
        const appName = (await store.getAlert(appId, alertId))?.appName ?? String(appId);
        options.metrics.alertDeliveries.labels(appName, channel, 'failed').inc();
      }
    },
  };
}

/** The FAILURE_THRESHOLD alert a failure raises under alarmConfig: `FAILURE_THRESHOLD:<jobId>:<instanceId>:<attempt>`. */
function thresholdIdOf(instanceAlertId: string, jobId: number | null): string {
  return instanceAlertId.replace(/^INSTANCE_FAILED:/, `FAILURE_THRESHOLD:${jobId}:`);
}

function closeTimeOf(execution: WorkflowExecutionInfo, finishedTime: number | null): number {
  return execution.closeTime?.getTime() ?? finishedTime ?? Date.now();
}
