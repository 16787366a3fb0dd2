/**
 * Alerting's tables (migration 2 of src/logs/migrations.ts), in the same database as instance
 * logs: targets per app, the events raised, each delivery's outcome, FAILURE_THRESHOLD
 * silences. Every statement about an app's things is scoped by its app id: another app's
 * target is never read, changed or used.
 */
import type { Alert } from '../domain/alert.js';
import type { SqlExecutor } from '../logs/sql.js';
import type { StoredAlertTarget, TargetChannels } from './targets.js';

export type DeliveryStatus = 'PENDING' | 'DELIVERED' | 'FAILED';
export const DELIVERY_STATUSES = ['PENDING', 'DELIVERED', 'FAILED'] as const;

export interface DeliveryRecord {
  alertId: string;
  event: string;
  instanceId: number | null;
  wfInstanceId: number | null;
  jobId: number | null;
  targetId: number;
  channel: string;
  status: DeliveryStatus;
  attempts: number;
  lastError: string | null;
  createdAt: number;
  updatedAt: number;
  deliveredAt: number | null;
}

export interface PlannedDelivery {
  targetId: number;
  channel: string;
}

/** What an aggregated alert covers: its scope's events up to `upTo` (alert_marks). */
export interface AlertCover {
  scope: string;
  upTo: number;
}

/** An alert recorded with its deliveries whose delivery workflow has not been started yet. */
export interface UnstartedAlert {
  alert: Alert;
  deliveries: PlannedDelivery[];
}

export interface AlertStore {
  /** A new target; with an Idempotency-Key, the target that key already created (and its request hash) instead. */
  createTarget(appId: number, name: string, channels: TargetChannels, idempotency: { key: string; hash: string } | null): Promise<{ id: number; existingHash?: string }>;
  /** False when the app has no such target. */
  updateTarget(appId: number, id: number, name: string, channels: TargetChannels): Promise<boolean>;
  /** The target with its secrets (for delivery and merges), or undefined (absent, deleted, another app's). */
  getTarget(appId: number, id: number): Promise<StoredAlertTarget | undefined>;
  listTargets(appId: number): Promise<StoredAlertTarget[]>;
  /** 'missing': the app has no such target; 'already': it was deleted before. */
  deleteTarget(appId: number, id: number): Promise<'deleted' | 'already' | 'missing'>;
  /** The app's live targets among `ids`. */
  targetsAmong(appId: number, ids: readonly number[]): Promise<StoredAlertTarget[]>;
  /** The ids among `ids` that are targets of other apps (deleted ones included). */
  othersTargets(appId: number, ids: readonly number[]): Promise<number[]>;

  /** Which of these alerts already had their delivery workflow started. */
  startedAlerts(alertIds: readonly string[]): Promise<Set<string>>;
  /**
   * Records the event and its deliveries as PENDING (a second call for the same alert changes
   * nothing), and with `cover`, moves its scope's mark up to `cover.upTo` in the same transaction.
   */
  recordAlert(alert: Alert, deliveries: readonly PlannedDelivery[], cover?: AlertCover): Promise<void>;
  /** How far each of these scopes' alerts reach (epoch ms); a scope never alerted is absent. */
  coveredUpTo(scopes: readonly string[]): Promise<Map<string, number>>;
  markStarted(alertId: string): Promise<void>;
  /** Alerts recorded since `sinceMs` whose delivery workflow was never started (a scan that died between the two). */
  unstartedAlerts(sinceMs: number): Promise<UnstartedAlert[]>;
  getAlert(appId: number, alertId: string): Promise<Alert | undefined>;
  /** An attempt that failed and will be retried: its count and error, still PENDING. */
  recordAttempt(appId: number, alertId: string, targetId: number, channel: string, attempts: number, error: string): Promise<void>;
  markDelivered(appId: number, alertId: string, targetId: number, channel: string, attempts: number): Promise<void>;
  markFailed(appId: number, alertId: string, targetId: number, channel: string, error: string, attempts?: number): Promise<void>;
  deliveries(appId: number, filter: { instanceId?: number; wfInstanceId?: number; status?: DeliveryStatus; alertId?: string; limit: number }): Promise<DeliveryRecord[]>;

