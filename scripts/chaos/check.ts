import type { AppliedFault } from './faults.js';
import type { ExecutionRecord } from './records.js';
import type { InstanceFacts, WfFacts } from './reads.js';
import type { TrackedRun, Unanswered } from './workload.js';

/**
 * The invariant checker: the chaos workers' fsynced execution records against what the API
 * accepted and what it reads back. Pure: every fact comes in, violations go out, each with
 * its ids, the executions involved (worker, pid, time) and the faults around them, so a
 * finding can be judged (e.g. whether a fence would have prevented it).
 */

export type ViolationKind =
  | 'accepted-but-lost' | 'unreadable' | 'not-finished' | 'failed-without-reason' | 'duplicate-execution' | 'executed-twice'
  | 'succeeded-without-execution' | 'early' | 'canceled-but-executed' | 'cancel-acknowledged-not-canceled'
  | 'stop-acknowledged-not-stopped' | 'started-after-stop' | 'idempotency-key-new-instance' | 'share-moved'
  | 'reduce-saw-wrong-results' | 'duplicate-fire' | 'untracked-execution';

export interface Violation {
  kind: ViolationKind;
  message: string;
  instanceId?: number;
  wfInstanceId?: number;
  jobId?: number;
  executions?: { ev: string; at: string; key: string; step: string; workerId: string; pid: number; ok?: boolean }[];
  faults?: string[];
}

export interface CheckInput {
  tracked: readonly TrackedRun[];
  unanswered: readonly Unanswered[];
  instances: ReadonlyMap<number, InstanceFacts>;
  workflows: ReadonlyMap<number, WfFacts>;
  fires: readonly InstanceFacts[];
  records: readonly ExecutionRecord[];
  faults: readonly AppliedFault[];
  /** Worker id → the topology's process name (`chaos-worker-2` → `processor-2`). */
  processOf: (workerId: string) => string;
  mapSize: number;
  mapJobId: number;
  broadcastJobId: number;
}

export interface CheckResult {
  violations: Violation[];
  /** Map tasks (sub-tasks, the root task, reduce) run again, as the same attempt, after their worker was declared lost, by the fault that made it so. */
  movedMapTasks: { instanceId: number; key: string; cause: string }[];
  /**
   * Runs (and reduce, pre and post steps) whose user code completed under a second attempt
   * because Temporal declared the first attempt's worker lost (heartbeat timeout): its process
   * killed or stalled, or its traffic to Temporal cut, after its user code began. The fence's
   * stated exception; each is listed with the fault that caused it.
   */
  rerunsAfterLoss: { instanceId: number; step: string; keys: string[]; cause: string }[];
  /**
   * Attempts admitted by the fence before a stop whose user code began just after
   * stopInstance answered: Temporal's answer to the fence's checks was still on its way to
   * the worker (within STOP_RACE_MS, or later with a fault that delays it). No delivery is
   * admitted once the stop has cancelled the attempt.
   */
  admittedBeforeStop: { instanceId: number; key: string; afterMs: number; cause: string }[];
  checkedInstances: number;
}

const TERMINAL = new Set(['SUCCEED', 'FAILED', 'CANCELED', 'STOPPED']);
/** How long the answer to the fence's checks just before a stop may take to reach its worker, faults aside. */
export const STOP_RACE_MS = 1_000;
const iso = (ms: number) => new Date(ms).toISOString();

