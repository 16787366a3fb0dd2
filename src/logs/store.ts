/**
 * The instance log store: the lines processors write, shipped by their workers to the API.
 * One SQL implementation over `SqlExecutor`, so the embedded default (PGlite: PostgreSQL in
 * WebAssembly, no server) and a production PostgreSQL run the same schema and statements.
 * Every read is scoped to an app id: one app never reads another app's lines.
 */
import { applyMigrations } from './migrations.js';
import { openSqlExecutor, type SqlExecutor } from './sql.js';
import { LOG_LEVELS, type LogLevelName, type ShippedLogLine, type StoredLogLine } from './types.js';

export interface LogFilter {
  attempt?: number;
  workerId?: string;
  taskId?: string;
  minLevel?: LogLevelName;
}

export interface LogStore {
  /** Stores lines of app `appId`; a line already stored (same instanceId, attempt, workerId, stream, seq) is skipped. */
  append(appId: number, lines: ShippedLogLine[]): Promise<{ stored: number; duplicates: number }>;
  /** An instance's lines in store order (id ascending), `offset`/`limit`, with the total count under the filter. */
  read(appId: number, instanceId: number, filter: LogFilter, offset: number, limit: number): Promise<{ lines: StoredLogLine[]; total: number }>;
  /** Lines of the instance with id > afterId, in id order, at most `limit` (for a live tail). */
  after(appId: number, instanceId: number, afterId: number, limit: number): Promise<StoredLogLine[]>;
  /** Deletes lines written before `beforeMs` (their `time`); returns how many. */
  purge(beforeMs: number): Promise<number>;
  /** Rough storage size in bytes of the log table and its indexes (pg_total_relation_size), for benchmarks. */
  sizeBytes(): Promise<number>;
  close(): Promise<void>;
}

export interface LogStoreOptions {
  /** postgres://… : a real PostgreSQL server (pool via `pg`). */
  url?: string;
  /** Embedded PGlite data directory; absent with no url = in memory. */
  dataDir?: string;
}

/** Opens the store and brings its schema up to date before returning it. */
export async function openLogStore(options: LogStoreOptions): Promise<LogStore> {
  const db = await openSqlExecutor(options);
  try {
    await applyMigrations(db);
  } catch (error) {
    await db.close();
    throw error;
  }
  const store = sqlLogStore(db);
  executors.set(store, db);
  return store;
}

/** The SQL executor under each opened store: other tables of the same database (alerting) share its connection. */
const executors = new WeakMap<LogStore, SqlExecutor>();

/** The database a store opened by openLogStore runs on (its schema up to date), for the other tables kept beside the logs. */
export function sqlOfLogStore(store: LogStore): SqlExecutor {
  const db = executors.get(store);
  if (!db) throw new Error('this log store was not opened by openLogStore: it has no SQL database to share');
  return db;
}

const LEVEL_NAMES = new Map<number, LogLevelName>(Object.entries(LOG_LEVELS).map(([name, code]) => [code, name as LogLevelName]));

/** Epoch ms ↔ timestamptz, in integer arithmetic (a float division would round off milliseconds). */
const FROM_MS = (param: string): string => `(timestamptz 'epoch' + ${param} * interval '1 millisecond')`;
const SELECT_LINE = `
  SELECT id, app_id, instance_id, attempt, task_id, worker_id, stream, seq, level,
         (extract(epoch FROM time) * 1000)::bigint AS time_ms, message, fields
  FROM instance_log_lines`;

/**
 * A line as it comes back. `pg` returns bigint columns as strings and PGlite as numbers, so
 * they are typed loosely and converted (instance and line ids stay below 2^53).
 */
interface LineRow {
  id: string | number;
  app_id: string | number;
  instance_id: string | number;
  attempt: number;
  task_id: string | null;
  worker_id: string;
  stream: string;
  seq: number;
  level: number;
  time_ms: string | number;
  message: string;
  fields: Record<string, unknown> | null;
}

function toLine(row: LineRow): StoredLogLine {
  const level = LEVEL_NAMES.get(row.level);
  if (level === undefined) throw new Error(`log line ${row.id} has unknown level code ${row.level}`);
  return {
    id: Number(row.id),
    appId: Number(row.app_id),
    instanceId: Number(row.instance_id),
    attempt: row.attempt,
    taskId: row.task_id,
    workerId: row.worker_id,
    stream: row.stream,
    seq: row.seq,
    level,
    time: Number(row.time_ms),
    message: row.message,
    fields: row.fields,
  };
}

