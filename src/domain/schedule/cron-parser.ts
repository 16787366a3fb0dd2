/**
 * CRON text → CronExpression. Accepts what PowerJob accepts (Quartz syntax as
 * configured in its CronTimingStrategyHandler via cron-utils) plus standard
 * 5-field cron and the @daily-style macros, and explains every rejection by
 * field, token and rule.
 */
import type { CronExpression, DayOfMonthRule, DayOfWeekRule } from './cron-expression.js';
import { TimeExpressionError } from './errors.js';

const MONTH_NAMES = ['JAN', 'FEB', 'MAR', 'APR', 'MAY', 'JUN', 'JUL', 'AUG', 'SEP', 'OCT', 'NOV', 'DEC'];
const DAY_NAMES = ['SUN', 'MON', 'TUE', 'WED', 'THU', 'FRI', 'SAT'];

interface FieldSpec {
  name: string;
  min: number;
  max: number;
  /** Names standing for min, min + 1, … (JAN-DEC, SUN-SAT). */
  names?: readonly string[];
  /** Whether a range may run past the end and start again (FRI-MON, 22-2); years do not. */
  wraps: boolean;
  /** The value rule, quoted when a value is out of range. */
  rule: string;
  /** Largest n in a step "x/n" (Quartz's limits: 59 for seconds and minutes, 23 for hours, …). */
  maxStep: number;
  /** Field-specific syntax beyond numbers, *, ranges, steps and lists, for the "expected …" hint. */
  extraSyntax?: string;
  /** Only the two day fields take "?" ("no restriction from this field"). */
  takesQuestionMark?: boolean;
}

const SECOND: FieldSpec = { name: 'second', min: 0, max: 59, maxStep: 59, wraps: true, rule: 'values must be 0-59' };
const MINUTE: FieldSpec = { name: 'minute', min: 0, max: 59, maxStep: 59, wraps: true, rule: 'values must be 0-59' };
const HOUR: FieldSpec = { name: 'hour', min: 0, max: 23, maxStep: 23, wraps: true, rule: 'values must be 0-23' };
const DAY_OF_MONTH: FieldSpec = {
  name: 'day of month', min: 1, max: 31, maxStep: 31, wraps: true, rule: 'values must be 1-31',
  extraSyntax: '?, L, L-n, LW or nW', takesQuestionMark: true,
};
const MONTH: FieldSpec = {
  name: 'month', min: 1, max: 12, maxStep: 12, names: MONTH_NAMES, wraps: true, rule: 'values must be 1-12 or JAN-DEC',
};
// Quartz counts weekdays 1-7 from Sunday; standard cron 0-7 with both 0 and 7 Sunday.
const QUARTZ_DAY_OF_WEEK: FieldSpec = {
  name: 'day of week', min: 1, max: 7, maxStep: 7, names: DAY_NAMES, wraps: true,
  rule: 'values must be 1-7 (1 = SUN) or SUN-SAT', extraSyntax: '?, L, nL or n#k', takesQuestionMark: true,
};
const STANDARD_DAY_OF_WEEK: FieldSpec = {
  ...QUARTZ_DAY_OF_WEEK, min: 0, max: 7, rule: 'values must be 0-7 (0 and 7 = SUN) or SUN-SAT',
};
const YEAR: FieldSpec = { name: 'year', min: 1970, max: 2099, maxStep: 129, wraps: false, rule: 'values must be 1970-2099' };

// Vixie cron's macros, as the 5-field expressions they stand for.
const MACROS = new Map([
  ['@yearly', '0 0 1 1 *'],
  ['@annually', '0 0 1 1 *'],
  ['@monthly', '0 0 1 * *'],
  ['@weekly', '0 0 * * 0'],
  ['@daily', '0 0 * * *'],
  ['@midnight', '0 0 * * *'],
  ['@hourly', '0 * * * *'],
]);

/** One field of the expression, kept together so every error can point at it. */
interface Field {
  source: string;
  position: number; // 1-based, as written
  text: string; // upper-cased, so names and L/W/# are case-insensitive
  spec: FieldSpec;
}

function fail(field: Field, token: string, problem: string): never {
  throw new TimeExpressionError(
    `CRON expression "${field.source}": field ${field.position} (${field.spec.name}) "${token}": ${problem}`,
  );
}

