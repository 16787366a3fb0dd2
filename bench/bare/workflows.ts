/**
 * The baselines of `npm run bench:map`: the same fan-out in bare Temporal, with none of
 * tempojob's bookkeeping. A parent runs one child per 1,000 items, `childrenAtOnce` at a
 * time (0: all at once); each child runs its items as no-op activities, `window` at a time,
 * and returns how many it ran.
 */
import { executeChild, proxyActivities } from '@temporalio/workflow';

const BATCH = 1_000;
const { noop } = proxyActivities<{ noop(item: number): Promise<void> }>({ startToCloseTimeout: '1 minute' });

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

/** Runs `each` over `items`, `lanes` at a time, and returns the outcomes. */
async function inLanes<T, R>(items: readonly T[], lanes: number, each: (item: T) => Promise<R>): Promise<R[]> {
  const outcomes: R[] = [];
  let next = 0;
  await Promise.all(Array.from({ length: Math.min(lanes, items.length) }, async () => {
    while (next < items.length) outcomes.push(await each(items[next++]!));
  }));
  return outcomes;
}
