import type { CalendarSpec, DayOfWeek, Month, ScheduleSpec } from '@temporalio/client';
import type { JobDefinition } from '../domain/job.js';
import type { CronExpression, DayOfMonthRule, DayOfWeekRule } from '../domain/schedule/cron-expression.js';
import type { DailyTimeInterval } from '../domain/schedule/daily-interval.js';
import { dailyTimesOfDay } from '../domain/schedule/daily-interval.js';
import type { TimeRule } from '../domain/time-expression.js';

/**
 * A job's time rule as a Temporal Schedule spec. Calendars express CRON exactly where they
 * can; for L, W and # they carry the smallest superset they can express, and each fire is
 * checked against the exact rule before it becomes an instance (see isFireOf).
 */

const MONTH_NAMES: readonly Month[] = ['JANUARY', 'FEBRUARY', 'MARCH', 'APRIL', 'MAY', 'JUNE', 'JULY', 'AUGUST', 'SEPTEMBER', 'OCTOBER', 'NOVEMBER', 'DECEMBER'];
const DAY_NAMES: readonly DayOfWeek[] = ['SUNDAY', 'MONDAY', 'TUESDAY', 'WEDNESDAY', 'THURSDAY', 'FRIDAY', 'SATURDAY'];
const WEEKDAYS = [1, 2, 3, 4, 5];

type DateFields = Pick<CalendarSpec, 'dayOfMonth' | 'dayOfWeek'>;

const range = (start: number, end: number) => ({ start: Math.max(1, start), end: Math.min(31, end) });

function dayOfMonthFields(rule: DayOfMonthRule): DateFields {
  switch (rule.kind) {
    case 'any': return { dayOfMonth: '*' };
    case 'values': return { dayOfMonth: rule.values };
    case 'last': return { dayOfMonth: range(28 - rule.offset, 31 - rule.offset) };
    case 'lastWeekday': return { dayOfMonth: range(26, 31), dayOfWeek: WEEKDAYS.map((d) => DAY_NAMES[d]!) };
    case 'nearestWeekday': return { dayOfMonth: range(rule.day - 2, rule.day + 2), dayOfWeek: WEEKDAYS.map((d) => DAY_NAMES[d]!) };
  }
}

function dayOfWeekFields(rule: DayOfWeekRule): DateFields {
  switch (rule.kind) {
    case 'any': return { dayOfWeek: '*' };
    case 'values': return { dayOfWeek: rule.values.map((d) => DAY_NAMES[d]!) };
    case 'last': return { dayOfWeek: DAY_NAMES[rule.day]!, dayOfMonth: range(22, 31) };
    case 'nth': return { dayOfWeek: DAY_NAMES[rule.day]!, dayOfMonth: range(7 * (rule.n - 1) + 1, 7 * rule.n) };
  }
}

function cronCalendars(cron: CronExpression): CalendarSpec[] {
  const time: CalendarSpec = {
    second: cron.seconds,
    minute: cron.minutes,
    hour: cron.hours,
    month: cron.months.map((m) => MONTH_NAMES[m - 1]!),
    year: cron.years ?? '*',
    comment: cron.source,
  };
  const byDom = dayOfMonthFields(cron.daysOfMonth);
  const byDow = dayOfWeekFields(cron.daysOfWeek);
  const domAny = cron.daysOfMonth.kind === 'any';
  const dowAny = cron.daysOfWeek.kind === 'any';
  if (cron.dayMatch === 'or' && !domAny && !dowAny) {
    return [{ ...time, dayOfWeek: '*', ...byDom }, { ...time, dayOfMonth: '*', ...byDow }];
  }
  // AND: each side narrows what it can; anything left over is checked per fire.
  return [{
    ...time,
    dayOfMonth: domAny ? byDow.dayOfMonth ?? '*' : byDom.dayOfMonth ?? '*',
    dayOfWeek: dowAny ? byDom.dayOfWeek ?? '*' : byDow.dayOfWeek ?? '*',
  }];
}

/** One calendar per distinct within-hour pattern of fire times, listing the hours that share it. */
function dailyCalendars(daily: DailyTimeInterval): CalendarSpec[] {
  const byHour = new Map<number, Map<number, number[]>>();
  for (const t of dailyTimesOfDay(daily)) {
    const hour = Math.floor(t / 3600);
    const minutes = byHour.get(hour) ?? new Map<number, number[]>();
    const minute = Math.floor((t % 3600) / 60);
    minutes.set(minute, [...(minutes.get(minute) ?? []), t % 60]);
    byHour.set(hour, minutes);
  }
  const patterns = new Map<string, { hours: number[]; minutes: Map<number, number[]> }>();
  for (const [hour, minutes] of byHour) {
    const key = JSON.stringify([...minutes]);
    const pattern = patterns.get(key) ?? { hours: [], minutes };
    pattern.hours.push(hour);
    patterns.set(key, pattern);
  }
  const dayOfWeek = daily.daysOfWeek.map((d) => DAY_NAMES[d]!);
  const calendars: CalendarSpec[] = [];
  for (const { hours, minutes } of patterns.values()) {
    const secondSets = new Set([...minutes.values()].map((s) => JSON.stringify(s)));
    if (secondSets.size === 1) {
      calendars.push({ hour: hours, minute: [...minutes.keys()], second: [...minutes.values()][0]!, dayOfWeek });
    } else {
      for (const [minute, seconds] of minutes) calendars.push({ hour: hours, minute, second: seconds, dayOfWeek });
    }
  }
  return calendars;
}

/** The Temporal spec that fires this job (or CRON workflow), or undefined when Temporal does not time it (API, WORKFLOW, FIXED_DELAY). */
export function scheduleSpecOf(job: Pick<JobDefinition, 'lifeCycle' | 'timeZone'>, rule: TimeRule): ScheduleSpec | undefined {
  const window = {
    ...(job.lifeCycle?.start != null ? { startAt: new Date(job.lifeCycle.start) } : {}),
    ...(job.lifeCycle?.end != null ? { endAt: new Date(job.lifeCycle.end) } : {}),
  };
  switch (rule.type) {
    case 'CRON': return { calendars: cronCalendars(rule.cron), timezone: job.timeZone, ...window };
    case 'DAILY_TIME_INTERVAL': return { calendars: dailyCalendars(rule.daily), timezone: job.timeZone, ...window };
    case 'FIXED_RATE': return { intervals: [{ every: rule.everyMs }], ...window };
    default: return undefined;
  }
}