/**
 * One INSERT for a whole batch: the columns go as one array parameter each and `unnest` turns
 * them back into rows, so a batch of any size takes twelve bind parameters (a row-per-values
 * INSERT hits PostgreSQL's 65,535-parameter limit at ~5,900 lines) and one round trip. Ids
 * follow the batch's order (ORDER BY ord), which is the order the worker wrote the lines.
 */
const APPEND = `
  INSERT INTO instance_log_lines (app_id, instance_id, attempt, task_id, worker_id, stream, seq, level, time, message, fields)
  SELECT $1, u.instance_id, u.attempt, u.task_id, u.worker_id, u.stream, u.seq, u.level, ${FROM_MS('u.time_ms')}, u.message, u.fields::json
  FROM unnest($2::bigint[], $3::int[], $4::text[], $5::text[], $6::text[], $7::int[], $8::smallint[], $9::bigint[], $10::text[], $11::text[])
    WITH ORDINALITY AS u(instance_id, attempt, task_id, worker_id, stream, seq, level, time_ms, message, fields, ord)
  ORDER BY u.ord
  ON CONFLICT (instance_id, attempt, stream, seq) DO NOTHING`;

function sqlLogStore(db: SqlExecutor): LogStore {
  return {
    async append(appId, lines) {
      if (lines.length === 0) return { stored: 0, duplicates: 0 };
      // Appends to one instance take turns (a transaction lock per instance, in id order so two
      // appends never wait on each other crosswise): its lines' ids then become visible in id
      // order, and a live tail that read past an id never misses a lower one committed later.
      const instances = [...new Set(lines.map((l) => l.instanceId))].sort((a, b) => a - b);
      // Counted by the statement itself (the rows it inserted), not one row back per line.
      const stored = await db.transaction(async (tx) => {
        await tx.query('SELECT pg_advisory_xact_lock(id) FROM unnest($1::bigint[]) AS locked(id) ORDER BY id', [instances]);
        return tx.change(APPEND, [
          appId,
          lines.map((l) => l.instanceId),
          lines.map((l) => l.attempt),
          lines.map((l) => l.taskId),
          lines.map((l) => l.workerId),
          lines.map((l) => l.stream),
          lines.map((l) => l.seq),
          lines.map((l) => LOG_LEVELS[l.level]),
          lines.map((l) => l.time),
          lines.map((l) => l.message),
          // As JSON text: both drivers pass a text[] through unchanged, and SQL casts it to json.
          lines.map((l) => (l.fields === null ? null : JSON.stringify(l.fields))),
        ]);
      });
      return { stored, duplicates: lines.length - stored };
    },

    async read(appId, instanceId, filter, offset, limit) {
      const params: unknown[] = [appId, instanceId];
      const where = ['app_id = $1', 'instance_id = $2'];
      const add = (condition: (placeholder: string) => string, value: unknown): void => {
        params.push(value);
        where.push(condition(`$${params.length}`));
      };
      if (filter.attempt !== undefined) add((p) => `attempt = ${p}`, filter.attempt);
      if (filter.workerId !== undefined) add((p) => `worker_id = ${p}`, filter.workerId);
      if (filter.taskId !== undefined) add((p) => `task_id = ${p}`, filter.taskId);
      if (filter.minLevel !== undefined) add((p) => `level >= ${p}`, LOG_LEVELS[filter.minLevel]);
      const condition = where.join(' AND ');
      const n = params.length;
      const [rows, counted] = await Promise.all([
        db.query<LineRow>(`${SELECT_LINE} WHERE ${condition} ORDER BY id OFFSET $${n + 1} LIMIT $${n + 2}`, [...params, offset, limit]),
        db.query<{ total: string | number }>(`SELECT count(*) AS total FROM instance_log_lines WHERE ${condition}`, params),
      ]);
      return { lines: rows.map(toLine), total: Number(counted[0]?.total ?? 0) };
    },

    // In id order = commit order per instance: appends to one instance take turns (see append).
    async after(appId, instanceId, afterId, limit) {
      const rows = await db.query<LineRow>(`${SELECT_LINE} WHERE app_id = $1 AND instance_id = $2 AND id > $3 ORDER BY id LIMIT $4`, [
          appId,
        instanceId,
        afterId,
        limit,
      ]);
      return rows.map(toLine);
    },

    async purge(beforeMs) {
      return db.change(`DELETE FROM instance_log_lines WHERE time < ${FROM_MS('$1::bigint')}`, [beforeMs]);
    },

    async sizeBytes() {
      const rows = await db.query<{ size: string | number }>(`SELECT pg_total_relation_size('instance_log_lines') AS size`);
      return Number(rows[0]?.size ?? 0);
    },

    close: () => db.close(),
  };
}
