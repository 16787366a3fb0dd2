/**
 * PowerJob's DAILY_TIME_INTERVAL expression: every `interval` units between
 * two times of day, on chosen days of the week, e.g.
 *   {"interval":30,"intervalUnit":"MINUTES","startTimeOfDay":"09:00:00","endTimeOfDay":"18:00:00","daysOfWeek":[1,2,3,4,5]}
 *
 * Fires sit on a fixed grid each day (start, start + interval, … up to and
 * including end), like Quartz's DailyTimeIntervalTrigger. PowerJob itself adds
 * the interval to the previous trigger time, so its grid drifts with whenever
 * the job happened to be saved; a grid anchored at startTimeOfDay is what the
 * expression says and is reproducible.
 */
import { dayOfWeek } from './calendar.js';
import { LAST_SEARCH_YEAR, nextWallClockFires } from './fire-search.js';
import { TimeExpressionError } from './errors.js';

export interface DailyTimeInterval {
  intervalSeconds: number;
  startSecondOfDay: number;
  endSecondOfDay: number;
  daysOfWeek: number[]; // 0 = Sunday .. 6, sorted
}

const UNIT_SECONDS = new Map([
  ['SECONDS', 1],
  ['MINUTES', 60],
  ['HOURS', 3600],
]);

export function parseDailyTimeInterval(json: string): DailyTimeInterval {
  const fail = (problem: string): never => {
    throw new TimeExpressionError(`DAILY_TIME_INTERVAL expression ${JSON.stringify(json)}: ${problem}`);
  };
  let parsed: unknown;
  try {
    parsed = JSON.parse(json);
  } catch (error) {
    fail(`not valid JSON (${(error as Error).message})`);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    return fail('expected a JSON object such as {"interval":30,"intervalUnit":"MINUTES","startTimeOfDay":"09:00:00","endTimeOfDay":"18:00:00"}');
  }
  const form = parsed as Record<string, unknown>;

  // PowerJob reads interval as a Java Long, which Jackson also accepts as a digit string.
  const interval = typeof form.interval === 'string' && /^\d+$/.test(form.interval) ? Number(form.interval) : form.interval;
  if (interval === undefined || interval === null) fail('"interval" is required');
  if (typeof interval !== 'number' || !Number.isSafeInteger(interval) || interval <= 0) {
    fail(`"interval" must be a whole number greater than 0, got ${JSON.stringify(form.interval)}`);
  }

  // PowerJob defaults a missing (or empty) unit to SECONDS.
  const unitName = form.intervalUnit === undefined || form.intervalUnit === null || form.intervalUnit === '' ? 'SECONDS' : form.intervalUnit;
  const unitSeconds = typeof unitName === 'string' ? UNIT_SECONDS.get(unitName.toUpperCase()) : undefined;
  if (unitSeconds === undefined) {
    return fail(`"intervalUnit" must be SECONDS, MINUTES or HOURS, got ${JSON.stringify(form.intervalUnit)}`);
  }
  const intervalSeconds = (interval as number) * unitSeconds;
  if (!Number.isSafeInteger(intervalSeconds)) fail(`"interval" ${String(interval)} ${unitName} is too large`);

  const startSecondOfDay = parseTimeOfDay(form.startTimeOfDay, 'startTimeOfDay', fail);
  const endSecondOfDay = parseTimeOfDay(form.endTimeOfDay, 'endTimeOfDay', fail);
  if (endSecondOfDay < startSecondOfDay) {
    fail(`"endTimeOfDay" ${String(form.endTimeOfDay)} is before "startTimeOfDay" ${String(form.startTimeOfDay)}`);
  }

  return { intervalSeconds, startSecondOfDay, endSecondOfDay, daysOfWeek: parseDaysOfWeek(form.daysOfWeek, fail) };
}

/** "HH:mm:ss" (PowerJob's TimeOfDay.from: exactly three parts) → seconds of the day. */
function parseTimeOfDay(value: unknown, key: string, fail: (problem: string) => never): number {
  if (value === undefined || value === null || value === '') fail(`"${key}" is required, e.g. "09:00:00"`);
  const match = typeof value === 'string' ? /^(\d{1,2}):(\d{1,2}):(\d{1,2})$/.exec(value) : null;
  if (!match) return fail(`"${key}" must be a time of day HH:mm:ss, got ${JSON.stringify(value)}`);
  const [hour, minute, second] = [Number(match[1]), Number(match[2]), Number(match[3])];
  if (hour > 23 || minute > 59 || second > 59) {
    fail(`"${key}" ${String(value)} is not a time of day: hour must be 0-23, minute and second 0-59`);
  }
  return (hour * 60 + minute) * 60 + second;
}

/** PowerJob numbers days 1 = Monday .. 7 = Sunday; missing or empty means every day. */
function parseDaysOfWeek(value: unknown, fail: (problem: string) => never): number[] {
  if (value === undefined || value === null || (Array.isArray(value) && value.length === 0)) return [0, 1, 2, 3, 4, 5, 6];
  if (!Array.isArray(value)) return fail(`"daysOfWeek" must be a list of days 1-7 (1 = Monday, 7 = Sunday), got ${JSON.stringify(value)}`);
  const days = new Set<number>();
  for (const day of value) {
    if (typeof day !== 'number' || !Number.isInteger(day) || day < 1 || day > 7) {
      fail(`"daysOfWeek" value ${JSON.stringify(day)}: days must be 1-7 (1 = Monday, 7 = Sunday)`);
    }
    days.add((day as number) % 7); // 7 = Sunday → 0
  }
  return [...days].sort((a, b) => a - b);
}

/** Seconds-of-day of every fire in a day, ascending. */
export function dailyTimesOfDay(d: DailyTimeInterval): number[] {
  const times: number[] = [];
  for (let second = d.startSecondOfDay; second <= d.endSecondOfDay; second += d.intervalSeconds) times.push(second);
  return times;
}

function* dailySecondsFrom(d: DailyTimeInterval, fromSecond: number): Generator<number> {
  // Jump straight to the first grid point at or after fromSecond.
  const skipped = Math.max(0, Math.ceil((fromSecond - d.startSecondOfDay) / d.intervalSeconds));
  for (let second = d.startSecondOfDay + skipped * d.intervalSeconds; second <= d.endSecondOfDay; second += d.intervalSeconds) {
    yield second;
  }
}

/** The next `count` fire instants strictly after `afterMs`, ascending; same DST rules as CRON (see fire-search.ts). */
export function nextDailyFires(d: DailyTimeInterval, timeZone: string, afterMs: number, count: number): number[] {
  return nextWallClockFires(
    {
      matchesMonth: () => true,
      matchesDate: (year, month, day) => d.daysOfWeek.includes(dayOfWeek(year, month, day)),
      secondsOfDay: (fromSecond) => dailySecondsFrom(d, fromSecond),
      lastYear: d.daysOfWeek.length === 0 ? 0 : LAST_SEARCH_YEAR, // no days: nothing to search for
    },
    timeZone,
    afterMs,
    count,
  );
}
