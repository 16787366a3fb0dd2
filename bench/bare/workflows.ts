/**
 * The baseline of `npm run bench:map`: the same fan-out in bare Temporal, with none of
 * tempojob's bookkeeping. A parent starts one child per 1,000 items; each child runs its
 * items as no-op activities, `window` at a time, and returns how many it ran.
 */
import { executeChild, proxyActivities } from '@temporalio/workflow';

const BATCH = 1_000;
const { noop } = proxyActivities<{ noop(item: number): Promise<void> }>({ startToCloseTimeout: '1 minute' });

export async function bareFanOut(items: number, window: number): Promise<number> {
  const children: Promise<number>[] = [];
  for (let first = 0; first < items; first += BATCH) {
    children.push(executeChild(bareBatch, { args: [first, Math.min(BATCH, items - first), window] }));
  }
  return (await Promise.all(children)).reduce((a, b) => a + b, 0);
}

export async function bareBatch(first: number, size: number, window: number): Promise<number> {
  let next = 0;
  let ran = 0;
  await Promise.all(Array.from({ length: Math.min(window, size) }, async () => {
    while (next < size) {
      const item = first + next++;
      await noop(item);
      ran++;
    }
  }));
  return ran;
}
