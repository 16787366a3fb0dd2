import { useQuery } from '@tanstack/react-query';
import type { JobInfo } from '../../../src/client/client.js';
import { nodeTypeOf, type PEWorkflowNode } from '../../../src/domain/dag.js';
import { useClient } from '../app.js';
import { Link, navigate } from '../router.js';
import { CopyId, ListState, StatusBadge, Time, errorMessage } from '../ui.js';
import { DagView } from './dag.js';
import { useJobs } from './jobs.js';
import { WF_FINISHED_CODES, WfStatusBadge, WorkflowActions } from './workflows.js';

/** How a node is named in a drawing: its name, else its job's; below, what it runs (the job's name when the node has its own, else the id). */
export function describeNode(node: PEWorkflowNode, jobs: readonly JobInfo[] | undefined): { title: string; subtitle: string } {
  const type = nodeTypeOf(node);
  const job = jobs?.find((j) => j.id === node.jobId);
  const title = node.nodeName || job?.jobName || `node ${node.nodeId}`;
  if (type === 'DECISION') return { title, subtitle: 'decision' };
  if (type === 'NESTED_WORKFLOW') return { title, subtitle: `workflow ${node.jobId}` };
  return { title, subtitle: node.nodeName && job ? `job ${job.jobName}` : `job ${node.jobId}` };
}

export function useWorkflow(workflowId: number) {
  const client = useClient();
  return useQuery({ queryKey: ['workflow', workflowId], queryFn: ({ signal }) => client.fetchWorkflow(workflowId, { signal }) });
}

export function WorkflowDetail({ workflowId }: { workflowId: number }) {
  const client = useClient();
  const jobs = useJobs();
  const workflow = useWorkflow(workflowId);
  const runs = useQuery({
    queryKey: ['wf-instances', workflowId],
    queryFn: async ({ signal }) => (await client.queryWfInstance({ workflowIdEq: workflowId, pageSize: 20 }, { signal })).data,
    // Live while a run is under way.
    refetchInterval: (q) => (q.state.data?.some((run) => !WF_FINISHED_CODES.includes(run.status)) ? 2_000 : 10_000),
  });
  if (workflow.isPending) return <p className="state" role="status">Loading workflow {workflowId}…</p>;
  if (workflow.isError) {
    return <div className="state error" role="alert"><h1>Workflow {workflowId}</h1><p>{errorMessage(workflow.error)}</p><Link to="/workflows">All workflows</Link></div>;
  }
  const wf = workflow.data;
  const dag = wf.peworkflowDAG;
  return (
    <section aria-labelledby="workflow-title">
      <div className="title-row">
        <h1 id="workflow-title">Workflow {wf.wfName} <CopyId id={wf.id} label="workflow id" /></h1>
        <StatusBadge code={wf.status} kind="job" />
      </div>
      {wf.wfDescription && <p>{wf.wfDescription}</p>}
      <WorkflowActions workflow={wf} onDeleted={() => navigate('/workflows')} />
      <dl className="facts">
        <dt>When</dt><dd>{wf.timeExpressionType}{wf.timeExpression && <> <code>{wf.timeExpression}</code> ({wf.timeZone})</>}</dd>
        <dt>Next fire</dt><dd><Time ms={wf.nextTriggerTime} zone={wf.timeZone} /></dd>
        <dt>Failure policy</dt><dd>{wf.failurePolicy}</dd>
        <dt>Max runs at once</dt><dd>{wf.maxWfInstanceNum > 0 ? wf.maxWfInstanceNum : 'no limit'}</dd>
      </dl>
      <h2>DAG</h2>
      {dag.nodes.length === 0
        ? <p className="state empty">No nodes. <Link to={`/workflows/${wf.id}/edit`}>Add some in the editor</Link>.</p>
        : <DagView label={`DAG of workflow ${wf.wfName}`} nodes={dag.nodes.map((node) => ({ id: node.nodeId, ...describeNode(node, jobs.data) }))} edges={dag.edges} />}
      <h2>Recent runs</h2>
      <ListState query={runs} what="runs of this workflow" empty={(all) => all.length === 0}>
        {(all) => (
          <div className="table-wrap">
            <table>
              <caption className="sr-only">Runs of the workflow, newest first</caption>
              <thead><tr><th scope="col">Run</th><th scope="col">Status</th><th scope="col">Expected</th><th scope="col">Finished</th><th scope="col">Result</th></tr></thead>
              <tbody>
                {all.map((run) => (
                  <tr key={run.wfInstanceId} data-wf-instance-id={run.wfInstanceId}>
                    <td><Link to={`/wf-instances/${run.wfInstanceId}`}>{run.wfInstanceId}</Link> <CopyId id={run.wfInstanceId} label="workflow run id" /></td>
                    <td><WfStatusBadge code={run.status} /></td>
                    <td><Time ms={run.expectedTriggerTime} zone={wf.timeZone} /></td>
                    <td><Time ms={run.finishedTime} zone={wf.timeZone} /></td>
                    <td className="result">{run.result}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )}
      </ListState>
    </section>
  );
}
