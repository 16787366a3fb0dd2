import { useQuery } from '@tanstack/react-query';
import { useRef } from 'react';
import type { WfInstanceInfo } from '../../../src/client/client.js';
import { nodeStatusOf, nodeTypeOf, WorkflowInstanceStatus, type PEWorkflowDAG, type PEWorkflowNode } from '../../../src/domain/dag.js';
import { useClient } from '../app.js';
import { Link } from '../router.js';
import { CopyId, ErrorNote, Time, errorMessage, useIntent } from '../ui.js';
import { DagView } from './dag.js';
import { useJobs } from './jobs.js';
import { describeNode } from './workflow.js';
import { WF_FINISHED_CODES, WfStatusBadge } from './workflows.js';

/** The run's DAG as fetchWfInstanceInfo writes it: PowerJob's JSON, a node's instanceId a string. */
type RunNode = Omit<PEWorkflowNode, 'instanceId'> & { instanceId?: string | null };
type RunDag = Omit<PEWorkflowDAG, 'nodes'> & { nodes: RunNode[] };

type Acting = (call: () => Promise<void>) => Promise<void>;

/** A node's own page: a JOB node's instance, a nested workflow's run; none before it started. */
function nodePage(node: RunNode): string | undefined {
  if (!node.instanceId) return undefined;
  const type = nodeTypeOf(node);
  if (type === 'JOB') return `/instances/${node.instanceId}`;
  return type === 'NESTED_WORKFLOW' ? `/wf-instances/${node.instanceId}` : undefined;
}

/** What an action changes: the run's status and DAG. */
const snapshot = (info: WfInstanceInfo | undefined) => (info ? `${info.status} ${info.dag}` : null);

function NodeRow({ node, wfInstanceId, canMark, title, acting }: { node: RunNode; wfInstanceId: number; canMark: boolean; title: string; acting: Acting }) {
  const client = useClient();
  const status = nodeStatusOf(node);
  const mark = useIntent(
    (_: void, idempotencyKey) => acting(() => client.markWorkflowNodeAsSuccess(wfInstanceId, node.nodeId, { idempotencyKey })),
    { invalidates: [['wf-instance', wfInstanceId]] },
  );
  const page = nodePage(node);
  return (
    <tr data-node-id={node.nodeId}>
      <td>{title} <span className="muted small">#{node.nodeId}</span></td>
      <td><span className={`badge badge-${status.toLowerCase()}`}>{status}</span></td>
      <td>{page ? <Link to={page}>{node.instanceId}</Link> : <span className="muted">—</span>}</td>
      <td className="result">{node.result}</td>
      <td>
        {canMark && status === 'FAILED' && (
          <button type="button" onClick={() => mark.trigger()} disabled={mark.pending}>{mark.pending ? 'Marking…' : 'Mark as success'}</button>
        )}
        <ErrorNote error={mark.error} />
      </td>
    </tr>
  );
}

export function WfInstanceDetail({ wfInstanceId }: { wfInstanceId: number }) {
  const client = useClient();
  const jobs = useJobs();
  // The run as it was when an action was sent, until the run shows the action's effect.
  const before = useRef<string | null>(null);
  const run = useQuery({
    queryKey: ['wf-instance', wfInstanceId],
    queryFn: ({ signal }) => client.fetchWfInstanceInfo(wfInstanceId, { signal }),
    // Live until the run is finished (its nodes change status as they run), and after an
    // action until its effect shows (a marked node, a retried run: the API applies them a moment later).
    refetchInterval: (q) => (q.state.data && WF_FINISHED_CODES.includes(q.state.data.status) && snapshot(q.state.data) !== before.current ? false : 1_000),
  });
  const acting: Acting = async (call) => {
    before.current = snapshot(run.data);
    try {
      await call();
    } catch (err) {
      before.current = null;
      throw err;
    }
  };
  const invalidates = [['wf-instance', wfInstanceId], ['wf-instances']];
  const stop = useIntent((_: void, idempotencyKey) => acting(() => client.stopWfInstance(wfInstanceId, { idempotencyKey })), { invalidates });
  const retry = useIntent((_: void, idempotencyKey) => acting(() => client.retryWfInstance(wfInstanceId, { idempotencyKey })), { invalidates });

  if (run.isPending) return <p className="state" role="status">Loading workflow run {wfInstanceId}…</p>;
  if (run.isError) {
    return <div className="state error" role="alert"><h1>Workflow run {wfInstanceId}</h1><p>{errorMessage(run.error)}</p><Link to="/workflows">All workflows</Link></div>;
  }
  const info = run.data;
  const dag = JSON.parse(info.dag) as RunDag;
  const finished = WF_FINISHED_CODES.includes(info.status);
  const retryable = info.status === WorkflowInstanceStatus.codes.FAILED || info.status === WorkflowInstanceStatus.codes.STOPPED;
  const titled = dag.nodes.map((node) => ({ node, ...describeNode({ ...node, instanceId: null }, jobs.data) }));
  return (
    <section aria-labelledby="wf-instance-title">
      <div className="title-row">
        <h1 id="wf-instance-title">Workflow run <CopyId id={wfInstanceId} label="workflow run id" /></h1>
        <WfStatusBadge code={info.status} />
      </div>
      <p>Workflow <Link to={`/workflows/${info.workflowId}`}>{info.wfName}</Link> <CopyId id={info.workflowId} label="workflow id" />
        {info.parentWfInstanceId !== null && <> · nested in run <Link to={`/wf-instances/${info.parentWfInstanceId}`}>{info.parentWfInstanceId}</Link></>}</p>
      <div className="actions">
        {!finished && <button type="button" onClick={() => stop.trigger()} disabled={stop.pending}>{stop.pending ? 'Stopping…' : 'Stop'}</button>}
        {retryable && <button type="button" onClick={() => retry.trigger()} disabled={retry.pending}>{retry.pending ? 'Retrying…' : 'Retry failed nodes'}</button>}
      </div>
      <ErrorNote error={stop.error ?? retry.error} />
      <dl className="facts">
        <dt>Expected</dt><dd><Time ms={info.expectedTriggerTime} /></dd>
        <dt>Started</dt><dd><Time ms={info.actualTriggerTime} /></dd>
        <dt>Finished</dt><dd><Time ms={info.finishedTime} /></dd>
        <dt>Init params</dt><dd><code>{info.wfInitParams ?? '—'}</code></dd>
        <dt>Result</dt><dd className="result" data-testid="result">{info.result ?? '—'}</dd>
      </dl>
      <h2>DAG</h2>
      <DagView
        label={`DAG of workflow run ${wfInstanceId}, each node with its status`}
        nodes={titled.map(({ node, title, subtitle }) => ({ id: node.nodeId, title, subtitle, status: nodeStatusOf(node), href: nodePage(node) }))}
        edges={dag.edges}
      />
      <h2>Nodes</h2>
      <div className="table-wrap">
        <table>
          <caption className="sr-only">The run's nodes</caption>
          <thead><tr><th scope="col">Node</th><th scope="col">Status</th><th scope="col">Instance</th><th scope="col">Result</th><th scope="col">Actions</th></tr></thead>
          <tbody>
            {titled.map(({ node, title }) => <NodeRow key={node.nodeId} node={node} title={title} wfInstanceId={wfInstanceId} canMark={finished} acting={acting} />)}
          </tbody>
        </table>
      </div>
      <h2>Context</h2>
      <pre className="context">{info.wfContext}</pre>
    </section>
  );
}
