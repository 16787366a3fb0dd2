import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, describe, expect, it } from 'vitest';
import { eventually } from './support/eventually.js';
import { startCrashableStack, type CrashableStack } from './support/crashable-stack.js';

/**
 * The Temporal dev server is down for 20 s while three 2-second CRON jobs are enabled,
 * one per misfire policy. After the restart each policy does what it says: SKIP runs no
 * missed fire, RUN_ONCE exactly one, CATCH_UP(3) exactly three; nothing fires twice.
 */

const THRESHOLD_MS = 5_000;
const OUTAGE_MS = 20_000;
let stack: CrashableStack | undefined;
afterAll(() => stack?.close());

describe('misfire policies after an outage', () => {
  it('SKIP, RUN_ONCE and CATCH_UP(3) each do exactly what they say', { timeout: 240_000 }, async () => {
    stack = await startCrashableStack('misfire');
    const { caller, executions } = stack;

    const policies = {
      SKIP: { type: 'SKIP', thresholdMs: THRESHOLD_MS },
      RUN_ONCE: { type: 'RUN_ONCE', thresholdMs: THRESHOLD_MS },
      CATCH_UP: { type: 'CATCH_UP', maxCatchUp: 3, thresholdMs: THRESHOLD_MS },
    };
    const jobs: Record<string, number> = {};
    for (const [name, misfirePolicy] of Object.entries(policies)) {
      jobs[name] = await caller.data<number>('saveJob', {
        jobName: name, timeExpressionType: 'CRON', timeExpression: '*/2 * * * * ?', misfirePolicy,
        executeType: 'STANDALONE', processorType: 'BUILT_IN', processorInfo: 'record',
      });
    }
    const infoOf = (instanceId: number) =>
      caller.data<{ jobId: number; expectedTriggerTime: number; actualTriggerTime: number; catchUp: boolean }>('fetchInstanceInfo', { instanceId });
    const firesByJob = async () => {
      const byJob = new Map<number, { expected: number; catchUp: boolean }[]>();
      for (const { instanceId } of executions()) {
        const info = await infoOf(instanceId);
        byJob.set(info.jobId, [...(byJob.get(info.jobId) ?? []), { expected: info.expectedTriggerTime, catchUp: info.catchUp }]);
      }
      return byJob;
    };
    // Every job fires normally before the outage.
    await eventually(firesByJob, (byJob) => Object.values(jobs).every((id) => (byJob.get(id)?.length ?? 0) >= 2), 30_000);

    const stoppedAt = Date.now();
    await stack.killServer();
    await sleep(OUTAGE_MS); // the outage itself, not a synchronisation
    await stack.startServer();
    const restartedAt = Date.now();
    // Normal fires have resumed for every job: the catch-up is over.
    const byJob = await eventually(firesByJob, (fires) =>
      Object.values(jobs).every((id) => (fires.get(id) ?? []).some((f) => f.expected > restartedAt + 4_000)), 60_000);

    const ran = executions();
    expect(new Set(ran.map((e) => e.instanceId)).size).toBe(ran.length);
    const catchUps: Record<string, number> = {};
    for (const [name, jobId] of Object.entries(jobs)) {
      const fires = byJob.get(jobId)!;
      expect(new Set(fires.map((f) => f.expected)).size, `${name}: one instance per fire time`).toBe(fires.length);
      expect(fires.every((f) => f.expected % 2000 === 0)).toBe(true);
      // Fires due while Temporal was down or starting up are late; only the policy's picks run.
      catchUps[name] = fires.filter((f) => f.expected > stoppedAt && f.catchUp).length;
      expect(fires.filter((f) => !f.catchUp && f.expected > stoppedAt && f.expected < restartedAt - THRESHOLD_MS), name).toEqual([]);
    }
    expect(catchUps).toEqual({ SKIP: 0, RUN_ONCE: 1, CATCH_UP: 3 });
  });
});
