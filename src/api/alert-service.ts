import type { AlertStore, DeliveryRecord } from '../alerts/store.js';
import { type AlertTargetView, mergeChannels, viewOfTarget } from '../alerts/targets.js';
import type { AuthenticatedApp } from './auth.js';
import { IdempotencyKeyReuseError, InvalidRequestError, NotFoundError } from './errors.js';
import type { Idempotency } from './idempotency.js';
import type { SaveAlertTargetRequest } from './schemas.js';

/**
 * Alert targets and deliveries through the API (issue #16). Everything is scoped to the
 * caller's app: another app's target answers as not found, as everywhere.
 */
export class AlertService {
  constructor(private readonly store: AlertStore) {}

  /** Creates (no id) or updates (id) a target; returns its id. A re-sent create with the same Idempotency-Key returns the first id. */
  async save(app: AuthenticatedApp, request: SaveAlertTargetRequest, idempotency: Idempotency | null): Promise<number> {
    const { id, name, ...input } = request;
    if (id != null) {
      const stored = await this.get(app, id);
      const channels = mergeChannels(input, stored.channels);
      if (typeof channels === 'string') throw new InvalidRequestError(`invalid request: ${channels}`);
      if (!(await this.store.updateTarget(app.appId, id, name, channels))) throw notFound(app, id);
      return id;
    }
    const channels = mergeChannels(input, undefined);
    if (typeof channels === 'string') throw new InvalidRequestError(`invalid request: ${channels}`);
    const created = await this.store.createTarget(app.appId, name, channels, idempotency);
    if (created.existingHash !== undefined && idempotency && created.existingHash !== idempotency.hash) {
      throw new IdempotencyKeyReuseError(idempotency.key);
    }
    return created.id;
  }

  async fetch(app: AuthenticatedApp, targetId: number): Promise<AlertTargetView> {
    return viewOfTarget(await this.get(app, targetId));
  }

  async list(app: AuthenticatedApp): Promise<AlertTargetView[]> {
    return (await this.store.listTargets(app.appId)).map(viewOfTarget);
  }

  /** With an Idempotency-Key, deleting a target already deleted succeeds (a re-sent delete). */
  async delete(app: AuthenticatedApp, targetId: number, idempotency: Idempotency | null): Promise<void> {
    const outcome = await this.store.deleteTarget(app.appId, targetId);
    if (outcome === 'missing' || (outcome === 'already' && !idempotency)) throw notFound(app, targetId);
  }

  async deliveries(
    app: AuthenticatedApp,
    filter: { instanceId?: number | null | undefined; wfInstanceId?: number | null | undefined; alertId?: string | null | undefined; status?: DeliveryRecord['status'] | null | undefined; limit: number },
  ): Promise<DeliveryRecord[]> {
    return this.store.deliveries(app.appId, {
      limit: filter.limit,
      ...(filter.instanceId != null ? { instanceId: filter.instanceId } : {}),
      ...(filter.wfInstanceId != null ? { wfInstanceId: filter.wfInstanceId } : {}),
      ...(filter.alertId != null ? { alertId: filter.alertId } : {}),
      ...(filter.status != null ? { status: filter.status } : {}),
    });
  }

  /**
   * The ids among a job's or workflow's notifyUserIds that are another app's targets: saveJob
   * and saveWorkflow refuse them. Ids that are no target at all are accepted, as PowerJob's
   * user ids of jobs moved over are (delivery skips every id that is not a live target of the
   * job's own app).
   */
  async foreignTargets(appId: number, ids: readonly number[]): Promise<number[]> {
    return this.store.othersTargets(appId, [...new Set(ids)]);
  }

  private async get(app: AuthenticatedApp, targetId: number) {
    const target = await this.store.getTarget(app.appId, targetId);
    if (!target) throw notFound(app, targetId);
    return target;
  }
}

function notFound(app: AuthenticatedApp, targetId: number): NotFoundError {
  return new NotFoundError(`alert target ${targetId} not found in app ${app.appName}; listAlertTargets shows the app's targets`);
}
