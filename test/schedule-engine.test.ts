import { describe, expect, it } from 'vitest';
import { cronMatches, cronMatchesDate, nextCronFires } from '../src/domain/schedule/cron.js';
import { parseCron } from '../src/domain/schedule/cron-parser.js';
import { dailyTimesOfDay, nextDailyFires, parseDailyTimeInterval } from '../src/domain/schedule/daily-interval.js';
import { TimeExpressionError } from '../src/domain/schedule/errors.js';
import { fromWallTime, isValidTimeZone, toWallTime } from '../src/domain/schedule/zoned-time.js';
import { isNewestDueFire, parseTimeExpression } from '../src/domain/time-expression.js';

/**
 * Renders an instant in the UTC offset written in `like`, so an actual fire
 * compares with the table's ISO string character for character and a
 * mismatch shows both as wall times.
 */
function renderLike(ms: number, like: string): string {
  const match = /([+-])(\d\d):(\d\d)$/.exec(like);
  const offsetMinutes = match ? (match[1] === '-' ? -1 : 1) * (Number(match[2]) * 60 + Number(match[3])) : 0;
  const wall = new Date(ms + offsetMinutes * 60_000).toISOString().slice(0, 19);
  return wall + (match ? match[0] : 'Z');
}

const render = (fires: number[], expected: string[]): string[] =>
  fires.map((ms, i) => renderLike(ms, expected[i] ?? 'Z'));

interface FireCase {
  what: string;
  expr: string;
  zone: string;
  after: string;
  expected: string[];
  /** Ask for more fires than expected, to show the search stops. */
  count?: number;
}

