import {
  allHandlersFinished,
  condition,
  continueAsNew,
  defineUpdate,
  setHandler,
  workflowInfo,
} from '@temporalio/workflow';
import type { JobDefinition } from '../domain/job.js';
import { nextFireTimes, parseTimeExpression } from '../domain/time-expression.js';
import { catchupWindowMs } from '../contract/schedule-spec.js';

/**
 * Decides, for one job, which missed fires run after an outage. Late fires arrive one by
 * one (each in its own workflow, evaluated at slightly different moments), so each asking
 * for itself could disagree at the edges; the ledger decides a whole backlog at once,
 * against one reference time, and answers every late fire of it consistently.
 */

export interface LateFire {
  job: JobDefinition;
  fireTime: number;
  /** When the fire found itself late: the reference time of a new backlog. */
  askedAt: number;
}

export type MisfireDecision = 'catch-up' | 'on-time' | 'dropped';

export const decideLateFireUpdate = defineUpdate<MisfireDecision, [LateFire]>('decideLateFire');

export interface LedgerState {
  /** Fire time → decision, for the backlogs decided so far (pruned as they age). */
  decisions: [number, MisfireDecision][];
  /** Every fire up to here belongs to a decided backlog. */
  decidedUpTo: number;
  /** Reference time of the last backlog: fires due before it belong to that outage. */
  lastReference: number;
}

const KEEP_DECISIONS_MS = 24 * 3600 * 1000;

export async function misfireLedgerWorkflow(initial: LedgerState = { decisions: [], decidedUpTo: 0, lastReference: 0 }): Promise<void> {
  const decisions = new Map(initial.decisions);
  let { decidedUpTo, lastReference } = initial;

  setHandler(decideLateFireUpdate, ({ job, fireTime, askedAt }) => {
    const known = decisions.get(fireTime);
    if (known) return known;
    if (fireTime <= decidedUpTo) return 'dropped';
    // Due before the last backlog was decided, but not late against it: part of that outage's tail.
    if (fireTime <= lastReference) return 'on-time';
    const now = askedAt;
    lastReference = now;
    const { type, maxCatchUp, thresholdMs } = job.misfirePolicy;
    const rule = parseTimeExpression(job.timeExpressionType, job.timeExpression);
    // The backlog: every fire Temporal delivers after the outage (those inside the catch-up
    // window) that is late by more than the threshold now, whichever of them asked first.
    const from = Math.max(decidedUpTo, now - catchupWindowMs(job, rule, now) - 1);
    // Fires are at least a second apart, which bounds how many can lie in the window.
    const atMost = Math.ceil((now - from) / 1000) + 1;
    const backlog = nextFireTimes(rule, job.timeZone, from, atMost).filter((t) => now - t > thresholdMs);
    if (backlog.length === 0) return 'on-time';
    const kept = type === 'SKIP' ? 0 : type === 'RUN_ONCE' ? 1 : maxCatchUp;
    backlog.forEach((t, i) => decisions.set(t, i >= backlog.length - kept ? 'catch-up' : 'dropped'));
    decidedUpTo = backlog[backlog.length - 1]!;
    for (const t of decisions.keys()) if (t < now - KEEP_DECISIONS_MS) decisions.delete(t);
    return decisions.get(fireTime) ?? 'dropped';
  });

  await condition(() => workflowInfo().continueAsNewSuggested && allHandlersFinished());
  await continueAsNew<typeof misfireLedgerWorkflow>({ decisions: [...decisions], decidedUpTo, lastReference });
}