  /**
   * PowerJob's alarmConfig silence, exact across scans: the job's silence becomes
   * [.., untilMs) for `alertId` when none is running at `atMs`; true when `alertId` holds it
   * (now or from an earlier call for the same alert).
   */
  claimSilence(appId: number, jobId: number, alertId: string, atMs: number, untilMs: number): Promise<boolean>;
  /** Deletes events (and their deliveries) raised before `beforeMs`. */
  purge(beforeMs: number): Promise<number>;
}

const MS = (column: string) => `(extract(epoch FROM ${column}) * 1000)::bigint`;

interface TargetRow {
  id: string | number;
  app_id: string | number;
  name: string;
  channels: TargetChannels | string;
  created_ms: string | number;
  updated_ms: string | number;
}

const SELECT_TARGET = `SELECT id, app_id, name, channels, ${MS('created_at')} AS created_ms, ${MS('updated_at')} AS updated_ms FROM alert_targets`;

function toTarget(row: TargetRow): StoredAlertTarget {
  return {
    id: Number(row.id),
    appId: Number(row.app_id),
    name: row.name,
    channels: typeof row.channels === 'string' ? JSON.parse(row.channels) as TargetChannels : row.channels,
    createdAt: Number(row.created_ms),
    updatedAt: Number(row.updated_ms),
  };
}

interface DeliveryRow {
  alert_id: string;
  event: string;
  instance_id: string | number | null;
  wf_instance_id: string | number | null;
  job_id: string | number | null;
  target_id: string | number;
  channel: string;
  status: DeliveryStatus;
  attempts: number;
  last_error: string | null;
  created_ms: string | number;
  updated_ms: string | number;
  delivered_ms: string | number | null;
}

const nullableNumber = (value: string | number | null): number | null => (value === null ? null : Number(value));

