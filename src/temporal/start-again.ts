import type { Client } from '@temporalio/client';
import { isAlreadyStarted, isTransient } from './errors.js';

/**
 * Starts a new run under the id of a finished one (a retry, a recorded mark). A run's memo reads
 * finished a moment before its Temporal workflow closes (it still releases its concurrency slot),
 * so a start refused as "already started" waits — within `timeoutMs` — for the current run to
 * close, however it ends, and is asked once more. A second refusal is the caller's to explain.
 */
export async function startAgain<T>(client: Client, workflowId: string, timeoutMs: number, start: () => Promise<T>): Promise<T> {
  try {
    return await start();
  } catch (err) {
    if (!isAlreadyStarted(err)) throw err;
  }
  const current = client.workflow.getHandle(workflowId);
  await client.withDeadline(Date.now() + timeoutMs, () => current.result()).catch((err: unknown) => {
    if (isTransient(err)) throw err;
  });
  return start();
}