const cronCases: FireCase[] = [
  {
    what: 'every second (milliseconds in `after` are past the first second)',
    expr: '* * * * * ?', zone: 'UTC', after: '2024-01-01T00:00:00.500Z',
    expected: ['2024-01-01T00:00:01Z', '2024-01-01T00:00:02Z', '2024-01-01T00:00:03Z'],
  },
  {
    what: 'every 15 minutes in office hours, Friday evening to Monday',
    expr: '0 0/15 9-17 ? * MON-FRI', zone: 'Asia/Shanghai', after: '2024-03-01T17:40:00+08:00',
    expected: ['2024-03-01T17:45:00+08:00', '2024-03-04T09:00:00+08:00', '2024-03-04T09:15:00+08:00'],
  },
  {
    what: 'L = last day of the month (leap February)',
    expr: '0 0 12 L * ?', zone: 'UTC', after: '2024-01-15T00:00:00Z',
    expected: ['2024-01-31T12:00:00Z', '2024-02-29T12:00:00Z', '2024-03-31T12:00:00Z', '2024-04-30T12:00:00Z'],
  },
  {
    what: 'L-2 = two days before the last day',
    expr: '0 0 12 L-2 * ?', zone: 'UTC', after: '2024-01-15T00:00:00Z',
    expected: ['2024-01-29T12:00:00Z', '2024-02-27T12:00:00Z', '2024-03-29T12:00:00Z'],
  },
  {
    what: 'LW = last weekday (31 Mar and 30 Jun 2024 are Sundays)',
    expr: '0 0 12 LW * ?', zone: 'UTC', after: '2024-03-01T00:00:00Z',
    expected: ['2024-03-29T12:00:00Z', '2024-04-30T12:00:00Z', '2024-05-31T12:00:00Z', '2024-06-28T12:00:00Z'],
  },
  {
    what: '15W: Saturday 15 Jun → Friday 14th, Sunday 15 Sep → Monday 16th',
    expr: '0 0 12 15W * ?', zone: 'UTC', after: '2024-06-01T00:00:00Z',
    expected: ['2024-06-14T12:00:00Z', '2024-07-15T12:00:00Z', '2024-08-15T12:00:00Z', '2024-09-16T12:00:00Z'],
  },
  {
    what: '1W: Saturday 1 Jun → Monday 3rd (never back into May); Sunday 1 Sep → Monday 2nd',
    expr: '0 0 12 1W * ?', zone: 'UTC', after: '2024-05-15T00:00:00Z',
    expected: ['2024-06-03T12:00:00Z', '2024-07-01T12:00:00Z', '2024-08-01T12:00:00Z', '2024-09-02T12:00:00Z'],
  },
  {
    what: '30W: Sunday 30 Jun is the last day → Friday 28th',
    expr: '0 0 12 30W * ?', zone: 'UTC', after: '2024-06-01T00:00:00Z',
    expected: ['2024-06-28T12:00:00Z', '2024-07-30T12:00:00Z'],
  },
  {
    what: '31W skips 30-day months; Saturday 31 Aug → Friday 30th',
    expr: '0 0 12 31W * ?', zone: 'UTC', after: '2024-04-01T00:00:00Z',
    expected: ['2024-05-31T12:00:00Z', '2024-07-31T12:00:00Z', '2024-08-30T12:00:00Z'],
  },
  {
    what: '6L = last Friday of the month',
    expr: '0 0 12 ? * 6L', zone: 'UTC', after: '2024-01-01T00:00:00Z',
    expected: ['2024-01-26T12:00:00Z', '2024-02-23T12:00:00Z', '2024-03-29T12:00:00Z'],
  },
  {
    what: '6#3 = third Friday',
    expr: '0 0 12 ? * 6#3', zone: 'UTC', after: '2024-01-01T00:00:00Z',
    expected: ['2024-01-19T12:00:00Z', '2024-02-16T12:00:00Z', '2024-03-15T12:00:00Z'],
  },
  {
    what: 'MON#5 only fires in months with five Mondays',
    expr: '0 0 12 ? * mon#5', zone: 'UTC', after: '2024-01-01T00:00:00Z',
    expected: ['2024-01-29T12:00:00Z', '2024-04-29T12:00:00Z', '2024-07-29T12:00:00Z', '2024-09-30T12:00:00Z'],
  },
  {
    what: 'Quartz with both day fields restricted (PowerJob #382): Friday the 13th',
    expr: '0 0 12 13 * FRI', zone: 'UTC', after: '2024-01-01T00:00:00Z',
    expected: ['2024-09-13T12:00:00Z', '2024-12-13T12:00:00Z', '2025-06-13T12:00:00Z'],
  },
  {
    what: 'year field: stops when the years run out',
    expr: '0 0 0 1 1 ? 2026,2028', zone: 'Europe/Berlin', after: '2024-06-01T00:00:00+02:00', count: 5,
    expected: ['2026-01-01T00:00:00+01:00', '2028-01-01T00:00:00+01:00'],
  },
  {
    what: 'year field entirely in the past: no fires',
    expr: '0 0 0 * * ? 2020-2023', zone: 'UTC', after: '2024-01-01T00:00:00Z', count: 3,
    expected: [],
  },
  {
    what: 'a date that never exists: no fires, search ends',
    expr: '0 0 0 30 2 ?', zone: 'UTC', after: '2024-01-01T00:00:00Z', count: 3,
    expected: [],
  },
  {
    what: 'February 29 only in leap years',
    expr: '0 0 9 29 2 ?', zone: 'Europe/Berlin', after: '2023-01-01T00:00:00+01:00',
    expected: ['2024-02-29T09:00:00+01:00', '2028-02-29T09:00:00+01:00', '2032-02-29T09:00:00+01:00'],
  },
  {
    what: 'February 29 after 2096: 2100 is not a leap year',
    expr: '0 0 9 29 2 ?', zone: 'UTC', after: '2096-03-01T00:00:00Z',
    expected: ['2104-02-29T09:00:00Z'],
  },
  {
    what: 'standard 5-field: day of month OR day of week (the 13th or any Friday)',
    expr: '0 12 13 * 5', zone: 'UTC', after: '2024-09-01T00:00:00Z',
    expected: [
      '2024-09-06T12:00:00Z', '2024-09-13T12:00:00Z', '2024-09-20T12:00:00Z', '2024-09-27T12:00:00Z',
      '2024-10-04T12:00:00Z', '2024-10-11T12:00:00Z', '2024-10-13T12:00:00Z',
    ],
  },
  {
    what: 'standard 5-field, day of month starting with * (Vixie): AND — days 1/11/21/31 that are Fridays',
    expr: '0 12 */10 * 5', zone: 'UTC', after: '2024-09-01T00:00:00Z',
    expected: ['2024-10-11T12:00:00Z', '2024-11-01T12:00:00Z', '2025-01-31T12:00:00Z'],
  },
  {
    what: 'standard 5-field: 7 is Sunday, like 0',
    expr: '30 8 * * 7', zone: 'UTC', after: '2024-01-01T00:00:00Z',
    expected: ['2024-01-07T08:30:00Z', '2024-01-14T08:30:00Z'],
  },
  {
    what: 'standard 5-field: MON-FRI',
    expr: '0 9 * * MON-FRI', zone: 'UTC', after: '2024-03-01T10:00:00Z',
    expected: ['2024-03-04T09:00:00Z', '2024-03-05T09:00:00Z'],
  },
  { what: '@hourly', expr: '@hourly', zone: 'UTC', after: '2024-01-03T10:20:00Z', expected: ['2024-01-03T11:00:00Z', '2024-01-03T12:00:00Z'] },
  { what: '@daily', expr: '@daily', zone: 'UTC', after: '2024-01-03T10:20:00Z', expected: ['2024-01-04T00:00:00Z', '2024-01-05T00:00:00Z'] },
  { what: '@midnight', expr: '@midnight', zone: 'UTC', after: '2024-01-03T10:20:00Z', expected: ['2024-01-04T00:00:00Z'] },
  { what: '@weekly (Sunday)', expr: '@weekly', zone: 'UTC', after: '2024-01-03T10:20:00Z', expected: ['2024-01-07T00:00:00Z', '2024-01-14T00:00:00Z'] },
  { what: '@monthly', expr: '@monthly', zone: 'UTC', after: '2024-01-03T10:20:00Z', expected: ['2024-02-01T00:00:00Z', '2024-03-01T00:00:00Z'] },
  { what: '@yearly', expr: '@yearly', zone: 'UTC', after: '2024-01-03T10:20:00Z', expected: ['2025-01-01T00:00:00Z', '2026-01-01T00:00:00Z'] },
  { what: '@annually', expr: '@ANNUALLY', zone: 'UTC', after: '2024-01-03T10:20:00Z', expected: ['2025-01-01T00:00:00Z'] },
  // DST. Europe/Berlin: 2024-03-31 02:00 → 03:00, 2024-10-27 03:00 → 02:00.
  {
    what: 'Berlin daily 02:30 across spring-forward: the missing 02:30 does not fire',
    expr: '0 30 2 * * ?', zone: 'Europe/Berlin', after: '2024-03-29T12:00:00+01:00',
    expected: ['2024-03-30T02:30:00+01:00', '2024-04-01T02:30:00+02:00', '2024-04-02T02:30:00+02:00'],
  },
  {
    what: 'Berlin daily 02:30 across fall-back: fires once, at the first (summer-time) 02:30',
    expr: '0 30 2 * * ?', zone: 'Europe/Berlin', after: '2024-10-26T12:00:00+02:00',
    expected: ['2024-10-27T02:30:00+02:00', '2024-10-28T02:30:00+01:00'],
  },
  {
    what: 'Berlin daily 02:30, asked between the two 02:30s: the repeat does not fire',
    expr: '0 30 2 * * ?', zone: 'Europe/Berlin', after: '2024-10-27T02:45:00+02:00',
    expected: ['2024-10-28T02:30:00+01:00'],
  },
  // America/New_York: 2024-03-10 02:00 EST → 03:00 EDT, 2024-11-03 02:00 EDT → 01:00 EST.
  {
    what: 'New York every 15 minutes across spring-forward',
    expr: '0 */15 * * * ?', zone: 'America/New_York', after: '2024-03-10T01:30:00-05:00',
    expected: ['2024-03-10T06:45:00Z', '2024-03-10T07:00:00Z', '2024-03-10T07:15:00Z'],
  },
  {
    what: 'New York every 15 minutes across fall-back: 01:00-01:45 fire in EDT only, then 02:00 EST',
    expr: '0 */15 * * * ?', zone: 'America/New_York', after: '2024-11-03T00:50:00-04:00',
    expected: [
      '2024-11-03T05:00:00Z', '2024-11-03T05:15:00Z', '2024-11-03T05:30:00Z', '2024-11-03T05:45:00Z',
      '2024-11-03T07:00:00Z', '2024-11-03T07:15:00Z',
    ],
  },
  {
    what: 'New York every 15 minutes, asked during the repeated hour',
    expr: '0 */15 * * * ?', zone: 'America/New_York', after: '2024-11-03T01:20:00-05:00',
    expected: ['2024-11-03T02:00:00-05:00'],
  },
  {
    what: 'Asia/Kolkata, a +05:30 zone',
    expr: '0 30 9 * * ?', zone: 'Asia/Kolkata', after: '2024-01-01T00:00:00Z',
    expected: ['2024-01-01T09:30:00+05:30', '2024-01-02T09:30:00+05:30'],
  },
  // Australia/Lord_Howe moves by half an hour: 2024-04-07 02:00 (+11) → 01:30 (+10:30),
  // 2024-10-06 02:00 (+10:30) → 02:30 (+11).
  {
    what: 'Lord Howe every 15 minutes across its half-hour fall-back',
    expr: '0 */15 * * * ?', zone: 'Australia/Lord_Howe', after: '2024-04-07T01:20:00+11:00',
    expected: ['2024-04-07T01:30:00+11:00', '2024-04-07T01:45:00+11:00', '2024-04-07T02:00:00+10:30'],
  },
  {
    what: 'Lord Howe every 15 minutes across its half-hour spring-forward',
    expr: '0 */15 * * * ?', zone: 'Australia/Lord_Howe', after: '2024-10-06T01:40:00+10:30',
    expected: ['2024-10-06T01:45:00+10:30', '2024-10-06T02:30:00+11:00', '2024-10-06T02:45:00+11:00'],
  },
];

