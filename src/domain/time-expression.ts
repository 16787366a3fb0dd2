import type { TimeExpressionTypeName } from './enums.js';
import type { JobDefinition, LifeCycle } from './job.js';
import type { CronExpression } from './schedule/cron-expression.js';
import { cronMatches, nextCronFires } from './schedule/cron.js';
import { parseCron } from './schedule/cron-parser.js';
import type { DailyTimeInterval } from './schedule/daily-interval.js';
import { dailyTimesOfDay, nextDailyFires, parseDailyTimeInterval } from './schedule/daily-interval.js';
import { TimeExpressionError } from './schedule/errors.js';
import { fromWallTime, toWallTime } from './schedule/zoned-time.js';

/**
 * A job's time type and expression, parsed once: when it fires, and whether a given
 * instant is one of its fires. Pure: the API validates and previews with it, workflow
 * code filters fires with it.
 */
export type TimeRule =
  | { type: 'API' }
  /** PowerJob's time type for jobs meant as workflow nodes: no fires of its own, as API. */
  | { type: 'WORKFLOW' }
  | { type: 'CRON'; cron: CronExpression }
  | { type: 'DAILY_TIME_INTERVAL'; daily: DailyTimeInterval }
  | { type: 'FIXED_RATE'; everyMs: number }
  | { type: 'FIXED_DELAY'; delayMs: number };

const DAY_MS = 24 * 3600 * 1000;
/** PowerJob caps frequent jobs at 120 s; we allow up to a year. */
export const FREQUENT_LIMITS = {
  FIXED_RATE: { minMs: 1_000, maxMs: 365 * DAY_MS },
  FIXED_DELAY: { minMs: 100, maxMs: 365 * DAY_MS },
} as const;

export function parseTimeExpression(type: TimeExpressionTypeName, expression: string | null): TimeRule {
  const text = expression?.trim() ?? '';
  switch (type) {
    case 'API':
    case 'WORKFLOW':
      return { type };
    case 'CRON':
      if (!text) throw new TimeExpressionError('a CRON job needs a timeExpression, e.g. "0 0 2 * * ?" (every day at 02:00)');
      return { type, cron: parseCron(text) };
    case 'DAILY_TIME_INTERVAL':
      if (!text) throw new TimeExpressionError('a DAILY_TIME_INTERVAL job needs a timeExpression, e.g. {"interval":30,"intervalUnit":"MINUTES","startTimeOfDay":"09:00:00","endTimeOfDay":"18:00:00"}');
      return { type, daily: parseDailyTimeInterval(text) };
    case 'FIXED_RATE':
    case 'FIXED_DELAY': {
      const { minMs, maxMs } = FREQUENT_LIMITS[type];
      if (!/^\d+$/.test(text)) throw new TimeExpressionError(`a ${type} job needs timeExpression = the period in milliseconds, e.g. "5000"`);
      const ms = Number(text);
      if (ms < minMs || ms > maxMs) throw new TimeExpressionError(`${type} timeExpression ${ms} ms is out of range: ${minMs} ms to ${maxMs} ms`);
      if (type === 'FIXED_RATE') {
        if (ms % 1000 !== 0) throw new TimeExpressionError(`FIXED_RATE timeExpression ${ms} ms must be whole seconds (a multiple of 1000)`);
        return { type, everyMs: ms };
      }
      return { type, delayMs: ms };
    }
  }
}

/** The next `count` fire instants after `afterMs`, inside the lifecycle window. FIXED_DELAY depends on run ends: none. */
export function nextFireTimes(rule: TimeRule, timeZone: string, afterMs: number, count: number, lifeCycle: LifeCycle | null = null): number[] {
  const from = Math.max(afterMs, (lifeCycle?.start ?? 0) - 1);
  let fires: number[];
  switch (rule.type) {
    case 'CRON': fires = nextCronFires(rule.cron, timeZone, from, count); break;
    case 'DAILY_TIME_INTERVAL': fires = nextDailyFires(rule.daily, timeZone, from, count); break;
    case 'FIXED_RATE': {
      const first = (Math.floor(from / rule.everyMs) + 1) * rule.everyMs;
      fires = Array.from({ length: count }, (_, i) => first + i * rule.everyMs);
      break;
    }
    default: fires = [];
  }
  return lifeCycle?.end != null ? fires.filter((t) => t <= lifeCycle.end!) : fires;
}

/**
 * Whether Temporal's nominal fire time is really a fire of this rule. Schedules carry a
 * superset for rules their calendars cannot express (L, W, #), and a wall time repeated
 * by a DST fall-back would fire twice; both are filtered here.
 */
export function isFireOf(rule: TimeRule, timeZone: string, nominalMs: number): boolean {
  if (rule.type !== 'CRON' && rule.type !== 'DAILY_TIME_INTERVAL') return true;
  const wall = toWallTime(nominalMs, timeZone);
  const { dayOfWeek: _, ...date } = wall;
  const occurrences = fromWallTime(date, timeZone);
  if (occurrences.length > 1 && occurrences[0] !== nominalMs) return false;
  if (rule.type === 'CRON') return cronMatches(rule.cron, wall);
  const secondOfDay = wall.hour * 3600 + wall.minute * 60 + wall.second;
  return rule.daily.daysOfWeek.includes(wall.dayOfWeek) && dailyTimesOfDay(rule.daily).includes(secondOfDay);
}

/** Whether no later fire than `fireMs` is due yet at `nowMs` (so a late `fireMs` is the newest missed fire). */
export function isNewestDueFire(rule: TimeRule, timeZone: string, lifeCycle: LifeCycle | null, fireMs: number, nowMs: number): boolean {
  const [next] = nextFireTimes(rule, timeZone, fireMs, 1, lifeCycle);
  return next === undefined || next > nowMs;
}

/** The longest wait between two consecutive fires among the next `sample`, for sizing catch-up windows. */
export function longestGapMs(rule: TimeRule, timeZone: string, fromMs: number, sample = 50): number {
  if (rule.type === 'FIXED_RATE') return rule.everyMs;
  const fires = nextFireTimes(rule, timeZone, fromMs, sample);
  let gap = 0;
  for (let i = 1; i < fires.length; i++) gap = Math.max(gap, fires[i]! - fires[i - 1]!);
  return gap || DAY_MS;
}

const MIN_CATCHUP_MS = 10_000;
const MAX_CATCHUP_MS = 365 * 24 * 3600 * 1000;

/**
 * How far back Temporal delivers missed fires after an outage: just enough for the
 * misfire policy to find the fires it keeps (never Temporal's default of a year).
 */
export function catchupWindowMs(job: Pick<JobDefinition, 'misfirePolicy' | 'timeZone'>, rule: TimeRule, nowMs: number): number {
  const { type, maxCatchUp, thresholdMs } = job.misfirePolicy;
  if (type === 'SKIP') return MIN_CATCHUP_MS;
  const kept = type === 'RUN_ONCE' ? 1 : maxCatchUp;
  const wanted = longestGapMs(rule, job.timeZone, nowMs) * (kept + 1) + thresholdMs;
  return Math.min(MAX_CATCHUP_MS, Math.max(MIN_CATCHUP_MS, wanted));
}
