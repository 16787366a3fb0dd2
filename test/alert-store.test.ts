import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type AlertStore, sqlAlertStore } from '../src/alerts/store.js';
import { maskUrl, mergeChannels, viewOfTarget } from '../src/alerts/targets.js';
import type { Alert } from '../src/domain/alert.js';
import { type LogStore, openLogStore, sqlOfLogStore } from '../src/logs/store.js';

/** Alerting's store and target rules, on an embedded PostgreSQL (PGlite) in memory. */

let logs: LogStore;
let store: AlertStore;

beforeAll(async () => {
  logs = await openLogStore({});
  store = sqlAlertStore(sqlOfLogStore(logs));
});
afterAll(async () => {
  await logs?.close();
});

const alert = (id: string, appId = 1): Alert => ({
  id, event: 'INSTANCE_FAILED', appId, appName: 'a', jobId: 5, jobName: 'j', instanceId: 9, workflowId: null, wfInstanceId: null,
  status: 'FAILED', result: 'boom', expectedTriggerTime: null, actualTriggerTime: null, finishedTime: 1, time: 1, title: 't', links: { api: null, webUi: null },
});

describe('alert target rules', () => {
  it('masks robot URLs to scheme, host and port', () => {
    expect(maskUrl('https://oapi.dingtalk.com/robot/send?access_token=abc')).toBe('https://oapi.dingtalk.com/***');
    expect(maskUrl('http://127.0.0.1:8080/hook/xyz')).toBe('http://127.0.0.1:8080/***');
  });

  it('keeps stored secrets and masked URLs on update, refuses a webhook without secret and an empty target', () => {
    const stored = { webhook: { url: 'https://h.example.com/a', secret: 's'.repeat(16) }, slack: { url: 'https://hooks.slack.com/services/T/B/secret' } };
    expect(mergeChannels({ webhook: { url: 'https://h.example.com/b' }, slack: { url: 'https://hooks.slack.com/***' } }, stored)).toEqual({
      webhook: { url: 'https://h.example.com/b', secret: 's'.repeat(16) }, slack: { url: 'https://hooks.slack.com/services/T/B/secret' },
    });
    expect(mergeChannels({ webhook: { url: 'https://h.example.com/b' } }, undefined)).toMatch(/webhook\.secret is required/);
    expect(mergeChannels({ slack: { url: 'https://hooks.slack.com/***' } }, undefined)).toMatch(/masked/);
    expect(mergeChannels({}, stored)).toMatch(/at least one channel/);
  });

  it('reads never hold a secret', () => {
    const view = viewOfTarget({
      id: 1, appId: 1, name: 'n', createdAt: 0, updatedAt: 0,
      channels: { webhook: { url: 'https://h.example.com/a', secret: 'top-secret-value!' }, lark: { url: 'https://open.feishu.cn/hook/tok', secret: 'lark-sec' }, wecom: { url: 'https://qyapi.weixin.qq.com/send?key=wkey' } },
    });
    const text = JSON.stringify(view);
    for (const secret of ['top-secret-value!', 'lark-sec', 'tok', 'wkey']) expect(text).not.toContain(secret);
    expect(view).toMatchObject({ webhook: { secretSet: true }, lark: { secretSet: true }, channels: ['webhook', 'lark', 'wecom'] });
  });
});

