import { useQuery } from '@tanstack/react-query';
import { useEffect, useState, type ReactNode } from 'react';
import { saveJobSchema } from '../../../src/api/schemas.js';
import type { ExportedJob, SaveJobRequest } from '../../../src/client/client.js';
import { ExecuteType, ProcessorType, TimeExpressionType } from '../../../src/domain/enums.js';
import { useClient } from '../app.js';
import { Link, navigate } from '../router.js';
import { ErrorNote, Time, errorMessage, formControls, useIntent } from '../ui.js';
import { JOBS_KEY } from './jobs.js';

/** The form's fields, as typed (strings), mapped onto saveJob's request. */
const FIELDS = {
  jobName: '', jobDescription: '', timeExpressionType: 'CRON', timeExpression: '0 */5 * * * ?', timeZone: '',
  executeType: 'STANDALONE', processorType: 'BUILT_IN', processorInfo: '', jobParams: '',
  instanceTimeLimit: '0', instanceRetryNum: '0', taskRetryNum: '0', maxInstanceNum: '0', concurrency: '5',
  designatedWorkers: '', maxWorkerCount: '0', tag: '', enable: 'true',
};
type Fields = typeof FIELDS;
type FieldName = keyof Fields;
const TIMED = new Set(['CRON', 'FIXED_RATE', 'FIXED_DELAY', 'DAILY_TIME_INTERVAL']);
const VIEWER_ZONE = Intl.DateTimeFormat().resolvedOptions().timeZone;
const ZONES = Intl.supportedValuesOf('timeZone');

function fieldsOf(job: ExportedJob): Fields {
  const text = (v: unknown) => (v === null || v === undefined ? '' : String(v));
  return {
    jobName: job.jobName, jobDescription: text(job.jobDescription), timeExpressionType: job.timeExpressionType, timeExpression: text(job.timeExpression),
    timeZone: text(job.timeZone), executeType: job.executeType, processorType: job.processorType, processorInfo: job.processorInfo, jobParams: text(job.jobParams),
    instanceTimeLimit: text(job.instanceTimeLimit), instanceRetryNum: text(job.instanceRetryNum), taskRetryNum: text(job.taskRetryNum),
    maxInstanceNum: text(job.maxInstanceNum), concurrency: text(job.concurrency), designatedWorkers: text(job.designatedWorkers),
    maxWorkerCount: text(job.maxWorkerCount), tag: text(job.tag), enable: String(job.enable),
  };
}

/** The request the form stands for: the exported job (fields the form does not show are kept) with the form's fields over it. */
function requestOf(fields: Fields, base: ExportedJob | undefined, jobId: number | undefined): Record<string, unknown> {
  const orNull = (v: string) => (v.trim() === '' ? null : v);
  return {
    ...base,
    ...(jobId ? { id: jobId } : {}),
    jobName: fields.jobName, jobDescription: orNull(fields.jobDescription), timeExpressionType: fields.timeExpressionType,
    timeExpression: orNull(fields.timeExpression), timeZone: orNull(fields.timeZone), executeType: fields.executeType,
    processorType: fields.processorType, processorInfo: fields.processorInfo, jobParams: orNull(fields.jobParams),
    instanceTimeLimit: fields.instanceTimeLimit, instanceRetryNum: fields.instanceRetryNum, taskRetryNum: fields.taskRetryNum,
    maxInstanceNum: fields.maxInstanceNum, concurrency: fields.concurrency, designatedWorkers: orNull(fields.designatedWorkers),
    maxWorkerCount: fields.maxWorkerCount, tag: orNull(fields.tag), enable: fields.enable === 'true',
  };
}

/** The API's own schema, run as the user types: the first message per field. */
function problemsOf(request: Record<string, unknown>): Partial<Record<string, string>> {
  const result = saveJobSchema.safeParse(request);
  if (result.success) return {};
  const problems: Partial<Record<string, string>> = {};
  for (const issue of result.error.issues) {
    const field = String(issue.path[0] ?? 'form');
    problems[field] ??= issue.message;
  }
  return problems;
}