export function checkInvariants(input: CheckInput): CheckResult {
  const violations: Violation[] = [];
  const movedMapTasks: CheckResult['movedMapTasks'] = [];
  const rerunsAfterLoss: CheckResult['rerunsAfterLoss'] = [];
  const admittedBeforeStop: CheckResult['admittedBeforeStop'] = [];
  const byInstance = new Map<number, ExecutionRecord[]>();
  for (const record of input.records) {
    const list = byInstance.get(record.instanceId) ?? [];
    list.push(record);
    byInstance.set(record.instanceId, list);
  }
  const executionsOf = (records: readonly ExecutionRecord[]) => records.map((r) => ({
    ev: r.ev, at: iso(r.at), key: r.key, step: r.step, workerId: r.workerId, pid: r.pid, ...(r.ok !== undefined ? { ok: r.ok } : {}),
  }));
  /** The faults whose time overlaps the records' (from 15 s before the first to 5 s after the last). */
  const faultsAround = (records: readonly ExecutionRecord[], from?: number, to?: number) => {
    const times = records.map((r) => r.at);
    const start = Math.min(...times, from ?? Infinity) - 15_000;
    const end = Math.max(...times, to ?? -Infinity) + 5_000;
    return input.faults.filter((f) => f.startedAt <= end && f.endedAt >= start)
      .map((f) => `${iso(f.startedAt)}–${iso(f.endedAt)} ${f.kind}${f.target ? ` ${f.target}` : ''}${f.durationMs ? ` ${f.durationMs} ms` : ''}`);
  };
  const violation = (v: Violation, records: readonly ExecutionRecord[] = []) => {
    violations.push(records.length > 0 ? { ...v, executions: executionsOf(records), faults: faultsAround(records) } : v);
  };
  /** Why a worker may have been declared lost between two times: its process killed or stalled, or its heartbeats cut off (a partition, the frontend or the history service stalled or killed). */
  const lostCause = (workerId: string, from: number, to: number) => {
    const process = input.processOf(workerId);
    const fault = input.faults.find((f) => f.startedAt <= to && f.endedAt >= from
      && ((f.target === process && (f.kind === 'kill' || f.kind === 'stall'))
        || f.kind === 'proxy-drop' || f.target === 'temporal-frontend' || f.target === 'temporal-history'));
    return fault && `${fault.kind}${fault.target ? ` ${fault.target}` : ''} at ${iso(fault.startedAt)}`;
  };
  /** Why an answer from Temporal to a worker may have been late between two times: what can declare it lost, or delayed traffic. */
  const lateAnswerCause = (workerId: string, from: number, to: number) => {
    const delay = input.faults.find((f) => f.kind === 'proxy-delay' && f.startedAt <= to && f.endedAt >= from);
    return lostCause(workerId, from, to) ?? (delay && `proxy-delay at ${iso(delay.startedAt)}`);
  };

  /** What holds for every instance, whatever started it. */
  const checkInstance = (facts: InstanceFacts | undefined, instanceId: number, jobId: number, context: string) => {
    const records = byInstance.get(instanceId) ?? [];
    if (!facts || facts.status === 'NOT_FOUND') {
      violation({ kind: 'accepted-but-lost', instanceId, jobId, message: `${context}: the API knows no instance ${instanceId}` }, records);
      return;
    }
    if (facts.status === 'UNREADABLE') {
      violation({ kind: 'unreadable', instanceId, jobId, message: `${context}: fetchInstanceInfo did not answer after the faults healed: ${facts.result}` }, records);
      return;
    }
    if (!TERMINAL.has(facts.status)) {
      violation({ kind: 'not-finished', instanceId, jobId, message: `${context}: still ${facts.status} at the end of the drain` }, records);
    }
    if (facts.status === 'FAILED' && !facts.result?.trim()) {
      violation({ kind: 'failed-without-reason', instanceId, jobId, message: `${context}: FAILED with no result naming why` }, records);
    }
    if (facts.actualTriggerTime !== null && facts.expectedTriggerTime !== null && facts.actualTriggerTime < facts.expectedTriggerTime) {
      violation({ kind: 'early', instanceId, jobId, message: `${context}: actualTriggerTime ${iso(facts.actualTriggerTime)} is before expectedTriggerTime ${iso(facts.expectedTriggerTime)}` }, records);
    }
    const starts = records.filter((r) => r.ev === 'start');
    const byKey = new Map<string, ExecutionRecord[]>();
    for (const start of starts) byKey.set(start.key, [...(byKey.get(start.key) ?? []), start]);
    for (const [key, same] of byKey) {
      if (same.length < 2) continue;
      same.sort((a, b) => a.at - b.at);
      // A map's tasks (root, sub-tasks, reduce) move: a holder declared lost has the same
      // attempt dispatched again, to any worker.
      const movable = same[0]!.step === 'map' || same[0]!.step === 'reduce';
      const causes = movable ? same.slice(1).map((again, i) => lostCause(same[i]!.workerId, same[i]!.at, again.at)) : [];
      if (movable && causes.every((cause) => cause !== undefined)) {
        for (const cause of causes) movedMapTasks.push({ instanceId, key, cause: cause! });
        continue;
      }
      violation({
        kind: 'duplicate-execution', instanceId, jobId,
        message: `${context}: attempt ${key} started ${same.length} times (${same.map((r) => `${r.workerId} pid ${r.pid} at ${iso(r.at)}`).join('; ')})`,
      }, records.filter((r) => r.key === key));
    }
    for (const share of starts.filter((r) => r.step === 'share')) {
      const owner = /:w:([^:]+):/.exec(share.key)?.[1];
      if (owner !== share.workerId) {
        violation({ kind: 'share-moved', instanceId, jobId, message: `${context}: ${owner}'s broadcast share ran on ${share.workerId}` }, [share]);
      }
    }
    const ends = records.filter((r) => r.ev === 'end' && r.ok === true);
    for (const step of ['run', 'reduce', 'pre', 'post'] as const) {
      const done = ends.filter((r) => r.step === step);
      const keys = new Set(done.map((r) => r.key));
      if (keys.size > 1) {
        // In attempt order (the next attempt is dispatched only once the last is over): a
        // stalled holder's user code may start, and end, after the next attempt's.
        const startOf = (key: string) => starts.find((r) => r.key === key && r.step === step);
        const ordered = [...done].sort((x, y) => x.attempt - y.attempt);
        const causes = ordered.slice(1).map((again, i) => {
          const [first, second] = [startOf(ordered[i]!.key), startOf(again.key)];
          return first && second && lostCause(first.workerId, Math.min(first.at, second.at), Math.max(first.at, second.at));
        });
        if (causes.every((cause) => cause !== undefined)) {
          rerunsAfterLoss.push({ instanceId, step, keys: ordered.map((r) => r.key), cause: causes.join('; ') });
          continue;
        }
        violation({
          kind: 'executed-twice', instanceId, jobId,
          message: `${context}: ${step} completed successfully under ${keys.size} attempts (${done.map((r) => `${r.key} on ${r.workerId}`).join('; ')}); the run's user code took effect more than once`,
        }, records.filter((r) => r.step === step));
      }
    }
    if (facts.status === 'SUCCEED' && jobId !== input.broadcastJobId && jobId !== input.mapJobId && !ends.some((r) => r.step === 'run')) {
      violation({ kind: 'succeeded-without-execution', instanceId, jobId, message: `${context}: SUCCEED, but no execution of its processor completed` }, records);
    }
    for (const member of facts.broadcast ?? []) {
      if (member.status === 'SUCCEED' && !ends.some((r) => r.step === 'share' && r.key.includes(`:w:${member.workerId}:`))) {
        violation({ kind: 'succeeded-without-execution', instanceId, jobId, message: `${context}: ${member.workerId}'s broadcast share is SUCCEED, but no execution of it completed` }, records);
      }
    }
    if (jobId === input.mapJobId && facts.status === 'SUCCEED') {
      const reduce = ends.find((r) => r.step === 'reduce');
      const seen = reduce?.reduced ?? [];
      if (!reduce || seen.length !== input.mapSize || new Set(seen).size !== seen.length) {
        violation({ kind: 'reduce-saw-wrong-results', instanceId, jobId, message: `${context}: reduce saw ${seen.length} results (${new Set(seen).size} distinct), ${input.mapSize} sub-tasks were mapped` }, records.filter((r) => r.step === 'reduce'));
      }
    }
  };

  const known = new Set<number>();
  for (const run of input.tracked) {
    if (run.instanceId === undefined) continue;
    known.add(run.instanceId);
    const facts = input.instances.get(run.instanceId);
    const context = `${run.kind} (job ${run.jobId}${run.idempotencyKey ? `, key ${run.idempotencyKey}` : ''}, accepted ${iso(run.answeredAt)}${run.delayMs ? `, delay ${run.delayMs} ms` : ''})`;
    checkInstance(facts, run.instanceId, run.jobId, context);
    const records = byInstance.get(run.instanceId) ?? [];
    const starts = records.filter((r) => r.ev === 'start');
    if (run.resentInstanceId !== undefined && run.resentInstanceId !== run.instanceId) {
      violation({ kind: 'idempotency-key-new-instance', instanceId: run.instanceId, jobId: run.jobId, message: `${context}: runJob re-sent with the same key answered instance ${run.resentInstanceId}` });
    }
    const early = starts.filter((r) => r.at < run.submittedAt + run.delayMs);
    if (run.delayMs > 0 && early.length > 0) {
      violation({ kind: 'early', instanceId: run.instanceId, jobId: run.jobId, message: `${context}: ran at ${iso(early[0]!.at)}, before ${iso(run.submittedAt + run.delayMs)} (sent + delay)` }, early);
    }
    if (run.cancel?.ok) {
      if (starts.length > 0) {
        violation({ kind: 'canceled-but-executed', instanceId: run.instanceId, jobId: run.jobId, message: `${context}: cancelInstance answered OK at ${iso(run.cancel.answeredAt)}, and the run executed anyway` }, records);
      }
      if (facts && facts.status !== 'CANCELED') {
        violation({ kind: 'cancel-acknowledged-not-canceled', instanceId: run.instanceId, jobId: run.jobId, message: `${context}: cancelInstance answered OK at ${iso(run.cancel.answeredAt)}, and the run ended ${facts.status}` }, records);
      }
    }
    if (run.stop?.ok) {
      const answeredAt = run.stop.answeredAt;
      const late: ExecutionRecord[] = [];
      for (const start of starts.filter((r) => r.at > answeredAt)) {
        const afterMs = start.at - answeredAt;
        const cause = afterMs <= STOP_RACE_MS ? 'within the transit of the fence\'s answer' : lateAnswerCause(start.workerId, answeredAt - STOP_RACE_MS, start.at);
        if (cause) admittedBeforeStop.push({ instanceId: run.instanceId, key: start.key, afterMs, cause });
        else late.push(start);
      }
      if (late.length > 0) {
        violation({ kind: 'started-after-stop', instanceId: run.instanceId, jobId: run.jobId, message: `${context}: stopInstance answered OK at ${iso(run.stop.answeredAt)}, and an attempt started after it` }, late);
      }
      if (facts && TERMINAL.has(facts.status) && facts.status !== 'STOPPED') {
        violation({ kind: 'stop-acknowledged-not-stopped', instanceId: run.instanceId, jobId: run.jobId, message: `${context}: stopInstance answered OK at ${iso(run.stop.answeredAt)}, and the run ended ${facts.status}` }, records);
      }
    }
  }

  for (const run of input.tracked) {
    if (run.wfInstanceId === undefined) continue;
    const wf = input.workflows.get(run.wfInstanceId);
    const context = `dag run ${run.wfInstanceId} (key ${run.idempotencyKey}, accepted ${iso(run.answeredAt)})`;
    if (!wf || wf.status === -1) {
      violation({ kind: 'unreadable', wfInstanceId: run.wfInstanceId, message: `${context}: fetchWfInstanceInfo did not answer: ${wf?.result}` });
      continue;
    }
    if (![3, 4, 10].includes(wf.status)) violation({ kind: 'not-finished', wfInstanceId: run.wfInstanceId, message: `${context}: still in status ${wf.status} at the end of the drain` });
    if (wf.status === 3 && !wf.result?.trim()) violation({ kind: 'failed-without-reason', wfInstanceId: run.wfInstanceId, message: `${context}: FAILED with no result naming why` });
    for (const instanceId of wf.nodeInstanceIds) {
      known.add(instanceId);
      checkInstance(input.instances.get(instanceId), instanceId, run.jobId, `${context}, node instance ${instanceId}`);
    }
  }

  const fireKeys = new Map<string, number[]>();
  for (const fire of input.fires) {
    known.add(fire.instanceId);
    const key = `${fire.jobId}@${fire.expectedTriggerTime}`;
    fireKeys.set(key, [...(fireKeys.get(key) ?? []), fire.instanceId]);
    checkInstance(fire, fire.instanceId, fire.jobId, `fire of job ${fire.jobId} due ${fire.expectedTriggerTime === null ? '?' : iso(fire.expectedTriggerTime)}`);
  }
  for (const [key, ids] of fireKeys) {
    if (ids.length > 1) {
      const [jobId, due] = key.split('@');
      violation({ kind: 'duplicate-fire', jobId: Number(jobId), message: `job ${jobId}'s fire due ${iso(Number(due))} has ${ids.length} instances: ${ids.join(', ')}` });
    }
  }

  const untracked = new Map<number, ExecutionRecord[]>();
  for (const [instanceId, records] of byInstance) if (!known.has(instanceId)) untracked.set(instanceId, records);
  for (const [instanceId, records] of untracked) {
    violation({
      kind: 'untracked-execution', instanceId, jobId: records[0]!.jobId,
      message: `instance ${instanceId} executed, but no API answer named it${input.unanswered.length > 0 ? ` (${input.unanswered.length} calls were never answered; it may be one of them)` : ''}`,
    }, records);
  }
  return { violations, movedMapTasks, rerunsAfterLoss, admittedBeforeStop, checkedInstances: known.size };
}
