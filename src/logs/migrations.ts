/**
 * The log store's schema, as versioned migrations kept in TypeScript (nothing to copy next to
 * the build). Each is applied once, in its own transaction, and recorded in
 * `tempojob_log_migrations`. Append new ones at the end; never edit an applied one.
 */
import type { SqlExecutor } from './sql.js';

export interface Migration {
  version: number;
  name: string;
  sql: string;
}

export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: 'instance log lines',
    sql: `
      CREATE TABLE instance_log_lines (
        id bigserial,
        app_id bigint NOT NULL,
        instance_id bigint NOT NULL,
        attempt integer NOT NULL,
        task_id text NULL,
        worker_id text NOT NULL,
        stream text NOT NULL,
        seq integer NOT NULL,
        level smallint NOT NULL CHECK (level BETWEEN 1 AND 4),
        time timestamptz NOT NULL,
        message text NOT NULL,
        -- Kept as written, never queried into: json, not jsonb, spares the conversion on every insert.
        fields json NULL
      );
      -- What makes a line the same line (types.ts): a re-sent batch conflicts here and is skipped.
      -- A stream is one worker process's, so the worker id adds nothing to the key.
      CREATE UNIQUE INDEX instance_log_lines_line_key ON instance_log_lines (instance_id, attempt, stream, seq);
      -- Reading an instance's lines (and tailing them) in store order; instance ids are unique
      -- across apps, and every read also checks app_id on the rows it finds. The key is this
      -- order, so no other index is kept for it.
      ALTER TABLE instance_log_lines ADD PRIMARY KEY (instance_id, id);
      -- Purging lines older than the retention: lines arrive roughly in time order, so a BRIN
      -- index (a few pages, nearly free to maintain) finds the old ones.
      CREATE INDEX instance_log_lines_time ON instance_log_lines USING brin (time);
    `,
  },
  {
    version: 2,
    name: 'alert targets, events and deliveries',
    sql: `
      -- An app's alert targets (PowerJob's users that a job's notifyUserIds point at). Channels
      -- as written, secrets included (delivery signs with them); reads never return a secret.
      CREATE TABLE alert_targets (
        id bigserial PRIMARY KEY,
        app_id bigint NOT NULL,
        name text NOT NULL,
        channels jsonb NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now(),
        deleted_at timestamptz NULL,
        -- The Idempotency-Key of the create, and a hash of its request.
        idempotency_key text NULL,
        request_hash text NULL
      );
      CREATE INDEX alert_targets_app ON alert_targets (app_id, id);
      CREATE UNIQUE INDEX alert_targets_idempotency ON alert_targets (app_id, idempotency_key) WHERE idempotency_key IS NOT NULL;
      -- One row per event raised (its id is deterministic): overlapping scans raise it once.
      CREATE TABLE alert_events (
        alert_id text PRIMARY KEY,
        app_id bigint NOT NULL,
        event text NOT NULL,
        instance_id bigint NULL,
        wf_instance_id bigint NULL,
        job_id bigint NULL,
        alert json NOT NULL,
        raised_at timestamptz NOT NULL DEFAULT now(),
        -- Its delivery workflow was started (a scan that died before could not know).
        started boolean NOT NULL DEFAULT false
      );
      CREATE INDEX alert_events_raised ON alert_events USING brin (raised_at);
      CREATE TABLE alert_deliveries (
        alert_id text NOT NULL,
        app_id bigint NOT NULL,
        target_id bigint NOT NULL,
        channel text NOT NULL,
        status text NOT NULL CHECK (status IN ('PENDING', 'DELIVERED', 'FAILED')),
        attempts integer NOT NULL DEFAULT 0,
        last_error text NULL,
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now(),
        delivered_at timestamptz NULL,
        PRIMARY KEY (alert_id, target_id, channel)
      );
      CREATE INDEX alert_deliveries_app ON alert_deliveries (app_id, created_at DESC);
      -- PowerJob's alarmConfig: the silence after a FAILURE_THRESHOLD alert, per job.
      CREATE TABLE alert_silences (
        job_id bigint PRIMARY KEY,
        app_id bigint NOT NULL,
        until_ms bigint NOT NULL,
        alert_id text NOT NULL
      );
    `,
  },
  {
    version: 3,
    name: 'alert marks',
    sql: `
      -- How far an aggregated event's alerts reach, per scope (MISFIRE_SKIPPED: 'misfire:job:<id>'
      -- or 'misfire:wf:<id>', up to the newest dropped fire alerted, epoch ms): written with the
      -- alert it belongs to, so a scan never alerts a dropped fire twice.
      CREATE TABLE alert_marks (
        scope text PRIMARY KEY,
        app_id bigint NOT NULL,
        covered_up_to bigint NOT NULL,
        alert_id text NOT NULL
      );
    `,
  },
];

/**
 * Key of the transaction-scoped advisory lock migrations run under: API replicas starting
 * together on one PostgreSQL take turns, and each re-checks what the other applied.
 */
const MIGRATION_LOCK_KEY = 7_466_330_981;

const CREATE_MIGRATIONS_TABLE = `
  CREATE TABLE IF NOT EXISTS tempojob_log_migrations (
    version integer PRIMARY KEY,
    name text NOT NULL,
    applied_at timestamptz NOT NULL DEFAULT now()
  )`;

/** Applies the migrations not applied yet, in order; returns the versions it applied. */
export async function applyMigrations(db: SqlExecutor, migrations: readonly Migration[] = MIGRATIONS): Promise<number[]> {
  const applied: number[] = [];
  for (const migration of migrations) {
    const didApply = await db.transaction(async (tx) => {
      await tx.query('SELECT pg_advisory_xact_lock($1)', [MIGRATION_LOCK_KEY]);
      // Under the lock: two replicas racing on CREATE TABLE IF NOT EXISTS can both pass the
      // check and one then fails on the catalog's unique index.
      await tx.query(CREATE_MIGRATIONS_TABLE);
      const done = await tx.query('SELECT 1 FROM tempojob_log_migrations WHERE version = $1', [migration.version]);
      if (done.length > 0) return false;
      await tx.exec(migration.sql);
      await tx.query('INSERT INTO tempojob_log_migrations (version, name) VALUES ($1, $2)', [migration.version, migration.name]);
      return true;
    });
    if (didApply) applied.push(migration.version);
  }
  return applied;
}
