/**
 * Wall-clock time in an IANA time zone, using only Intl.DateTimeFormat (which
 * Temporal's workflow sandbox provides) and integer arithmetic.
 *
 * Intl only converts instant → wall time. The reverse (wall time → instants)
 * is found by asking for the zone's offset on both sides of the wall time and,
 * if they differ, bisecting for the instant the offset changes. That yields the
 * DST rules the schedules need: a wall time inside a spring-forward gap maps to
 * no instant, one inside a fall-back overlap to two.
 */
import { daysFromCivil, daysInMonth, dayOfWeek, MS_PER_DAY } from './calendar.js';
import { TimeExpressionError } from './errors.js';

export interface WallTime {
  year: number;
  month: number; // 1-12
  day: number;
  hour: number;
  minute: number;
  second: number;
  dayOfWeek: number; // 0 = Sunday .. 6 = Saturday
}

const MS_PER_HOUR = 3_600_000;

/**
 * No zone's offset is beyond ±16 h, so every instant whose wall clock shows a
 * given time lies within this distance of that wall time read as if it were UTC.
 */
const MAX_OFFSET_MS = 16 * MS_PER_HOUR;

// Building a DateTimeFormat is far more expensive than using one, and the
// engine formats thousands of instants per search; zones are few.
const formatters = new Map<string, Intl.DateTimeFormat>();

function formatterFor(timeZone: string): Intl.DateTimeFormat {
  let formatter = formatters.get(timeZone);
  if (formatter === undefined) {
    try {
      formatter = new Intl.DateTimeFormat('en-US', {
        timeZone,
        calendar: 'gregory',
        numberingSystem: 'latn',
        hourCycle: 'h23', // 'hour12: false' may print midnight as 24
        year: 'numeric',
        month: 'numeric',
        day: 'numeric',
        hour: 'numeric',
        minute: 'numeric',
        second: 'numeric',
      });
    } catch {
      throw new TimeExpressionError(`unknown time zone "${timeZone}": expected an IANA name such as "Europe/Berlin" or "UTC"`);
    }
    formatters.set(timeZone, formatter);
  }
  return formatter;
}

export function isValidTimeZone(timeZone: string): boolean {
  if (timeZone === '') return false;
  try {
    formatterFor(timeZone);
    return true;
  } catch {
    return false;
  }
}

export function toWallTime(epochMs: number, timeZone: string): WallTime {
  const fields = { year: 0, month: 0, day: 0, hour: 0, minute: 0, second: 0 };
  for (const part of formatterFor(timeZone).formatToParts(epochMs)) {
    if (part.type in fields) fields[part.type as keyof typeof fields] = Number(part.value);
  }
  return { ...fields, dayOfWeek: dayOfWeek(fields.year, fields.month, fields.day) };
}

/** The wall time read as if it were UTC: the instant's epoch ms plus the zone offset. */
export function wallTimeAsUtcMs(wall: Omit<WallTime, 'dayOfWeek'>): number {
  return (
    daysFromCivil(wall.year, wall.month, wall.day) * MS_PER_DAY +
    ((wall.hour * 60 + wall.minute) * 60 + wall.second) * 1000
  );
}

/** The zone's UTC offset (ms, east positive) at an instant. */
function offsetAt(epochMs: number, timeZone: string): number {
  const wholeSecond = epochMs - (((epochMs % 1000) + 1000) % 1000); // the formatter drops milliseconds
  return wallTimeAsUtcMs(toWallTime(wholeSecond, timeZone)) - wholeSecond;
}

/**
 * The zone's offset over a window of instants: `before` until `changeAt`,
 * `after` from then on (changeAt = Infinity when the offset does not change).
 * Assumes at most one change inside the window, which holds for the ≤ 56 h
 * windows used here: real zones keep an offset for weeks at a time.
 */
export interface OffsetWindow {
  before: number;
  after: number;
  changeAt: number;
}

export function offsetWindow(timeZone: string, fromMs: number, toMs: number): OffsetWindow {
  const before = offsetAt(fromMs, timeZone);
  const after = offsetAt(toMs, timeZone);
  if (before === after) return { before, after, changeAt: Infinity };
  // tzdata transitions fall on whole seconds, so bisect over seconds.
  let lo = Math.floor(fromMs / 1000); // offset `before` here
  let hi = Math.ceil(toMs / 1000); // offset `after` here
  while (hi - lo > 1) {
    const mid = Math.floor((lo + hi) / 2);
    if (offsetAt(mid * 1000, timeZone) === before) lo = mid;
    else hi = mid;
  }
  return { before, after, changeAt: hi * 1000 };
}

/**
 * Instants (ascending) whose wall clock reads `wallMs` (a wall time read as
 * UTC), given the offsets around it. Each candidate is valid only on its side
 * of the change: in a gap neither is, in an overlap both are.
 */
export function instantsOfWallTime(wallMs: number, offsets: OffsetWindow): number[] {
  const instants: number[] = [];
  const early = wallMs - offsets.before;
  if (early < offsets.changeAt) instants.push(early);
  const late = wallMs - offsets.after;
  if (late >= offsets.changeAt && late !== early) instants.push(late);
  return instants;
}

/** Instants (epoch ms, ascending) at which the wall clock of timeZone shows this time: [] in a DST gap, 2 in a fall-back overlap. */
export function fromWallTime(wall: Omit<WallTime, 'dayOfWeek'>, timeZone: string): number[] {
  // A wall time the calendar does not have (Feb 30, 24:00) is never shown.
  const valid =
    [wall.year, wall.month, wall.day, wall.hour, wall.minute, wall.second].every(Number.isInteger) &&
    wall.month >= 1 && wall.month <= 12 &&
    wall.day >= 1 && wall.day <= daysInMonth(wall.year, wall.month) &&
    wall.hour >= 0 && wall.hour <= 23 &&
    wall.minute >= 0 && wall.minute <= 59 &&
    wall.second >= 0 && wall.second <= 59;
  if (!valid) return [];
  const wallMs = wallTimeAsUtcMs(wall);
  return instantsOfWallTime(wallMs, offsetWindow(timeZone, wallMs - MAX_OFFSET_MS, wallMs + MAX_OFFSET_MS));
}

/** Offsets covering every instant whose wall clock shows the civil day `dayNumber` (days since 1970-01-01). */
export function offsetWindowForDay(timeZone: string, dayNumber: number): OffsetWindow {
  const midnight = dayNumber * MS_PER_DAY;
  return offsetWindow(timeZone, midnight - MAX_OFFSET_MS, midnight + MS_PER_DAY + MAX_OFFSET_MS);
}
