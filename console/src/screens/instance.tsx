import { useQuery } from '@tanstack/react-query';
import { InstanceStatus } from '../../../src/domain/enums.js';
import { useClient } from '../app.js';
import { Link } from '../router.js';
import { CopyId, ErrorNote, FINISHED_CODES, StatusBadge, Time, errorMessage, useIntent } from '../ui.js';
import { useJobs } from './jobs.js';
import { LogTail } from './log-tail.js';

/** The Temporal Web UI and namespace, written into the page by the API (console.ts). */
function temporalLink(instanceId: number): string | null {
  const ui = document.querySelector<HTMLMetaElement>('meta[name="tempojob-web-ui"]')?.content;
  const namespace = document.querySelector<HTMLMetaElement>('meta[name="tempojob-namespace"]')?.content ?? 'default';
  return ui ? `${ui.replace(/\/+$/, '')}/namespaces/${encodeURIComponent(namespace)}/workflows/tempojob-instance-${instanceId}` : null;
}

const pct = (part: number, total: number) => (total === 0 ? 0 : Math.round((part / total) * 100));

export function InstanceDetail({ instanceId }: { instanceId: number }) {
  const client = useClient();
  const jobs = useJobs();
  const instance = useQuery({
    queryKey: ['instance', instanceId],
    queryFn: ({ signal }) => client.fetchInstanceInfo(instanceId, { signal }),
    // Live while it runs: a map's counts and a broadcast's shares move every second.
    refetchInterval: (q) => (q.state.data && FINISHED_CODES.includes(q.state.data.status) ? false : 1_000),
  });
  const invalidates = [['instance', instanceId], ['instances'], ['overview']];
  const stop = useIntent((_: void, idempotencyKey) => client.stopInstance(instanceId, { idempotencyKey }), { invalidates });
  const cancel = useIntent((_: void, idempotencyKey) => client.cancelInstance(instanceId, { idempotencyKey }), { invalidates });
  const retry = useIntent((_: void, idempotencyKey) => client.retryInstance(instanceId, { idempotencyKey }), { invalidates });

  if (instance.isPending) return <p className="state" role="status">Loading instance {instanceId}…</p>;
  if (instance.isError) {
    return <div className="state error" role="alert"><h1>Instance {instanceId}</h1><p>{errorMessage(instance.error)}</p><Link to="/instances">All instances</Link></div>;
  }
  const info = instance.data;
  const job = jobs.data?.find((j) => j.id === info.jobId);
  const zone = job?.timeZone;
  const finished = FINISHED_CODES.includes(info.status);
  const waiting = info.status === InstanceStatus.codes.WAITING_DISPATCH;
  const link = temporalLink(instanceId);
  const steps = [
    { label: 'Created', at: Date.parse(info.gmtCreate) },
    { label: 'Due', at: info.expectedTriggerTime },
    { label: 'Started', at: info.actualTriggerTime },
    { label: finished ? InstanceStatus.nameOf(info.status) ?? 'Finished' : 'Finishes', at: info.finishedTime },
  ];
  return (
    <section aria-labelledby="instance-title">
      <div className="title-row">
        <h1 id="instance-title">Instance <CopyId id={instanceId} label="instance id" /></h1>
        <StatusBadge code={info.status} />
      </div>
      <p>Job <Link to={`/instances?jobId=${info.jobId}`}>{job?.jobName ?? info.jobId}</Link> <CopyId id={info.jobId} label="job id" />
        {link && <> · <a href={link} target="_blank" rel="noreferrer">Open in Temporal Web UI</a></>}</p>
      <div className="actions">
        {!finished && <button type="button" onClick={() => stop.trigger()} disabled={stop.pending}>{stop.pending ? 'Stopping…' : 'Stop'}</button>}
        {waiting && <button type="button" onClick={() => cancel.trigger()} disabled={cancel.pending}>{cancel.pending ? 'Canceling…' : 'Cancel'}</button>}
        {finished && info.wfInstanceId === null && <button type="button" onClick={() => retry.trigger()} disabled={retry.pending}>{retry.pending ? 'Retrying…' : 'Retry'}</button>}
      </div>
      <ErrorNote error={stop.error ?? cancel.error ?? retry.error} />
      <h2>Timeline</h2>
      <ol className="timeline" aria-label="Status timeline">
        {steps.map((step) => (
          <li key={step.label} className={step.at ? 'done' : 'pending'}><span>{step.label}</span> <Time ms={step.at} zone={zone} /></li>
        ))}
      </ol>
      <dl className="facts">
        <dt>Attempts</dt><dd data-testid="attempts">{info.runningTimes}</dd>
        <dt>Worker</dt><dd><code>{info.taskTrackerAddress}</code></dd>
        <dt>Instance params</dt><dd><code>{info.instanceParams ?? '—'}</code></dd>
        <dt>Result</dt><dd className="result" data-testid="result">{info.result ?? '—'}</dd>
        {info.catchUp && <><dt>Catch-up</dt><dd>a late fire run by the misfire policy</dd></>}
      </dl>
      {info.broadcast && (
        <>
          <h2>Broadcast shares</h2>
          <div className="table-wrap">
            <table>
              <caption className="sr-only">Each worker's share</caption>
              <thead><tr><th scope="col">Worker</th><th scope="col">Status</th><th scope="col">Attempts</th><th scope="col">Result</th></tr></thead>
              <tbody>
                {info.broadcast.map((share) => (
                  <tr key={share.workerId} data-share={share.workerId}>
                    <td><code>{share.workerId}</code></td><td><span className={`badge badge-${share.status.toLowerCase()}`}>{share.status}</span></td><td>{share.attempts}</td><td className="result">{share.result}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        </>
      )}
      {info.map && (
        <>
          <h2>Map progress</h2>
          <div className="map" data-testid="map-progress">
            <progress max={Math.max(1, info.map.total)} value={info.map.succeeded + info.map.failed} aria-label="Sub-tasks done">{pct(info.map.succeeded + info.map.failed, info.map.total)}%</progress>
            <ul className="stats">
              <li>total <strong data-count="total">{info.map.total}</strong></li>
              <li>succeeded <strong data-count="succeeded">{info.map.succeeded}</strong></li>
              <li>failed <strong data-count="failed">{info.map.failed}</strong></li>
              <li>running <strong data-count="running">{info.map.running}</strong></li>
            </ul>
          </div>
        </>
      )}
      <LogTail instanceId={instanceId} />
    </section>
  );
}
