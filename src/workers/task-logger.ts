import type { Logger } from '@temporalio/common';
import { MAX_LOG_LINE_LENGTH } from '../api/schemas.js';
import type { LogConfig } from '../domain/job.js';
import { LOG_LEVELS, LOG_TYPES, type LogLevelName } from '../logs/types.js';
import type { LogShipper } from './log-shipper.js';

/**
 * `ctx.logger`: PowerJob's OmsLogger. Where a line goes is the job's logConfig: the
 * instance's online log (default), the worker's own log, stdout, both or nowhere. Its
 * methods take what Temporal's Logger methods took, (message, fields), so processors
 * written against that keep compiling. A call never throws and never waits.
 */
export interface TaskLogger {
  /** As DEBUG: PowerJob has no lower level. */
  trace(message: string, fields?: Record<string, unknown>): void;
  debug(message: string, fields?: Record<string, unknown>): void;
  info(message: string, fields?: Record<string, unknown>): void;
  warn(message: string, fields?: Record<string, unknown>): void;
  error(message: string, fields?: Record<string, unknown>): void;
  /** Temporal's Logger form, level by name (TRACE as DEBUG). */
  log(level: 'TRACE' | LogLevelName, message: string, fields?: Record<string, unknown>): void;
}

/** Which attempt a TaskLogger writes for. */
export interface TaskLogScope {
  instanceId: number;
  /** The instance attempt (not a broadcast step's or map task's own attempt). */
  attempt: number;
  /** Broadcast steps and map tasks; null for a STANDALONE attempt. */
  taskId: string | null;
  /** Absent (instances started before logs existed) or null: ONLINE at INFO. */
  logConfig: LogConfig | null | undefined;
}

/** Where lines can go: `shipper` is absent when this worker has no API to ship to, then ONLINE lines go to `local`. */
export interface TaskLogSinks {
  shipper: LogShipper | undefined;
  local: Logger;
  stdout: (text: string) => void;
}

const DEFAULT_LEVEL = LOG_LEVELS.INFO;
const CUT_SUFFIX = (cut: number) => `… (cut, ${cut} characters)`;

export function taskLogger(scope: TaskLogScope, sinks: TaskLogSinks): TaskLogger {
  const minLevel = scope.logConfig?.level ?? DEFAULT_LEVEL;
  const type = scope.logConfig?.type;
  const online = type === undefined || type === LOG_TYPES.ONLINE || type === LOG_TYPES.LOCAL_AND_ONLINE ||
    !(Object.values(LOG_TYPES) as number[]).includes(type);
  const local = type === LOG_TYPES.LOCAL || type === LOG_TYPES.LOCAL_AND_ONLINE || (online && !sinks.shipper);
  const stdout = type === LOG_TYPES.STDOUT;

  const write = (level: LogLevelName, message: unknown, fields: unknown): void => {
    if (LOG_LEVELS[level] < minLevel || (!online && !local && !stdout)) return;
    try {
      const time = Date.now();
      const text = cut(typeof message === 'string' ? message : printable(message));
      const json = jsonFields(fields);
      if (online && sinks.shipper) {
        sinks.shipper.enqueue({ instanceId: scope.instanceId, attempt: scope.attempt, taskId: scope.taskId, level, time, message: text, fields: json });
      }
      if (local) {
        const meta = {
          ...json, instanceId: scope.instanceId, instanceAttempt: scope.attempt,
          ...(scope.taskId !== null ? { taskId: scope.taskId } : {}),
          // PowerJob names the local logger; Temporal's logger has no names, so the name goes with each line.
          ...(scope.logConfig?.loggerName ? { loggerName: scope.logConfig.loggerName } : {}),
        };
        const method = level.toLowerCase() as 'debug' | 'info' | 'warn' | 'error';
        sinks.local[method](text, meta);
      }
      if (stdout) {
        const task = scope.taskId !== null ? ` task ${scope.taskId}` : '';
        const extra = json ? ` ${JSON.stringify(json)}` : '';
        sinks.stdout(`${new Date(time).toISOString()} ${level} [instance ${scope.instanceId} attempt ${scope.attempt}${task}] ${text}${extra}\n`);
      }
    } catch {
      // A logger that fails must not fail the processor; there is nowhere safe left to say so.
    }
  };
  return {
    trace: (message, fields) => write('DEBUG', message, fields),
    debug: (message, fields) => write('DEBUG', message, fields),
    info: (message, fields) => write('INFO', message, fields),
    warn: (message, fields) => write('WARN', message, fields),
    error: (message, fields) => write('ERROR', message, fields),
    log: (level, message, fields) => write(level === 'TRACE' ? 'DEBUG' : level, message, fields),
  };
}

/** The API refuses longer lines; a cut line, saying so, is better than a lost one. */
function cut(text: string): string {
  if (text.length <= MAX_LOG_LINE_LENGTH) return text;
  // The suffix's own length depends on the count it states: the longest it can be is reserved.
  const keep = MAX_LOG_LINE_LENGTH - CUT_SUFFIX(text.length).length;
  return text.slice(0, keep) + CUT_SUFFIX(text.length - keep);
}

/**
 * Fields as plain JSON, whatever a processor passed: errors keep their name, message and
 * stack, bigints and other values JSON has no form for become strings, a value that cannot
 * be serialised at all (a cycle, a throwing toJSON) becomes its string form, and fields
 * longer than a line are cut like one. Not an object: kept under `value`.
 */
function jsonFields(fields: unknown): Record<string, unknown> | null {
  if (fields === undefined || fields === null) return null;
  const flat = flatCopy(fields);
  if (flat) return flat;
  const record = typeof fields === 'object' && !Array.isArray(fields) ? fields as Record<string, unknown> : { value: fields };
  let json = serialise(record);
  if (json === undefined) {
    const each = Object.fromEntries(Object.entries(record).map(([key, value]) => [key, serialise(value) === undefined ? printable(value) : value]));
    json = serialise(each) ?? '{}';
  }
  if (json.length > MAX_LOG_LINE_LENGTH) return { cut: cut(json) };
  return JSON.parse(json) as Record<string, unknown>;
}

/**
 * The common case without a JSON round trip: a plain object of strings, finite numbers,
 * booleans and nulls that is surely short enough (every character counted as its longest
 * escape), copied as JSON would have kept it (undefined values left out). Anything else:
 * undefined, for the general path.
 */
function flatCopy(fields: unknown): Record<string, unknown> | undefined {
  if (typeof fields !== 'object' || fields === null || Object.getPrototypeOf(fields) !== Object.prototype) return undefined;
  const copy: Record<string, unknown> = {};
  let length = 2;
  for (const [key, value] of Object.entries(fields)) {
    if (value === undefined) continue;
    if (typeof value === 'string') length += value.length * 6 + 3;
    else if (typeof value === 'number' && Number.isFinite(value)) length += 25;
    else if (typeof value === 'boolean' || value === null) length += 6;
    else return undefined;
    length += key.length * 6 + 3;
    copy[key] = value;
  }
  return length <= MAX_LOG_LINE_LENGTH ? copy : undefined;
}

function serialise(value: unknown): string | undefined {
  try {
    return JSON.stringify(value, (_key, v: unknown) => {
      if (v instanceof Error) return { name: v.name, message: v.message, stack: v.stack };
      if (typeof v === 'bigint' || typeof v === 'symbol' || typeof v === 'function') return v.toString();
      return v;
    });
  } catch {
    return undefined;
  }
}

function printable(value: unknown): string {
  try {
    return String(value);
  } catch {
    return Object.prototype.toString.call(value);
  }
}
