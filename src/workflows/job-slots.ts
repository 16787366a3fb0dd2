import {
  allHandlersFinished,
  condition,
  continueAsNew,
  defineSignal,
  defineUpdate,
  setHandler,
  workflowInfo,
} from '@temporalio/workflow';

/**
 * Counts the running instances of one job so `maxInstanceNum` holds exactly, whatever
 * the number of API replicas or core workers: a slot is granted by an update (one
 * at a time, in history order) and given back by a signal when the instance ends.
 */

export interface AcquireSlotRequest {
  instanceId: number;
  maxInstanceNum: number;
}
export interface AcquireSlotResult {
  acquired: boolean;
  running: number;
}

export const acquireSlotUpdate = defineUpdate<AcquireSlotResult, [AcquireSlotRequest]>('acquireSlot');
export const releaseSlotSignal = defineSignal<[{ instanceId: number }]>('releaseSlot');

export async function jobSlotsWorkflow(holders: number[] = []): Promise<void> {
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
  await condition(() => workflowInfo().continueAsNewSuggested && allHandlersFinished());
  await continueAsNew<typeof jobSlotsWorkflow>([...held]);
}
