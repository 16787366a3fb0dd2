import { percentile } from '../../bench/stats.js';
import type { CheckResult } from './check.js';
import type { AppliedFault, FaultKind } from './faults.js';
import type { ExecutionRecord } from './records.js';
import type { InstanceFacts } from './reads.js';
import type { ActionKind, Completion, TrackedRun, Unanswered } from './workload.js';

/** What a chaos run reports, as JSON (report.json) and as markdown (report.md and stdout). */
export interface ChaosReport {
  seed: number;
  profile: 'full' | 'short';
  command: string;
  phases: { baseline: Phase; chaos: Phase; drainMs: number };
  faults: { byKind: Partial<Record<FaultKind, number>>; applied: AppliedFault[] };
  work: {
    actionsByKind: Record<'baseline' | 'chaos', Partial<Record<ActionKind, number>>>;
    acceptedByKind: Partial<Record<ActionKind, number>>;
    fires: { cron: number; fixedRate: number };
    executionsByStep: Record<string, number>;
    instancesChecked: number;
    refusals: Unanswered[];
    unanswered: Unanswered[];
    tornRecordLines: number;
    proxyDroppedBytes: number;
    mapTasksMovedAfterWorkerLost: CheckResult['movedMapTasks'];
    rerunsAfterDeclaredLoss: CheckResult['rerunsAfterLoss'];
    admittedBeforeStop: CheckResult['admittedBeforeStop'];
  };
  benchmark: {
    baselineActionsPerMin: number;
    chaosActionsPerMin: number;
    /** chaos ÷ baseline. */
    throughputRatio: number;
    fireDelayMs: Record<'baseline' | 'chaos', { n: number; p50: number; p99: number; max: number }>;
    delayedRunLatenessMs: Record<'baseline' | 'chaos', { n: number; p50: number; p99: number; max: number }>;
  };
  violations: CheckResult['violations'];
}

interface Phase { start: string; end: string; ms: number }

export interface ReportInput {
  seed: number;
  profile: 'full' | 'short';
  command: string;
  baseline: [number, number];
  chaos: [number, number];
  drainMs: number;
  faults: AppliedFault[];
  completions: readonly Completion[];
  tracked: readonly TrackedRun[];
  instances: ReadonlyMap<number, InstanceFacts>;
  fires: { cron: InstanceFacts[]; fixedRate: InstanceFacts[] };
  records: readonly ExecutionRecord[];
  torn: number;
  proxyDroppedBytes: number;
  refusals: Unanswered[];
  unanswered: Unanswered[];
  check: CheckResult;
}

const phaseOf = ([start, end]: [number, number]): Phase => ({ start: new Date(start).toISOString(), end: new Date(end).toISOString(), ms: end - start });
const countBy = <T>(items: readonly T[], key: (item: T) => string) =>
  items.reduce<Record<string, number>>((acc, item) => ({ ...acc, [key(item)]: (acc[key(item)] ?? 0) + 1 }), {});
const summary = (values: number[]) => ({ n: values.length, p50: percentile(values, 50), p99: percentile(values, 99), max: values.length ? Math.max(...values) : NaN });
const within = (time: number | null, [start, end]: [number, number]) => time !== null && time >= start && time < end;

export function buildReport(input: ReportInput): ChaosReport {
  const actions = (phase: [number, number]) => countBy(input.completions.filter((c) => within(c.at, phase)), (c) => c.kind);
  const perMin = (phase: [number, number]) => input.completions.filter((c) => within(c.at, phase)).length / ((phase[1] - phase[0]) / 60_000);
  const fires = [...input.fires.cron, ...input.fires.fixedRate];
  const fireDelay = (phase: [number, number]) => summary(fires.filter((f) => within(f.expectedTriggerTime, phase) && f.actualTriggerTime !== null)
    .map((f) => f.actualTriggerTime! - f.expectedTriggerTime!));
  const delayedLateness = (phase: [number, number]) => summary(input.tracked.flatMap((run) => {
    const facts = run.instanceId === undefined || run.delayMs === 0 ? undefined : input.instances.get(run.instanceId);
    return facts && facts.actualTriggerTime !== null && facts.expectedTriggerTime !== null && within(facts.expectedTriggerTime, phase)
      ? [facts.actualTriggerTime - facts.expectedTriggerTime] : [];
  }));
  const baselinePerMin = perMin(input.baseline);
  const chaosPerMin = perMin(input.chaos);
  return {
    seed: input.seed,
    profile: input.profile,
    command: input.command,
    phases: { baseline: phaseOf(input.baseline), chaos: phaseOf(input.chaos), drainMs: input.drainMs },
    faults: { byKind: countBy(input.faults, (f) => f.kind), applied: input.faults },
    work: {
      actionsByKind: { baseline: actions(input.baseline), chaos: actions(input.chaos) },
      acceptedByKind: countBy(input.tracked, (run) => run.kind),
      fires: { cron: input.fires.cron.length, fixedRate: input.fires.fixedRate.length },
      executionsByStep: countBy(input.records.filter((r) => r.ev === 'start'), (r) => r.step),
      instancesChecked: input.check.checkedInstances,
      refusals: input.refusals,
      unanswered: input.unanswered,
      tornRecordLines: input.torn,
      proxyDroppedBytes: input.proxyDroppedBytes,
      mapTasksMovedAfterWorkerLost: input.check.movedMapTasks,
      rerunsAfterDeclaredLoss: input.check.rerunsAfterLoss,
      admittedBeforeStop: input.check.admittedBeforeStop,
    },
    benchmark: {
      baselineActionsPerMin: round(baselinePerMin),
      chaosActionsPerMin: round(chaosPerMin),
      throughputRatio: round(chaosPerMin / baselinePerMin),
      fireDelayMs: { baseline: fireDelay(input.baseline), chaos: fireDelay(input.chaos) },
      delayedRunLatenessMs: { baseline: delayedLateness(input.baseline), chaos: delayedLateness(input.chaos) },
    },
    violations: input.check.violations,
  };
}