describe('nextCronFires', () => {
  it.each(cronCases)('$what: $expr in $zone after $after', ({ expr, zone, after, expected, count }) => {
    const fires = nextCronFires(parseCron(expr), zone, Date.parse(after), count ?? expected.length);
    expect(render(fires, expected)).toEqual(expected);
  });

  it('returns 1,000 every-second fires, across a DST change, in well under 50 ms', () => {
    const cron = parseCron('* * * * * ?');
    const after = Date.parse('2024-03-31T01:59:30+01:00'); // Berlin skips 02:00-03:00 in 30 s
    nextCronFires(cron, 'Europe/Berlin', after, 1000); // warm up JIT and the zone's formatter
    const started = performance.now();
    const fires = nextCronFires(cron, 'Europe/Berlin', after, 1000);
    const elapsed = performance.now() - started;
    expect(fires).toHaveLength(1000);
    expect(renderLike(fires[28] ?? 0, '+01:00')).toBe('2024-03-31T01:59:59+01:00');
    expect(renderLike(fires[29] ?? 0, '+02:00')).toBe('2024-03-31T03:00:00+02:00');
    expect(fires.every((ms, i) => i === 0 || ms > (fires[i - 1] ?? Infinity))).toBe(true);
    expect(elapsed).toBeLessThan(50);
  });

  it('ends quickly when nothing can fire before the search horizon', () => {
    const started = performance.now();
    expect(nextCronFires(parseCron('0 0 0 31 2 ?'), 'UTC', 0, 1)).toEqual([]);
    expect(performance.now() - started).toBeLessThan(1000);
  });

  it('returns nothing for a count of 0', () => {
    expect(nextCronFires(parseCron('* * * * * ?'), 'UTC', 0, 0)).toEqual([]);
  });
});

