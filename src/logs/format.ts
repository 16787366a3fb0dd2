/**
 * One stored log line as one line of text, the way an operator reads an instance's log in
 * PowerJob's console: `2026-12-01 13:00:00.123 INFO [worker-a] [attempt 1] [task 0.1] message {"k":"v"}`.
 * Pure (no Node imports): the API renders it, and so may anything else.
 */
import type { StoredLogLine } from './types.js';

export function formatLogLine(line: StoredLogLine): string {
  // ISO in UTC, as `YYYY-MM-DD HH:mm:ss.SSS`.
  const time = new Date(line.time).toISOString().replace('T', ' ').replace('Z', '');
  const task = line.taskId === null ? '' : ` [task ${line.taskId}]`;
  // Escaped, so a multi-line message (a stack trace) stays one line of the text log.
  const message = line.message.replace(/\r/g, '\\r').replace(/\n/g, '\\n');
  const fields = line.fields !== null && Object.keys(line.fields).length > 0 ? ` ${JSON.stringify(line.fields)}` : '';
  return `${time} ${line.level} [${line.workerId}] [attempt ${line.attempt}]${task} ${message}${fields}`;
}
