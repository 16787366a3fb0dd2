import { setHandler } from '@temporalio/workflow';
import { decideLateFireUpdate } from '../contract/messages.js';
import { catchupWindowMs, nextFireTimes, parseTimeExpression } from '../domain/time-expression.js';
import { continueAsNewWhenSuggested } from './long-lived.js';
import { EMPTY_LEDGER, type LedgerState, type MisfireLedgerWorkflow } from '../contract/workflows.js';

/**
 * Decides, for one job, which missed fires run after an outage. Late fires arrive one by
 * one (each in its own workflow, evaluated at slightly different moments), so each asking
 * for itself could disagree at the edges; the ledger decides a whole backlog at once,
 * against one reference time, and answers every late fire of it consistently.
 */

const KEEP_DECISIONS_MS = 24 * 3600 * 1000;

export const misfireLedgerWorkflow: MisfireLedgerWorkflow = async (initial: LedgerState = EMPTY_LEDGER): Promise<void> => {
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

  await continueAsNewWhenSuggested<MisfireLedgerWorkflow>(() => [{ decisions: [...decisions], decidedUpTo, lastReference }]);
};
