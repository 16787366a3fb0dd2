import { TempojobError, TransportError, type TempojobClient } from '../../src/client/index.js';
import { InstanceStatus } from '../../src/domain/enums.js';
import { Rng } from './rng.js';

/**
 * The mixed workload of a chaos run, through the typed client (src/client) and so through
 * the API replicas: a fixed set of jobs and a DAG workflow, a one-second CRON job and a
 * one-second FIXED_RATE job firing all along, and `actors` concurrent callers, each drawing
 * its next action from its own seeded generator. An action is done when its calls were
 * answered and, for runs due now, when the run finished (or 2 minutes passed: the checker
 * has the last word). Everything the API accepted is tracked for the checker.
 */

export type ActionKind = 'run' | 'run-keyed' | 'run-delayed' | 'run-retry' | 'broadcast' | 'map' | 'stop' | 'cancel' | 'dag';

export const ACTION_WEIGHTS: Record<ActionKind, number> = {
  run: 20, 'run-keyed': 15, 'run-delayed': 20, 'run-retry': 10, broadcast: 8, map: 6, stop: 6, cancel: 10, dag: 5,
};

export interface WorkloadProfile {
  actors: number;
  /** Delays of `run-delayed`, ms. */
  delayMs: [number, number];
  /** Sub-tasks of a map run. */
  mapSize: number;
}

export const WORKLOAD_PROFILES: Record<'full' | 'short', WorkloadProfile> = {
  full: { actors: 6, delayMs: [1_000, 60_000], mapSize: 20 },
  short: { actors: 4, delayMs: [1_000, 20_000], mapSize: 10 },
};

/** The answer to a stop or cancel the API gave: success, or its refusal. */
export interface ControlAnswer {
  ok: boolean;
  answeredAt: number;
  code?: string | null;
  message?: string;
}

/** A run the API accepted (runJob or runWorkflow answered with an id). */
export interface TrackedRun {
  kind: ActionKind;
  jobId: number;
  /** runJob's answer; absent for a DAG run. */
  instanceId?: number;
  wfInstanceId?: number;
  idempotencyKey?: string;
  submittedAt: number;
  answeredAt: number;
  delayMs: number;
  /** run-keyed: the same request sent again with the same key must answer the same id. */
  resentInstanceId?: number;
  stop?: ControlAnswer;
  cancel?: ControlAnswer;
}

export interface WorkloadJobs {
  run: number;
  retry: number;
  sleep: number;
  broadcast: number;
  map: number;
  dagNode: number;
  cron: number;
  fixedRate: number;
  workflowId: number;
}

/** A call that never got an answer (transport failures until the run's end), or a refusal by the API. */
export interface Unanswered { kind: ActionKind; operation: string; at: number; idempotencyKey?: string; error: string; code?: string | null }

export interface Completion { kind: ActionKind; at: number }

export class Workload {
  readonly tracked: TrackedRun[] = [];
  readonly completions: Completion[] = [];
  readonly refusals: Unanswered[] = [];
  readonly unanswered: Unanswered[] = [];
  private giveUp: AbortSignal = new AbortController().signal;

  private constructor(private readonly client: TempojobClient, readonly jobs: WorkloadJobs, private readonly profile: WorkloadProfile) {}

  /** Saves the jobs and the DAG workflow; the CRON and FIXED_RATE jobs start firing at once. */
  static async setup(client: TempojobClient, profile: WorkloadProfile): Promise<Workload> {
    const job = (name: string, extra: Record<string, unknown>) => client.saveJob({
      jobName: `chaos-${name}`, timeExpressionType: 'API', executeType: 'STANDALONE', processorType: 'BUILT_IN', processorInfo: 'chaos.run',
      instanceRetryNum: 2, retryBackoff: { initialIntervalMs: 500, backoffCoefficient: 2, maximumIntervalMs: 5_000 }, ...extra,
    } as Parameters<TempojobClient['saveJob']>[0]);
    const run = await job('run', {});
    const retry = await job('retry', { jobParams: JSON.stringify({ failFirst: true }), instanceRetryNum: 3 });
    const sleep = await job('sleep', {});
    const broadcast = await job('broadcast', { executeType: 'BROADCAST', processorInfo: 'chaos.broadcast', instanceRetryNum: 0, taskRetryNum: 1 });
    const map = await job('map', { executeType: 'MAP_REDUCE', processorInfo: 'chaos.map', instanceRetryNum: 0, taskRetryNum: 2 });
    const dagNode = await job('dag-node', {});
    const [a, b, c, d] = await client.addWorkflowNode(['extract', 'left', 'right', 'join'].map((nodeName) => ({ type: 1, jobId: dagNode, nodeName })));
    const workflowId = await client.saveWorkflow({
      wfName: 'chaos-diamond', timeExpressionType: 'API', maxWfInstanceNum: 0, failurePolicy: 'FAIL_FAST',
      dag: {
        nodes: [a!, b!, c!, d!].map((node) => ({ nodeId: node.id })),
        edges: [[a!, b!], [a!, c!], [b!, d!], [c!, d!]].map(([from, to]) => ({ from: from!.id, to: to!.id })),
      },
    });
    const cron = await job('cron', { timeExpressionType: 'CRON', timeExpression: '* * * * * ?' });
    const fixedRate = await job('fixed-rate', { timeExpressionType: 'FIXED_RATE', timeExpression: '1000' });
    return new Workload(client, { run, retry, sleep, broadcast, map, dagNode, cron, fixedRate, workflowId }, profile);
  }

