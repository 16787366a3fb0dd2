/**
 * The questions the scheduler asks of a parsed CRON expression: does it match this date /
 * wall time, and when does it fire next? The model is in cron-expression.ts, parsing in
 * cron-parser.ts.
 */
import { daysInMonth, dayOfWeek } from './calendar.js';
import type { CronExpression, DayOfMonthRule, DayOfWeekRule } from './cron-expression.js';
import { LAST_SEARCH_YEAR, nextWallClockFires } from './fire-search.js';
import type { WallTime } from './zoned-time.js';

function isWeekend(year: number, month: number, day: number): boolean {
  const weekday = dayOfWeek(year, month, day);
  return weekday === 0 || weekday === 6;
}

function matchesDayOfMonth(rule: DayOfMonthRule, year: number, month: number, day: number): boolean {
  const lastDay = daysInMonth(year, month);
  switch (rule.kind) {
    case 'any':
      return true;
    case 'values':
      return rule.values.includes(day);
    case 'last':
      return day === lastDay - rule.offset;
    case 'lastWeekday': {
      let target = lastDay;
      while (isWeekend(year, month, target)) target--;
      return day === target;
    }
    case 'nearestWeekday': {
      // Quartz: 31W in a 30-day month never fires that month.
      if (rule.day > lastDay) return false;
      const weekday = dayOfWeek(year, month, rule.day);
      let target = rule.day;
      // Saturday moves to Friday and Sunday to Monday, unless that would leave
      // the month: then the 1st goes forward to Monday the 3rd and the last day
      // back to Friday.
      if (weekday === 6) target = rule.day === 1 ? 3 : rule.day - 1;
      else if (weekday === 0) target = rule.day === lastDay ? rule.day - 2 : rule.day + 1;
      return day === target;
    }
  }
}

function matchesDayOfWeek(rule: DayOfWeekRule, year: number, month: number, day: number): boolean {
  if (rule.kind === 'any') return true;
  const weekday = dayOfWeek(year, month, day);
  switch (rule.kind) {
    case 'values':
      return rule.values.includes(weekday);
    case 'last':
      return weekday === rule.day && day + 7 > daysInMonth(year, month);
    case 'nth':
      return weekday === rule.day && Math.ceil(day / 7) === rule.n;
  }
}

/** The date part only: year, month, and the day-of-month / day-of-week rules. */
export function cronMatchesDate(cron: CronExpression, year: number, month: number, day: number): boolean {
  if (cron.years !== null && !cron.years.includes(year)) return false;
  if (!cron.months.includes(month)) return false;
  if (day < 1 || day > daysInMonth(year, month)) return false;
  const byMonthDay = matchesDayOfMonth(cron.daysOfMonth, year, month, day);
  const byWeekDay = matchesDayOfWeek(cron.daysOfWeek, year, month, day);
  // 'or' only makes sense when both are restricted; an 'any' side must not
  // turn "the 1st or Monday" into "every day".
  const either = cron.dayMatch === 'or' && cron.daysOfMonth.kind !== 'any' && cron.daysOfWeek.kind !== 'any';
  return either ? byMonthDay || byWeekDay : byMonthDay && byWeekDay;
}

export function cronMatches(cron: CronExpression, wall: WallTime): boolean {
  return (
    cron.seconds.includes(wall.second) &&
    cron.minutes.includes(wall.minute) &&
    cron.hours.includes(wall.hour) &&
    cronMatchesDate(cron, wall.year, wall.month, wall.day)
  );
}

/** Every hour × minute × second combination, ascending, without building the (up to 86,400) list. */
function* cronSecondsOfDay(cron: CronExpression, fromSecond: number): Generator<number> {
  for (const hour of cron.hours) {
    if ((hour + 1) * 3600 <= fromSecond) continue;
    for (const minute of cron.minutes) {
      const minuteStart = hour * 3600 + minute * 60;
      if (minuteStart + 60 <= fromSecond) continue;
      for (const second of cron.seconds) {
        if (minuteStart + second >= fromSecond) yield minuteStart + second;
      }
    }
  }
}

/** The next `count` fire instants strictly after `afterMs`, ascending. A wall time inside a DST gap does not fire; a wall time that occurs twice (fall-back) fires once, at its first occurrence. Stops early (fewer results) if the expression has no more fires (e.g. years run out) — must terminate quickly even then (search bounded, e.g. up to year 2199). */
export function nextCronFires(cron: CronExpression, timeZone: string, afterMs: number, count: number): number[] {
  return nextWallClockFires(
    {
      matchesMonth: (year, month) => (cron.years === null || cron.years.includes(year)) && cron.months.includes(month),
      matchesDate: (year, month, day) => cronMatchesDate(cron, year, month, day),
      secondsOfDay: (fromSecond) => cronSecondsOfDay(cron, fromSecond),
      lastYear: cron.years === null ? LAST_SEARCH_YEAR : Math.max(...cron.years),
    },
    timeZone,
    afterMs,
    count,
  );
}
