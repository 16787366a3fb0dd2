import { ActivityFailure, isCancellation, proxyActivities } from '@temporalio/workflow';
import type { CoreActivities } from '../contract/activities.js';
import { SystemResult } from '../domain/instance.js';
import type { LiveWorker, WorkerTargeting } from '../domain/targeting.js';

/**
 * Which processor workers take part in a run: Temporal's view of the app's live workers at
 * this moment (core activity `liveWorkers`), narrowed by the job's targeting. Recorded in
 * history, so replays agree. Broadcasts take every member, designated STANDALONE runs one,
 * maps size their window by the count.
 */

const { liveWorkers } = proxyActivities<CoreActivities>({
  startToCloseTimeout: '10 seconds',
  retry: { maximumInterval: '5 seconds', maximumAttempts: 5 },
});

/** The live workers that may take part, or why they could not be listed. */
export async function takeMembership(appName: string, targeting: WorkerTargeting): Promise<LiveWorker[] | { failure: string }> {
  try {
    return await liveWorkers({ appName, targeting });
  } catch (err) {
    if (isCancellation(err)) throw err;
    const cause = err instanceof ActivityFailure ? err.cause?.message ?? err.message : String(err);
    return { failure: `could not list the live workers of app ${appName}: ${cause}` };
  }
}

export function noWorkerMessage(appName: string, targeting: WorkerTargeting): string {
  const which = targeting.designatedWorkers.length > 0
    ? `matches designatedWorkers ${targeting.designatedWorkers.join(',')}`
    : 'polls its queue';
  return `${SystemResult.noWorkerAvailable}: no live worker of app ${appName} ${which}`;
}

/** maxWorkerCount: a random sample (deterministic in the workflow), so load spreads over the workers. */
export function capMembers(members: LiveWorker[], maxWorkerCount: number): LiveWorker[] {
  if (maxWorkerCount <= 0 || members.length <= maxWorkerCount) return members;
  const pool = [...members];
  const chosen: LiveWorker[] = [];
  while (chosen.length < maxWorkerCount) chosen.push(pool.splice(Math.floor(Math.random() * pool.length), 1)[0]!);
  return chosen.sort((a, b) => (a.workerId < b.workerId ? -1 : 1));
}

/** One member at random (deterministic in the workflow): the worker a designated STANDALONE attempt is pinned to. */
export function pickMember(members: readonly LiveWorker[]): LiveWorker | undefined {
  return members[Math.floor(Math.random() * members.length)];
}
