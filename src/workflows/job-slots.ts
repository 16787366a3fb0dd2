import { setHandler } from '@temporalio/workflow';
import { acquireSlotUpdate, releaseSlotSignal } from '../contract/messages.js';
import { continueAsNewWhenSuggested } from './long-lived.js';
import type { JobSlotsWorkflow } from '../contract/workflows.js';

/**
 * Counts the running instances of one job so `maxInstanceNum` holds exactly, whatever
 * the number of API replicas or core workers: a slot is granted by an update (one
 * at a time, in history order) and given back by a signal when the instance ends.
 */

export const jobSlotsWorkflow: JobSlotsWorkflow = async (holders: number[] = []): Promise<void> => {
  const held = new Set(holders);
  setHandler(acquireSlotUpdate, ({ instanceId, maxInstanceNum }) => {
    // An activity retry asks again for the same instance: answer as before.
    if (held.has(instanceId)) return { acquired: true, running: held.size };
    if (held.size >= maxInstanceNum) return { acquired: false, running: held.size + 1 };
    held.add(instanceId);
    return { acquired: true, running: held.size };
  });
  setHandler(releaseSlotSignal, ({ instanceId }) => {
    held.delete(instanceId);
  });
  await continueAsNewWhenSuggested<JobSlotsWorkflow>(() => [[...held]]);
};
