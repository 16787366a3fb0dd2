import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, inject, it } from 'vitest';
import { alertDeliveryWorkflowId, alertScanWorkflowId, logRetentionScheduleId } from '../src/contract/names.js';
import { connectClient } from '../src/temporal/connection.js';
import { OpenApiCaller } from './support/api-client.js';
import { HttpReceivers } from './support/alert-receivers.js';
import { freePort } from './support/ports.js';
import { spawnTs, type ChildHandle } from './support/processes.js';
import { uniqueName } from './support/stack.js';
import { testTarget } from './support/temporal-env.js';

/**
 * Alerting under faults: the process running the core worker (with the API and the store,
 * as `npm start` does) is SIGKILLed while a delivery is in flight, the receiver holding the
 * request open. After the restart the alert is delivered, and every request the receiver saw
 * carries the same alert id (its Idempotency-Key): a receiver that drops duplicates by that
 * id has exactly one alert.
 */

describe('alert delivery under faults', () => {
  it('the core worker SIGKILLed mid-delivery: delivered after the restart, one alert id per target', { timeout: 120_000 }, async () => {
    const http = new HttpReceivers();
    await http.start();
    let release: () => void = () => undefined;
    const held = new Promise<void>((resolve) => { release = resolve; });
    // The first request is held until the process that sent it is dead; later ones are accepted.
    http.route('/held', (n) => (n === 1 ? { status: 200, hold: held } : { status: 200 }));
    const dir = mkdtempSync(join(tmpdir(), 'tempojob-alert-faults-'));
    const appName = uniqueName('alert-faults');
    const password = randomBytes(12).toString('hex');
    const port = await freePort();
    const coreTaskQueue = uniqueName('tempojob-core-alert-faults');
    const env = {
      TEMPORAL_ADDRESS: inject('temporalAddress'),
      TEMPOJOB_CORE_TASK_QUEUE: coreTaskQueue,
      TEMPOJOB_WORKFLOW_BUNDLE: inject('workflowBundlePath'),
      TEMPOJOB_JWT_SECRET: randomBytes(32).toString('hex'),
      TEMPOJOB_APPS: `${appName}:${password}`,
      TEMPOJOB_PORT: String(port),
      TEMPOJOB_HOST: '127.0.0.1',
      TEMPOJOB_LOG_DIR: join(dir, 'store'),
      TEMPOJOB_ALERT_SCAN_MS: '300',
    };
    const start = async () => {
      const handle = spawnTs('test/fixtures/alert-stack.ts', env, /alert stack ready/);
      await handle.ready;
      return handle;
    };
    const client = await connectClient(testTarget(inject('temporalAddress')));
    let stack: ChildHandle | undefined;
    try {
      stack = await start();
      const api = await OpenApiCaller.login(`http://127.0.0.1:${port}`, appName, password);
      const target = await api.data<number>('saveAlertTarget', { name: 'held', webhook: { url: `${http.url}/held`, secret: 'fault-test-secret-0123456789' } });
      const jobId = await api.data<number>('saveJob', {
        jobName: 'doomed', timeExpressionType: 'API', executeType: 'STANDALONE', processorType: 'BUILT_IN', processorInfo: 'fail', notifyUserIds: [target],
      });
      const instanceId = await api.data<number>('runJob', { jobId }, { form: true });

      await http.next('/held', 1, false);
      await stack.kill();
      release();
      stack = await start();

      await http.next('/held', 2);
      const alertIds = http.all('/held').map((r) => String(r.headers['x-tempojob-alert-id']));
      expect(new Set(alertIds).size).toBe(1);
      expect(alertIds[0]).toMatch(new RegExp(`^INSTANCE_FAILED:${instanceId}:`));
      expect(http.all('/held').map((r) => r.headers['idempotency-key'])).toEqual(alertIds);
      await client.workflow.getHandle(alertDeliveryWorkflowId(alertIds[0]!)).result();
      const after = await OpenApiCaller.login(`http://127.0.0.1:${port}`, appName, password);
      const deliveries = await after.data<{ alertId: string; status: string; attempts: number }[]>('queryAlertDeliveries', { instanceId });
      expect(deliveries).toEqual([expect.objectContaining({ alertId: alertIds[0], status: 'DELIVERED', attempts: expect.any(Number) })]);
      expect(deliveries[0]!.attempts).toBeGreaterThanOrEqual(2);
    } finally {
      release();
      await stack?.kill();
      await client.workflow.getHandle(alertScanWorkflowId(coreTaskQueue)).terminate('test over').catch(() => undefined);
      await client.schedule.getHandle(logRetentionScheduleId(coreTaskQueue)).delete().catch(() => undefined);
      await client.connection.close();
      await http.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
