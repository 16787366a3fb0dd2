/**
 * A CRON or DAILY_TIME_INTERVAL expression (or a time zone) that cannot be used.
 * The message is meant for the person who typed the expression: it names the
 * field, the offending token and the rule it breaks.
 */
export class TimeExpressionError extends Error {
  override readonly name = 'TimeExpressionError';
}
