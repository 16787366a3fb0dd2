import { randomInt } from 'node:crypto';
import type { Client } from '@temporalio/client';
import { freshId, keyedId } from '../domain/ids.js';
import type { JobDefinition } from '../domain/job.js';
import { DEFAULT_MISFIRE_POLICY, DEFAULT_RETRY_BACKOFF } from '../domain/job.js';
import { TimeExpressionError } from '../domain/schedule/errors.js';
import { isValidTimeZone } from '../domain/schedule/zoned-time.js';
import type { TimeRule } from '../domain/time-expression.js';
import { nextFireTimes, parseTimeExpression } from '../domain/time-expression.js';
import { toWallTime, type WallTime } from '../domain/schedule/zoned-time.js';
import { fixedDelayClockId, jobScheduleId } from '../contract/names.js';
import { jobOfSchedule } from '../contract/schedules.js';
import { catchupWindowMs } from '../domain/time-expression.js';
import { scheduleSpecOf } from '../temporal/schedule-spec.js';
import { SA } from '../contract/search-attributes.js';
import { reconfigureSignal } from '../contract/messages.js';
import { type FixedDelayWorkflow, type ScheduledRunInput, WorkflowType } from '../contract/workflows.js';
import { targetingProblem } from '../domain/targeting.js';
import { isNotFound } from '../temporal/errors.js';
import { describeSchedule, readAppSchedules, updateSchedule } from './schedule-reads.js';
import type { AuthenticatedApp } from './auth.js';
import { type Idempotency, createIdempotently, createdByOf } from './idempotency.js';
import { InvalidRequestError, NotFoundError, StateConflictError } from './errors.js';
import type { z } from 'zod';
import type { previewSchema, SaveJobRequest } from './schemas.js';

const RUN_CACHE_MS = 1_000;
const RUN_CACHE_SIZE = 10_000;

/** Time types and execute types this release runs; the rest are refused, never silently accepted. */
const SUPPORTED_TIME_TYPES = ['API', 'WORKFLOW', 'CRON', 'FIXED_RATE', 'FIXED_DELAY', 'DAILY_TIME_INTERVAL'] as const;
const SUPPORTED_EXECUTE_TYPES = ['STANDALONE', 'BROADCAST', 'MAP_REDUCE', 'MAP'] as const;
const SUPPORTED_PROCESSOR_TYPES = ['BUILT_IN'] as const;


/**
 * Jobs. Each job is one Temporal Schedule (`tempojob-job-<id>`): the definition travels in
 * the schedule's action arguments, disabled means paused. CRON, DAILY_TIME_INTERVAL and
 * FIXED_RATE jobs are timed by the schedule's spec; API and WORKFLOW jobs have none (they run
 * through runJob, and WORKFLOW jobs as workflow nodes); FIXED_DELAY jobs are timed by a clock workflow. Reads by id are strongly
 * consistent; listing goes through Temporal's visibility index, which trails writes.
 */
export class JobService {
  private readonly runCache = new Map<number, { at: number; job: JobDefinition }>();

  constructor(
    private readonly client: Client,
    private readonly coreTaskQueue: string,
    private readonly heartbeatTimeoutMs: number,
    private readonly defaultTimeZone: string,
    /** The ids among notifyUserIds that are other apps' alert targets (alerting); absent: not checked. */
    private readonly foreignAlertTargets?: (appId: number, ids: readonly number[]) => Promise<number[]>,
  ) {}

  async save(app: AuthenticatedApp, request: SaveJobRequest, idempotency: Idempotency | null): Promise<number> {
    if (request.appId != null && request.appId !== app.appId) {
      throw new InvalidRequestError(`appId ${request.appId} does not match the authenticated app ${app.appId}; omit appId or send your own`);
    }
    checkSupported(request);
    await this.checkAlertTargets(app, request.notifyUserIds);
    const timeZone = this.timeZoneOf(request.timeZone);
    const rule = ruleOf(request);
    if (request.id != null) return this.update(app, request.id, request, timeZone);

    return createIdempotently({
      idempotency,
      idOf: (attempt) => idempotency ? keyedId('job', app.appId, idempotency.key, attempt) : freshId(Date.now(), randomInt(1024)),
      create: async (id) => {
        const job = toDefinition(request, timeZone, {
          id, appId: app.appId, gmtCreate: Date.now(),
          createdBy: createdByOf(idempotency),
        });
        await this.client.schedule.create({
          scheduleId: jobScheduleId(id),
          ...this.timing(app, job, rule),
          memo: { appId: app.appId },
          typedSearchAttributes: [
            { key: SA.appId, value: app.appId },
            { key: SA.jobId, value: id },
          ],
        });
        await this.syncClock(app, null, job);
      },
      createdBy: async (id) => (await this.find(id))?.createdBy,
    });
  }

