/**
 * The search shared by CRON and DAILY_TIME_INTERVAL: both describe fire times
 * as wall-clock times on matching dates. Walking dates (not seconds) keeps
 * sparse schedules fast, and converting each wall time with the day's zone
 * offsets applies one DST rule everywhere:
 *   - a wall time inside a spring-forward gap never happens, so it does not fire;
 *   - a wall time that happens twice (fall-back) fires once, at its first occurrence.
 */
import { civilFromDays, daysFromCivil, daysInMonth, MS_PER_DAY } from './calendar.js';
import { instantsOfWallTime, offsetWindowForDay, toWallTime } from './zoned-time.js';

/** Searches stop after this year: a schedule with no fire before it has none at all (CRON years end at 2099). */
export const LAST_SEARCH_YEAR = 2199;

export interface WallClockSchedule {
  /** Whether any date of this month can match; lets the search skip whole months (and so years). */
  matchesMonth(year: number, month: number): boolean;
  /** Whether the schedule fires at all on this civil date. */
  matchesDate(year: number, month: number, day: number): boolean;
  /** Seconds of the day (0-86399) at which it fires on a matching date, ascending, from `fromSecond` on. */
  secondsOfDay(fromSecond: number): Iterable<number>;
  /** No date after this year matches. */
  lastYear: number;
}

/** The next `count` fire instants strictly after `afterMs`, ascending; fewer if the schedule runs out. */
export function nextWallClockFires(
  schedule: WallClockSchedule,
  timeZone: string,
  afterMs: number,
  count: number,
): number[] {
  const fires: number[] = [];
  if (!(count > 0)) return fires;
  const start = toWallTime(afterMs, timeZone);
  const firstDay = daysFromCivil(start.year, start.month, start.day);
  // Earlier wall times of the start date already happened (or fell into a gap),
  // so the first day's search starts at the current wall second.
  const firstSecond = (start.hour * 60 + start.minute) * 60 + start.second;
  const lastYear = Math.min(schedule.lastYear, LAST_SEARCH_YEAR);

  for (let dayNumber = firstDay; ; dayNumber++) {
    const { year, month, day } = civilFromDays(dayNumber);
    if (year > lastYear) return fires;
    if (!schedule.matchesMonth(year, month)) {
      dayNumber += daysInMonth(year, month) - day; // to the month's last day; the loop steps past it
      continue;
    }
    if (!schedule.matchesDate(year, month, day)) continue;
    const offsets = offsetWindowForDay(timeZone, dayNumber);
    const midnight = dayNumber * MS_PER_DAY;
    for (const second of schedule.secondsOfDay(dayNumber === firstDay ? firstSecond : 0)) {
      const first = instantsOfWallTime(midnight + second * 1000, offsets)[0];
      // `first <= afterMs` also drops the second occurrence of an overlapped
      // wall time whose first occurrence was before afterMs.
      if (first === undefined || first <= afterMs) continue;
      fires.push(first);
      if (fires.length >= count) return fires;
    }
  }
}
