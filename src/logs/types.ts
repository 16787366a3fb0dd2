/**
 * Instance log lines: what a processor writes through `ctx.logger`, shipped by its worker to
 * the API and kept in the log store (docs/architecture.md, "Instance logs"). Pure shapes,
 * shared by the worker SDK (which ships them), the API (which receives and reads them) and
 * the store.
 */

/** PowerJob's LogLevel codes (DEBUG=1 … ERROR=4; OFF=99 logs nothing). */
export const LOG_LEVELS = { DEBUG: 1, INFO: 2, WARN: 3, ERROR: 4 } as const;
export type LogLevelName = keyof typeof LOG_LEVELS;
export const LOG_LEVEL_OFF = 99;

/** PowerJob's LogType codes: where a job's lines go (unknown or absent → ONLINE). */
export const LOG_TYPES = { ONLINE: 1, LOCAL: 2, STDOUT: 3, LOCAL_AND_ONLINE: 4, NULL: 999 } as const;
export type LogTypeName = keyof typeof LOG_TYPES;

/**
 * One line as a worker ships it. A line is the same line when (instanceId, attempt, workerId,
 * stream, seq) is: `stream` is the shipping process's own random id (a restarted worker with
 * the same workerId starts a new stream), `seq` counts from 1 per (instance, attempt) in
 * that stream, in the order the processor wrote the lines.
 */
export interface ShippedLogLine {
  instanceId: number;
  /** The instance attempt (PowerJob's runningTimes) the line was written in. */
  attempt: number;
  /** Broadcast steps and map tasks: PowerJob's task id; null for a STANDALONE attempt and for appended lines. */
  taskId: string | null;
  workerId: string;
  stream: string;
  seq: number;
  level: LogLevelName;
  /** Epoch ms when the processor wrote it. */
  time: number;
  message: string;
  /** Structured fields given with the message, if any. */
  fields: Record<string, unknown> | null;
}

/** A line as stored: with its app and the store's id, which orders an instance's lines as they arrived. */
export interface StoredLogLine extends ShippedLogLine {
  id: number;
  appId: number;
}

/** One line as the live tail sends it (an SSE event's data; the event id is `id`). */
export interface TailLine {
  id: number;
  time: number;
  level: LogLevelName;
  attempt: number;
  workerId: string;
  taskId: string | null;
  message: string;
  fields: Record<string, unknown> | null;
  /** The line as fetchInstanceLog formats it. */
  text: string;
}
