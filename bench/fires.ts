/**
 * What the CRON benchmarks share: how a fire's lateness is read back from Temporal, for a
 * bare schedule (its workflow's first task − nominal time, bench/bare/workflows.ts) and for
 * tempojob (the instance's dispatch − its expected trigger time, from the instance's memos),
 * and how a row of it is printed.
 */
import type { Client } from '@temporalio/client';
import type { InstanceState } from '../src/domain/instance.js';
import { MemoKey, type RunMemo } from '../src/contract/memo.js';
import { percentile } from './stats.js';

/** The fires of bare schedules the visibility query finds (`bareScheduledRun`s): how late each ran, once all have finished. */
export async function bareFires(client: Client, query: string): Promise<number[]> {
  const results: Promise<{ latenessMs: number }>[] = [];
  for await (const wf of client.workflow.list({ query })) results.push(client.workflow.getHandle(wf.workflowId, wf.runId).result());
  return (await Promise.all(results)).map((r) => r.latenessMs);
}

export interface InstanceFire {
  jobId: number;
  expectedTriggerTime: number;
  /** Dispatched − expected; null if it never dispatched. */
  lateness: number | null;
}

/** Every instance workflow the visibility query finds, as a fire of its job. */
export async function instanceFires(client: Client, query: string): Promise<InstanceFire[]> {
  const fires: InstanceFire[] = [];
  for await (const wf of client.workflow.list({ query })) {
    const run = wf.memo?.[MemoKey.run] as RunMemo;
    const state = wf.memo?.[MemoKey.instance] as InstanceState;
    fires.push({
      jobId: run.jobId,
      expectedTriggerTime: run.expectedTriggerTime,
      lateness: state.actualTriggerTime === null ? null : state.actualTriggerTime - run.expectedTriggerTime,
    });
  }
  return fires;
}

/** The dispatched fires' lateness. */
export function latenessOf(fires: InstanceFire[]): number[] {
  return fires.flatMap((f) => (f.lateness === null ? [] : [f.lateness]));
}

/** Fires beyond the first for the same key (a job, or a fire time): must be 0. */
export function duplicates<K>(fires: InstanceFire[], keyOf: (fire: InstanceFire) => K): number {
  return fires.length - new Set(fires.map(keyOf)).size;
}

/** Lateness as bench:all's table gives it. */
export const latenessFigure = (values: number[]) => `p50 ${percentile(values, 50)} ms, p99 ${percentile(values, 99)} ms`;

export const latenessRow = (name: string, values: number[]) =>
  `${name.padEnd(24)} n=${String(values.length).padEnd(6)} p50=${String(percentile(values, 50)).padStart(6)} ms  p99=${String(percentile(values, 99)).padStart(6)} ms  max=${String(Math.max(...values)).padStart(6)} ms`;
