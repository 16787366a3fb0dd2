import { ParentClosePolicy, proxyActivities, startChild } from '@temporalio/workflow';
import type { CoreActivities } from '../contract/activities.js';
import { workflowMisfireLedgerId } from '../contract/names.js';
import { SA } from '../contract/search-attributes.js';
import { dagStartOptions } from '../contract/start-options.js';
import { type DagWorkflow, type ScheduledWorkflowRunInput, type ScheduledWorkflowRunWorkflow, WorkflowType } from '../contract/workflows.js';
import { parseInitParams } from '../domain/dag.js';
import { keyedId } from '../domain/ids.js';
import { fireVerdict } from './fire-time.js';

const { freezeWorkflowRun } = proxyActivities<CoreActivities>({
  startToCloseTimeout: '1 minute',
  retry: { maximumInterval: '10 seconds' },
});

/**
 * The action of every CRON workflow's schedule: one fire becomes one workflow instance, with
 * the job's rules for fires (fireVerdict: exact CRON, time zone, misfire policy, one ledger
 * per workflow). The run freezes the workflow, its jobs and nested workflows as they are at
 * the fire; a fire whose workflow cannot run says why in the schedule's recent actions.
 */
export const scheduledWorkflowRunWorkflow: ScheduledWorkflowRunWorkflow = async ({ workflow, appName, heartbeatTimeoutMs }: ScheduledWorkflowRunInput) => {
  const verdict = await fireVerdict({ ...workflow, timeExpressionType: 'CRON' }, {
    labels: { app: appName, job: `wf:${workflow.id}` },
    searchAttributes: [{ key: SA.appId, value: workflow.appId }, { key: SA.appName, value: appName }, { key: SA.workflowId, value: String(workflow.id) }],
    ledgerId: workflowMisfireLedgerId(workflow.id),
  });
  if (!verdict.run) return verdict.why;
  const frozen = await freezeWorkflowRun({ appId: workflow.appId, workflowId: workflow.id });
  if (!frozen.ok) return `not run: ${frozen.problems.join('; ')}`;
  const { ok: _ok, ...snapshot } = frozen;
  // Derived from the workflow and the fire time: one fire, one workflow instance.
  const wfInstanceId = keyedId('wf-fire', workflow.appId, workflow.id, verdict.fireTime);
  await startChild<DagWorkflow>(WorkflowType.dag, {
    ...dagStartOptions({
      wfInstanceId, appId: workflow.appId, appName, ...snapshot,
      context: parseInitParams(null),
      initParams: null,
      maxWfInstanceNum: workflow.maxWfInstanceNum,
      expectedTriggerTime: verdict.fireTime,
      createdAt: verdict.now,
      createdBy: null,
      parentWfInstanceId: null,
      heartbeatTimeoutMs,
      round: 0,
      retriedBy: null,
      actualTriggerTime: null,
    }),
    parentClosePolicy: ParentClosePolicy.ABANDON,
    workflowIdReusePolicy: 'REJECT_DUPLICATE',
  });
  return `workflow instance ${wfInstanceId}${verdict.catchUp ? ` (catch-up of a fire missed by ${verdict.lateness} ms)` : ''}`;
};
