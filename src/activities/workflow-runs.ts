import type { Client } from '@temporalio/client';
import type { CoreActivities } from '../contract/activities.js';
import { MemoKey } from '../contract/memo.js';
import { jobScheduleId, workflowNodesWorkflowId, workflowScheduleId } from '../contract/names.js';
import { jobOfSchedule, workflowOfSchedule } from '../contract/schedules.js';
import { snapshotOf } from '../domain/job.js';
import { type WorkflowNodeRecord, freezeRun } from '../domain/workflow.js';
import { isNotFound } from '../temporal/errors.js';

/**
 * What a CRON fire of a workflow freezes, read as the API reads it: definitions from their
 * schedules, nodes from the app's node registry. Another app's job or workflow counts as gone.
 */
export function workflowRunActivities(client: Client): Pick<CoreActivities, 'freezeWorkflowRun'> {
  const orNone = (err: unknown) => { if (isNotFound(err)) return undefined; throw err; };
  return {
    async freezeWorkflowRun({ appId, workflowId }) {
      const workflowOf = async (id: number) => {
        const description = await client.schedule.getHandle(workflowScheduleId(id)).describe().catch(orNone);
        const workflow = description && workflowOfSchedule(description);
        return workflow?.appId === appId ? workflow : undefined;
      };
      const root = await workflowOf(workflowId);
      if (!root) return { ok: false, problems: [`workflow ${workflowId} no longer exists`] };
      const registry = await client.workflow.getHandle(workflowNodesWorkflowId(appId)).describe().catch(orNone);
      const nodes = (registry?.memo?.[MemoKey.nodes] ?? []) as WorkflowNodeRecord[];
      return freezeRun(root, {
        nodes: new Map(nodes.map((node) => [node.id, node])),
        job: async (jobId) => {
          const description = await client.schedule.getHandle(jobScheduleId(jobId)).describe().catch(orNone);
          const job = description && jobOfSchedule(description);
          return job?.appId === appId ? { ...snapshotOf(job), deleted: job.status === 'DELETED' } : undefined;
        },
        workflow: workflowOf,
      });
    },
  };
}