function syntaxHint(spec: FieldSpec): string {
  const names = spec.names ? `, ${spec.names[0]}-${spec.names[spec.names.length - 1]}` : '';
  const extra = spec.extraSyntax ? `, ${spec.extraSyntax}` : '';
  return `expected a number${names}, *, a range a-b, a step */n, a/n or a-b/n, a list a,b${extra}`;
}

/** A single value: digits or a name, checked against the field's range. */
function parseValue(field: Field, token: string, item: string): number {
  const { spec } = field;
  let value: number;
  if (/^\d+$/.test(token)) value = Number(token);
  else if (spec.names?.includes(token)) value = spec.min + spec.names.indexOf(token);
  else return fail(field, item, syntaxHint(spec));
  if (value < spec.min || value > spec.max) fail(field, item, spec.rule);
  return value;
}

/**
 * Numbers, names, *, ranges, steps and lists → the sorted allowed values, in
 * the field's own numbering. `*` and `?` return null ("unrestricted").
 */
function parseValues(field: Field): number[] | null {
  const { spec, text } = field;
  if (text === '*') return null;
  if (text === '?') {
    if (spec.takesQuestionMark) return null;
    fail(field, text, '"?" is only allowed in day of month and day of week');
  }
  const span = spec.max - spec.min + 1;
  const values = new Set<number>();
  for (const item of text.split(',')) {
    if (item === '') fail(field, text, 'empty element in a list');
    const [range = '', step, extra] = item.split('/');
    if (extra !== undefined || range === '') fail(field, item, 'a step has the form */n, a/n or a-b/n');
    let stepSize = 1;
    if (step !== undefined) {
      if (!/^\d+$/.test(step) || Number(step) < 1 || Number(step) > spec.maxStep) {
        fail(field, item, `step must be a whole number 1-${spec.maxStep}`);
      }
      stepSize = Number(step);
    }
    let from: number;
    let to: number;
    if (range === '*') {
      [from, to] = [spec.min, spec.max];
    } else if (range.includes('-')) {
      const [a = '', b = '', more] = range.split('-');
      if (a === '' || b === '' || more !== undefined) fail(field, item, syntaxHint(spec));
      [from, to] = [parseValue(field, a, item), parseValue(field, b, item)];
      if (from > to && !spec.wraps) fail(field, item, 'a range must not end before it starts');
    } else {
      from = parseValue(field, range, item);
      // Quartz: "5/15" means from 5 to the end of the range in steps of 15.
      to = step === undefined ? from : spec.max;
    }
    // A wrapping range (22-2) runs to the end of the field and starts again.
    const length = from <= to ? to - from + 1 : span - from + to + 1;
    for (let i = 0; i < length; i += stepSize) {
      values.add(spec.min + ((from - spec.min + i) % span));
    }
  }
  return [...values].sort((x, y) => x - y);
}

function fullRange(spec: FieldSpec): number[] {
  return Array.from({ length: spec.max - spec.min + 1 }, (_, i) => spec.min + i);
}

function parseDayOfMonth(field: Field): DayOfMonthRule {
  const { text } = field;
  if (text === 'L') return { kind: 'last', offset: 0 };
  if (text === 'LW') return { kind: 'lastWeekday' };
  const lastMinus = /^L-(\d+)$/.exec(text);
  if (lastMinus) {
    const offset = Number(lastMinus[1]);
    if (offset > 30) fail(field, text, 'L-n counts days back from the last day of the month, n must be 0-30');
    return { kind: 'last', offset };
  }
  const weekday = /^(\d+)W$/.exec(text);
  if (weekday) {
    const day = Number(weekday[1]);
    if (day < 1 || day > 31) fail(field, text, 'nW needs a day of month 1-31, e.g. 15W');
    return { kind: 'nearestWeekday', day };
  }
  for (const item of text.split(',')) {
    if (/^(L|L-\d+|LW|\d+W)$/.test(item)) fail(field, item, 'L, L-n, LW and nW must stand alone, not in a list');
  }
  const values = parseValues(field);
  return values === null ? { kind: 'any' } : { kind: 'values', values };
}

