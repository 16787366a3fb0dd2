/**
 * The log store's tiny SQL executor: the one seam between its SQL and the two PostgreSQL
 * engines it runs on, a real server through a `pg` pool (a `postgres://` URL) or PGlite,
 * PostgreSQL compiled to WebAssembly and embedded in this process (a data directory, or memory).
 * Both run the same SQL; only how a statement reaches the engine differs.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { PGlite, type Transaction } from '@electric-sql/pglite';
import pg from 'pg';

export interface SqlSession {
  /** One parameterised statement; its rows. */
  query<R>(sql: string, params?: unknown[]): Promise<R[]>;
  /** One parameterised statement that returns no rows (an INSERT, a DELETE); how many rows it changed. */
  change(sql: string, params?: unknown[]): Promise<number>;
  /** A script of several statements without parameters (a migration). */
  exec(sql: string): Promise<void>;
}

export interface SqlExecutor extends SqlSession {
  /** Runs `work` in one transaction: committed when it resolves, rolled back when it throws. */
  transaction<T>(work: (tx: SqlSession) => Promise<T>): Promise<T>;
  close(): Promise<void>;
}

export interface SqlTarget {
  /** postgres://… : a real PostgreSQL server. */
  url?: string;
  /** Embedded PGlite data directory; absent with no url = in memory. */
  dataDir?: string;
}

export async function openSqlExecutor(target: SqlTarget): Promise<SqlExecutor> {
  return target.url !== undefined ? poolExecutor(target.url) : pgliteExecutor(target.dataDir);
}

function poolExecutor(url: string): SqlExecutor {
  const pool = new pg.Pool({ connectionString: url });
  // An idle pooled connection that breaks (server restart, network) is discarded by the pool
  // and the next query opens a new one; without a listener, the pool's 'error' event would
  // crash the process instead.
  pool.on('error', () => undefined);
  const session = (client: pg.Pool | pg.PoolClient): SqlSession => ({
    async query<R>(sql: string, params: unknown[] = []) {
      return (await client.query(sql, params)).rows as R[];
    },
    async change(sql: string, params: unknown[] = []) {
      return (await client.query(sql, params)).rowCount ?? 0;
    },
    async exec(sql: string) {
      // No parameters: `pg` sends it with the simple query protocol, which runs several statements.
      await client.query(sql);
    },
  });
  return {
    ...session(pool),
    async transaction<T>(work: (tx: SqlSession) => Promise<T>): Promise<T> {
      const client = await pool.connect();
      try {
        await client.query('BEGIN');
        const result = await work(session(client));
        await client.query('COMMIT');
        client.release();
        return result;
      } catch (error) {
        // A connection whose rollback failed is in an unknown state: destroy it, not pool it.
        await client.query('ROLLBACK').then(
          () => client.release(),
          (rollbackError: unknown) => client.release(rollbackError instanceof Error ? rollbackError : true),
        );
        throw error;
      }
    },
    close: () => pool.end(),
  };
}

/**
 * Creates a new PGlite data directory in a child process. PGlite's initdb grows the memory
 * of the process it runs in by ~720 MiB, and that memory is never given back (measured: RSS
 * 121 → 842 MiB), where opening an existing directory costs ~250 MiB; `npm start`'s first
 * run would carry it for as long as it runs.
 */
async function createPgliteDir(dataDir: string): Promise<void> {
  if (existsSync(join(dataDir, 'PG_VERSION'))) return;
  const script = 'const { PGlite } = await import("@electric-sql/pglite"); const db = await PGlite.create(process.argv[1]); await db.close();';
  // Run from this module's folder, so the child resolves PGlite from the same node_modules.
  await promisify(execFile)(process.execPath, ['--input-type=module', '-e', script, dataDir], { cwd: dirname(fileURLToPath(import.meta.url)) });
}

async function pgliteExecutor(dataDir: string | undefined): Promise<SqlExecutor> {
  if (dataDir !== undefined) await createPgliteDir(dataDir);
  const db = dataDir === undefined ? await PGlite.create() : await PGlite.create(dataDir);
  const session = (target: Pick<Transaction, 'query' | 'exec'>): SqlSession => ({
    async query<R>(sql: string, params: unknown[] = []) {
      return (await target.query<R>(sql, params)).rows;
    },
    async change(sql: string, params: unknown[] = []) {
      return (await target.query(sql, params)).affectedRows ?? 0;
    },
    async exec(sql: string) {
      await target.exec(sql);
    },
  });
  return {
    ...session(db),
    transaction: (work) => db.transaction((tx) => work(session(tx))),
    close: () => db.close(),
  };
}
