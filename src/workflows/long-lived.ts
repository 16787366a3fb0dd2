import type { Workflow } from '@temporalio/common';
import { allHandlersFinished, condition, continueAsNew, workflowInfo } from '@temporalio/workflow';

/**
 * The end of every long-lived workflow (app directory, job slots, misfire ledger): it serves
 * its updates and signals until Temporal suggests a fresh history, lets the handlers in
 * flight finish, then continues as new with the state `carry` gives at that moment.
 */
export async function continueAsNewWhenSuggested<F extends Workflow>(carry: () => Parameters<F>): Promise<never> {
  await condition(() => workflowInfo().continueAsNewSuggested && allHandlersFinished());
  return continueAsNew<F>(...carry());
}
