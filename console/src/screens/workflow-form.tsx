import { useState } from 'react';
import { saveWorkflowSchema } from '../../../src/api/schemas.js';
import type { SaveWorkflowRequest, WorkflowInfo } from '../../../src/client/client.js';
import { FAILURE_POLICIES, nodeTypeOf, validateDag } from '../../../src/domain/dag.js';
import { useClient } from '../app.js';
import { Link, navigate } from '../router.js';
import { ErrorNote, errorMessage, formControls, useIntent } from '../ui.js';
import { DagView } from './dag.js';
import { Field, Preview } from './job-form.js';
import { useJobs } from './jobs.js';
import { useWorkflow } from './workflow.js';
import { WORKFLOWS_KEY } from './workflows.js';

const FIELDS = { wfName: '', wfDescription: '', timeExpressionType: 'API', timeExpression: '', timeZone: '', failurePolicy: 'FAIL_FAST', maxWfInstanceNum: '1', enable: 'true' };
type Fields = typeof FIELDS;
type FieldName = keyof Fields;
const ZONES = Intl.supportedValuesOf('timeZone');

/**
 * A node of the draft: `ref` names it in the draft (its number in the editor, in edges and in
 * the messages); `nodeId` is its id once addWorkflowNode made it.
 */
interface DraftNode { ref: number; nodeId?: number; jobId: number; nodeName: string }
interface DraftEdge { from: number; to: number }
interface Draft { nodes: DraftNode[]; edges: DraftEdge[] }

function draftOf(workflow: WorkflowInfo): { fields: Fields; draft: Draft } {
  const refOf = new Map(workflow.peworkflowDAG.nodes.map((node, i) => [node.nodeId, i + 1]));
  return {
    fields: {
      wfName: workflow.wfName, wfDescription: workflow.wfDescription ?? '', timeExpressionType: workflow.timeExpressionType, timeExpression: workflow.timeExpression ?? '',
      timeZone: workflow.timeZone, failurePolicy: workflow.failurePolicy, maxWfInstanceNum: String(workflow.maxWfInstanceNum), enable: String(workflow.enable),
    },
    draft: {
      nodes: workflow.peworkflowDAG.nodes.map((node) => ({ ref: refOf.get(node.nodeId)!, nodeId: node.nodeId, jobId: node.jobId ?? 0, nodeName: node.nodeName ?? '' })),
      edges: workflow.peworkflowDAG.edges.map((edge) => ({ from: refOf.get(edge.from)!, to: refOf.get(edge.to)! })),
    },
  };
}

/** saveWorkflow's request without its DAG: the form's fields over what the workflow has and the form does not show. */
function requestOf(fields: Fields, existing: WorkflowInfo | undefined): SaveWorkflowRequest {
  const orNull = (v: string) => (v.trim() === '' ? null : v);
  return {
    ...(existing ? { id: existing.id, misfirePolicy: existing.misfirePolicy, lifeCycle: existing.lifeCycle, notifyUserIds: existing.notifyUserIds } : {}),
    wfName: fields.wfName, wfDescription: orNull(fields.wfDescription), timeExpressionType: fields.timeExpressionType as SaveWorkflowRequest['timeExpressionType'],
    timeExpression: orNull(fields.timeExpression), timeZone: orNull(fields.timeZone), failurePolicy: fields.failurePolicy as SaveWorkflowRequest['failurePolicy'],
    maxWfInstanceNum: fields.maxWfInstanceNum, enable: fields.enable === 'true',
  };
}

/** The API's schema over the fields, as the user types: the first message per field. */
function problemsOf(request: SaveWorkflowRequest): Partial<Record<string, string>> {
  const result = saveWorkflowSchema.safeParse(request);
  const problems: Partial<Record<string, string>> = {};
  for (const issue of result.error?.issues ?? []) problems[String(issue.path[0] ?? 'form')] ??= issue.message;
  return problems;
}

