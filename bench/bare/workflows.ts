/**
 * Bare-Temporal baselines, with none of tempojob's bookkeeping. `npm run bench`: one run is
 * one workflow that runs one no-op activity (`bareRun`). The CRON benchmarks: a schedule's
 * fire starts `bareScheduledRun`, which does the same. `npm run bench:map`: the same
 * fan-out as a map. A parent runs one child per 1,000 items, `childrenAtOnce` at a
 * time (0: all at once); each child runs its items as no-op activities, `window` at a time,
 * and returns how many it ran. `npm run bench:broadcast`: `bareBroadcast`, one child workflow
 * per worker queue, each running one no-op activity on that queue. `npm run bench:dag`:
 * `bareDagChain` and `bareDagFanOut`, a DAG's nodes as child workflows running `bareRun`.
 */
import { condition, defineUpdate, executeChild, proxyActivities, setHandler, workflowInfo } from '@temporalio/workflow';
import { defineSearchAttributeKey } from '@temporalio/common';

const BATCH = 1_000;
const { noop } = proxyActivities<{ noop(item: number): Promise<void> }>({ startToCloseTimeout: '1 minute' });

export async function bareRun(): Promise<{ status: 'SUCCEED' }> {
  await noop(0);
  return { status: 'SUCCEED' };
}

const ScheduledStart = defineSearchAttributeKey('TemporalScheduledStartTime', 'DATETIME');

/**
 * A bare schedule's fire: how late its first workflow task ran against the nominal fire
 * time (where a tempojob instance records its actualTriggerTime), then one no-op activity.
 */
export async function bareScheduledRun(): Promise<{ latenessMs: number }> {
  const info = workflowInfo();
  const latenessMs = Date.now() - (info.typedSearchAttributes.get(ScheduledStart) ?? info.startTime).getTime();
  await noop(0);
  return { latenessMs };
}

export const cancelBareRun = defineUpdate<void>('cancelBareRun');

/**
 * The baseline of `npm run bench:delays`: a durable timer until `fireAt`, then one no-op
 * activity; cancelled by an update before it fires, as an instance is.
 */
export async function bareDelayedRun(fireAt: number): Promise<{ status: 'SUCCEED' | 'CANCELED'; latenessMs: number }> {
  let cancelled = false;
  setHandler(cancelBareRun, () => { cancelled = true; });
  if (await condition(() => cancelled, Math.max(1, fireAt - Date.now()))) return { status: 'CANCELED', latenessMs: 0 };
  const latenessMs = Date.now() - fireAt;
  await noop(0);
  return { status: 'SUCCEED', latenessMs };
}

export async function bareFanOut(items: number, window: number, childrenAtOnce: number): Promise<number> {
  const firsts: number[] = [];
  for (let first = 0; first < items; first += BATCH) firsts.push(first);
  const ran = await inLanes(firsts, childrenAtOnce > 0 ? childrenAtOnce : firsts.length, (first) =>
    executeChild(bareBatch, { args: [first, Math.min(BATCH, items - first), window] }));
  return ran.reduce((a, b) => a + b, 0);
}

export async function bareBatch(first: number, size: number, window: number): Promise<number> {
  const items = Array.from({ length: size }, (_, i) => first + i);
  return (await inLanes(items, window, (item) => noop(item))).length;
}

/**
 * The baseline of `npm run bench:broadcast`: the work of a tempojob broadcast with none of its
 * bookkeeping. A no-op activity on the parent's own queue stands for preProcess (tempojob runs
 * that activity whether or not the processor defines preProcess), then one child workflow per
 * queue, all at once, each running one no-op activity on its queue (as a share runs on its
 * member's own queue), then a no-op activity for postProcess. The members are known up front,
 * so there is no membership snapshot. Returns how many shares ran and the time from its first
 * workflow task to its last (the workflow clock, as an instance's actualTriggerTime → finishedTime).
 */
export async function bareBroadcast(queues: string[]): Promise<{ ran: number; fireToFinishMs: number }> {
  const fired = Date.now();
  await noop(0);
  const shares = await Promise.all(queues.map((queue) => executeChild(bareShare, { args: [queue] })));
  const ran = shares.reduce((a, b) => a + b, 0);
  await noop(ran);
  return { ran, fireToFinishMs: Date.now() - fired };
}

/** One share of `bareBroadcast`: one no-op activity on `queue`; returns 1 once it ran. */
export async function bareShare(queue: string): Promise<number> {
  const { noop: onQueue } = proxyActivities<{ noop(item: number): Promise<void> }>({ taskQueue: queue, startToCloseTimeout: '1 minute' });
  await onQueue(0);
  return 1;
}

/**
 * The chain baseline of `npm run bench:dag`: `length` nodes one after another, each a child
 * workflow running one no-op activity (`bareRun`), as a tempojob JOB node is a child instance.
 * Returns how many nodes succeeded and the time from its first workflow task to its last (the
 * workflow clock, as a workflow instance's actualTriggerTime → finishedTime).
 */
export async function bareDagChain(length: number): Promise<{ ran: number; fireToFinishMs: number }> {
  const fired = Date.now();
  let ran = 0;
  for (let i = 0; i < length; i++) ran += succeeded(await executeChild(bareRun));
  return { ran, fireToFinishMs: Date.now() - fired };
}

/**
 * The fan-out/fan-in baseline of `npm run bench:dag`: one root node, then `width` nodes all at
 * once, then one sink node once they all ended; each node a child workflow running `bareRun`.
 * Returns as `bareDagChain` does.
 */
export async function bareDagFanOut(width: number): Promise<{ ran: number; fireToFinishMs: number }> {
  const fired = Date.now();
  let ran = succeeded(await executeChild(bareRun));
  const middle = await Promise.all(Array.from({ length: width }, () => executeChild(bareRun)));
  ran += middle.reduce((sum, outcome) => sum + succeeded(outcome), 0);
  ran += succeeded(await executeChild(bareRun));
  return { ran, fireToFinishMs: Date.now() - fired };
}

function succeeded(outcome: { status: string }): number {
  return outcome.status === 'SUCCEED' ? 1 : 0;
}

/** Runs `each` over `items`, `lanes` at a time, and returns the outcomes. */
async function inLanes<T, R>(items: readonly T[], lanes: number, each: (item: T) => Promise<R>): Promise<R[]> {
  const outcomes: R[] = [];
  let next = 0;
  await Promise.all(Array.from({ length: Math.min(lanes, items.length) }, async () => {
    while (next < items.length) outcomes.push(await each(items[next++]!));
  }));
  return outcomes;
}