function useDebounced<T>(value: T, ms: number): T {
  const [debounced, setDebounced] = useState(value);
  useEffect(() => {
    const timer = window.setTimeout(() => setDebounced(value), ms);
    return () => window.clearTimeout(timer);
  }, [value, ms]);
  return debounced;
}

export function Field({ name, label, problem, hint, children }: { name: string; label: string; problem: string | undefined; hint?: ReactNode; children: ReactNode }) {
  return (
    <div className={`field${problem ? ' invalid' : ''}`}>
      <label htmlFor={`f-${name}`}>{label}</label>
      {children}
      {hint && <p className="hint small" id={`f-${name}-hint`}>{hint}</p>}
      <p className="error small" id={`f-${name}-problem`} aria-live="polite">{problem ?? ''}</p>
    </div>
  );
}

/** Next fire times of the expression, from the server (validateTimeExpression), in the job's zone and the viewer's. */
export function Preview({ type, expression, zone }: { type: string; expression: string; zone: string }) {
  const client = useClient();
  const input = useDebounced({ type, expression, zone }, 300);
  const enabled = TIMED.has(input.type) && input.expression.trim() !== '';
  const preview = useQuery({
    queryKey: ['preview', input],
    enabled,
    retry: false,
    queryFn: ({ signal }) => client.call('validateTimeExpression', {
      timeExpressionType: input.type as SaveJobRequest['timeExpressionType'], timeExpression: input.expression, timeZone: input.zone.trim() || null, count: 5,
    }, { signal }),
  });
  if (!enabled) return <p className="muted small" aria-live="polite">{TIMED.has(type) ? 'Type an expression to preview its next fire times.' : 'Runs only when asked (an API call, the console, or as a workflow node): no fire times.'}</p>;
  return (
    <div className="preview" aria-live="polite" aria-label="Next fire times">
      <h3>Next fire times</h3>
      {preview.isPending && <p className="muted small">Computing…</p>}
      {preview.isError && <p className="error small" role="alert">{errorMessage(preview.error)}</p>}
      {preview.data && (preview.data.length === 0 ? <p className="muted small">It never fires again.</p> : (
        <ol className="fires">
          {preview.data.map((fire) => (
            <li key={fire.epochMs}><strong>{fire.local}</strong> <span className="muted small">{input.zone.trim() || 'server zone'} · yours: <Time ms={fire.epochMs} /> {VIEWER_ZONE}</span></li>
          ))}
        </ol>
      ))}
    </div>
  );
}