function Editor({ existing }: { existing?: WorkflowInfo }) {
  const client = useClient();
  const jobs = useJobs();
  // A new workflow starts in the viewer's time zone; an edited one keeps its own.
  const initial = existing ? draftOf(existing) : { fields: { ...FIELDS, timeZone: Intl.DateTimeFormat().resolvedOptions().timeZone }, draft: { nodes: [], edges: [] } };
  const [fields, setFields] = useState<Fields>(initial.fields);
  const [draft, setDraft] = useState<Draft>(initial.draft);
  const [touched, setTouched] = useState<Set<string>>(new Set());
  const [submitted, setSubmitted] = useState(false);
  const [pick, setPick] = useState({ jobId: '', nodeName: '', from: '', to: '' });

  const jobName = (jobId: number) => jobs.data?.find((j) => j.id === jobId)?.jobName ?? `job ${jobId}`;
  const titleOf = (node: DraftNode) => node.nodeName || jobName(node.jobId);
  const nodeText = (ref: number) => { const node = draft.nodes.find((n) => n.ref === ref); return node ? `node ${ref} "${titleOf(node)}"` : `node ${ref}`; };
  const request = requestOf(fields, existing);
  const problems = problemsOf(request);
  const dagProblems = validateDag({
    nodes: draft.nodes.map((node) => ({ nodeId: node.ref, nodeType: 1, jobId: node.jobId, nodeName: titleOf(node) })),
    edges: draft.edges,
  });
  const shown = (name: FieldName) => (submitted || touched.has(name) ? problems[name] : undefined);
  const invalid = Object.keys(problems).length > 0 || dagProblems.length > 0;

  const save = useIntent(async (_: void, idempotencyKey) => {
    const fresh = draft.nodes.filter((node) => node.nodeId === undefined);
    // One save intent, one key: each call gets its own name under it, so a retry replays both.
    const created = fresh.length === 0 ? [] : await client.addWorkflowNode(
      fresh.map((node) => ({ type: 'JOB' as const, jobId: node.jobId, nodeName: node.nodeName.trim() || null })),
      { idempotencyKey: `${idempotencyKey}#nodes` },
    );
    const idOf = new Map(draft.nodes.map((node) => [node.ref, node.nodeId]));
    fresh.forEach((node, i) => idOf.set(node.ref, created[i]!.id));
    const dag = { nodes: draft.nodes.map((node) => ({ nodeId: idOf.get(node.ref)! })), edges: draft.edges.map((e) => ({ from: idOf.get(e.from)!, to: idOf.get(e.to)! })) };
    return client.saveWorkflow({ ...request, dag }, { idempotencyKey: `${idempotencyKey}#workflow` });
  }, {
    invalidates: [[...WORKFLOWS_KEY], ['workflow', existing?.id]],
    onSuccess: (workflowId) => navigate(`/workflows/${workflowId}`),
    identity: JSON.stringify([request, draft]),
  });

  const { input, select } = formControls<FieldName>({ fields, setFields, touched, setTouched, shown });
  const addNode = () => {
    const ref = Math.max(0, ...draft.nodes.map((n) => n.ref)) + 1;
    setDraft({ ...draft, nodes: [...draft.nodes, { ref, jobId: Number(pick.jobId), nodeName: pick.nodeName.trim() }] });
    setPick({ ...pick, nodeName: '' });
  };
  const removeNode = (ref: number) => setDraft({ nodes: draft.nodes.filter((n) => n.ref !== ref), edges: draft.edges.filter((e) => e.from !== ref && e.to !== ref) });
  const addEdge = () => setDraft({ ...draft, edges: [...draft.edges, { from: Number(pick.from), to: Number(pick.to) }] });
  const removeEdge = (index: number) => setDraft({ ...draft, edges: draft.edges.filter((_, i) => i !== index) });
  const refOptions = draft.nodes.map((node) => <option key={node.ref} value={node.ref}>{nodeText(node.ref)}</option>);

  return (
    <section aria-labelledby="workflow-form-title">
      <h1 id="workflow-form-title">{existing ? `Edit workflow ${existing.id}` : 'New workflow'}</h1>
      <form className="job-form" noValidate onSubmit={(e) => { e.preventDefault(); setSubmitted(true); if (!invalid) save.trigger(); }}>
        <fieldset>
          <legend>What</legend>
          <Field name="wfName" label="Name" problem={shown('wfName')}>{input('wfName')}</Field>
          <Field name="wfDescription" label="Description" problem={shown('wfDescription')}>{input('wfDescription')}</Field>
          <Field name="failurePolicy" label="Failure policy" problem={shown('failurePolicy')}
            hint="FAIL_FAST: the first failed node fails the run; CONTINUE_BRANCHES: a failure blocks only what depends on it">{select('failurePolicy', FAILURE_POLICIES)}</Field>
          <Field name="maxWfInstanceNum" label="Max runs at once (0 = no limit)" problem={shown('maxWfInstanceNum')}>{input('maxWfInstanceNum', { inputMode: 'numeric' })}</Field>
          <Field name="enable" label="Enabled" problem={undefined}>{select('enable', ['true', 'false'])}</Field>
        </fieldset>
        <fieldset>
          <legend>When</legend>
          <Field name="timeExpressionType" label="Time type" problem={shown('timeExpressionType')}>{select('timeExpressionType', ['API', 'CRON'])}</Field>
          <Field name="timeExpression" label="Time expression" problem={shown('timeExpression')} hint="CRON: second minute hour day month weekday [year]">{input('timeExpression')}</Field>
          <Field name="timeZone" label="Time zone" problem={shown('timeZone')}>{input('timeZone', { list: 'wf-zones' })}</Field>
          <datalist id="wf-zones">{ZONES.map((z) => <option key={z} value={z} />)}</datalist>
          <Preview type={fields.timeExpressionType} expression={fields.timeExpression} zone={fields.timeZone} />
        </fieldset>
        <fieldset className="dag-editor">
          <legend>Nodes</legend>
          <div className="field">
            <label htmlFor="pick-job">Job</label>
            <select id="pick-job" value={pick.jobId} onChange={(e) => setPick({ ...pick, jobId: e.target.value })} disabled={!jobs.data}>
              <option value="">{jobs.isPending ? 'loading jobs…' : jobs.isError ? 'could not load jobs' : 'pick a job'}</option>
              {(jobs.data ?? []).map((job) => <option key={job.id} value={job.id}>{job.jobName} ({job.id})</option>)}
            </select>
            {jobs.isError && <p className="error small" role="alert">Could not load jobs: {errorMessage(jobs.error)}</p>}
          </div>
          <div className="field">
            <label htmlFor="pick-name">Node name (optional)</label>
            <input id="pick-name" value={pick.nodeName} onChange={(e) => setPick({ ...pick, nodeName: e.target.value })} />
          </div>
          <div className="field end"><button type="button" onClick={addNode} disabled={pick.jobId === ''}>Add node</button></div>
          <ul className="plain editor-list" aria-label="Nodes of the draft">
            {draft.nodes.length === 0 && <li className="muted">No nodes yet: pick a job and add it.</li>}
            {draft.nodes.map((node) => (
              <li key={node.ref} data-ref={node.ref}>
                {nodeText(node.ref)} <span className="muted small">job {node.jobId}{node.nodeId ? ` · saved as node ${node.nodeId}` : ' · new'}</span>
                <button type="button" onClick={() => removeNode(node.ref)} aria-label={`Remove ${nodeText(node.ref)}`}>Remove</button>
              </li>
            ))}
          </ul>
        </fieldset>
        <fieldset className="dag-editor">
          <legend>Edges</legend>
          <div className="field">
            <label htmlFor="pick-from">From</label>
            <select id="pick-from" value={pick.from} onChange={(e) => setPick({ ...pick, from: e.target.value })}><option value="">pick a node</option>{refOptions}</select>
          </div>
          <div className="field">
            <label htmlFor="pick-to">To</label>
            <select id="pick-to" value={pick.to} onChange={(e) => setPick({ ...pick, to: e.target.value })}><option value="">pick a node</option>{refOptions}</select>
          </div>
          <div className="field end"><button type="button" onClick={addEdge} disabled={pick.from === '' || pick.to === ''}>Add edge</button></div>
          <ul className="plain editor-list" aria-label="Edges of the draft">
            {draft.edges.length === 0 && <li className="muted">No edges: every node runs at the start.</li>}
            {draft.edges.map((edge, i) => (
              <li key={`${edge.from}-${edge.to}-${i}`}>
                {nodeText(edge.from)} → {nodeText(edge.to)}
                <button type="button" onClick={() => removeEdge(i)} aria-label={`Remove edge ${nodeText(edge.from)} → ${nodeText(edge.to)}`}>Remove</button>
              </li>
            ))}
          </ul>
          <div className="dag-problems" aria-live="polite">
            {(draft.nodes.length > 0 || submitted) && dagProblems.length > 0 && (
              <ul className="error" aria-label="Problems of the DAG">
                {dagProblems.map((problem, i) => <li key={i}>{problem}</li>)}
              </ul>
            )}
          </div>
        </fieldset>
        <h2>Preview</h2>
        {draft.nodes.length === 0
          ? <p className="state empty">The DAG appears here as you add nodes.</p>
          : <DagView label="Preview of the DAG being edited" nodes={draft.nodes.map((node) => ({ id: node.ref, title: titleOf(node), subtitle: `node ${node.ref} · ${node.nodeName ? jobName(node.jobId) : `job ${node.jobId}`}` }))} edges={draft.edges} />}
        {submitted && invalid && <p className="error" role="alert">Nothing was saved: {Object.values(problems)[0] ?? dagProblems[0]}</p>}
        <ErrorNote error={save.error} />
        <div className="form-actions">
          <Link to={existing ? `/workflows/${existing.id}` : '/workflows'} className="button">Cancel</Link>
          <button type="submit" className="primary" disabled={save.pending}>{save.pending ? 'Saving…' : existing ? 'Save workflow' : 'Create workflow'}</button>
        </div>
      </form>
    </section>
  );
}

