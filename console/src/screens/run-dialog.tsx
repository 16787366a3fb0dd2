import { useState } from 'react';
import type { JobInfo } from '../../../src/client/client.js';
import { useClient } from '../app.js';
import { navigate } from '../router.js';
import { Dialog, ErrorNote, useIntent } from '../ui.js';

/** Run a job now or after a delay, with instance params; opens the new instance. */
export function RunDialog({ job, onClose }: { job: JobInfo; onClose: () => void }) {
  const client = useClient();
  const [params, setParams] = useState('');
  const [delaySeconds, setDelaySeconds] = useState('0');
  const delay = Number(delaySeconds);
  const delayProblem = delaySeconds.trim() === '' || !Number.isFinite(delay) || delay < 0 ? 'The delay is a number of seconds, 0 or more.' : null;
  const run = useIntent(
    (_: void, idempotencyKey) => client.runJob(job.id, { instanceParams: params || null, delay: Math.round(delay * 1000), idempotencyKey }),
    {
      invalidates: [['instances'], ['overview']],
      onSuccess: (instanceId) => { onClose(); navigate(`/instances/${instanceId}`); },
      identity: JSON.stringify([params, delaySeconds]),
    },
  );
  return (
    <Dialog title={`Run ${job.jobName}`} onClose={onClose}>
      <form onSubmit={(e) => { e.preventDefault(); if (!delayProblem) run.trigger(); }}>
        <label htmlFor="run-params">Instance params</label>
        <textarea id="run-params" rows={4} value={params} onChange={(e) => setParams(e.target.value)} />
        <label htmlFor="run-delay">Delay (seconds)</label>
        <input id="run-delay" inputMode="decimal" value={delaySeconds} onChange={(e) => setDelaySeconds(e.target.value)} aria-invalid={delayProblem ? true : undefined} aria-describedby="run-delay-problem" />
        <p id="run-delay-problem" className="error">{delayProblem}</p>
        <ErrorNote error={run.error} />
        <div className="dialog-actions">
          <button type="button" onClick={onClose}>Cancel</button>
          <button type="submit" className="primary" disabled={run.pending || delayProblem !== null}>{run.pending ? 'Starting…' : delay > 0 ? `Run in ${delay} s` : 'Run now'}</button>
        </div>
      </form>
    </Dialog>
  );
}