  /**
   * Runs `profile.actors` callers until `signal` aborts. A call under way is then still sent
   * again until it is answered (faults are healed by then), unless `giveUp` aborts first;
   * waits for runs to finish end at once.
   */
  async drive(rng: Rng, signal: AbortSignal, giveUp: AbortSignal): Promise<void> {
    this.giveUp = giveUp;
    await Promise.all(Array.from({ length: this.profile.actors }, async () => {
      const own = rng.fork();
      while (!signal.aborted) {
        const kind = own.weighted(ACTION_WEIGHTS);
        await this.act(kind, own, signal);
        if (!signal.aborted) this.completions.push({ kind, at: Date.now() });
      }
    }));
  }

  /** The CRON and FIXED_RATE jobs stop firing. */
  async stopSchedules(): Promise<void> {
    await this.client.disableJob(this.jobs.cron);
    await this.client.disableJob(this.jobs.fixedRate);
  }

  private async act(kind: ActionKind, rng: Rng, signal: AbortSignal): Promise<void> {
    const { jobs } = this;
    switch (kind) {
      case 'run':
      case 'run-retry':
      case 'broadcast': {
        const run = await this.submit(kind, kind === 'run' ? jobs.run : kind === 'run-retry' ? jobs.retry : jobs.broadcast, { instanceParams: busy(rng, 2_000) });
        if (run) await this.finished(run.instanceId!, signal);
        return;
      }
      case 'map': {
        const run = await this.submit(kind, jobs.map, { instanceParams: JSON.stringify({ n: this.profile.mapSize, sleepMs: rng.int(0, 500) }) });
        if (run) await this.finished(run.instanceId!, signal);
        return;
      }
      case 'run-keyed': {
        const key = `chaos-key-${rng.int(0, 2 ** 31)}-${Date.now()}`;
        const instanceParams = busy(rng, 2_000);
        const run = await this.submit(kind, jobs.run, { idempotencyKey: key, instanceParams });
        if (!run) return;
        const again = await this.answer(kind, 'runJob', key, () => this.client.runJob(jobs.run, { idempotencyKey: key, instanceParams }));
        if (again !== undefined) run.resentInstanceId = again;
        await this.finished(run.instanceId!, signal);
        return;
      }
      case 'run-delayed': {
        const delay = rng.int(...this.profile.delayMs);
        await this.submit(kind, jobs.run, { delay, instanceParams: busy(rng, 2_000), ...(rng.next() < 0.5 ? { idempotencyKey: `chaos-delayed-${rng.int(0, 2 ** 31)}-${Date.now()}` } : {}) });
        return;
      }
      case 'cancel': {
        const run = await this.submit(kind, jobs.run, { delay: rng.int(10_000, 30_000) });
        if (!run) return;
        await pause(rng.int(500, 5_000), signal);
        run.cancel = await this.control('cancel', run.instanceId!);
        return;
      }
      case 'stop': {
        const run = await this.submit(kind, jobs.sleep, { instanceParams: JSON.stringify({ sleepMs: rng.int(20_000, 40_000) }) });
        if (!run) return;
        await this.until(run.instanceId!, (status) => status !== InstanceStatus.codes.WAITING_DISPATCH && status !== InstanceStatus.codes.WAITING_WORKER_RECEIVE, 30_000, signal);
        run.stop = await this.control('stop', run.instanceId!);
        await this.finished(run.instanceId!, signal);
        return;
      }
      case 'dag': {
        const submittedAt = Date.now();
        const key = `chaos-dag-${rng.int(0, 2 ** 31)}-${submittedAt}`;
        const wfInstanceId = await this.answer(kind, 'runWorkflow', key, () => this.client.runWorkflow(jobs.workflowId, { initParams: JSON.stringify({ from: 'chaos' }), idempotencyKey: key }));
        if (wfInstanceId === undefined) return;
        this.tracked.push({ kind, jobId: jobs.dagNode, wfInstanceId, idempotencyKey: key, submittedAt, answeredAt: Date.now(), delayMs: 0 });
        const deadline = Date.now() + 120_000;
        while (!signal.aborted && Date.now() < deadline) {
          const info = await this.client.fetchWfInstanceInfo(wfInstanceId).catch(() => undefined);
          if (info && [3, 4, 10].includes(info.status)) return;
          await pause(1_000, signal);
        }
        return;
      }
    }
  }