describe('parseCron', () => {
  it('parses a Quartz expression into sorted value lists', () => {
    expect(parseCron('0 0/15 9-17 ? * MON-FRI')).toEqual({
      source: '0 0/15 9-17 ? * MON-FRI',
      dialect: 'quartz',
      seconds: [0],
      minutes: [0, 15, 30, 45],
      hours: [9, 10, 11, 12, 13, 14, 15, 16, 17],
      daysOfMonth: { kind: 'any' },
      months: [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12],
      daysOfWeek: { kind: 'values', values: [1, 2, 3, 4, 5] },
      years: null,
      dayMatch: 'and',
    });
  });

  it('normalises days of week to 0 = Sunday in both dialects', () => {
    expect(parseCron('0 0 0 ? * 1,7').daysOfWeek).toEqual({ kind: 'values', values: [0, 6] });
    expect(parseCron('0 0 0 ? * sun,SAT').daysOfWeek).toEqual({ kind: 'values', values: [0, 6] });
    expect(parseCron('0 0 * * 0,7').daysOfWeek).toEqual({ kind: 'values', values: [0] });
    expect(parseCron('0 0 * * 1-7').daysOfWeek).toEqual({ kind: 'values', values: [0, 1, 2, 3, 4, 5, 6] });
    expect(parseCron('0 0 12 ? * 6L').daysOfWeek).toEqual({ kind: 'last', day: 5 });
    expect(parseCron('0 0 12 ? * FRI#3').daysOfWeek).toEqual({ kind: 'nth', day: 5, n: 3 });
    expect(parseCron('0 0 12 ? * L').daysOfWeek).toEqual({ kind: 'values', values: [6] });
  });

  it('parses the special day-of-month forms', () => {
    expect(parseCron('0 0 12 L * ?').daysOfMonth).toEqual({ kind: 'last', offset: 0 });
    expect(parseCron('0 0 12 L-3 * ?').daysOfMonth).toEqual({ kind: 'last', offset: 3 });
    expect(parseCron('0 0 12 lw * ?').daysOfMonth).toEqual({ kind: 'lastWeekday' });
    expect(parseCron('0 0 12 15W * ?').daysOfMonth).toEqual({ kind: 'nearestWeekday', day: 15 });
  });

  it('handles steps, wrapping ranges, names and years', () => {
    expect(parseCron('*/20 5/20 22-2 * NOV-FEB ?')).toMatchObject({
      seconds: [0, 20, 40], minutes: [5, 25, 45], hours: [0, 1, 2, 22, 23], months: [1, 2, 11, 12],
    });
    expect(parseCron('0 0 0 ? * FRI-MON').daysOfWeek).toEqual({ kind: 'values', values: [0, 1, 5, 6] });
    expect(parseCron('0 0 0 1-10/3 * ?').daysOfMonth).toEqual({ kind: 'values', values: [1, 4, 7, 10] });
    expect(parseCron('0 0 0 * * ? 2030-2040/5').years).toEqual([2030, 2035, 2040]);
    expect(parseCron('0 0 0 * * ? *').years).toBeNull();
  });

  it('decides how day of month and day of week combine', () => {
    expect(parseCron('0 12 13 * 5')).toMatchObject({ dialect: 'standard', seconds: [0], dayMatch: 'or' });
    expect(parseCron('0 12 * * 5').dayMatch).toBe('and');
    expect(parseCron('0 12 */2 * 5').dayMatch).toBe('and'); // Vixie: a field starting with * is unrestricted
    expect(parseCron('0 0 12 13 * FRI').dayMatch).toBe('and'); // Quartz as PowerJob runs it
  });

  it('expands macros into standard expressions, keeping the source', () => {
    expect(parseCron('@daily')).toMatchObject({
      source: '@daily', dialect: 'standard', seconds: [0], minutes: [0], hours: [0], daysOfMonth: { kind: 'any' },
    });
    expect(parseCron('@weekly').daysOfWeek).toEqual({ kind: 'values', values: [0] });
  });

  const errors: [string, RegExp][] = [
    ['0 0 12 32 * ?', /^CRON expression "0 0 12 32 \* \?": field 4 \(day of month\) "32": values must be 1-31$/],
    ['0 0 12 * * 8', /field 6 \(day of week\) "8": values must be 1-7 \(1 = SUN\) or SUN-SAT/],
    ['0 0 * * 8', /field 5 \(day of week\) "8": values must be 0-7 \(0 and 7 = SUN\) or SUN-SAT/],
    ['60 * * * * ?', /field 1 \(second\) "60": values must be 0-59/],
    ['0 60 * * * ?', /field 2 \(minute\) "60": values must be 0-59/],
    ['0 0 24 * * ?', /field 3 \(hour\) "24": values must be 0-23/],
    ['0 0 0 * 13 ?', /field 5 \(month\) "13": values must be 1-12 or JAN-DEC/],
    ['0 0 0 * FOO ?', /field 5 \(month\) "FOO": expected a number, JAN-DEC, \*/],
    ['0 0 0 ? * MON-FUN', /field 6 \(day of week\) "MON-FUN": expected a number, SUN-SAT/],
    ['0 */0 * * * ?', /field 2 \(minute\) "\*\/0": step must be a whole number 1-59/],
    ['0 1/2/3 * * * ?', /field 2 \(minute\) "1\/2\/3": a step has the form/],
    ['? * * * * ?', /field 1 \(second\) "\?": "\?" is only allowed in day of month and day of week/],
    ['0 0 0 1,,2 * ?', /field 4 \(day of month\) "1,,2": empty element in a list/],
    ['0 0 0 L,5 * ?', /field 4 \(day of month\) "L": L, L-n, LW and nW must stand alone/],
    ['0 0 0 L-31 * ?', /field 4 \(day of month\) "L-31": .*n must be 0-30/],
    ['0 0 0 32W * ?', /field 4 \(day of month\) "32W": nW needs a day of month 1-31/],
    ['0 0 0 ? * 6#6', /field 6 \(day of week\) "6#6": n#k needs a week of the month k = 1-5/],
    ['0 0 0 ? * 8L', /field 6 \(day of week\) "8L": values must be 1-7/],
    ['0 0 0 ? * 6#3,2', /field 6 \(day of week\) "6#3": L, nL and n#k must stand alone/],
    ['0 0 0 * * ? 1969', /field 7 \(year\) "1969": values must be 1970-2099/],
    ['0 0 0 * * ? 2030-2025', /field 7 \(year\) "2030-2025": a range must not end before it starts/],
    ['0 0 12', /^CRON expression "0 0 12": found 3 fields, expected 6 or 7 \(Quartz: .*\), 5 \(standard: .*\) or a macro/],
    ['', /found 0 fields/],
    ['0 0 0 * * ? 2030 extra', /found 8 fields/],
    ['@every 5m', /"@every 5m": unknown macro, expected one of @yearly @annually @monthly @weekly @daily @midnight @hourly/],
  ];
  it.each(errors)('rejects %j', (expr, message) => {
    expect(() => parseCron(expr)).toThrow(TimeExpressionError);
    expect(() => parseCron(expr)).toThrow(message);
  });
});

describe('cronMatches / cronMatchesDate', () => {
  it('answers for a wall time and for a date', () => {
    const cron = parseCron('0 0/15 9-17 ? * MON-FRI');
    expect(cronMatches(cron, toWallTime(Date.parse('2024-03-01T09:45:00+01:00'), 'Europe/Berlin'))).toBe(true);
    expect(cronMatches(cron, toWallTime(Date.parse('2024-03-01T09:46:00+01:00'), 'Europe/Berlin'))).toBe(false);
    expect(cronMatches(cron, toWallTime(Date.parse('2024-03-02T09:45:00+01:00'), 'Europe/Berlin'))).toBe(false); // Saturday
    expect(cronMatchesDate(parseCron('0 0 12 LW * ?'), 2024, 3, 29)).toBe(true);
    expect(cronMatchesDate(parseCron('0 0 12 LW * ?'), 2024, 3, 31)).toBe(false);
    expect(cronMatchesDate(parseCron('0 12 13 * 5'), 2024, 10, 13)).toBe(true); // OR: the 13th, a Sunday
    expect(cronMatchesDate(parseCron('0 0 12 13 * FRI'), 2024, 10, 13)).toBe(false); // AND
    expect(cronMatchesDate(parseCron('0 0 0 * * ? 2025'), 2024, 10, 13)).toBe(false);
  });
});

describe('zoned time', () => {
  it('converts instants to wall time', () => {
    expect(toWallTime(Date.parse('2024-10-27T00:30:00Z'), 'Europe/Berlin')).toEqual({
      year: 2024, month: 10, day: 27, hour: 2, minute: 30, second: 0, dayOfWeek: 0,
    });
    expect(toWallTime(Date.parse('2024-01-01T00:00:00Z'), 'Asia/Kolkata')).toMatchObject({ hour: 5, minute: 30 });
  });

  it('finds no instant in a gap, two in an overlap', () => {
    const at = (day: number, month: number, hour: number, minute: number, zone: string) =>
      fromWallTime({ year: 2024, month, day, hour, minute, second: 0 }, zone).map((ms) => new Date(ms).toISOString());
    expect(at(31, 3, 2, 30, 'Europe/Berlin')).toEqual([]);
    expect(at(27, 10, 2, 30, 'Europe/Berlin')).toEqual(['2024-10-27T00:30:00.000Z', '2024-10-27T01:30:00.000Z']);
    expect(at(27, 10, 3, 0, 'Europe/Berlin')).toEqual(['2024-10-27T02:00:00.000Z']);
    expect(at(6, 10, 2, 15, 'Australia/Lord_Howe')).toEqual([]);
    expect(at(7, 4, 1, 45, 'Australia/Lord_Howe')).toEqual(['2024-04-06T14:45:00.000Z', '2024-04-06T15:15:00.000Z']);
    expect(at(30, 2, 12, 0, 'UTC')).toEqual([]); // no such date
  });

  it('recognises time zones', () => {
    expect(isValidTimeZone('Europe/Berlin')).toBe(true);
    expect(isValidTimeZone('UTC')).toBe(true);
    expect(isValidTimeZone('Mars/Olympus_Mons')).toBe(false);
    expect(isValidTimeZone('')).toBe(false);
    expect(() => nextCronFires(parseCron('@daily'), 'Mars/Olympus_Mons', 0, 1)).toThrow(
      /unknown time zone "Mars\/Olympus_Mons"/,
    );
  });
});

const OFFICE_HOURS = '{"interval":30,"intervalUnit":"MINUTES","startTimeOfDay":"09:00:00","endTimeOfDay":"18:00:00","daysOfWeek":[1,2,3,4,5]}';

const dailyCases: FireCase[] = [
  {
    what: 'MINUTES, Monday-Friday, end inclusive: Friday 17:30 and 18:00, then Monday',
    expr: OFFICE_HOURS, zone: 'Asia/Shanghai', after: '2024-03-01T17:20:00+08:00',
    expected: ['2024-03-01T17:30:00+08:00', '2024-03-01T18:00:00+08:00', '2024-03-04T09:00:00+08:00', '2024-03-04T09:30:00+08:00'],
  },
  {
    what: 'SECONDS by default; window ends, next day starts again',
    expr: '{"interval":20,"startTimeOfDay":"00:00:00","endTimeOfDay":"00:01:00"}', zone: 'UTC', after: '2024-01-01T00:00:30Z',
    expected: ['2024-01-01T00:00:40Z', '2024-01-01T00:01:00Z', '2024-01-02T00:00:00Z', '2024-01-02T00:00:20Z'],
  },
  {
    what: 'HOURS: the grid stops before passing endTimeOfDay',
    expr: '{"interval":5,"intervalUnit":"HOURS","startTimeOfDay":"08:00:00","endTimeOfDay":"20:00:00"}', zone: 'UTC', after: '2024-01-01T00:00:00Z',
    expected: ['2024-01-01T08:00:00Z', '2024-01-01T13:00:00Z', '2024-01-01T18:00:00Z', '2024-01-02T08:00:00Z'],
  },
  {
    what: 'daysOfWeek [6,7] = Saturday and Sunday (PowerJob numbering, 1 = Monday)',
    expr: '{"interval":1,"intervalUnit":"HOURS","startTimeOfDay":"10:00:00","endTimeOfDay":"10:00:00","daysOfWeek":[6,7]}', zone: 'UTC', after: '2024-01-01T00:00:00Z',
    expected: ['2024-01-06T10:00:00Z', '2024-01-07T10:00:00Z', '2024-01-13T10:00:00Z'],
  },
  {
    what: 'Berlin spring-forward day: 02:00 and 02:30 do not exist',
    expr: '{"interval":30,"intervalUnit":"MINUTES","startTimeOfDay":"01:00:00","endTimeOfDay":"04:00:00"}', zone: 'Europe/Berlin', after: '2024-03-31T00:00:00+01:00',
    expected: ['2024-03-31T01:00:00+01:00', '2024-03-31T01:30:00+01:00', '2024-03-31T03:00:00+02:00', '2024-03-31T03:30:00+02:00', '2024-03-31T04:00:00+02:00'],
  },
  {
    what: 'Berlin fall-back day: 02:00 and 02:30 fire once, in summer time',
    expr: '{"interval":30,"intervalUnit":"MINUTES","startTimeOfDay":"01:30:00","endTimeOfDay":"03:00:00"}', zone: 'Europe/Berlin', after: '2024-10-27T00:00:00+02:00',
    expected: ['2024-10-27T01:30:00+02:00', '2024-10-27T02:00:00+02:00', '2024-10-27T02:30:00+02:00', '2024-10-27T03:00:00+01:00'],
  },
];

describe('DAILY_TIME_INTERVAL', () => {
  it.each(dailyCases)('$what', ({ expr, zone, after, expected }) => {
    const fires = nextDailyFires(parseDailyTimeInterval(expr), zone, Date.parse(after), expected.length);
    expect(render(fires, expected)).toEqual(expected);
  });

  it('parses PowerJob JSON', () => {
    expect(parseDailyTimeInterval(OFFICE_HOURS)).toEqual({
      intervalSeconds: 1800, startSecondOfDay: 9 * 3600, endSecondOfDay: 18 * 3600, daysOfWeek: [1, 2, 3, 4, 5],
    });
    expect(parseDailyTimeInterval('{"interval":"45","startTimeOfDay":"9:05:00","endTimeOfDay":"23:59:59","daysOfWeek":[]}')).toEqual({
      intervalSeconds: 45, startSecondOfDay: 9 * 3600 + 300, endSecondOfDay: 86_399, daysOfWeek: [0, 1, 2, 3, 4, 5, 6],
    });
    expect(parseDailyTimeInterval('{"interval":1,"intervalUnit":null,"startTimeOfDay":"00:00:00","endTimeOfDay":"00:00:00","daysOfWeek":[7,1]}').daysOfWeek).toEqual([0, 1]);
  });

  it('lists the fire times of a day, end inclusive', () => {
    const hours = parseDailyTimeInterval('{"interval":5,"intervalUnit":"HOURS","startTimeOfDay":"08:00:00","endTimeOfDay":"18:00:00"}');
    expect(dailyTimesOfDay(hours)).toEqual([8 * 3600, 13 * 3600, 18 * 3600]);
    expect(dailyTimesOfDay(parseDailyTimeInterval(OFFICE_HOURS))).toHaveLength(19);
  });

  const errors: [string, RegExp][] = [
    ['not json', /^DAILY_TIME_INTERVAL expression "not json": not valid JSON/],
    ['[1,2]', /expected a JSON object/],
    ['{"startTimeOfDay":"09:00:00","endTimeOfDay":"18:00:00"}', /"interval" is required/],
    ['{"interval":0,"startTimeOfDay":"09:00:00","endTimeOfDay":"18:00:00"}', /"interval" must be a whole number greater than 0, got 0/],
    ['{"interval":-5,"startTimeOfDay":"09:00:00","endTimeOfDay":"18:00:00"}', /"interval" must be a whole number greater than 0, got -5/],
    ['{"interval":1.5,"startTimeOfDay":"09:00:00","endTimeOfDay":"18:00:00"}', /"interval" must be a whole number greater than 0, got 1.5/],
    ['{"interval":1,"intervalUnit":"DAYS","startTimeOfDay":"09:00:00","endTimeOfDay":"18:00:00"}', /"intervalUnit" must be SECONDS, MINUTES or HOURS, got "DAYS"/],
    ['{"interval":1,"endTimeOfDay":"18:00:00"}', /"startTimeOfDay" is required/],
    ['{"interval":1,"startTimeOfDay":"09:00:00"}', /"endTimeOfDay" is required/],
    ['{"interval":1,"startTimeOfDay":"9:00","endTimeOfDay":"18:00:00"}', /"startTimeOfDay" must be a time of day HH:mm:ss, got "9:00"/],
    ['{"interval":1,"startTimeOfDay":"09:00:00","endTimeOfDay":"24:00:00"}', /"endTimeOfDay" 24:00:00 is not a time of day/],
    ['{"interval":1,"startTimeOfDay":"09:00:00","endTimeOfDay":"08:00:00"}', /"endTimeOfDay" 08:00:00 is before "startTimeOfDay" 09:00:00/],
    ['{"interval":1,"startTimeOfDay":"09:00:00","endTimeOfDay":"18:00:00","daysOfWeek":[0]}', /"daysOfWeek" value 0: days must be 1-7 \(1 = Monday, 7 = Sunday\)/],
    ['{"interval":1,"startTimeOfDay":"09:00:00","endTimeOfDay":"18:00:00","daysOfWeek":[8]}', /"daysOfWeek" value 8/],
    ['{"interval":1,"startTimeOfDay":"09:00:00","endTimeOfDay":"18:00:00","daysOfWeek":"MON"}', /"daysOfWeek" must be a list of days 1-7/],
  ];
  it.each(errors)('rejects %s', (json, message) => {
    expect(() => parseDailyTimeInterval(json)).toThrow(TimeExpressionError);
    expect(() => parseDailyTimeInterval(json)).toThrow(message);
  });
});

describe('isNewestDueFire', () => {
  const minutely = parseTimeExpression('CRON', '0 * * * * ?');
  const fire = Date.UTC(2026, 10, 22, 5, 13, 0);

  it('holds for a late fire while the next one is not due yet', () => {
    expect(isNewestDueFire(minutely, 'UTC', null, fire, fire + 59_999)).toBe(true);
  });

  it('fails once a newer fire is due: the misfire ledger decides', () => {
    expect(isNewestDueFire(minutely, 'UTC', null, fire, fire + 60_000)).toBe(false);
    expect(isNewestDueFire(parseTimeExpression('FIXED_RATE', '2000'), 'UTC', null, fire, fire + 6_000)).toBe(false);
  });

  it('holds for the last fire of a lifecycle, however late', () => {
    expect(isNewestDueFire(minutely, 'UTC', { end: fire + 30_000 }, fire, fire + 3_600_000)).toBe(true);
  });
});