  /**
   * Refuses notifyUserIds (of a job or a workflow) that are another app's alert targets. Ids
   * that are no target at all pass (PowerJob's user ids of jobs moved over): delivery skips
   * every id that is not a live target of the job's own app.
   */
  async checkAlertTargets(app: AuthenticatedApp, notifyUserIds: readonly number[]): Promise<void> {
    const foreign = await this.foreignAlertTargets?.(app.appId, notifyUserIds) ?? [];
    if (foreign.length > 0) {
      throw new InvalidRequestError(
        `notifyUserIds ${foreign.join(', ')}: no such alert target in this app; create targets with saveAlertTarget (listAlertTargets shows the app's)`,
      );
    }
  }

  private async update(app: AuthenticatedApp, id: number, request: SaveJobRequest, timeZone: string): Promise<number> {
    await this.modify(app, id, (current) => toDefinition(request, timeZone, {
      id, appId: app.appId, gmtCreate: current.gmtCreate, createdBy: current.createdBy,
    }));
    return id;
  }

  /**
   * The job for runJob, from a per-replica cache of at most RUN_CACHE_MS: describing a
   * schedule queries its scheduler workflow, which capped runJob at ~75/s. A change made
   * through this replica is seen at once; one made through another replica within that time.
   */
  async getForRun(app: AuthenticatedApp, jobId: number): Promise<JobDefinition> {
    return owned(app, jobId, await this.findCached(jobId));
  }

  private async findCached(jobId: number): Promise<JobDefinition | undefined> {
    const cached = this.runCache.get(jobId);
    if (cached && Date.now() - cached.at < RUN_CACHE_MS) return cached.job;
    const job = await this.find(jobId);
    if (!job) return undefined;
    this.runCache.set(jobId, { at: Date.now(), job });
    if (this.runCache.size > RUN_CACHE_SIZE) this.runCache.delete(this.runCache.keys().next().value!);
    return job;
  }

  /** The job of this app, or NotFoundError: another app's job does not exist for the caller. */
  async get(app: AuthenticatedApp, jobId: number): Promise<JobDefinition> {
    return owned(app, jobId, await this.find(jobId));
  }

  async list(app: AuthenticatedApp): Promise<JobDefinition[]> {
    // Listing is eventually consistent anyway: the per-replica cache saves a schedule
    // describe per job when clients poll lists (PowerJob's client gives up after 2 s).
    const jobs = await readAppSchedules(this.client, app.appId, jobScheduleId, (id) => this.findCached(id));
    return jobs.filter((job): job is JobDefinition => job?.appId === app.appId).sort((a, b) => a.id - b.id);
  }

  async setStatus(app: AuthenticatedApp, jobId: number, status: 'ENABLE' | 'DISABLE' | 'DELETED'): Promise<void> {
    // Deleting twice is a no-op, as in PowerJob, so a retried delete is safe.
    if (status === 'DELETED' && (await this.get(app, jobId)).status === 'DELETED') return;
    await this.modify(app, jobId, (current) => ({ ...current, status, gmtModified: Date.now() }));
  }

  /** A copy named `<name>_COPY`; with an Idempotency-Key, a retried copy returns the first copy. */
  async copy(app: AuthenticatedApp, jobId: number, idempotency: Idempotency | null): Promise<number> {
    const source = await this.get(app, jobId);
    if (source.status === 'DELETED') throw new StateConflictError(`job ${jobId} was deleted; it cannot be copied`);
    return this.save(app, { ...toRequest(source), id: null, jobName: `${source.jobName}_COPY` }, idempotency);
  }

  /** The next fire times of an expression, as a user would check it before saving (PowerJob's console has this). */
  preview(input: z.infer<typeof previewSchema>): { epochMs: number; local: string }[] {
    const timeZone = this.timeZoneOf(input.timeZone);
    const rule = ruleOf(input);
    if (rule.type === 'API' || rule.type === 'WORKFLOW' || rule.type === 'FIXED_DELAY') {
      throw new InvalidRequestError(`${rule.type} jobs have no fire times of their own to preview`);
    }
    const lifeCycle = input.lifeCycle ? { start: input.lifeCycle.start ?? undefined, end: input.lifeCycle.end ?? undefined } : null;
    const fires = nextFireTimes(rule, timeZone, Date.now(), input.count, lifeCycle);
    if (fires.length === 0) throw new InvalidRequestError('the expression never fires again (check the year field and the lifecycle window)');
    return fires.map((epochMs) => ({ epochMs, local: formatWallTime(toWallTime(epochMs, timeZone)) }));
  }

  /** The job as a SaveJobInfoRequest (enum names, no id), ready to be saved elsewhere. */
  async export(app: AuthenticatedApp, jobId: number): Promise<SaveJobRequest> {
    const source = await this.get(app, jobId);
    return { ...toRequest(source), id: null, jobName: `${source.jobName}_EXPORT_${Date.now()}` };
  }

