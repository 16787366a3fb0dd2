import type { Client, ScheduleDescription, ScheduleUpdateOptions } from '@temporalio/client';
import { SA } from '../contract/search-attributes.js';
import { isNotFound, isTransient } from '../temporal/errors.js';

/**
 * Deadlines of the successive schedule describes behind one read of a job or workflow.
 * Describing a schedule queries its workflow on Temporal's own worker; one such query was
 * seen hanging 30 s (it waited on a busy sticky poller, which docs/deployment.md's
 * `system.enableStickyQuery=false` rules out). Should one stall anyway, a short first
 * deadline and a retry keep reads bounded.
 */
const DESCRIBE_DEADLINES_MS = [5_000, 10_000, 20_000];

/** A schedule's description, or undefined when there is none; a stalled describe is asked again. */
export async function describeSchedule(client: Client, scheduleId: string): Promise<ScheduleDescription | undefined> {
  const handle = client.schedule.getHandle(scheduleId);
  for (let attempt = 0; ; attempt++) {
    try {
      const deadline = Date.now() + DESCRIBE_DEADLINES_MS[attempt]!;
      return await client.connection.withDeadline(deadline, () => handle.describe());
    } catch (err) {
      if (isNotFound(err)) return undefined;
      // A read is safe to ask again.
      if (attempt + 1 < DESCRIBE_DEADLINES_MS.length && isTransient(err)) continue;
      throw err;
    }
  }
}

/**
 * A read-modify-write of a schedule (`change` gets what is stored, returns what to store),
 * under the same escalating deadlines as a read: the update is conditional on what was read
 * (Temporal's conflict token), so one whose describe or write stalled is simply done again
 * from a fresh read.
 */
export async function updateSchedule(client: Client, scheduleId: string, change: (previous: ScheduleDescription) => ScheduleUpdateOptions): Promise<void> {
  const handle = client.schedule.getHandle(scheduleId);
  for (let attempt = 0; ; attempt++) {
    try {
      const deadline = Date.now() + DESCRIBE_DEADLINES_MS[attempt]!;
      await client.connection.withDeadline(deadline, () => handle.update(change));
      return;
    } catch (err) {
      if (attempt + 1 < DESCRIBE_DEADLINES_MS.length && isTransient(err)) continue;
      throw err;
    }
  }
}

/**
 * The app's definitions stored as schedules whose ids are `idOf(<number>)` (jobs, workflows):
 * their ids from visibility, then each read with `read` at most 16 at a time — each read
 * describes a schedule, a query on Temporal's own worker, which a burst would swamp.
 */
export async function readAppSchedules<T>(client: Client, appId: number, idOf: (id: number) => string, read: (id: number) => Promise<T>): Promise<T[]> {
  const prefix = idOf(0).replace(/0$/, '');
  const ids: number[] = [];
  for await (const summary of client.schedule.list({ query: `${SA.appId.name} = ${appId}` })) {
    if (!summary.scheduleId.startsWith(prefix)) continue;
    const id = Number(summary.scheduleId.slice(prefix.length));
    if (Number.isSafeInteger(id)) ids.push(id);
  }
  const results = new Array<T>(ids.length);
  let next = 0;
  await Promise.all(Array.from({ length: Math.min(16, ids.length) }, async () => {
    while (next < ids.length) {
      const index = next++;
      results[index] = await read(ids[index]!);
    }
  }));
  return results;
}
