import {
  ParentClosePolicy,
  condition,
  continueAsNew,
  executeChild,
  isCancellation,
  setHandler,
} from '@temporalio/workflow';
import { reconfigureSignal } from '../contract/messages.js';
import { instanceStartOptions } from '../contract/start-options.js';
import { type FixedDelayState, type FixedDelayWorkflow, type InstanceWorkflow, type ScheduledRunInput, WorkflowType } from '../contract/workflows.js';
import { fireInstanceInput } from './scheduled-run.js';
import { metrics } from './metrics.js';

const RUNS_PER_HISTORY = 200;

/**
 * FIXED_DELAY: the next run starts `delay` ms after the previous one ended, which a
 * Temporal Schedule cannot express. One clock workflow per enabled job; disabling or
 * deleting the job cancels it, which stops the running instance too (as PowerJob does).
 */
export const fixedDelayWorkflow: FixedDelayWorkflow = async (state: FixedDelayState): Promise<void> => {
  let { run } = state;
  let nextFireTime = state.nextFireTime;
  setHandler(reconfigureSignal, (next) => { run = next; });
  try {
    for (let runs = 0; runs < RUNS_PER_HISTORY; runs++) {
      const { lifeCycle } = run.job;
      const due = Math.max(nextFireTime ?? Date.now(), lifeCycle?.start ?? 0);
      if (lifeCycle?.end != null && due > lifeCycle.end) return;
      if (due > Date.now()) {
        const before = run;
        // A reconfigure while waiting recomputes the fire time with the new delay.
        if (await condition(() => run !== before, due - Date.now())) {
          nextFireTime = nextFireTime === null ? null : nextFireTime - delayOf(before) + delayOf(run);
          runs--;
          continue;
        }
      }
      const instance = fireInstanceInput(run, due, Date.now());
      metrics.instanceStarted({ app: run.appName, jobId: run.job.id, trigger: 'fixed_delay' });
      await executeChild<InstanceWorkflow>(WorkflowType.instance, {
        ...instanceStartOptions(instance),
        parentClosePolicy: ParentClosePolicy.REQUEST_CANCEL,
        workflowIdReusePolicy: 'REJECT_DUPLICATE',
      });
      nextFireTime = Date.now() + delayOf(run);
    }
  } catch (err) {
    if (isCancellation(err)) return;
    throw err;
  }
  await continueAsNew<FixedDelayWorkflow>({ run, nextFireTime });
};

function delayOf(run: ScheduledRunInput): number {
  return Number(run.job.timeExpression);
}