  /**
   * Read-modify-write in one schedule update (one describe), refusing other apps' and
   * deleted jobs; the schedule's timing follows the new definition from its next fire.
   */
  private async modify(app: AuthenticatedApp, jobId: number, change: (job: JobDefinition) => JobDefinition): Promise<void> {
    let before: JobDefinition | undefined;
    let after: JobDefinition | undefined;
    try {
      await updateSchedule(this.client, jobScheduleId(jobId), (previous) => {
        before = owned(app, jobId, jobOfSchedule(previous));
        if (before.status === 'DELETED') throw new StateConflictError(`job ${jobId} was deleted; create a new job instead`);
        after = change(before);
        return { ...previous, ...this.timing(app, after, ruleOf(after)) };
      });
    } catch (err) {
      if (isNotFound(err)) throw notFound(app, jobId);
      throw err;
    }
    this.runCache.delete(jobId);
    await this.syncClock(app, before!, after!);
  }

  /** Spec, action, policies and paused state of a job's schedule. */
  private timing(app: AuthenticatedApp, job: JobDefinition, rule: TimeRule) {
    const spec = job.status === 'DELETED' ? undefined : scheduleSpecOf(job, rule);
    return {
      spec: spec ?? {},
      action: this.actionFor(app, job),
      // Overlap is decided per fire (maxInstanceNum slots, misfire policy), so Temporal starts every fire.
      policies: { overlap: 'ALLOW_ALL' as const, catchupWindow: catchupWindowMs(job, rule, Date.now()) },
      state: { paused: !spec || job.status !== 'ENABLE', note: pauseNote(job) },
    };
  }

  /**
   * FIXED_DELAY jobs run on a clock workflow while enabled; anything else has none. Only a
   * change into or out of that state costs a call to Temporal.
   */
  private async syncClock(app: AuthenticatedApp, before: JobDefinition | null, job: JobDefinition): Promise<void> {
    const workflowId = fixedDelayClockId(job.id);
    if (hasClock(job)) {
      const run = this.runInputOf(app, job);
      await this.client.workflow.signalWithStart<FixedDelayWorkflow, [ScheduledRunInput]>(WorkflowType.fixedDelay, {
        workflowId,
        taskQueue: this.coreTaskQueue,
        args: [{ run, nextFireTime: null }],
        signal: reconfigureSignal,
        signalArgs: [run],
        typedSearchAttributes: [{ key: SA.appId, value: app.appId }, { key: SA.jobId, value: job.id }],
      });
      return;
    }
    if (!before || !hasClock(before)) return;
    try {
      await this.client.workflow.getHandle(workflowId).cancel();
    } catch (err) {
      if (!isNotFound(err)) throw err;
    }
  }

  private async find(jobId: number): Promise<JobDefinition | undefined> {
    const description = await describeSchedule(this.client, jobScheduleId(jobId));
    return description && jobOfSchedule(description);
  }

  private actionFor(app: AuthenticatedApp, job: JobDefinition) {
    return {
      type: 'startWorkflow' as const,
      workflowType: WorkflowType.scheduledRun,
      taskQueue: this.coreTaskQueue,
      args: [this.runInputOf(app, job)],
    };
  }

  /** What a fire of this job (schedule action or FIXED_DELAY clock) starts an instance from. */
  private runInputOf(app: AuthenticatedApp, job: JobDefinition): ScheduledRunInput {
    return { job, appName: app.appName, heartbeatTimeoutMs: this.heartbeatTimeoutMs };
  }

  private timeZoneOf(requested: string | null | undefined): string {
    const timeZone = requested ?? this.defaultTimeZone;
    if (!isValidTimeZone(timeZone)) throw new InvalidRequestError(`timeZone "${timeZone}" is not an IANA time zone (e.g. "Europe/Berlin", "UTC")`);
    return timeZone;
  }
}

/** The job if it belongs to the app; another app's job does not exist for the caller. */
function owned(app: AuthenticatedApp, jobId: number, job: JobDefinition | undefined): JobDefinition {
  if (!job || job.appId !== app.appId) throw notFound(app, jobId);
  return job;
}

function notFound(app: AuthenticatedApp, jobId: number): NotFoundError {
  return new NotFoundError(`job ${jobId} not found in app ${app.appName}`);
}

function hasClock(job: JobDefinition): boolean {
  return job.timeExpressionType === 'FIXED_DELAY' && job.status === 'ENABLE';
}

/** The request that would save this job again. */
function toRequest(job: JobDefinition): SaveJobRequest {
  const { id, appId, status, gmtCreate: _c, gmtModified: _m, createdBy: _b, ...fields } = job;
  return { ...fields, id, appId, enable: status === 'ENABLE' };
}

