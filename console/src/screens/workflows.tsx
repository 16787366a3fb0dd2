import { useQuery } from '@tanstack/react-query';
import { useState } from 'react';
import type { WorkflowInfo } from '../../../src/client/client.js';
import { WorkflowInstanceStatus } from '../../../src/domain/dag.js';
import { JobStatus } from '../../../src/domain/enums.js';
import { useClient } from '../app.js';
import { Link, navigate } from '../router.js';
import { CopyId, Dialog, ErrorNote, ListState, StatusBadge, Time, useIntent } from '../ui.js';

export const WORKFLOWS_KEY = ['workflows'] as const;
/** WAITING and RUNNING runs are under way; the rest are finished. */
export const WF_FINISHED_CODES: readonly number[] = [WorkflowInstanceStatus.codes.FAILED, WorkflowInstanceStatus.codes.SUCCEED, WorkflowInstanceStatus.codes.STOPPED];
export const wfStatusName = (code: number) => WorkflowInstanceStatus.nameOf(code) ?? `status ${code}`;

export function WfStatusBadge({ code }: { code: number }) {
  const name = wfStatusName(code);
  return <span className={`badge badge-${name.toLowerCase()}`}>{name}</span>;
}

/** The app's workflows but deleted ones (queryWorkflow, one page of the newest 1,000). */
function useWorkflows() {
  const client = useClient();
  return useQuery({
    queryKey: WORKFLOWS_KEY,
    queryFn: async ({ signal }) => (await client.queryWorkflow({ statusIn: [JobStatus.codes.ENABLE, JobStatus.codes.DISABLE], pageSize: 1000, sortBy: 'id' }, { signal })).data,
  });
}

/** Run a workflow now with initParams (a JSON object becomes its context); opens the new run. */
export function RunWorkflowDialog({ workflow, onClose }: { workflow: Pick<WorkflowInfo, 'id' | 'wfName'>; onClose: () => void }) {
  const client = useClient();
  const [initParams, setInitParams] = useState('');
  const run = useIntent(
    (_: void, idempotencyKey) => client.runWorkflow(workflow.id, { initParams: initParams || null, idempotencyKey }),
    { invalidates: [['wf-instances', workflow.id]], onSuccess: (wfInstanceId) => { onClose(); navigate(`/wf-instances/${wfInstanceId}`); }, identity: initParams },
  );
  return (
    <Dialog title={`Run ${workflow.wfName}`} onClose={onClose}>
      <form onSubmit={(e) => { e.preventDefault(); run.trigger(); }}>
        <label htmlFor="run-init-params">Init params (a JSON object becomes the context)</label>
        <textarea id="run-init-params" rows={4} value={initParams} onChange={(e) => setInitParams(e.target.value)} />
        <ErrorNote error={run.error} />
        <div className="dialog-actions">
          <button type="button" onClick={onClose}>Cancel</button>
          <button type="submit" className="primary" disabled={run.pending}>{run.pending ? 'Starting…' : 'Run now'}</button>
        </div>
      </form>
    </Dialog>
  );
}

/** Run, enable or disable, edit, delete (after a confirmation): the same on the list and the detail page. */
export function WorkflowActions({ workflow, onDeleted }: { workflow: WorkflowInfo; onDeleted?: () => void }) {
  const client = useClient();
  const [dialog, setDialog] = useState<'run' | 'delete' | null>(null);
  const invalidates = [[...WORKFLOWS_KEY], ['workflow', workflow.id]];
  const enabled = workflow.status === JobStatus.codes.ENABLE;
  const toggle = useIntent((_: void, idempotencyKey) => (enabled ? client.disableWorkflow(workflow.id, { idempotencyKey }) : client.enableWorkflow(workflow.id, { idempotencyKey })), { invalidates });
  const remove = useIntent((_: void, idempotencyKey) => client.deleteWorkflow(workflow.id, { idempotencyKey }), { invalidates, onSuccess: () => { setDialog(null); onDeleted?.(); } });
  return (
    <div className="actions">
      <button type="button" onClick={() => setDialog('run')}>Run…</button>
      <button type="button" onClick={() => toggle.trigger()} disabled={toggle.pending}>{enabled ? 'Disable' : 'Enable'}</button>
      <Link to={`/workflows/${workflow.id}/edit`} className="button">Edit</Link>
      <button type="button" className="danger" onClick={() => setDialog('delete')}>Delete…</button>
      <ErrorNote error={toggle.error} />
      {dialog === 'run' && <RunWorkflowDialog workflow={workflow} onClose={() => setDialog(null)} />}
      {dialog === 'delete' && (
        <Dialog title={`Delete workflow ${workflow.wfName}?`} onClose={() => setDialog(null)}>
          <p>Workflow {workflow.id} stops firing and can no longer run. Its runs and its jobs stay.</p>
          <ErrorNote error={remove.error} />
          <div className="dialog-actions">
            <button type="button" onClick={() => setDialog(null)}>Keep it</button>
            <button type="button" className="danger" onClick={() => remove.trigger()} disabled={remove.pending}>{remove.pending ? 'Deleting…' : 'Delete workflow'}</button>
          </div>
        </Dialog>
      )}
    </div>
  );
}

export function Workflows() {
  const workflows = useWorkflows();
  const [search, setSearch] = useState('');
  const [status, setStatus] = useState('');
  const matching = (all: WorkflowInfo[]) => all.filter((wf) =>
    (search === '' || wf.wfName.toLowerCase().includes(search.toLowerCase()) || String(wf.id) === search.trim())
    && (status === '' || wf.status === Number(status)));
  return (
    <section aria-labelledby="workflows-title">
      <div className="title-row">
        <h1 id="workflows-title">Workflows</h1>
        <Link to="/workflows/new" className="button primary">New workflow</Link>
      </div>
      <div className="filters" role="search">
        <label>Search <input type="search" value={search} onChange={(e) => setSearch(e.target.value)} placeholder="name or id" /></label>
        <label>Status
          <select value={status} onChange={(e) => setStatus(e.target.value)}>
            <option value="">any</option>
            <option value={JobStatus.codes.ENABLE}>ENABLE</option>
            <option value={JobStatus.codes.DISABLE}>DISABLE</option>
          </select>
        </label>
      </div>
      <ListState query={workflows} what="workflows" empty={(all) => matching(all).length === 0}>
        {(all) => (
          <div className="table-wrap">
            <table>
              <caption className="sr-only">Workflows of the app</caption>
              <thead><tr><th scope="col">Id</th><th scope="col">Name</th><th scope="col">When</th><th scope="col">Nodes</th><th scope="col">Status</th><th scope="col">Next fire</th><th scope="col">Actions</th></tr></thead>
              <tbody>
                {matching(all).map((wf) => (
                  <tr key={wf.id} data-workflow-id={wf.id}>
                    <td><CopyId id={wf.id} label="workflow id" /></td>
                    <td><Link to={`/workflows/${wf.id}`}>{wf.wfName}</Link>{wf.wfDescription && <div className="muted small">{wf.wfDescription}</div>}</td>
                    <td>{wf.timeExpressionType}{wf.timeExpression ? <div className="small"><code>{wf.timeExpression}</code></div> : null}</td>
                    <td>{wf.peworkflowDAG.nodes.length}</td>
                    <td><StatusBadge code={wf.status} kind="job" /></td>
                    <td><Time ms={wf.nextTriggerTime} zone={wf.timeZone} /></td>
                    <td><WorkflowActions workflow={wf} /></td>
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
