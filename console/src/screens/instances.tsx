import { keepPreviousData, useQuery } from '@tanstack/react-query';
import { useState, type FormEvent } from 'react';
import type { NewestInstancesQuery } from '../../../src/client/client.js';
import { InstanceStatus } from '../../../src/domain/enums.js';
import { useClient } from '../app.js';
import { Link, navigate, useLocation } from '../router.js';
import { CopyId, ListState, StatusBadge, Time } from '../ui.js';
import { useJobs } from './jobs.js';

const PAGE_SIZE = 50;

/** datetime-local's value (the viewer's wall time) ↔ epoch ms. */
const fromLocalInput = (value: string) => (value ? new Date(value).getTime() : null);
const toLocalInput = (ms: number) => {
  const d = new Date(ms - new Date(ms).getTimezoneOffset() * 60_000);
  return d.toISOString().slice(0, 16);
};

/** Filters live in the URL (shareable, back button): jobId, status, from, to, page. */
export function Instances() {
  const client = useClient();
  const { search } = useLocation();
  const jobs = useJobs();
  const zoneOf = new Map((jobs.data ?? []).map((job) => [job.id, job.timeZone]));
  const nameOf = new Map((jobs.data ?? []).map((job) => [job.id, job.jobName]));
  const jobId = search.get('jobId') ?? '';
  const status = search.get('status') ?? '';
  const from = search.get('from') ?? '';
  const to = search.get('to') ?? '';
  const page = Math.max(0, Number(search.get('page') ?? '0') || 0);
  const [draft, setDraft] = useState({ jobId, status, from: from ? toLocalInput(Number(from)) : '', to: to ? toLocalInput(Number(to)) : '' });

  // listInstances, not queryInstance: it reads about one page of runs, not every run of the app.
  const query: NewestInstancesQuery = {
    index: page, pageSize: PAGE_SIZE,
    ...(jobId ? { jobIdEq: Number(jobId) } : {}),
    ...(status ? { statusIn: [Number(status)] } : {}),
    ...(from ? { createdAfter: Number(from) } : {}),
    ...(to ? { createdBefore: Number(to) } : {}),
  };
  const instances = useQuery({
    queryKey: ['instances', query],
    queryFn: ({ signal }) => client.listInstances(query, { signal }),
    placeholderData: keepPreviousData,
    refetchInterval: 5_000,
  });
  const go = (params: Record<string, string | number | null>) => {
    const next = new URLSearchParams();
    for (const [k, v] of Object.entries(params)) if (v !== null && v !== '') next.set(k, String(v));
    navigate(`/instances${next.size ? `?${next}` : ''}`);
  };
  const apply = (event: FormEvent) => {
    event.preventDefault();
    go({ jobId: draft.jobId, status: draft.status, from: fromLocalInput(draft.from), to: fromLocalInput(draft.to) });
  };
  const current = { jobId, status, from, to };
  return (
    <section aria-labelledby="instances-title">
      <h1 id="instances-title">Instances</h1>
      <form className="filters" role="search" onSubmit={apply}>
        <label>Job
          <select value={draft.jobId} onChange={(e) => setDraft({ ...draft, jobId: e.target.value })}>
            <option value="">any</option>
            {(jobs.data ?? []).map((job) => <option key={job.id} value={job.id}>{job.jobName} ({job.id})</option>)}
          </select>
        </label>
        <label>Status
          <select value={draft.status} onChange={(e) => setDraft({ ...draft, status: e.target.value })}>
            <option value="">any</option>
            {InstanceStatus.names.map((name) => <option key={name} value={InstanceStatus.codes[name]}>{name}</option>)}
          </select>
        </label>
        <label>Created after <input type="datetime-local" value={draft.from} onChange={(e) => setDraft({ ...draft, from: e.target.value })} /></label>
        <label>Created before <input type="datetime-local" value={draft.to} onChange={(e) => setDraft({ ...draft, to: e.target.value })} /></label>
        <button type="submit" className="primary">Filter</button>
      </form>
      <ListState query={instances} what="instances" empty={(p) => p.data.length === 0 && p.index === 0}>
        {(result) => (
          <>
            <div className="table-wrap" aria-busy={instances.isFetching && instances.isPlaceholderData}>
              <table>
                <caption className="sr-only">Instances, newest first</caption>
                <thead><tr><th scope="col">Instance</th><th scope="col">Job</th><th scope="col">Status</th><th scope="col">Expected</th><th scope="col">Started</th><th scope="col">Finished</th><th scope="col">Attempts</th><th scope="col">Result</th></tr></thead>
                <tbody>
                  {result.data.map((instance) => (
                    <tr key={instance.instanceId} data-instance-id={instance.instanceId}>
                      <td><Link to={`/instances/${instance.instanceId}`}>{instance.instanceId}</Link> <CopyId id={instance.instanceId} label="instance id" /></td>
                      <td>{nameOf.get(instance.jobId) ?? instance.jobId}</td>
                      <td><StatusBadge code={instance.status} /></td>
                      <td><Time ms={instance.expectedTriggerTime} zone={zoneOf.get(instance.jobId)} /></td>
                      <td><Time ms={instance.actualTriggerTime} zone={zoneOf.get(instance.jobId)} /></td>
                      <td><Time ms={instance.finishedTime} zone={zoneOf.get(instance.jobId)} /></td>
                      <td>{instance.runningTimes}</td>
                      <td className="result">{instance.result}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
            <nav className="pager" aria-label="Pages">
              <button type="button" disabled={page === 0} onClick={() => go({ ...current, page: page - 1 })}>Previous</button>
              <span role="status">Page {result.index + 1} of about {Math.max(1, Math.ceil(result.runs / PAGE_SIZE)).toLocaleString()} · about {result.runs.toLocaleString()} instances</span>
              <button type="button" disabled={!result.more} onClick={() => go({ ...current, page: page + 1 })}>Next</button>
            </nav>
          </>
        )}
      </ListState>
    </section>
  );
}
