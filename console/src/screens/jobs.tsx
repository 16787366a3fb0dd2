import { useQuery } from '@tanstack/react-query';
import { useState } from 'react';
import type { JobInfo } from '../../../src/client/client.js';
import { ExecuteType, JobStatus, TimeExpressionType } from '../../../src/domain/enums.js';
import { useClient } from '../app.js';
import { Link, navigate } from '../router.js';
import { CopyId, Dialog, ErrorNote, ListState, StatusBadge, Time, useIntent } from '../ui.js';
import { RunDialog } from './run-dialog.js';

export const JOBS_KEY = ['jobs'] as const;

/** Every job of the app but deleted ones (queryJob by status), newest first. */
export function useJobs() {
  const client = useClient();
  return useQuery({
    queryKey: JOBS_KEY,
    queryFn: async ({ signal }) => (await client.queryJob({ statusIn: [JobStatus.codes.ENABLE, JobStatus.codes.DISABLE] }, { signal })).sort((a, b) => b.id - a.id),
  });
}

function download(name: string, value: unknown) {
  const url = URL.createObjectURL(new Blob([JSON.stringify(value, null, 2)], { type: 'application/json' }));
  const a = document.createElement('a');
  a.href = url;
  a.download = name;
  a.click();
  URL.revokeObjectURL(url);
}

function JobActions({ job }: { job: JobInfo }) {
  const client = useClient();
  const [dialog, setDialog] = useState<'run' | 'delete' | null>(null);
  const invalidates = [[...JOBS_KEY]];
  const enabled = job.status === JobStatus.codes.ENABLE;
  const toggle = useIntent((_: void, idempotencyKey) => (enabled ? client.disableJob(job.id, { idempotencyKey }) : client.enableJob(job.id, { idempotencyKey })), { invalidates });
  const copy = useIntent((_: void, idempotencyKey) => client.copyJob(job.id, { idempotencyKey }), { invalidates, onSuccess: (id) => navigate(`/jobs/${id}`) });
  const remove = useIntent((_: void, idempotencyKey) => client.deleteJob(job.id, { idempotencyKey }), { invalidates, onSuccess: () => setDialog(null) });
  const exportJob = useIntent(async (_: void) => download(`job-${job.id}.json`, await client.exportJob(job.id)));
  return (
    <div className="actions">
      <button type="button" onClick={() => setDialog('run')}>Run…</button>
      <button type="button" onClick={() => toggle.trigger()} disabled={toggle.pending}>{enabled ? 'Disable' : 'Enable'}</button>
      <Link to={`/jobs/${job.id}`} className="button">Edit</Link>
      <button type="button" onClick={() => copy.trigger()} disabled={copy.pending}>Copy</button>
      <button type="button" onClick={() => exportJob.trigger()} disabled={exportJob.pending}>Export</button>
      <button type="button" className="danger" onClick={() => setDialog('delete')}>Delete…</button>
      <ErrorNote error={toggle.error ?? copy.error ?? exportJob.error} />
      {dialog === 'run' && <RunDialog job={job} onClose={() => setDialog(null)} />}
      {dialog === 'delete' && (
        <Dialog title={`Delete job ${job.jobName}?`} onClose={() => setDialog(null)}>
          <p>Job {job.id} stops firing and can no longer run. Its instances stay.</p>
          <ErrorNote error={remove.error} />
          <div className="dialog-actions">
            <button type="button" onClick={() => setDialog(null)}>Keep it</button>
            <button type="button" className="danger" onClick={() => remove.trigger()} disabled={remove.pending}>{remove.pending ? 'Deleting…' : 'Delete job'}</button>
          </div>
        </Dialog>
      )}
    </div>
  );
}

export function Jobs() {
  const jobs = useJobs();
  const [search, setSearch] = useState('');
  const [status, setStatus] = useState('');
  const [type, setType] = useState('');
  const matching = (all: JobInfo[]) => all.filter((job) =>
    (search === '' || job.jobName.toLowerCase().includes(search.toLowerCase()) || job.processorInfo.toLowerCase().includes(search.toLowerCase()) || String(job.id) === search.trim())
    && (status === '' || job.status === Number(status))
    && (type === '' || job.timeExpressionType === Number(type)));
  return (
    <section aria-labelledby="jobs-title">
      <div className="title-row">
        <h1 id="jobs-title">Jobs</h1>
        <Link to="/jobs/new" className="button primary">New job</Link>
      </div>
      <div className="filters" role="search">
        <label>Search <input type="search" value={search} onChange={(e) => setSearch(e.target.value)} placeholder="name, processor or id" /></label>
        <label>Status
          <select value={status} onChange={(e) => setStatus(e.target.value)}>
            <option value="">any</option>
            <option value={JobStatus.codes.ENABLE}>ENABLE</option>
            <option value={JobStatus.codes.DISABLE}>DISABLE</option>
          </select>
        </label>
        <label>Time type
          <select value={type} onChange={(e) => setType(e.target.value)}>
            <option value="">any</option>
            {TimeExpressionType.names.map((name) => <option key={name} value={TimeExpressionType.codes[name]}>{name}</option>)}
          </select>
        </label>
      </div>
      <ListState query={jobs} what="jobs" empty={(all) => matching(all).length === 0}>
        {(all) => (
          <div className="table-wrap">
            <table>
              <caption className="sr-only">Jobs of the app</caption>
              <thead><tr><th scope="col">Id</th><th scope="col">Name</th><th scope="col">When</th><th scope="col">Type</th><th scope="col">Status</th><th scope="col">Next fire</th><th scope="col">Actions</th></tr></thead>
              <tbody>
                {matching(all).map((job) => (
                  <tr key={job.id} data-job-id={job.id}>
                    <td><CopyId id={job.id} label="job id" /></td>
                    <td><Link to={`/instances?jobId=${job.id}`} title="Its instances">{job.jobName}</Link><div className="muted small">{job.processorInfo}</div></td>
                    <td>{TimeExpressionType.nameOf(job.timeExpressionType)}{job.timeExpression ? <div className="small"><code>{job.timeExpression}</code></div> : null}</td>
                    <td>{ExecuteType.nameOf(job.executeType)}</td>
                    <td><StatusBadge code={job.status} kind="job" /></td>
                    <td><Time ms={job.nextTriggerTime} zone={job.timeZone} /></td>
                    <td><JobActions job={job} /></td>
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