describe('alert store', () => {
  it('scopes targets by app and creates once per Idempotency-Key', async () => {
    const first = await store.createTarget(1, 'n', { email: 'a@example.com' }, { key: 'k1', hash: 'h1' });
    const again = await store.createTarget(1, 'n', { email: 'a@example.com' }, { key: 'k1', hash: 'h1' });
    expect(again).toEqual({ id: first.id, existingHash: 'h1' });
    const other = await store.createTarget(2, 'n', { email: 'b@example.com' }, { key: 'k1', hash: 'h1' });
    expect(other.id).not.toBe(first.id);
    expect(await store.getTarget(2, first.id)).toBeUndefined();
    expect(await store.updateTarget(2, first.id, 'x', { email: 'evil@example.com' })).toBe(false);
    expect(await store.deleteTarget(2, first.id)).toBe('missing');
    expect((await store.targetsAmong(2, [first.id, other.id])).map((t) => t.id)).toEqual([other.id]);
    expect(await store.othersTargets(2, [first.id, other.id, 999_999])).toEqual([first.id]);
    expect(await store.deleteTarget(1, first.id)).toBe('deleted');
    expect(await store.deleteTarget(1, first.id)).toBe('already');
    expect(await store.getTarget(1, first.id)).toBeUndefined();
  });

  it('records an alert once; a late attempt report never undoes an outcome', async () => {
    await store.recordAlert(alert('A:1'), [{ targetId: 1, channel: 'email' }, { targetId: 2, channel: 'webhook' }]);
    await store.recordAlert(alert('A:1'), [{ targetId: 1, channel: 'email' }]);
    await store.recordAttempt(1, 'A:1', 1, 'email', 1, 'SMTP down');
    await store.markDelivered(1, 'A:1', 1, 'email', 2);
    await store.recordAttempt(1, 'A:1', 1, 'email', 1, 'late report');
    await store.markFailed(1, 'A:1', 2, 'webhook', 'HTTP 400', 1);
    await store.markDelivered(1, 'A:1', 2, 'webhook', 2);
    const rows = await store.deliveries(1, { alertId: 'A:1', limit: 10 });
    const byTarget = new Map(rows.map((r) => [r.targetId, r]));
    expect(rows).toHaveLength(2);
    expect(byTarget.get(1)).toMatchObject({ status: 'DELIVERED', attempts: 2, lastError: 'SMTP down', event: 'INSTANCE_FAILED', instanceId: 9 });
    // A late success report of a delivery already FAILED for good still wins: the receiver did accept it.
    expect(byTarget.get(2)).toMatchObject({ status: 'DELIVERED', attempts: 2 });
    expect(await store.deliveries(2, { alertId: 'A:1', limit: 10 })).toEqual([]);
    expect(await store.startedAlerts(['A:1'])).toEqual(new Set());
    await store.markStarted('A:1');
    expect(await store.startedAlerts(['A:1', 'A:2'])).toEqual(new Set(['A:1']));
  });

  it('holds a FAILURE_THRESHOLD silence exactly: one alert per window, re-claimable by the same alert', async () => {
    expect(await store.claimSilence(1, 77, 'T:1', 1_000, 61_000)).toBe(true);
    expect(await store.claimSilence(1, 77, 'T:1', 1_000, 61_000)).toBe(true);
    expect(await store.claimSilence(1, 77, 'T:2', 30_000, 90_000)).toBe(false);
    expect(await store.claimSilence(1, 77, 'T:3', 61_000, 121_000)).toBe(true);
    expect(await store.claimSilence(1, 77, 'T:2', 30_000, 90_000)).toBe(false);
  });

  it('moves an aggregated alert\'s mark only forward, in the transaction that records the alert', async () => {
    const deliveries = [{ targetId: 1, channel: 'webhook' }];
    expect(await store.coveredUpTo(['misfire:job:8'])).toEqual(new Map());
    await store.recordAlert({ ...alert('M:8:2000'), event: 'MISFIRE_SKIPPED' }, deliveries, { scope: 'misfire:job:8', upTo: 2_000 });
    await store.recordAlert({ ...alert('M:8:1000'), event: 'MISFIRE_SKIPPED' }, deliveries, { scope: 'misfire:job:8', upTo: 1_000 });
    // Another app cannot move this app's mark.
    await store.recordAlert({ ...alert('M:8:9000', 2), event: 'MISFIRE_SKIPPED' }, deliveries, { scope: 'misfire:job:8', upTo: 9_000 });
    expect(await store.coveredUpTo(['misfire:job:8', 'misfire:wf:8'])).toEqual(new Map([['misfire:job:8', 2_000]]));
  });

  it('lists alerts recorded but never started, with their deliveries, until they are started', async () => {
    const since = Date.now() - 1_000;
    await store.recordAlert(alert('U:1'), [{ targetId: 4, channel: 'slack' }, { targetId: 3, channel: 'email' }, { targetId: 3, channel: 'webhook' }]);
    await store.recordAlert(alert('U:2'), [{ targetId: 5, channel: 'email' }]);
    await store.markStarted('U:2');
    const unstarted = (await store.unstartedAlerts(since)).filter((u) => u.alert.id.startsWith('U:'));
    expect(unstarted).toEqual([{
      alert: alert('U:1'),
      deliveries: [{ targetId: 3, channel: 'email' }, { targetId: 3, channel: 'webhook' }, { targetId: 4, channel: 'slack' }],
    }]);
    await store.markStarted('U:1');
    expect((await store.unstartedAlerts(since)).filter((u) => u.alert.id.startsWith('U:'))).toEqual([]);
    expect(await store.unstartedAlerts(Date.now() + 60_000)).toEqual([]);
  });
});