const round = (n: number) => Math.round(n * 100) / 100;
const table = (record: Record<string, number | string>) => Object.entries(record).map(([k, v]) => `${k} ${v}`).join(', ') || 'none';
const lat = (s: { n: number; p50: number; p99: number; max: number }) => `p50 ${s.p50} ms, p99 ${s.p99} ms, max ${s.max} ms (n=${s.n})`;

export function reportMarkdown(report: ChaosReport): string {
  const { benchmark: b, work: w } = report;
  const lines = [
    `# Chaos run, seed ${report.seed} (${report.profile} profile)`,
    '',
    `Replay: \`${report.command}\``,
    '',
    `- baseline (no faults): ${report.phases.baseline.start} → ${report.phases.baseline.end} (${Math.round(report.phases.baseline.ms / 1000)} s)`,
    `- chaos: ${report.phases.chaos.start} → ${report.phases.chaos.end} (${Math.round(report.phases.chaos.ms / 1000)} s), then a drain of ${Math.round(report.phases.drainMs / 1000)} s`,
    '',
    `## Verdict: ${report.violations.length === 0 ? 'no violations' : `${report.violations.length} violation(s)`}`,
    '',
    ...Object.entries(countBy(report.violations, (v) => v.kind)).map(([kind, n]) => `- ${kind}: ${n}`),
    '',
    '## Faults',
    '',
    `By kind: ${table(report.faults.byKind as Record<string, number>)}`,
    '',
    '| started | ended | fault | error |',
    '|---|---|---|---|',
    ...report.faults.applied.map((f) => `| ${new Date(f.startedAt).toISOString()} | ${new Date(f.endedAt).toISOString()} | ${f.kind}${f.target ? ` ${f.target}` : ''}${f.durationMs ? ` for ${f.durationMs} ms` : ''}${f.latencyMs ? `, +${f.latencyMs} ms latency` : ''}${f.durationMs && f.endedAt - f.startedAt < f.durationMs ? ' (cut short: the fault phase ended)' : ''} | ${f.error ?? ''} |`),
    '',
    '## Work',
    '',
    `- actions completed, baseline: ${table(w.actionsByKind.baseline as Record<string, number>)}`,
    `- actions completed, chaos: ${table(w.actionsByKind.chaos as Record<string, number>)}`,
    `- runs the API accepted: ${table(w.acceptedByKind as Record<string, number>)}`,
    `- fires: CRON ${w.fires.cron}, FIXED_RATE ${w.fires.fixedRate}`,
    `- user-code executions by step: ${table(w.executionsByStep)}`,
    `- instances checked: ${w.instancesChecked}; refusals by the API: ${w.refusals.length}; calls never answered: ${w.unanswered.length}; torn record lines: ${w.tornRecordLines}; bytes the proxy dropped: ${w.proxyDroppedBytes}`,
    `- map tasks (sub-tasks, root, reduce) run again as the same attempt after their worker was declared lost: ${w.mapTasksMovedAfterWorkerLost.length}`,
    `- runs whose user code completed again under a new attempt after Temporal declared the first attempt's worker lost (the stated exception): ${w.rerunsAfterDeclaredLoss.length}`,
    ...w.rerunsAfterDeclaredLoss.map((r) => `  - instance ${r.instanceId} ${r.step}: ${r.keys.join(', ')} — ${r.cause}`),
    `- attempts admitted before a stop whose user code began just after stopInstance answered: ${w.admittedBeforeStop.length}`,
    ...w.admittedBeforeStop.map((r) => `  - instance ${r.instanceId}: ${r.key}, ${r.afterMs} ms after — ${r.cause}`),
    ...w.refusals.slice(0, 10).map((r) => `  - refused ${r.operation} (${r.kind}) at ${new Date(r.at).toISOString()}: ${r.code ?? ''} ${r.error}`),
    '',
    '## Benchmark',
    '',
    `- throughput: ${b.baselineActionsPerMin} actions/min without faults, ${b.chaosActionsPerMin} with faults: ratio ${b.throughputRatio}`,
    `- fire delay of the one-second CRON and FIXED_RATE jobs (actual − expected trigger time): without faults ${lat(b.fireDelayMs.baseline)}; under faults ${lat(b.fireDelayMs.chaos)}`,
    `- delayed runs' lateness: without faults ${lat(b.delayedRunLatenessMs.baseline)}; under faults ${lat(b.delayedRunLatenessMs.chaos)}`,
    '',
    '## Violations',
    '',
    ...(report.violations.length === 0 ? ['none'] : report.violations.flatMap((v) => [
      `### ${v.kind}${v.instanceId !== undefined ? ` — instance ${v.instanceId}` : ''}${v.wfInstanceId !== undefined ? ` — workflow instance ${v.wfInstanceId}` : ''}`,
      '',
      v.message,
      ...(v.executions?.length ? ['', 'executions:', ...v.executions.map((e) => `- ${e.at} ${e.ev} ${e.step} ${e.key} on ${e.workerId} (pid ${e.pid})${e.ok !== undefined ? ` ok=${e.ok}` : ''}`)] : []),
      ...(v.faults?.length ? ['', 'faults around it:', ...v.faults.map((f) => `- ${f}`)] : []),
      '',
    ])),
  ];
  return `${lines.join('\n')}\n`;
}
