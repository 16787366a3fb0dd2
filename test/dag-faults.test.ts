import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, describe, expect, it } from 'vitest';
import { wfInstanceWorkflowId } from '../src/contract/names.js';
import type { DagState } from '../src/domain/workflow.js';
import { startCrashableStack, type CrashableStack } from './support/crashable-stack.js';

/**
 * A 20-node DAG survives its core worker, its processor worker, or the Temporal dev server,
 * being killed (SIGKILL) mid-run and started again: nothing is lost and nothing runs twice,
 * counted by the processor itself.
 */

const NODES = 20;
const DOWNTIME_MS = 2_000;

let stack: CrashableStack | undefined;
afterAll(() => stack?.close());

/** A chain of 5, a fan-out of 10 and a chain of 5; each node's processor waits `waitMs`, so a crash lands mid-DAG. */
async function runTwentyNodes(target: CrashableStack, waitMs = 150): Promise<number> {
  const { caller } = target;
  const jobId = await caller.data<number>('saveJob', {
    jobName: 'record', timeExpressionType: 'API', executeType: 'STANDALONE', processorType: 'BUILT_IN', processorInfo: 'record',
    // A node whose worker dies mid-run fails that attempt ("worker lost"): one retry runs it again.
    instanceRetryNum: 1,
  });
  const nodes = await caller.data<{ id: number }[]>('addWorkflowNode',
    Array.from({ length: NODES }, (_, i) => ({ type: 1, jobId, nodeName: `n${i}`, nodeParams: String(waitMs) })));
  const ids = nodes.map((node) => node.id);
  const edges = [
    ...ids.slice(1, 5).map((to, i) => ({ from: ids[i]!, to })),
    ...ids.slice(5, 15).map((to) => ({ from: ids[4]!, to })),
    ...ids.slice(5, 15).map((from) => ({ from, to: ids[15]! })),
    ...ids.slice(16).map((to, i) => ({ from: ids[15 + i]!, to })),
  ];
  const workflowId = await caller.data<number>('saveWorkflow', {
    wfName: 'twenty', timeExpressionType: 'API', dag: { nodes: ids.map((nodeId) => ({ nodeId })), edges },
  });
  const wfInstanceId = await caller.data<number>('runWorkflow', { workflowId }, { form: true });
  return wfInstanceId;
}

/** The run ended SUCCEED and each of its node instances executed exactly once. */
async function expectEveryNodeOnce(target: CrashableStack, wfInstanceId: number, ranBeforeRestart: number): Promise<void> {
  const state = await target.client.workflow.getHandle(wfInstanceWorkflowId(wfInstanceId)).result() as DagState;
  expect(state.status).toBe('SUCCEED');
  expect(ranBeforeRestart).toBeLessThan(NODES);
  const nodeInstances = state.dag.nodes.map((node) => node.instanceId);
  expect(new Set(nodeInstances).size).toBe(NODES);
  const executions = target.executions();
  for (const instanceId of nodeInstances) expect(executions.filter((e) => e.instanceId === instanceId), `instance ${instanceId}`).toHaveLength(1);
  expect(executions).toHaveLength(NODES);
  expect(await target.caller.data('fetchWfInstanceInfo', { wfInstanceId }, { form: true })).toMatchObject({ status: 4 });
}

describe('a DAG across crashes', () => {
  it('runs every node exactly once across a core-worker SIGKILL, and ends SUCCEED', { timeout: 180_000 }, async () => {
    stack = await startCrashableStack('dag-faults');
    const wfInstanceId = await runTwentyNodes(stack);
    await expect.poll(() => stack!.executions().length, { timeout: 30_000, interval: 50 }).toBeGreaterThanOrEqual(3);
    await stack.killCoreWorker();
    const ranBeforeRestart = stack.executions().length;
    await sleep(DOWNTIME_MS); // the outage itself, not a synchronisation
    await stack.startCoreWorker();
    await expectEveryNodeOnce(stack, wfInstanceId, ranBeforeRestart);
  });

  it('the same with the Temporal dev server killed too and restarted on its database file', { timeout: 180_000 }, async () => {
    await stack?.close();
    stack = await startCrashableStack('dag-server-faults');
    const wfInstanceId = await runTwentyNodes(stack);
    await expect.poll(() => stack!.executions().length, { timeout: 30_000, interval: 50 }).toBeGreaterThanOrEqual(3);
    await stack.killCoreWorker();
    await stack.killServer();
    const ranBeforeRestart = stack.executions().length;
    await sleep(DOWNTIME_MS); // the outage itself, not a synchronisation
    await stack.startServer();
    await stack.startCoreWorker();
    await expectEveryNodeOnce(stack, wfInstanceId, ranBeforeRestart);
  });

  it('the same with the processor worker killed in the middle of a node: that node runs again and finishes once', { timeout: 180_000 }, async () => {
    await stack?.close();
    stack = await startCrashableStack('dag-processor-faults');
    const target = stack;
    const wfInstanceId = await runTwentyNodes(target, 1_000);
    // In the leading chain, once two nodes finished and the third is inside its one-second wait.
    const inFlight = () => {
      const finished = new Set(target.executions().map((e) => e.instanceId));
      return target.starts().filter((s) => !finished.has(s.instanceId)).map((s) => s.instanceId);
    };
    await expect.poll(() => target.executions().length >= 2 && inFlight().length > 0, { timeout: 30_000, interval: 20 }).toBe(true);
    const killedMidNode = inFlight();
    await target.killWorkers();
    const ranBeforeRestart = target.executions().length;
    await sleep(DOWNTIME_MS); // the outage itself, not a synchronisation
    await target.startWorkers();
    await expectEveryNodeOnce(target, wfInstanceId, ranBeforeRestart);
    // The node cut off started again on the new worker (after its heartbeat timed out); no other node started twice.
    const starts = target.starts();
    for (const instanceId of killedMidNode) expect(starts.filter((s) => s.instanceId === instanceId).length, `instance ${instanceId}`).toBe(2);
    expect(starts).toHaveLength(NODES + killedMidNode.length);
  });
});
