import { randomUUID } from 'node:crypto';
import { isFinished } from '../domain/enums.js';
import { formatLogLine } from '../logs/format.js';
import type { TempojobMetrics } from '../metrics/metrics.js';
import type { LogFilter, LogStore } from '../logs/store.js';
import { LOG_LEVELS, type LogLevelName, type ShippedLogLine, type StoredLogLine, type TailLine } from '../logs/types.js';
import type { AuthenticatedApp } from './auth.js';
import type { Idempotency } from './idempotency.js';
import type { InstanceOwners } from './instance-owners.js';
import type { InstanceService } from './instance-service.js';

/** PowerJob's page of an instance log: 100 lines. */
export const LOG_PAGE_LINES = 100;
/** The worker id of lines appended through the API (appendInstanceLog). */
export const APPENDED_BY = 'api';

export function tailLineOf(line: StoredLogLine): TailLine {
  const { id, time, level, attempt, workerId, taskId, message, fields } = line;
  return { id, time, level, attempt, workerId, taskId, message, fields, text: formatLogLine(line) };
}

/**
 * Instance logs through the API: what workers ship, what outside systems append, pages,
 * the live tail and the download. Every call first checks that the instance is the caller's
 * (another app's instance answers as not found, as everywhere), then reads or writes the
 * store only under the caller's app id.
 */
export class LogService {
  constructor(
    private readonly store: LogStore,
    private readonly instances: InstanceService,
    private readonly owners: InstanceOwners,
    private readonly metrics?: TempojobMetrics,
  ) {}

  /** NotFoundError unless the instance is the app's (known to this replica, or read from Temporal). */
  async own(app: AuthenticatedApp, instanceId: number): Promise<void> {
    if (this.owners.appOf(instanceId) === app.appId) return;
    await this.instances.get(app, instanceId);
  }

  /** A worker's shipment: every instance in it must be the worker's app's; lines already stored are skipped. */
  async ship(app: AuthenticatedApp, lines: ShippedLogLine[]): Promise<{ stored: number; duplicates: number }> {
    for (const instanceId of new Set(lines.map((line) => line.instanceId))) await this.own(app, instanceId);
    const result = await this.store.append(app.appId, lines);
    if (this.metrics) {
      this.metrics.logLinesStored.labels(app.appName, 'stored').inc(result.stored);
      if (result.duplicates > 0) this.metrics.logLinesStored.labels(app.appName, 'duplicate').inc(result.duplicates);
    }
    return result;
  }

  /**
   * appendInstanceLog: lines from outside, written as worker "api" in the instance's current
   * attempt. With an Idempotency-Key, a re-sent call stores nothing twice (the key names the
   * lines' stream).
   */
  async append(app: AuthenticatedApp, request: { instanceId: number; lines: string[]; level: LogLevelName }, idempotency: Idempotency | null): Promise<{ stored: number }> {
    const instance = await this.instances.get(app, request.instanceId);
    const stream = idempotency ? `key:${idempotency.key}` : randomUUID();
    const time = Date.now();
    const { stored } = await this.store.append(app.appId, request.lines.map((message, i) => ({
      instanceId: request.instanceId, attempt: instance.instanceAttempt, taskId: null, workerId: APPENDED_BY, stream, seq: i + 1,
      level: request.level, time, message, fields: null,
    })));
    return { stored };
  }

  /** fetchInstanceLog: PowerJob's StringPage, `data` the page's lines as text. */
  async page(app: AuthenticatedApp, instanceId: number, filter: LogFilter, index: number): Promise<{ index: number; totalPages: number; data: string }> {
    await this.own(app, instanceId);
    const { lines, total } = await this.store.read(app.appId, instanceId, filter, index * LOG_PAGE_LINES, LOG_PAGE_LINES);
    return { index, totalPages: Math.ceil(total / LOG_PAGE_LINES), data: lines.map(formatLogLine).join('\n') };
  }

  /** Every line under the filter, in store order, read `batch` at a time after the last one read (the download). */
  async *all(app: AuthenticatedApp, instanceId: number, filter: LogFilter, batch = 2_000): AsyncGenerator<StoredLogLine[]> {
    await this.own(app, instanceId);
    for (let last = 0; ;) {
      const read = await this.after(app, instanceId, filter, last, batch);
      if (read.lines.length > 0) yield read.lines;
      if (!read.full) return;
      last = read.last;
    }
  }

  /** Lines after `afterId` that pass the filter (the live tail), and the id to go on from. */
  async after(app: AuthenticatedApp, instanceId: number, filter: LogFilter, afterId: number, limit: number): Promise<{ lines: StoredLogLine[]; last: number; full: boolean }> {
    const lines = await this.store.after(app.appId, instanceId, afterId, limit);
    return { lines: lines.filter((line) => matches(line, filter)), last: lines.at(-1)?.id ?? afterId, full: lines.length === limit };
  }

  /** Whether the instance has finished (the live tail ends after its last lines). */
  async finished(app: AuthenticatedApp, instanceId: number): Promise<boolean> {
    return isFinished((await this.instances.get(app, instanceId)).status);
  }
}

function matches(line: StoredLogLine, filter: LogFilter): boolean {
  return (filter.attempt === undefined || line.attempt === filter.attempt)
    && (filter.workerId === undefined || line.workerId === filter.workerId)
    && (filter.taskId === undefined || line.taskId === filter.taskId)
    && (filter.minLevel === undefined || LOG_LEVELS[line.level] >= LOG_LEVELS[filter.minLevel]);
}
