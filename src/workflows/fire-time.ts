import { defineSearchAttributeKey, type SearchAttributeUpdatePair } from '@temporalio/common';
import { patched, proxyActivities, upsertSearchAttributes, workflowInfo } from '@temporalio/workflow';
import type { CoreActivities } from '../contract/activities.js';
import { MISFIRE_DROPPED, SA } from '../contract/search-attributes.js';
import type { LateFire } from '../contract/workflows.js';
import type { LifeCycle } from '../domain/job.js';
import { isFireOf, isNewestDueFire, parseTimeExpression } from '../domain/time-expression.js';
import { metrics } from './metrics.js';

const TemporalScheduledStartTime = defineSearchAttributeKey('TemporalScheduledStartTime', 'DATETIME');

const { decideLateFire } = proxyActivities<CoreActivities>({
  startToCloseTimeout: '30 seconds',
  retry: { maximumInterval: '10 seconds' },
});

/** Whether a schedule's fire runs: no (why), or yes (whether as a catch-up of a missed fire; `now` when that was decided). */
export type FireVerdict = { run: false; why: string } | { run: true; fireTime: number; catchUp: boolean; lateness: number; now: number };

/** Whose fire it is: metric labels, and the search attributes that name it on a dropped fire. */
export interface FireOwner {
  labels: { app: string; job: string };
  /** The app (id, name) and the job (`SA.jobId`) or CRON workflow (`SA.workflowId`). */
  searchAttributes: SearchAttributeUpdatePair[];
  /** The ledger to ask; absent: the job's. */
  ledgerId?: string;
}

/**
 * The one rule every schedule's fire goes through (a job's or a CRON workflow's): a fire that
 * is not one of the exact rule's (superset calendars, DST repeats) does not run; a late one
 * runs by the misfire policy, the newest at once, older ones as the ledger decides. A fire the
 * policy drops is marked in visibility (status MISFIRE_DROPPED, its owner's ids): alerting's
 * scan raises MISFIRE_SKIPPED from there.
 */
export async function fireVerdict(timed: LateFire['job'] & { lifeCycle: LifeCycle | null }, owner: FireOwner): Promise<FireVerdict> {
  const { labels, ledgerId } = owner;
  const policy = timed.misfirePolicy;
  const info = workflowInfo();
  const fireTime = (info.typedSearchAttributes.get(TemporalScheduledStartTime) ?? new Date(info.startTime)).getTime();
  const rule = parseTimeExpression(timed.timeExpressionType, timed.timeExpression);
  if (!isFireOf(rule, timed.timeZone, fireTime)) return { run: false, why: `not a fire of "${timed.timeExpression}" in ${timed.timeZone}` };

  const now = Date.now();
  const lateness = now - fireTime;
  if (lateness <= policy.thresholdMs) return { run: true, fireTime, catchUp: false, lateness, now };
  // RUN_ONCE and CATCH_UP both keep the newest missed fire: no need to ask the ledger
  // (what a burst of late fires, an overload rather than an outage, mostly hits).
  const misfire = (decision: 'run_late' | 'dropped') => metrics.misfire({ ...labels, policy: policy.type, decision });
  if (policy.type !== 'SKIP' && isNewestDueFire(rule, timed.timeZone, timed.lifeCycle, fireTime, now)) {
    misfire('run_late');
    return { run: true, fireTime, catchUp: true, lateness, now };
  }
  const { id, misfirePolicy, timeExpressionType, timeExpression, timeZone } = timed;
  const decision = await decideLateFire({ job: { id, misfirePolicy, timeExpressionType, timeExpression, timeZone }, fireTime, askedAt: now, ...(ledgerId ? { ledgerId } : {}) });
  if (decision !== 'on-time') misfire(decision === 'dropped' ? 'dropped' : 'run_late');
  if (decision === 'dropped') {
    // Histories of fires dropped before alerting knew of them replay without the mark.
    if (patched('misfire-dropped-visible')) upsertSearchAttributes([{ key: SA.status, value: MISFIRE_DROPPED }, ...owner.searchAttributes]);
    return { run: false, why: `missed by ${lateness} ms; dropped by misfire policy ${policy.type}` };
  }
  return { run: true, fireTime, catchUp: decision === 'catch-up', lateness, now };
}
