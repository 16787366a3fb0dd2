import { useMutation, useQueryClient, type UseQueryResult } from '@tanstack/react-query';
import { useEffect, useRef, useState, type ReactNode } from 'react';
import { TempojobError, TransportError } from '../../src/client/errors.js';
import { InstanceStatus, JobStatus } from '../../src/domain/enums.js';

export const INSTANCE_STATUS_NAMES = InstanceStatus.names;
export const instanceStatusName = (code: number) => InstanceStatus.nameOf(code) ?? `status ${code}`;
export const jobStatusName = (code: number) => JobStatus.nameOf(code) ?? `status ${code}`;
export const FINISHED_CODES: readonly number[] = [InstanceStatus.codes.FAILED, InstanceStatus.codes.SUCCEED, InstanceStatus.codes.CANCELED, InstanceStatus.codes.STOPPED];

const VIEWER_ZONE = Intl.DateTimeFormat().resolvedOptions().timeZone;

function formatIn(ms: number, timeZone: string): string {
  return new Intl.DateTimeFormat('en-CA', {
    timeZone, year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', second: '2-digit', hourCycle: 'h23',
  }).format(ms).replace(',', '');
}

/** A time in the viewer's zone; hovering shows it in the job's zone (and the zone names). */
export function Time({ ms, zone }: { ms: number | string | null | undefined; zone?: string | undefined }) {
  if (ms === null || ms === undefined) return <span className="muted">—</span>;
  const at = typeof ms === 'string' ? Date.parse(ms) : ms;
  const title = zone && zone !== VIEWER_ZONE ? `${formatIn(at, zone)} ${zone} (job's zone)` : `${formatIn(at, VIEWER_ZONE)} ${VIEWER_ZONE}`;
  return <time dateTime={new Date(at).toISOString()} title={title}>{formatIn(at, VIEWER_ZONE)}</time>;
}

/** An id with a button that copies it. */
export function CopyId({ id, label }: { id: number | string; label: string }) {
  const [copied, setCopied] = useState(false);
  const copy = async () => {
    await navigator.clipboard.writeText(String(id));
    setCopied(true);
    window.setTimeout(() => setCopied(false), 1500);
  };
  return (
    <span className="copy-id">
      <code>{id}</code>
      <button type="button" className="icon" onClick={() => void copy()} aria-label={`Copy ${label} ${id}`} title="Copy">
        {copied ? '✓' : <svg width="12" height="12" viewBox="0 0 12 12" aria-hidden="true" focusable="false"><rect x="3.5" y="0.5" width="8" height="8" rx="1" fill="none" stroke="currentColor" /><rect x="0.5" y="3.5" width="8" height="8" rx="1" fill="var(--bg)" stroke="currentColor" /></svg>}
      </button>
    </span>
  );
}

export function StatusBadge({ code, kind = 'instance' }: { code: number; kind?: 'instance' | 'job' }) {
  const name = kind === 'instance' ? instanceStatusName(code) : jobStatusName(code);
  return <span className={`badge badge-${name.toLowerCase()}`}>{name}</span>;
}

export function errorMessage(err: unknown): string {
  if (err instanceof TempojobError) return err.message;
  if (err instanceof TransportError) return `the API did not answer (${err.message}); check that tempojob is running, then try again`;
  return err instanceof Error ? err.message : String(err);
}

/** Loading, error (with a retry) and empty states of a list; the list itself otherwise. */
export function ListState<T>({ query, empty, children, what }: {
  query: UseQueryResult<T>;
  what: string;
  empty: (data: T) => boolean;
  children: (data: T) => ReactNode;
}) {
  if (query.isPending) return <p className="state" role="status">Loading {what}…</p>;
  if (query.isError) {
    return (
      <div className="state error" role="alert">
        <p>Could not load {what}: {errorMessage(query.error)}</p>
        <button type="button" onClick={() => void query.refetch()}>Try again</button>
      </div>
    );
  }
  if (empty(query.data)) return <p className="state empty">No {what}.</p>;
  return <>{children(query.data)}</>;
}

/**
 * One user intent that changes state: its Idempotency-Key is kept until it succeeds, so a
 * retry after a lost answer (or a double click that got through) takes effect once; an edited
 * request (another `identity`) gets a new key. The caller disables its button while `pending`.
 */
export function useIntent<I, O>(
  run: (input: I, idempotencyKey: string) => Promise<O>,
  options: {
    onSuccess?: (output: O, input: I) => void;
    invalidates?: readonly unknown[][];
    /** What the request says (e.g. its body as JSON): another request is another intent, with a key of its own, as the server requires. */
    identity?: string;
  } = {},
) {
  const key = useRef({ identity: options.identity, value: crypto.randomUUID() });
  if (key.current.identity !== options.identity) key.current = { identity: options.identity, value: crypto.randomUUID() };
  const queryClient = useQueryClient();
  const mutation = useMutation({
    mutationFn: (input: I) => run(input, key.current.value),
    onSuccess: async (output, input) => {
      key.current = { identity: options.identity, value: crypto.randomUUID() };
      await Promise.all((options.invalidates ?? []).map((queryKey) => queryClient.invalidateQueries({ queryKey })));
      options.onSuccess?.(output, input);
    },
  });
  const trigger = (input: I) => { if (!mutation.isPending) mutation.mutate(input); };
  return { trigger, pending: mutation.isPending, error: mutation.error, reset: mutation.reset };
}

export function ErrorNote({ error }: { error: unknown }) {
  if (!error) return null;
  return <p className="error" role="alert">{errorMessage(error)}</p>;
}

/** A modal dialog (the platform's: focus kept inside, Escape closes) that opens when mounted. */
export function Dialog({ title, onClose, children }: { title: string; onClose: () => void; children: ReactNode }) {
  const ref = useRef<HTMLDialogElement>(null);
  // No close() on unmount: a removed dialog leaves the top layer anyway, and a close event
  // from React's StrictMode re-mount would close the dialog it just opened.
  useEffect(() => { if (ref.current && !ref.current.open) ref.current.showModal(); }, []);
  return (
    <dialog ref={ref} aria-labelledby="dialog-title" onClose={onClose} onCancel={onClose}>
      <h2 id="dialog-title">{title}</h2>
      {children}
    </dialog>
  );
}

/**
 * A form's text inputs and selects over one record of string fields: each input marks its
 * field touched (its problem shows from then on) and points at its problem's element.
 */
export function formControls<N extends string>({ fields, setFields, touched, setTouched, shown }: {
  fields: Record<N, string>;
  setFields: (fields: Record<N, string>) => void;
  touched: Set<string>;
  setTouched: (touched: Set<string>) => void;
  shown: (name: N) => string | undefined;
}) {
  const input = (name: N, props: { type?: string; inputMode?: 'numeric'; list?: string } = {}) => (
    <input
      id={`f-${name}`} name={name} value={fields[name]} {...props}
      aria-invalid={shown(name) ? true : undefined} aria-describedby={`f-${name}-problem`}
      onChange={(e) => { setFields({ ...fields, [name]: e.target.value }); setTouched(new Set(touched).add(name)); }}
    />
  );
  const select = (name: N, options: readonly string[]) => (
    <select id={`f-${name}`} name={name} value={fields[name]} onChange={(e) => setFields({ ...fields, [name]: e.target.value })}>
      {options.map((o) => <option key={o} value={o}>{o}</option>)}
    </select>
  );
  return { input, select };
}
