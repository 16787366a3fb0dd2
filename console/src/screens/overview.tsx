import { useQuery } from '@tanstack/react-query';
import { InstanceStatus, JobStatus } from '../../../src/domain/enums.js';
import { useClient } from '../app.js';
import { Link } from '../router.js';
import { ListState, StatusBadge, Time } from '../ui.js';
import { useJobs } from './jobs.js';
import { useWorkers } from './workers.js';

const DAY = 24 * 3600_000;

export function Overview() {
  const client = useClient();
  const jobs = useJobs();
  const workers = useWorkers();
  const counts = useQuery({
    queryKey: ['overview', 'counts'],
    queryFn: ({ signal }) => client.countInstances({ startedAfter: Date.now() - DAY }, { signal }),
    refetchInterval: 10_000,
  });
  const failures = useQuery({
    queryKey: ['overview', 'failures'],
    queryFn: ({ signal }) => client.queryInstance({ statusIn: [InstanceStatus.codes.FAILED], pageSize: 5, sortBy: 'gmtModified' }, { signal }),
    refetchInterval: 10_000,
  });
  const jobName = new Map((jobs.data ?? []).map((job) => [job.id, job.jobName]));
  const zoneOf = new Map((jobs.data ?? []).map((job) => [job.id, job.timeZone]));
  return (
    <section aria-labelledby="overview-title">
      <h1 id="overview-title">Overview</h1>
      <div className="cards">
        <article className="card" aria-labelledby="ov-jobs">
          <h2 id="ov-jobs">Jobs</h2>
          <ListState query={jobs} what="jobs" empty={(all) => all.length === 0}>
            {(all) => (
              <ul className="stats">
                {(['ENABLE', 'DISABLE'] as const).map((name) => (
                  <li key={name}><StatusBadge code={JobStatus.codes[name]} kind="job" /> <strong>{all.filter((job) => job.status === JobStatus.codes[name]).length}</strong></li>
                ))}
              </ul>
            )}
          </ListState>
        </article>
        <article className="card" aria-labelledby="ov-runs">
          <h2 id="ov-runs">Instances, last 24 h</h2>
          <ListState query={counts} what="runs in the last 24 h" empty={(c) => c.total === 0}>
            {(c) => (
              <ul className="stats">
                {c.byStatus.map((s) => (
                  <li key={s.status}><Link to={`/instances?status=${s.status}&from=${Date.now() - DAY}`}><StatusBadge code={s.status} /></Link> <strong data-count={s.name}>{s.count}</strong></li>
                ))}
              </ul>
            )}
          </ListState>
        </article>
        <article className="card" aria-labelledby="ov-workers">
          <h2 id="ov-workers">Live workers</h2>
          <ListState query={workers} what="live workers" empty={(list) => list.length === 0}>
            {(list) => <p><strong className="big">{list.length}</strong> <Link to="/workers">{list.map((w) => w.workerId).join(', ')}</Link></p>}
          </ListState>
        </article>
      </div>
      <div className="cards">
        <article className="card wide" aria-labelledby="ov-failures">
          <h2 id="ov-failures">Recent failures</h2>
          <ListState query={failures} what="failed instances" empty={(p) => p.data.length === 0}>
            {(p) => (
              <ul className="plain">
                {p.data.map((i) => (
                  <li key={i.instanceId}><Link to={`/instances/${i.instanceId}`}>{i.instanceId}</Link> {jobName.get(i.jobId) ?? `job ${i.jobId}`} · <Time ms={i.finishedTime} zone={zoneOf.get(i.jobId)} /> · <span className="result">{i.result}</span></li>
                ))}
              </ul>
            )}
          </ListState>
        </article>
        <article className="card wide" aria-labelledby="ov-next">
          <h2 id="ov-next">Next fires</h2>
          <ListState query={jobs} what="scheduled jobs" empty={(all) => !all.some((job) => job.nextTriggerTime !== null)}>
            {(all) => (
              <ul className="plain">
                {all.filter((job) => job.nextTriggerTime !== null).sort((a, b) => a.nextTriggerTime! - b.nextTriggerTime!).slice(0, 5).map((job) => (
                  <li key={job.id}><Time ms={job.nextTriggerTime} zone={job.timeZone} /> <Link to={`/instances?jobId=${job.id}`}>{job.jobName}</Link></li>
                ))}
              </ul>
            )}
          </ListState>
        </article>
      </div>
    </section>
  );
}