function pauseNote(job: JobDefinition): string {
  if (job.status === 'DELETED') return 'deleted';
  if (job.status === 'DISABLE') return 'disabled';
  if (job.timeExpressionType === 'API') return 'API job: runs only through runJob';
  if (job.timeExpressionType === 'WORKFLOW') return 'WORKFLOW job: runs as a workflow node (or through runJob)';
  if (job.timeExpressionType === 'FIXED_DELAY') return `FIXED_DELAY job: timed by workflow ${fixedDelayClockId(job.id)}`;
  return `${job.timeExpressionType} ${job.timeExpression} (${job.timeZone})`;
}

function formatWallTime(w: WallTime): string {
  const pad = (n: number) => String(n).padStart(2, '0');
  return `${w.year}-${pad(w.month)}-${pad(w.day)} ${pad(w.hour)}:${pad(w.minute)}:${pad(w.second)}`;
}

/** The parsed time rule, or InvalidRequestError saying what is wrong with the expression. */
export function ruleOf(job: Pick<JobDefinition, 'timeExpressionType' | 'timeExpression'>): TimeRule {
  try {
    return parseTimeExpression(job.timeExpressionType, job.timeExpression);
  } catch (err) {
    if (err instanceof TimeExpressionError) throw new InvalidRequestError(`invalid timeExpression: ${err.message}`);
    throw err;
  }
}

function checkSupported(request: SaveJobRequest): void {
  const refuse = (field: string, value: string, supported: readonly string[]) => {
    if (!supported.includes(value)) {
      throw new InvalidRequestError(`${field} ${value} is not supported by this server yet; supported: ${supported.join(', ')}`);
    }
  };
  refuse('timeExpressionType', request.timeExpressionType, SUPPORTED_TIME_TYPES);
  refuse('executeType', request.executeType, SUPPORTED_EXECUTE_TYPES);
  refuse('processorType', request.processorType, SUPPORTED_PROCESSOR_TYPES);
  const targeting = targetingProblem(request.designatedWorkers, request.maxWorkerCount);
  if (targeting) throw new InvalidRequestError(targeting);
  if ((request.executeType === 'MAP' || request.executeType === 'MAP_REDUCE') && request.designatedWorkers?.trim()) {
    throw new InvalidRequestError(
      `designatedWorkers cannot limit a ${request.executeType} job: its sub-tasks spread over every worker of the app; clear designatedWorkers or run the map from an app of its own`,
    );
  }
}

function toDefinition(
  request: SaveJobRequest,
  timeZone: string,
  fixed: Pick<JobDefinition, 'id' | 'appId' | 'gmtCreate' | 'createdBy'>,
): JobDefinition {
  return {
    ...fixed,
    timeZone,
    misfirePolicy: request.misfirePolicy ? { ...DEFAULT_MISFIRE_POLICY, ...request.misfirePolicy } : DEFAULT_MISFIRE_POLICY,
    jobName: request.jobName,
    jobDescription: request.jobDescription,
    jobParams: request.jobParams,
    timeExpressionType: request.timeExpressionType,
    timeExpression: request.timeExpressionType === 'API' || request.timeExpressionType === 'WORKFLOW' ? null : request.timeExpression?.trim() ?? null,
    executeType: request.executeType,
    processorType: request.processorType,
    processorInfo: request.processorInfo,
    maxInstanceNum: request.maxInstanceNum,
    concurrency: request.concurrency,
    instanceTimeLimit: request.instanceTimeLimit,
    instanceRetryNum: request.instanceRetryNum,
    taskRetryNum: request.taskRetryNum,
    retryBackoff: request.retryBackoff ?? DEFAULT_RETRY_BACKOFF,
    minCpuCores: request.minCpuCores,
    minMemorySpace: request.minMemorySpace,
    minDiskSpace: request.minDiskSpace,
    status: request.enable ? 'ENABLE' : 'DISABLE',
    designatedWorkers: request.designatedWorkers,
    maxWorkerCount: request.maxWorkerCount,
    notifyUserIds: request.notifyUserIds,
    extra: request.extra,
    dispatchStrategy: request.dispatchStrategy,
    dispatchStrategyConfig: request.dispatchStrategyConfig,
    lifeCycle: request.lifeCycle
      ? { ...(request.lifeCycle.start != null ? { start: request.lifeCycle.start } : {}), ...(request.lifeCycle.end != null ? { end: request.lifeCycle.end } : {}) }
      : null,
    alarmConfig: request.alarmConfig ?? null,
    tag: request.tag,
    logConfig: request.logConfig ?? null,
    advancedRuntimeConfig: request.advancedRuntimeConfig ?? null,
    gmtModified: Date.now(),
  };
}
