import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, describe, expect, it } from 'vitest';
import type { InstanceState } from '../src/domain/instance.js';
import { instanceWorkflowId } from '../src/contract/names.js';
import { startCrashableStack, type CrashableStack } from './support/crashable-stack.js';

/**
 * Failure story 4: delayed runs must survive a restart of everything. Twenty runs delayed
 * 1–10 s; while they wait, the Temporal dev server and every worker are killed (SIGKILL),
 * then started again on the same database file. Every run fires exactly once, none early,
 * and none later than a few seconds after its due time or the stack being back, whichever
 * is later (the measurement: within 1.7 s of being back; the margin allows for the
 * test files running beside this one on 2 cores).
 */

const RUNS = 20;
const DOWNTIME_MS = 3_000;
const MARGIN_MS = 5_000;

let stack: CrashableStack | undefined;
afterAll(() => stack?.close());

describe('story 4: delayed runs survive a full restart', () => {
  it('fires every delayed run exactly once, never early, late by at most a few seconds after the stack is back', { timeout: 180_000 }, async () => {
    stack = await startCrashableStack('story4');
    const { caller, client } = stack;
    const jobId = await caller.data<number>('saveJob', {
      jobName: 'delayed', timeExpressionType: 'API', executeType: 'STANDALONE', processorType: 'BUILT_IN', processorInfo: 'record',
    });

    const instanceIds: number[] = [];
    for (let i = 0; i < RUNS; i++) {
      const delay = 1_000 + Math.round((9_000 * i) / (RUNS - 1));
      instanceIds.push(await caller.data<number>('runJob', { jobId, delay }, { form: true }));
    }

    const killedAt = Date.now();
    await stack.killWorkers();
    await stack.killServer();
    await sleep(DOWNTIME_MS); // the outage itself, not a synchronisation
    await stack.startServer();
    await stack.startWorkers();
    const backAt = Date.now();
    const downtime = backAt - killedAt;

    const states = await Promise.all(instanceIds.map((id) =>
      client.workflow.getHandle(instanceWorkflowId(id)).result() as Promise<InstanceState>));
    expect(states.every((s) => s.status === 'SUCCEED')).toBe(true);

    const executions = stack.executions();
    for (const instanceId of instanceIds) {
      const runs = executions.filter((e) => e.instanceId === instanceId);
      expect(runs, `instance ${instanceId}`).toHaveLength(1);
      const info = await caller.data<{ expectedTriggerTime: number }>('fetchInstanceInfo', { instanceId }, { form: true });
      expect(runs[0]!.at - info.expectedTriggerTime, `instance ${instanceId} fired early`).toBeGreaterThanOrEqual(0);
      const due = Math.max(info.expectedTriggerTime, backAt);
      expect(runs[0]!.at - due, `instance ${instanceId} too late (downtime ${downtime} ms)`).toBeLessThanOrEqual(MARGIN_MS);
    }
    expect(executions).toHaveLength(RUNS);
  });
});