function parseDayOfWeek(field: Field): DayOfWeekRule {
  const { text, spec } = field;
  // Both dialects name Sunday first; only the number of Sunday differs (1 vs 0).
  const normalise = (value: number): number => (spec.min === 1 ? value - 1 : value % 7);
  // Quartz: a lone L is the last day of the week, Saturday.
  if (text === 'L') return { kind: 'values', values: [6] };
  const last = /^(\d+|[A-Z]{3})L$/.exec(text);
  if (last) return { kind: 'last', day: normalise(parseValue(field, last[1] ?? '', text)) };
  const nth = /^(\d+|[A-Z]{3})#(\d*)$/.exec(text);
  if (nth) {
    const day = normalise(parseValue(field, nth[1] ?? '', text));
    const n = Number(nth[2]);
    if (nth[2] === '' || n < 1 || n > 5) fail(field, text, 'n#k needs a week of the month k = 1-5, e.g. 6#3 (third Friday)');
    return { kind: 'nth', day, n };
  }
  for (const item of text.split(',')) {
    if (/^(\d+|[A-Z]{3})?(L|#\d*)$/.test(item)) fail(field, item, 'L, nL and n#k must stand alone, not in a list');
  }
  const values = parseValues(field);
  if (values === null) return { kind: 'any' };
  return { kind: 'values', values: [...new Set(values.map(normalise))].sort((x, y) => x - y) };
}

function parseFields(tokens: string[], dialect: 'quartz' | 'standard', source: string, quoted: string): CronExpression {
  const quartz = dialect === 'quartz';
  const specs = quartz
    ? [SECOND, MINUTE, HOUR, DAY_OF_MONTH, MONTH, QUARTZ_DAY_OF_WEEK, YEAR]
    : [MINUTE, HOUR, DAY_OF_MONTH, MONTH, STANDARD_DAY_OF_WEEK];
  const fields = tokens.map((token, i): Field => {
    const spec = specs[i];
    if (spec === undefined) throw new Error('unreachable: field count was checked');
    return { source: quoted, position: i + 1, text: token.toUpperCase(), spec };
  });
  const field = (spec: FieldSpec): Field | undefined => fields.find((f) => f.spec === spec);
  const values = (spec: FieldSpec): number[] => {
    const f = field(spec);
    return f === undefined ? [0] : (parseValues(f) ?? fullRange(spec));
  };
  const dayOfMonthField = field(DAY_OF_MONTH);
  const dayOfWeekField = field(quartz ? QUARTZ_DAY_OF_WEEK : STANDARD_DAY_OF_WEEK);
  if (dayOfMonthField === undefined || dayOfWeekField === undefined) throw new Error('unreachable: day fields present');
  const yearField = field(YEAR);

  // Vixie cron: when both day fields are restricted a day matches either one.
  // "Restricted" is judged as Vixie does, by the field not starting with * (or
  // being ?), so "*/2" counts as unrestricted. Quartz/PowerJob require both.
  const unrestricted = (f: Field): boolean => f.text.startsWith('*') || f.text === '?';
  const dayMatch = !quartz && !unrestricted(dayOfMonthField) && !unrestricted(dayOfWeekField) ? 'or' : 'and';

  return {
    source,
    dialect,
    seconds: values(SECOND), // standard cron has no seconds field: [0]
    minutes: values(MINUTE),
    hours: values(HOUR),
    daysOfMonth: parseDayOfMonth(dayOfMonthField),
    months: values(MONTH),
    daysOfWeek: parseDayOfWeek(dayOfWeekField),
    years: yearField === undefined ? null : parseValues(yearField),
    dayMatch,
  };
}

export function parseCron(text: string): CronExpression {
  const quoted = text.trim();
  if (quoted.startsWith('@')) {
    const expansion = MACROS.get(quoted.toLowerCase());
    if (expansion === undefined) {
      throw new TimeExpressionError(`CRON expression "${quoted}": unknown macro, expected one of ${[...MACROS.keys()].join(' ')}`);
    }
    return parseFields(expansion.split(' '), 'standard', text, quoted);
  }
  const tokens = quoted === '' ? [] : quoted.split(/\s+/);
  if (tokens.length === 6 || tokens.length === 7) return parseFields(tokens, 'quartz', text, quoted);
  if (tokens.length === 5) return parseFields(tokens, 'standard', text, quoted);
  throw new TimeExpressionError(
    `CRON expression "${quoted}": found ${tokens.length} field${tokens.length === 1 ? '' : 's'}, expected ` +
      '6 or 7 (Quartz: second minute hour day-of-month month day-of-week [year]), ' +
      '5 (standard: minute hour day-of-month month day-of-week) or a macro such as @daily',
  );
}