export function sqlAlertStore(db: SqlExecutor): AlertStore {
  return {
    async createTarget(appId, name, channels, idempotency) {
      const rows = await db.query<{ id: string | number }>(
        `INSERT INTO alert_targets (app_id, name, channels, idempotency_key, request_hash) VALUES ($1, $2, $3::jsonb, $4, $5)
         ON CONFLICT (app_id, idempotency_key) WHERE idempotency_key IS NOT NULL DO NOTHING RETURNING id`,
        [appId, name, JSON.stringify(channels), idempotency?.key ?? null, idempotency?.hash ?? null],
      );
      if (rows[0]) return { id: Number(rows[0].id) };
      const existing = await db.query<{ id: string | number; request_hash: string }>(
        'SELECT id, request_hash FROM alert_targets WHERE app_id = $1 AND idempotency_key = $2',
        [appId, idempotency?.key ?? null],
      );
      if (!existing[0]) throw new Error('alert target insert conflicted on an Idempotency-Key that is not stored');
      return { id: Number(existing[0].id), existingHash: existing[0].request_hash };
    },

    async updateTarget(appId, id, name, channels) {
      const changed = await db.change(
        'UPDATE alert_targets SET name = $3, channels = $4::jsonb, updated_at = now() WHERE app_id = $1 AND id = $2 AND deleted_at IS NULL',
        [appId, id, name, JSON.stringify(channels)],
      );
      return changed > 0;
    },

    async getTarget(appId, id) {
      const rows = await db.query<TargetRow>(`${SELECT_TARGET} WHERE app_id = $1 AND id = $2 AND deleted_at IS NULL`, [appId, id]);
      return rows[0] ? toTarget(rows[0]) : undefined;
    },

    async listTargets(appId) {
      const rows = await db.query<TargetRow>(`${SELECT_TARGET} WHERE app_id = $1 AND deleted_at IS NULL ORDER BY id`, [appId]);
      return rows.map(toTarget);
    },

    async deleteTarget(appId, id) {
      const changed = await db.change('UPDATE alert_targets SET deleted_at = now() WHERE app_id = $1 AND id = $2 AND deleted_at IS NULL', [appId, id]);
      if (changed > 0) return 'deleted';
      const rows = await db.query('SELECT 1 FROM alert_targets WHERE app_id = $1 AND id = $2', [appId, id]);
      return rows.length > 0 ? 'already' : 'missing';
    },

    async targetsAmong(appId, ids) {
      if (ids.length === 0) return [];
      const rows = await db.query<TargetRow>(`${SELECT_TARGET} WHERE app_id = $1 AND id = ANY($2::bigint[]) AND deleted_at IS NULL ORDER BY id`, [appId, [...ids]]);
      return rows.map(toTarget);
    },

    async othersTargets(appId, ids) {
      if (ids.length === 0) return [];
      const rows = await db.query<{ id: string | number }>('SELECT id FROM alert_targets WHERE id = ANY($2::bigint[]) AND app_id <> $1 ORDER BY id', [appId, [...ids]]);
      return rows.map((row) => Number(row.id));
    },

    async startedAlerts(alertIds) {
      if (alertIds.length === 0) return new Set();
      const rows = await db.query<{ alert_id: string }>('SELECT alert_id FROM alert_events WHERE alert_id = ANY($1::text[]) AND started', [[...alertIds]]);
      return new Set(rows.map((row) => row.alert_id));
    },

    async recordAlert(alert, deliveries, cover) {
      await db.transaction(async (tx) => {
        if (cover) {
          await tx.query(
            `INSERT INTO alert_marks (scope, app_id, covered_up_to, alert_id) VALUES ($1, $2, $3, $4)
             ON CONFLICT (scope) DO UPDATE SET covered_up_to = excluded.covered_up_to, alert_id = excluded.alert_id
               WHERE alert_marks.app_id = excluded.app_id AND alert_marks.covered_up_to < excluded.covered_up_to`,
            [cover.scope, alert.appId, cover.upTo, alert.id],
          );
        }
        await tx.query(
          `INSERT INTO alert_events (alert_id, app_id, event, instance_id, wf_instance_id, job_id, alert) VALUES ($1, $2, $3, $4, $5, $6, $7::json)
           ON CONFLICT (alert_id) DO NOTHING`,
          [alert.id, alert.appId, alert.event, alert.instanceId, alert.wfInstanceId, alert.jobId, JSON.stringify(alert)],
        );
        if (deliveries.length === 0) return;
        await tx.query(
          `INSERT INTO alert_deliveries (alert_id, app_id, target_id, channel, status)
           SELECT $1, $2, u.target_id, u.channel, 'PENDING' FROM unnest($3::bigint[], $4::text[]) AS u(target_id, channel)
           ON CONFLICT (alert_id, target_id, channel) DO NOTHING`,
          [alert.id, alert.appId, deliveries.map((d) => d.targetId), deliveries.map((d) => d.channel)],
        );
      });
    },

    async coveredUpTo(scopes) {
      if (scopes.length === 0) return new Map();
      const rows = await db.query<{ scope: string; covered_up_to: string | number }>(
        'SELECT scope, covered_up_to FROM alert_marks WHERE scope = ANY($1::text[])',
        [[...scopes]],
      );
      return new Map(rows.map((row) => [row.scope, Number(row.covered_up_to)]));
    },

    async markStarted(alertId) {
      await db.change('UPDATE alert_events SET started = true WHERE alert_id = $1', [alertId]);
    },

    async unstartedAlerts(sinceMs) {
      const rows = await db.query<{ alert: Alert | string; target_ids: (string | number)[]; channels: string[] }>(
        `SELECT e.alert, array_agg(d.target_id ORDER BY d.target_id, d.channel) AS target_ids, array_agg(d.channel ORDER BY d.target_id, d.channel) AS channels
         FROM alert_events e JOIN alert_deliveries d ON d.alert_id = e.alert_id
         WHERE NOT e.started AND e.raised_at >= (timestamptz 'epoch' + $1::bigint * interval '1 millisecond')
         GROUP BY e.alert_id ORDER BY e.alert_id`,
        [sinceMs],
      );
      return rows.map((row) => ({
        alert: typeof row.alert === 'string' ? JSON.parse(row.alert) as Alert : row.alert,
        deliveries: row.target_ids.map((targetId, i) => ({ targetId: Number(targetId), channel: row.channels[i]! })),
      }));
    },

    async getAlert(appId, alertId) {
      const rows = await db.query<{ alert: Alert | string }>('SELECT alert FROM alert_events WHERE app_id = $1 AND alert_id = $2', [appId, alertId]);
      const alert = rows[0]?.alert;
      return typeof alert === 'string' ? JSON.parse(alert) as Alert : alert;
    },

    async recordAttempt(appId, alertId, targetId, channel, attempts, error) {
      // Never over a final outcome: a late report of an earlier attempt changes nothing.
      await db.change(
        `UPDATE alert_deliveries SET attempts = greatest(attempts, $5), last_error = $6, updated_at = now()
         WHERE app_id = $1 AND alert_id = $2 AND target_id = $3 AND channel = $4 AND status = 'PENDING'`,
        [appId, alertId, targetId, channel, attempts, error],
      );
    },

    async markDelivered(appId, alertId, targetId, channel, attempts) {
      await db.change(
        `UPDATE alert_deliveries SET status = 'DELIVERED', attempts = greatest(attempts, $5), updated_at = now(), delivered_at = coalesce(delivered_at, now())
         WHERE app_id = $1 AND alert_id = $2 AND target_id = $3 AND channel = $4 AND status <> 'DELIVERED'`,
        [appId, alertId, targetId, channel, attempts],
      );
    },

    async markFailed(appId, alertId, targetId, channel, error, attempts) {
      await db.change(
        `UPDATE alert_deliveries SET status = 'FAILED', attempts = greatest(attempts, coalesce($6, attempts)), last_error = $5, updated_at = now()
         WHERE app_id = $1 AND alert_id = $2 AND target_id = $3 AND channel = $4 AND status = 'PENDING'`,
        [appId, alertId, targetId, channel, error, attempts ?? null],
      );
    },

    async deliveries(appId, filter) {
      const params: unknown[] = [appId];
      const where = ['d.app_id = $1'];
      const add = (condition: (p: string) => string, value: unknown) => {
        params.push(value);
        where.push(condition(`$${params.length}`));
      };
      if (filter.instanceId !== undefined) add((p) => `e.instance_id = ${p}`, filter.instanceId);
      if (filter.wfInstanceId !== undefined) add((p) => `e.wf_instance_id = ${p}`, filter.wfInstanceId);
      if (filter.status !== undefined) add((p) => `d.status = ${p}`, filter.status);
      if (filter.alertId !== undefined) add((p) => `d.alert_id = ${p}`, filter.alertId);
      params.push(filter.limit);
      const rows = await db.query<DeliveryRow>(
        `SELECT d.alert_id, e.event, e.instance_id, e.wf_instance_id, e.job_id, d.target_id, d.channel, d.status, d.attempts, d.last_error,
                ${MS('d.created_at')} AS created_ms, ${MS('d.updated_at')} AS updated_ms, ${MS('d.delivered_at')} AS delivered_ms
         FROM alert_deliveries d JOIN alert_events e ON e.alert_id = d.alert_id AND e.app_id = d.app_id
         WHERE ${where.join(' AND ')} ORDER BY d.created_at DESC, d.alert_id, d.target_id, d.channel LIMIT $${params.length}`,
        params,
      );
      return rows.map((row) => ({
        alertId: row.alert_id,
        event: row.event,
        instanceId: nullableNumber(row.instance_id),
        wfInstanceId: nullableNumber(row.wf_instance_id),
        jobId: nullableNumber(row.job_id),
        targetId: Number(row.target_id),
        channel: row.channel,
        status: row.status,
        attempts: row.attempts,
        lastError: row.last_error,
        createdAt: Number(row.created_ms),
        updatedAt: Number(row.updated_ms),
        deliveredAt: nullableNumber(row.delivered_ms),
      }));
    },

    async claimSilence(appId, jobId, alertId, atMs, untilMs) {
      const rows = await db.query<{ alert_id: string }>(
        `INSERT INTO alert_silences (job_id, app_id, until_ms, alert_id) VALUES ($1, $2, $4, $3)
         ON CONFLICT (job_id) DO UPDATE SET until_ms = excluded.until_ms, alert_id = excluded.alert_id
           WHERE alert_silences.app_id = excluded.app_id AND (alert_silences.until_ms <= $5 OR alert_silences.alert_id = excluded.alert_id)
         RETURNING alert_id`,
        [jobId, appId, alertId, untilMs, atMs],
      );
      return rows[0]?.alert_id === alertId;
    },

    async purge(beforeMs) {
      return db.transaction(async (tx) => {
        const before = `(timestamptz 'epoch' + $1::bigint * interval '1 millisecond')`;
        await tx.change(`DELETE FROM alert_deliveries d USING alert_events e WHERE e.alert_id = d.alert_id AND e.raised_at < ${before}`, [beforeMs]);
        return tx.change(`DELETE FROM alert_events WHERE raised_at < ${before}`, [beforeMs]);
      });
    },
  };
}