/** Create a workflow, or edit one (its JOB nodes; a DAG with decision or nested nodes is edited through the API). */
export function WorkflowForm({ workflowId }: { workflowId?: number }) {
  if (workflowId === undefined) return <Editor />;
  return <EditWorkflow workflowId={workflowId} />;
}

function EditWorkflow({ workflowId }: { workflowId: number }) {
  const workflow = useWorkflow(workflowId);
  if (workflow.isPending) return <p className="state" role="status">Loading workflow {workflowId}…</p>;
  if (workflow.isError) return <div className="state error" role="alert"><p>Could not load workflow {workflowId}: {errorMessage(workflow.error)}</p><Link to="/workflows">Back to workflows</Link></div>;
  const other = workflow.data.peworkflowDAG.nodes.filter((node) => nodeTypeOf(node) !== 'JOB');
  if (other.length > 0) {
    return (
      <div className="state" role="status">
        <h1>Edit workflow {workflowId}</h1>
        <p>This workflow has decision or nested-workflow nodes ({other.map((n) => n.nodeId).join(', ')}), which the console shows but does not edit: change it through the API (saveWorkflow).</p>
        <Link to={`/workflows/${workflowId}`}>Back to the workflow</Link>
      </div>
    );
  }
  return <Editor existing={workflow.data} />;
}