export function JobForm({ jobId }: { jobId?: number }) {
  const client = useClient();
  // exportJob gives every field in saveJob's shape (kept on save), but names the copy "<name>_EXPORT_<time>": the name comes from fetchJob.
  const existing = useQuery({
    queryKey: ['export', jobId],
    enabled: jobId !== undefined,
    queryFn: async ({ signal }) => {
      const [exported, current] = await Promise.all([client.exportJob(jobId!, { signal }), client.fetchJob(jobId!, { signal })]);
      return { ...exported, jobName: current.jobName };
    },
  });
  const [fields, setFields] = useState<Fields>({ ...FIELDS, timeZone: VIEWER_ZONE });
  const [touched, setTouched] = useState<Set<string>>(new Set());
  const [submitted, setSubmitted] = useState(false);
  useEffect(() => { if (existing.data) setFields(fieldsOf(existing.data)); }, [existing.data]);
  const request = requestOf(fields, existing.data, jobId);
  const problems = problemsOf(request);
  const shown = (name: FieldName) => (submitted || touched.has(name) ? problems[name] : undefined);
  const save = useIntent(
    (_: void, idempotencyKey) => client.saveJob(request as SaveJobRequest, { idempotencyKey }),
    { invalidates: [[...JOBS_KEY], ['export', jobId]], onSuccess: () => navigate('/jobs'), identity: JSON.stringify(request) },
  );
  if (jobId !== undefined && existing.isPending) return <p className="state" role="status">Loading job {jobId}…</p>;
  if (jobId !== undefined && existing.isError) return <div className="state error" role="alert"><p>Could not load job {jobId}: {errorMessage(existing.error)}</p><Link to="/jobs">Back to jobs</Link></div>;

  const { input, select } = formControls<FieldName>({ fields, setFields, touched, setTouched, shown });
  const invalid = Object.keys(problems).length > 0;
  return (
    <section aria-labelledby="job-form-title">
      <h1 id="job-form-title">{jobId ? `Edit job ${jobId}` : 'New job'}</h1>
      <form className="job-form" noValidate onSubmit={(e) => { e.preventDefault(); setSubmitted(true); if (!invalid) save.trigger(); }}>
        <fieldset>
          <legend>What</legend>
          <Field name="jobName" label="Name" problem={shown('jobName')}>{input('jobName')}</Field>
          <Field name="jobDescription" label="Description" problem={shown('jobDescription')}>{input('jobDescription')}</Field>
          <Field name="processorType" label="Processor type" problem={shown('processorType')}>{select('processorType', ProcessorType.names)}</Field>
          <Field name="processorInfo" label="Processor" problem={shown('processorInfo')} hint="The name a worker registered it under, e.g. demo.echo">{input('processorInfo')}</Field>
          <Field name="executeType" label="Execute type" problem={shown('executeType')}>{select('executeType', ExecuteType.names)}</Field>
          <Field name="jobParams" label="Job params" problem={shown('jobParams')}>
            <textarea id="f-jobParams" name="jobParams" rows={3} value={fields.jobParams} onChange={(e) => setFields({ ...fields, jobParams: e.target.value })} aria-describedby="f-jobParams-problem" />
          </Field>
        </fieldset>
        <fieldset>
          <legend>When</legend>
          <Field name="timeExpressionType" label="Time type" problem={shown('timeExpressionType')}>{select('timeExpressionType', TimeExpressionType.names)}</Field>
          <Field name="timeExpression" label="Time expression" problem={shown('timeExpression')} hint="CRON: second minute hour day month weekday [year]; FIXED_RATE / FIXED_DELAY: milliseconds">{input('timeExpression')}</Field>
          <Field name="timeZone" label="Time zone" problem={shown('timeZone')}>{input('timeZone', { list: 'zones' })}</Field>
          <datalist id="zones">{ZONES.map((z) => <option key={z} value={z} />)}</datalist>
          <Preview type={fields.timeExpressionType} expression={fields.timeExpression} zone={fields.timeZone} />
          <Field name="enable" label="Enabled" problem={undefined}>{select('enable', ['true', 'false'])}</Field>
        </fieldset>
        <fieldset>
          <legend>Limits and retries</legend>
          <Field name="instanceTimeLimit" label="Time limit (ms, 0 = none)" problem={shown('instanceTimeLimit')}>{input('instanceTimeLimit', { inputMode: 'numeric' })}</Field>
          <Field name="instanceRetryNum" label="Instance retries" problem={shown('instanceRetryNum')}>{input('instanceRetryNum', { inputMode: 'numeric' })}</Field>
          <Field name="taskRetryNum" label="Task retries" problem={shown('taskRetryNum')}>{input('taskRetryNum', { inputMode: 'numeric' })}</Field>
          <Field name="maxInstanceNum" label="Max running instances (0 = no limit)" problem={shown('maxInstanceNum')}>{input('maxInstanceNum', { inputMode: 'numeric' })}</Field>
          <Field name="concurrency" label="Concurrency" problem={shown('concurrency')}>{input('concurrency', { inputMode: 'numeric' })}</Field>
          <Field name="designatedWorkers" label="Designated workers (ids or tags, comma-separated)" problem={shown('designatedWorkers')}>{input('designatedWorkers')}</Field>
          <Field name="maxWorkerCount" label="Max workers (0 = all)" problem={shown('maxWorkerCount')}>{input('maxWorkerCount', { inputMode: 'numeric' })}</Field>
          <Field name="tag" label="Tag" problem={shown('tag')}>{input('tag')}</Field>
        </fieldset>
        {submitted && invalid && <p className="error" role="alert">Fix the fields marked above: {Object.values(problems)[0]}</p>}
        <ErrorNote error={save.error} />
        <div className="form-actions">
          <Link to="/jobs" className="button">Cancel</Link>
          <button type="submit" className="primary" disabled={save.pending}>{save.pending ? 'Saving…' : jobId ? 'Save job' : 'Create job'}</button>
        </div>
      </form>
    </section>
  );
}
