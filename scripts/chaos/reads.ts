import type { Client } from '@temporalio/client';
import { TempojobError, type TempojobClient } from '../../src/client/index.js';
import { MemoKey, type RunMemo } from '../../src/contract/memo.js';
import { SA } from '../../src/contract/search-attributes.js';
import { InstanceStatus, type InstanceStatusName } from '../../src/domain/enums.js';
import type { InstanceState } from '../../src/domain/instance.js';

/**
 * What the checker reads once the run is over: instances and workflow instances through
 * the API (fetchInstanceInfo, fetchWfInstanceInfo: strongly consistent), and the CRON and
 * FIXED_RATE jobs' fires through Temporal's visibility (one instance workflow per fire,
 * with its memos), as nothing else lists every fire.
 */

export interface InstanceFacts {
  instanceId: number;
  jobId: number;
  /** NOT_FOUND: the API says there is no such instance; UNREADABLE: it never answered. */
  status: InstanceStatusName | 'NOT_FOUND' | 'UNREADABLE';
  result: string | null;
  expectedTriggerTime: number | null;
  actualTriggerTime: number | null;
  broadcast?: { workerId: string; status: string; result: string | null }[];
}

export interface WfFacts {
  wfInstanceId: number;
  /** PowerJob's workflow instance codes: WAITING 1, RUNNING 2, FAILED 3, SUCCEED 4, STOPPED 10; -1 unreadable. */
  status: number;
  result: string | null;
  nodeInstanceIds: number[];
}

const CONCURRENCY = 8;

async function eachLimited<T>(items: readonly T[], fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(Array.from({ length: Math.min(CONCURRENCY, items.length) }, async () => {
    while (next < items.length) await fn(items[next++]!);
  }));
}

/** The call, again after failures of any kind but a refusal, up to 5 times. */
async function persistently<T>(call: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await call();
    } catch (err) {
      if (err instanceof TempojobError && err.code !== '-500') throw err;
      if (attempt >= 5) throw err;
      await new Promise((resolveWait) => setTimeout(resolveWait, 1_000 * attempt));
    }
  }
}

export async function readInstances(client: TempojobClient, ids: readonly number[]): Promise<Map<number, InstanceFacts>> {
  const facts = new Map<number, InstanceFacts>();
  await eachLimited([...new Set(ids)], async (instanceId) => {
    try {
      const info = await persistently(() => client.fetchInstanceInfo(instanceId));
      facts.set(instanceId, {
        instanceId, jobId: info.jobId, status: InstanceStatus.nameOf(info.status) ?? 'UNREADABLE', result: info.result,
        expectedTriggerTime: info.expectedTriggerTime, actualTriggerTime: info.actualTriggerTime,
        ...(info.broadcast ? { broadcast: info.broadcast.map(({ workerId, status, result }) => ({ workerId, status, result })) } : {}),
      });
    } catch (err) {
      const notFound = err instanceof TempojobError && /not (be )?found|does not exist|no such/i.test(err.message);
      facts.set(instanceId, { instanceId, jobId: 0, status: notFound ? 'NOT_FOUND' : 'UNREADABLE', result: (err as Error).message, expectedTriggerTime: null, actualTriggerTime: null });
    }
  });
  return facts;
}

export async function readWfInstances(client: TempojobClient, ids: readonly number[]): Promise<Map<number, WfFacts>> {
  const facts = new Map<number, WfFacts>();
  await eachLimited(ids, async (wfInstanceId) => {
    try {
      const info = await persistently(() => client.fetchWfInstanceInfo(wfInstanceId));
      const dag = JSON.parse(info.dag) as { nodes?: { instanceId?: string | number | null }[] };
      const nodeInstanceIds = (dag.nodes ?? []).flatMap((node) => (node.instanceId ? [Number(node.instanceId)] : []));
      facts.set(wfInstanceId, { wfInstanceId, status: info.status, result: info.result, nodeInstanceIds });
    } catch (err) {
      facts.set(wfInstanceId, { wfInstanceId, status: -1, result: (err as Error).message, nodeInstanceIds: [] });
    }
  });
  return facts;
}

/** Every fire of the job Temporal's visibility lists (instances started by its schedule), as facts from their memos. */
export async function readFires(client: Client, jobId: number): Promise<InstanceFacts[]> {
  const fires: InstanceFacts[] = [];
  for await (const wf of client.workflow.list({ query: `WorkflowType = 'instanceWorkflow' AND ${SA.jobId.name} = ${jobId}` })) {
    const run = wf.memo?.[MemoKey.run] as RunMemo | undefined;
    const state = wf.memo?.[MemoKey.instance] as InstanceState | undefined;
    fires.push({
      instanceId: Number(wf.workflowId.replace(/^tempojob-instance-/, '')),
      jobId,
      status: state?.status ?? (wf.status.name === 'RUNNING' ? 'RUNNING' : 'UNREADABLE'),
      result: state?.result ?? null,
      expectedTriggerTime: run?.expectedTriggerTime ?? null,
      actualTriggerTime: state?.actualTriggerTime ?? null,
    });
  }
  return fires;
}

/** How many of the job's instance workflows visibility still lists as running. */
export async function runningFires(client: Client, jobId: number): Promise<number> {
  return (await client.workflow.count(`WorkflowType = 'instanceWorkflow' AND ${SA.jobId.name} = ${jobId} AND ExecutionStatus = 'Running'`)).count;
}
