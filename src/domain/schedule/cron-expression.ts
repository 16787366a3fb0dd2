/** A parsed CRON expression (Quartz 6/7-field or standard 5-field): what the parser makes and the matcher reads. */

export type DayOfMonthRule =
  | { kind: 'any' }
  | { kind: 'values'; values: number[] } // sorted, 1-31
  | { kind: 'last'; offset: number } // L (offset 0) or L-3 (3 days before the last day)
  | { kind: 'lastWeekday' } // LW: last Monday–Friday of the month
  | { kind: 'nearestWeekday'; day: number }; // 15W: weekday nearest the 15th, never crossing into another month (Quartz rules)

export type DayOfWeekRule =
  | { kind: 'any' }
  | { kind: 'values'; values: number[] } // sorted, normalised to 0=Sunday..6=Saturday
  | { kind: 'last'; day: number } // 6L in Quartz = last Friday of the month (day normalised 0..6)
  | { kind: 'nth'; day: number; n: number }; // 6#3 = third Friday (n 1-5)

export interface CronExpression {
  source: string;
  dialect: 'quartz' | 'standard';
  seconds: number[];
  minutes: number[];
  hours: number[]; // sorted allowed values
  daysOfMonth: DayOfMonthRule;
  months: number[]; // 1-12
  daysOfWeek: DayOfWeekRule;
  years: number[] | null; // null = every year
  /** How day-of-month and day-of-week combine when both are restricted: 'or' for standard 5-field (Vixie cron), 'and' for Quartz (PowerJob allows both, see its issue #382). */
  dayMatch: 'and' | 'or';
}