  /** runJob until answered: re-sent with the same Idempotency-Key after transport failures and after the API's "try again" (-500). */
  private async submit(kind: ActionKind, jobId: number, options: { delay?: number; instanceParams?: string; idempotencyKey?: string }): Promise<TrackedRun | undefined> {
    const submittedAt = Date.now();
    const key = options.idempotencyKey ?? `chaos-${kind}-${submittedAt}-${Math.random().toString(36).slice(2)}`;
    const instanceId = await this.answer(kind, 'runJob', key, () => this.client.runJob(jobId, { ...options, idempotencyKey: key }));
    if (instanceId === undefined) return undefined;
    const run: TrackedRun = {
      kind, jobId, instanceId, submittedAt, answeredAt: Date.now(), delayMs: options.delay ?? 0,
      ...(options.idempotencyKey ? { idempotencyKey: key } : {}),
    };
    this.tracked.push(run);
    return run;
  }

  private async control(operation: 'stop' | 'cancel', instanceId: number): Promise<ControlAnswer> {
    const key = `chaos-${operation}-${instanceId}`;
    for (;;) {
      try {
        await (operation === 'stop' ? this.client.stopInstance(instanceId, { idempotencyKey: key }) : this.client.cancelInstance(instanceId, { idempotencyKey: key }));
        return { ok: true, answeredAt: Date.now() };
      } catch (err) {
        if (err instanceof TempojobError && err.code !== '-500') return { ok: false, answeredAt: Date.now(), code: err.code, message: err.message };
        if (this.giveUp.aborted) return { ok: false, answeredAt: Date.now(), message: `no answer: ${(err as Error).message}` };
        await pause(1_000, this.giveUp);
      }
    }
  }

  /**
   * A mutating call until it is answered, always with the same key: what the client's docs
   * ask of a caller after a TransportError or a -500. Undefined if the API refused it, or
   * if `giveUp` came first (both recorded).
   */
  private async answer<T>(kind: ActionKind, operation: string, key: string, call: () => Promise<T>): Promise<T | undefined> {
    for (;;) {
      try {
        return await call();
      } catch (err) {
        const retryable = err instanceof TransportError || (err instanceof TempojobError && err.code === '-500');
        const entry: Unanswered = { kind, operation, at: Date.now(), idempotencyKey: key, error: (err as Error).message, ...(err instanceof TempojobError ? { code: err.code } : {}) };
        if (!retryable) {
          this.refusals.push(entry);
          return undefined;
        }
        if (this.giveUp.aborted) {
          this.unanswered.push(entry);
          return undefined;
        }
        await pause(1_000, this.giveUp);
      }
    }
  }

  private finished(instanceId: number, signal: AbortSignal): Promise<void> {
    const done = [InstanceStatus.codes.FAILED, InstanceStatus.codes.SUCCEED, InstanceStatus.codes.CANCELED, InstanceStatus.codes.STOPPED] as number[];
    return this.until(instanceId, (status) => done.includes(status), 120_000, signal);
  }

  /** Polls the instance's status (twice a second) until `predicate` holds, `timeoutMs` passed or `signal` aborted. */
  private async until(instanceId: number, predicate: (status: number) => boolean, timeoutMs: number, signal: AbortSignal): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!signal.aborted && Date.now() < deadline) {
      const status = await this.client.fetchInstanceStatus(instanceId).catch(() => undefined);
      if (status !== undefined && predicate(status)) return;
      await pause(500, signal);
    }
  }
}

/** Instance params that keep the processor busy up to `maxMs`, so that faults find runs under way. */
const busy = (rng: Rng, maxMs: number) => JSON.stringify({ sleepMs: rng.int(0, maxMs) });

/** Waits `ms` (the workload's pacing), or less if `signal` aborts. */
export function pause(ms: number, signal: AbortSignal): Promise<void> {
  if (signal.aborted) return Promise.resolve();
  return new Promise((resolveWait) => {
    const timer = setTimeout(() => { signal.removeEventListener('abort', onAbort); resolveWait(); }, ms);
    const onAbort = () => { clearTimeout(timer); resolveWait(); };
    signal.addEventListener('abort', onAbort, { once: true });
  });
}
