import { useQuery } from '@tanstack/react-query';
import { useState } from 'react';
import { saveAlertTargetSchema } from '../../../src/api/schemas.js';
import type { AlertTargetInfo, SaveAlertTargetRequest } from '../../../src/client/client.js';
import { useClient } from '../app.js';
import { CopyId, Dialog, ErrorNote, ListState, Time, useIntent } from '../ui.js';

const TARGETS_KEY = ['alert-targets'];

/** The new target's fields; a channel is sent only when its URL (or the email) is filled in. */
const EMPTY = { name: '', email: '', webhookUrl: '', webhookSecret: '', slackUrl: '' };

function requestOf(f: typeof EMPTY): Record<string, unknown> {
  return {
    name: f.name,
    email: f.email.trim() || null,
    webhook: f.webhookUrl.trim() ? { url: f.webhookUrl, secret: f.webhookSecret || undefined } : null,
    slack: f.slackUrl.trim() ? { url: f.slackUrl } : null,
  };
}

function NewTarget() {
  const client = useClient();
  const [fields, setFields] = useState(EMPTY);
  const [submitted, setSubmitted] = useState(false);
  const request = requestOf(fields);
  const parsed = saveAlertTargetSchema.safeParse(request);
  const problems = parsed.success ? [] : parsed.error.issues.map((issue) => issue.message);
  const save = useIntent((_: void, idempotencyKey) => client.saveAlertTarget(request as SaveAlertTargetRequest, { idempotencyKey }), {
    invalidates: [TARGETS_KEY], onSuccess: () => { setFields(EMPTY); setSubmitted(false); }, identity: JSON.stringify(request),
  });
  const field = (name: keyof typeof EMPTY, label: string, type = 'text') => (
    <div className="field">
      <label htmlFor={`t-${name}`}>{label}</label>
      <input id={`t-${name}`} type={type} value={fields[name]} onChange={(e) => setFields({ ...fields, [name]: e.target.value })} />
    </div>
  );
  return (
    <form className="job-form" noValidate onSubmit={(e) => { e.preventDefault(); setSubmitted(true); if (problems.length === 0) save.trigger(); }}>
      <fieldset>
        <legend>New alert target</legend>
        {field('name', 'Name')}
        {field('email', 'Email', 'email')}
        {field('webhookUrl', 'Webhook URL', 'url')}
        {field('webhookSecret', 'Webhook signing secret (16+ characters)', 'password')}
        {field('slackUrl', 'Slack incoming-webhook URL', 'url')}
      </fieldset>
      <p className="error small" aria-live="polite">{submitted || fields.name ? problems[0] ?? '' : ''}</p>
      <ErrorNote error={save.error} />
      <div className="form-actions"><button type="submit" className="primary" disabled={save.pending}>{save.pending ? 'Saving…' : 'Add target'}</button></div>
    </form>
  );
}

function TargetRow({ target }: { target: AlertTargetInfo }) {
  const client = useClient();
  const [confirm, setConfirm] = useState(false);
  const remove = useIntent((_: void, idempotencyKey) => client.deleteAlertTarget(target.id, { idempotencyKey }), { invalidates: [TARGETS_KEY] });
  return (
    <tr data-target-id={target.id}>
      <td><CopyId id={target.id} label="target id" /></td>
      <td>{target.name}</td>
      <td>{target.channels.map((c) => <span key={c} className="tag">{c}</span>)}</td>
      <td className="small">{[target.email, target.webhook?.url, target.slack?.url].filter(Boolean).map((v) => <div key={v}><code>{v}</code></div>)}</td>
      <td>
        <button type="button" className="danger" onClick={() => setConfirm(true)}>Delete…</button>
        {confirm && (
          <Dialog title={`Delete alert target ${target.name}?`} onClose={() => setConfirm(false)}>
            <p>Jobs that list target {target.id} in notifyUserIds stop alerting it.</p>
            <ErrorNote error={remove.error} />
            <div className="dialog-actions">
              <button type="button" onClick={() => setConfirm(false)}>Keep it</button>
              <button type="button" className="danger" disabled={remove.pending} onClick={() => remove.trigger()}>Delete target</button>
            </div>
          </Dialog>
        )}
      </td>
    </tr>
  );
}

export function Alerts() {
  const client = useClient();
  const targets = useQuery({ queryKey: TARGETS_KEY, queryFn: ({ signal }) => client.listAlertTargets({ signal }) });
  const deliveries = useQuery({ queryKey: ['alert-deliveries'], queryFn: ({ signal }) => client.queryAlertDeliveries({}, { signal }), refetchInterval: 10_000 });
  return (
    <section aria-labelledby="alerts-title">
      <h1 id="alerts-title">Alerts</h1>
      <p className="muted">Targets receive the alerts of the jobs that list their id in notifyUserIds.</p>
      <ListState query={targets} what="alert targets" empty={(list) => list.length === 0}>
        {(list) => (
          <div className="table-wrap">
            <table>
              <caption className="sr-only">Alert targets</caption>
              <thead><tr><th scope="col">Id</th><th scope="col">Name</th><th scope="col">Channels</th><th scope="col">Where</th><th scope="col">Actions</th></tr></thead>
              <tbody>{list.map((target) => <TargetRow key={target.id} target={target} />)}</tbody>
            </table>
          </div>
        )}
      </ListState>
      <NewTarget />
      <h2>Recent deliveries</h2>
      <ListState query={deliveries} what="alert deliveries" empty={(list) => list.length === 0}>
        {(list) => (
          <div className="table-wrap">
            <table>
              <caption className="sr-only">Recent alert deliveries</caption>
              <thead><tr><th scope="col">When</th><th scope="col">Event</th><th scope="col">Target</th><th scope="col">Channel</th><th scope="col">Status</th><th scope="col">Attempts</th><th scope="col">Last error</th></tr></thead>
              <tbody>
                {list.map((d) => (
                  <tr key={`${d.alertId}-${d.targetId}-${d.channel}`}>
                    <td><Time ms={d.createdAt} /></td><td>{d.event}</td><td>{d.targetId}</td><td>{d.channel}</td>
                    <td><span className={`badge badge-${d.status === 'DELIVERED' ? 'succeed' : d.status === 'FAILED' ? 'failed' : 'waiting'}`}>{d.status}</span></td>
                    <td>{d.attempts}</td><td className="result">{d.lastError}</td>
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
