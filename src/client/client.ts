import { md5 } from '@noble/hashes/legacy.js';
import { bytesToHex, utf8ToBytes } from '@noble/hashes/utils.js';
import type { z } from 'zod';
import { ErrorCode } from '../api/errors.js';
import { authAppOperation, operations, type OperationName } from '../api/operations.js';
import type { TailLine } from '../logs/types.js';
import { TempojobError, TransportError } from './errors.js';

type Operations = typeof operations;

/** What an operation accepts: the server's own zod schema, before its defaults and coercions. */
export type OperationInput<K extends OperationName> = z.input<Operations[K]['input']>;
/** What an operation answers in `data`: the server's own response schema. */
export type OperationOutput<K extends OperationName> = z.output<Operations[K]['output']>;

export type SaveJobRequest = OperationInput<'saveJob'>;
export type JobQuery = OperationInput<'queryJob'>;
export type InstanceQuery = OperationInput<'queryInstance'>;
export type JobInfo = OperationOutput<'fetchJob'>;
export type InstanceInfo = OperationOutput<'fetchInstanceInfo'>;
export type InstancePage = OperationOutput<'queryInstance'>;
/** A job as `exportJob` gives it: ready to be passed to `saveJob`, here or on another server. */
export type ExportedJob = OperationOutput<'exportJob'>;
export type JobId = OperationInput<'fetchJob'>['jobId'];
export type SaveWorkflowRequest = OperationInput<'saveWorkflow'>;
export type SaveWorkflowNodeRequest = OperationInput<'addWorkflowNode'>[number];
export type WorkflowQuery = OperationInput<'queryWorkflow'>;
export type WorkflowInfo = OperationOutput<'fetchWorkflow'>;
export type WorkflowNodeInfo = OperationOutput<'addWorkflowNode'>[number];
export type WorkflowPage = OperationOutput<'queryWorkflow'>;
export type WorkflowId = OperationInput<'fetchWorkflow'>['workflowId'];
export type WfInstanceId = OperationInput<'fetchWfInstanceInfo'>['wfInstanceId'];
export type WfInstanceInfo = OperationOutput<'fetchWfInstanceInfo'>;
export type WfInstanceQuery = OperationInput<'queryWfInstance'>;
export type WfInstancePage = OperationOutput<'queryWfInstance'>;
export type InstanceId = OperationInput<'fetchInstanceInfo'>['instanceId'];
export type SaveAlertTargetRequest = OperationInput<'saveAlertTarget'>;
export type AlertTargetInfo = OperationOutput<'fetchAlertTarget'>;
export type AlertDeliveryQuery = OperationInput<'queryAlertDeliveries'>;
export type AlertDelivery = OperationOutput<'queryAlertDeliveries'>[number];
export type WorkerInfo = OperationOutput<'listWorkers'>[number];
export type InstanceCountQuery = OperationInput<'countInstances'>;
export type InstanceCounts = OperationOutput<'countInstances'>;
export type NewestInstancesQuery = OperationInput<'listInstances'>;
export type NewestInstancesPage = OperationOutput<'listInstances'>;
/** Which lines of an instance's log: one attempt, worker or task, and the lowest level. */
export type LogFilter = Omit<OperationInput<'fetchInstanceLog'>, 'instanceId' | 'index'>;
/** A line of the live tail: the store's id (the SSE event id), its fields, and `text` as pages show it. */
export type InstanceLogLine = TailLine;

/** The subset of `fetch` the client uses, so tests and proxies can stand in for it. */
export type FetchLike = (url: string, init: RequestInit) => Promise<Response>;

export interface ClientOptions {
  /** Where the API listens, e.g. `http://127.0.0.1:7700` (the part before `/openApi`). */
  baseUrl: string;
  appName: string;
  /**
   * The app's password, or a function read at every (re-)authentication, so a password
   * rotated in a secret store is picked up without rebuilding the client. Only its md5 is sent.
   */
  password: string | (() => string | Promise<string>);
  fetch?: FetchLike;
  /**
   * Re-sends after transport failures. `attempts` counts the first send (default 4);
   * `backoffMs` doubles after each failure, with jitter so that clients cut off together
   * do not come back together (default 200).
   */
  retry?: { attempts?: number; backoffMs?: number };
  /** Per attempt, including reading the answer (default 30 000). A timed-out attempt counts as a transport failure. */
  timeoutMs?: number;
  /**
   * A session from an earlier `authenticate()` (e.g. kept by a browser tab), used until the
   * server refuses its token; then `password` is asked for, as without it.
   */
  session?: Session;
}

export interface ReadOptions {
  /** Gives up the call (no further attempts); the promise rejects with the signal's reason. */
  signal?: AbortSignal;
}

export interface WriteOptions extends ReadOptions {
  /**
   * Names the logical call. Defaults to a fresh UUID, which protects the client's own
   * re-sends; pass your own (e.g. derived from an order id) to make re-sends across
   * process restarts, or after a `TransportError`, safe as well.
   */
  idempotencyKey?: string;
}

/** An authenticated app: `token` goes with every call, `appId` beside it. */
export interface Session {
  appId: number;
  token: string;
}

interface Envelope {
  success: boolean;
  data: unknown;
  message: string | null;
  code: string | null;
}

const HEADERS = { appId: 'X-POWERJOB-APP-ID', token: 'X-POWERJOB-ACCESS-TOKEN', idempotencyKey: 'Idempotency-Key' } as const;
/** Codes after which a new token helps; any other refusal would be refused again. */
const STALE_TOKEN_CODES: readonly (string | null)[] = [ErrorCode.INVALID_TOKEN, ErrorCode.TOKEN_EXPIRED];

// The client runs in Node and in browsers (the console): Web Crypto's randomUUID and a
// pure-JS md5 (browsers' SubtleCrypto has none) instead of node:crypto.
const md5Hex = (text: string) => bytesToHex(md5(utf8ToBytes(text)));
const randomUUID = () => globalThis.crypto.randomUUID();

/** Resolves after `ms`, or rejects with the signal's reason once it aborts. */
function sleep(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const onAbort = () => { clearTimeout(timer); reject(signal?.reason); };
    const timer = setTimeout(() => { signal?.removeEventListener('abort', onAbort); resolve(); }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/**
 * A typed client of tempojob's PowerJob-compatible OpenAPI. One method per operation of
 * the server's operation table, typed from the server's own schemas.
 *
 * The point of it over plain `fetch` is that a call takes effect at most once however the
 * network behaves: every state-changing call carries an Idempotency-Key, and a request
 * whose answer was lost is re-sent with that same key, which the server maps to the first
 * outcome. Refusals by the server are never re-sent, except once after a stale token.
 */
export class TempojobClient {
  private readonly baseUrl: string;
  private readonly fetchImpl: FetchLike;
  private readonly attempts: number;
  private readonly backoffMs: number;
  private readonly timeoutMs: number;
  private session: Promise<Session> | undefined;

  constructor(private readonly options: ClientOptions) {
    this.baseUrl = options.baseUrl.replace(/\/+$/, '');
    this.fetchImpl = options.fetch ?? ((url, init) => fetch(url, init));
    this.attempts = Math.max(1, options.retry?.attempts ?? 4);
    this.backoffMs = Math.max(0, options.retry?.backoffMs ?? 200);
    this.timeoutMs = options.timeoutMs ?? 30_000;
    if (options.session) this.session = Promise.resolve(options.session);
  }

  /**
   * The cached session, authenticating first if there is none. Calls do this on their own;
   * call it at start-up to fail fast on a wrong app name or password.
   */
  authenticate(): Promise<Session> {
    if (!this.session) {
      const pending = this.login();
      this.session = pending;
      // A failed login must not be cached: the next call tries again.
      pending.catch(() => { if (this.session === pending) this.session = undefined; });
    }
    return this.session;
  }

  /**
   * Any operation by name: the escape hatch behind every method below, typed by the same
   * table, for code that dispatches on operation names.
   */
  async call<K extends OperationName>(operation: K, input: OperationInput<K>, options: WriteOptions = {}): Promise<OperationOutput<K>> {
    const { mutating } = operations[operation];
    const key = mutating ? (options.idempotencyKey ?? randomUUID()) : undefined;
    let reauthenticated = false;
    for (let attempt = 1; ; attempt++) {
      try {
        const session = this.authenticate();
        const { appId, token } = await session;
        const headers: Record<string, string> = { [HEADERS.appId]: String(appId), [HEADERS.token]: token };
        if (key !== undefined) headers[HEADERS.idempotencyKey] = key;
        const envelope = await this.post(operation, input, headers, attempt, key, options.signal);
        if (envelope.success) return envelope.data as OperationOutput<K>;
        // The server refused before doing anything, so sending again with a new token is safe.
        if (!reauthenticated && STALE_TOKEN_CODES.includes(envelope.code)) {
          reauthenticated = true;
          if (this.session === session) this.session = undefined;
          attempt--;
          continue;
        }
        throw new TempojobError(envelope.message ?? `${operation} failed`, envelope.code, operation, key);
      } catch (err) {
        if (!(err instanceof TransportError) || !err.retryable || attempt >= this.attempts) throw err;
        await this.backoff(attempt, options.signal);
      }
    }
  }

  /** Creates a job (no `id`) or replaces one (`id`). Returns the job id; a re-sent create returns the first id. */
  saveJob(request: SaveJobRequest, options?: WriteOptions): Promise<OperationOutput<'saveJob'>> {
    return this.call('saveJob', request, options);
  }

  /** Copies a job as `<name>_COPY`; returns the new id. */
  copyJob(jobId: JobId, options?: WriteOptions): Promise<OperationOutput<'copyJob'>> {
    return this.call('copyJob', { jobId }, options);
  }

  exportJob(jobId: JobId, options?: ReadOptions): Promise<ExportedJob> {
    return this.call('exportJob', { jobId }, options);
  }

  /** Strongly consistent: sees a job as soon as `saveJob` returned. */
  fetchJob(jobId: JobId, options?: ReadOptions): Promise<JobInfo> {
    return this.call('fetchJob', { jobId }, options);
  }

  /** Every job of the app, deleted ones included. Trails writes by a moment (a search index). */
  fetchAllJob(options?: ReadOptions): Promise<OperationOutput<'fetchAllJob'>> {
    return this.call('fetchAllJob', {}, options);
  }

  /** Jobs matching every given condition. Trails writes by a moment, as `fetchAllJob`. */
  queryJob(query: JobQuery = {}, options?: ReadOptions): Promise<OperationOutput<'queryJob'>> {
    return this.call('queryJob', query, options);
  }

  async enableJob(jobId: JobId, options?: WriteOptions): Promise<void> {
    await this.call('enableJob', { jobId }, options);
  }

  /** Pauses the job's schedule; `runJob` still runs it, as in PowerJob. */
  async disableJob(jobId: JobId, options?: WriteOptions): Promise<void> {
    await this.call('disableJob', { jobId }, options);
  }

  /** Soft delete (status 99); deleting again is a no-op, so a re-send is harmless. */
  async deleteJob(jobId: JobId, options?: WriteOptions): Promise<void> {
    await this.call('deleteJob', { jobId }, options);
  }

  /**
   * Runs a job now, or `delay` ms after the server received the call. Returns the instance
   * id; whatever the network does, one call makes one instance.
   */
  runJob(jobId: JobId, options: Omit<OperationInput<'runJob'>, 'jobId'> & WriteOptions = {}): Promise<OperationOutput<'runJob'>> {
    const { signal, idempotencyKey, ...run } = options;
    return this.call('runJob', { jobId, ...run }, { signal, idempotencyKey });
  }

  /** Stops a waiting or running instance; its processor sees `ctx.signal` abort. */
  async stopInstance(instanceId: InstanceId, options?: WriteOptions): Promise<void> {
    await this.call('stopInstance', { instanceId }, options);
  }

  /** Cancels a run that has not fired yet; refused (-501) once it has. */
  async cancelInstance(instanceId: InstanceId, options?: WriteOptions): Promise<void> {
    await this.call('cancelInstance', { instanceId }, options);
  }

  /** Runs a finished instance again under the same id; a re-sent retry starts no second run. */
  async retryInstance(instanceId: InstanceId, options?: WriteOptions): Promise<void> {
    await this.call('retryInstance', { instanceId }, options);
  }

  /** The status code; compare with `InstanceStatus.codes`. */
  fetchInstanceStatus(instanceId: InstanceId, options?: ReadOptions): Promise<OperationOutput<'fetchInstanceStatus'>> {
    return this.call('fetchInstanceStatus', { instanceId }, options);
  }

  /** Strongly consistent: sees an instance as soon as `runJob` returned. */
  fetchInstanceInfo(instanceId: InstanceId, options?: ReadOptions): Promise<InstanceInfo> {
    return this.call('fetchInstanceInfo', { instanceId }, options);
  }

  /** One page of instances (default: 10, newest first). Trails writes by a moment. */
  queryInstance(query: InstanceQuery = {}, options?: ReadOptions): Promise<InstancePage> {
    return this.call('queryInstance', query, options);
  }

  /**
   * Creates nodes (no `id`) or changes them (`id`), PowerJob's saveWorkflowNode: a node joins
   * the workflow whose saved DAG lists it. Returns the nodes with their ids.
   */
  addWorkflowNode(nodes: SaveWorkflowNodeRequest[], options?: WriteOptions): Promise<WorkflowNodeInfo[]> {
    return this.call('addWorkflowNode', nodes, options);
  }

  /** Creates a workflow (no `id`) or replaces one (`id`); its `dag` lists node ids and edges. Returns the workflow id. */
  saveWorkflow(request: SaveWorkflowRequest, options?: WriteOptions): Promise<OperationOutput<'saveWorkflow'>> {
    return this.call('saveWorkflow', request, options);
  }

  /** Copies a workflow and its nodes as `<name>_COPY`; returns the new id. */
  copyWorkflow(workflowId: WorkflowId, options?: WriteOptions): Promise<OperationOutput<'copyWorkflow'>> {
    return this.call('copyWorkflow', { workflowId }, options);
  }

  /** Strongly consistent: the workflow and its DAG, each node's fields filled in. */
  fetchWorkflow(workflowId: WorkflowId, options?: ReadOptions): Promise<WorkflowInfo> {
    return this.call('fetchWorkflow', { workflowId }, options);
  }

  /** One page of the app's workflows. Trails writes by a moment (a search index). */
  queryWorkflow(query: WorkflowQuery = {}, options?: ReadOptions): Promise<WorkflowPage> {
    return this.call('queryWorkflow', query, options);
  }

  async enableWorkflow(workflowId: WorkflowId, options?: WriteOptions): Promise<void> {
    await this.call('enableWorkflow', { workflowId }, options);
  }

  async disableWorkflow(workflowId: WorkflowId, options?: WriteOptions): Promise<void> {
    await this.call('disableWorkflow', { workflowId }, options);
  }

  /** Soft delete (status 99): it can no longer run or change; deleting again is a no-op. */
  async deleteWorkflow(workflowId: WorkflowId, options?: WriteOptions): Promise<void> {
    await this.call('deleteWorkflow', { workflowId }, options);
  }

  /**
   * Runs a workflow now, or `delay` ms after the server received the call; `initParams` (a
   * JSON object, or any text kept under "initParams") become its context. Returns the
   * wfInstanceId; whatever the network does, one call makes one workflow instance.
   */
  runWorkflow(workflowId: WorkflowId, options: Omit<OperationInput<'runWorkflow'>, 'workflowId'> & WriteOptions = {}): Promise<OperationOutput<'runWorkflow'>> {
    const { signal, idempotencyKey, ...run } = options;
    return this.call('runWorkflow', { workflowId, ...run }, { signal, idempotencyKey });
  }

  /** Strongly consistent: the instance's status, its DAG with every node's state, its context (both as JSON strings, as PowerJob sends them). */
  fetchWfInstanceInfo(wfInstanceId: WfInstanceId, options?: ReadOptions): Promise<WfInstanceInfo> {
    return this.call('fetchWfInstanceInfo', { wfInstanceId }, options);
  }

  /** Stops a waiting or running workflow instance and every node it runs. */
  async stopWfInstance(wfInstanceId: WfInstanceId, options?: WriteOptions): Promise<void> {
    await this.call('stopWfInstance', { wfInstanceId }, options);
  }

  /** Runs a FAILED or STOPPED workflow instance again under the same id: its failed and stopped nodes only. */
  async retryWfInstance(wfInstanceId: WfInstanceId, options?: WriteOptions): Promise<void> {
    await this.call('retryWfInstance', { wfInstanceId }, options);
  }

  /** Marks a failed node of a finished workflow instance successful; `retryWfInstance` then carries on past it. */
  async markWorkflowNodeAsSuccess(wfInstanceId: WfInstanceId, nodeId: number, options?: WriteOptions): Promise<void> {
    await this.call('markWorkflowNodeAsSuccess', { wfInstanceId, nodeId }, options);
  }

  /** One page of the app's workflow instances (default: 10, newest first). Trails writes by a moment. */
  queryWfInstance(query: WfInstanceQuery = {}, options?: ReadOptions): Promise<WfInstancePage> {
    return this.call('queryWfInstance', query, options);
  }

  /** Creates an alert target (no `id`) or updates one (`id`; an omitted secret is kept). Returns its id, which jobs list in `notifyUserIds`. */
  saveAlertTarget(request: SaveAlertTargetRequest, options?: WriteOptions): Promise<OperationOutput<'saveAlertTarget'>> {
    return this.call('saveAlertTarget', request, options);
  }

  /** One alert target: secrets read as `secretSet`, robot URLs masked. */
  fetchAlertTarget(targetId: number, options?: ReadOptions): Promise<AlertTargetInfo> {
    return this.call('fetchAlertTarget', { targetId }, options);
  }

  listAlertTargets(options?: ReadOptions): Promise<AlertTargetInfo[]> {
    return this.call('listAlertTargets', {}, options);
  }

  async deleteAlertTarget(targetId: number, options?: WriteOptions): Promise<void> {
    await this.call('deleteAlertTarget', { targetId }, options);
  }

  /** Recent deliveries of the app's alerts, newest first, filtered by instance, workflow instance, alert or status. */
  queryAlertDeliveries(query: AlertDeliveryQuery = {}, options?: ReadOptions): Promise<AlertDelivery[]> {
    return this.call('queryAlertDeliveries', query, options);
  }

  /** The app's live processor workers: ids, tags, when Temporal last saw each, their task queues. */
  listWorkers(options?: ReadOptions): Promise<WorkerInfo[]> {
    return this.call('listWorkers', {}, options);
  }

  /** A page of the app's instances, newest first, without reading all of them (for apps with many). Trails writes by a moment. */
  listInstances(query: NewestInstancesQuery = {}, options?: ReadOptions): Promise<NewestInstancesPage> {
    return this.call('listInstances', query, options);
  }

  /** Runs of the app (or of one job) per status, by when they started. Trails writes by a moment. */
  countInstances(query: InstanceCountQuery = {}, options?: ReadOptions): Promise<InstanceCounts> {
    return this.call('countInstances', query, options);
  }

  /** A page of the instance's log (PowerJob's StringPage: 100 formatted lines in `data`, 0-based `index`). */
  fetchInstanceLog(instanceId: InstanceId, options: LogFilter & { index?: number } & ReadOptions = {}): Promise<OperationOutput<'fetchInstanceLog'>> {
    const { signal, ...query } = options;
    return this.call('fetchInstanceLog', { instanceId, ...query }, { signal });
  }

  /** Appends lines from outside systems to the instance's log (as worker "api"); with an idempotencyKey a re-send stores nothing twice. */
  appendInstanceLog(
    instanceId: InstanceId,
    lines: string[],
    options: { level?: OperationInput<'appendInstanceLog'>['level'] } & WriteOptions = {},
  ): Promise<OperationOutput<'appendInstanceLog'>> {
    const { signal, idempotencyKey, level } = options;
    return this.call('appendInstanceLog', { instanceId, lines, level }, { signal, idempotencyKey });
  }

  /** The instance's whole log (under the filter) as plain text, one line per line. */
  async downloadInstanceLog(instanceId: InstanceId, filter: LogFilter = {}, options: ReadOptions = {}): Promise<string> {
    const res = await this.get('instanceLog/download', { instanceId, ...filter }, {}, options.signal);
    return res.text();
  }

  /**
   * The instance's log as it is written: every line so far, then each new one within about a
   * second, until the run has ended and its last lines arrived. A dropped connection is
   * resumed after the last line received (Server-Sent Events' Last-Event-ID), so no line is
   * missed or repeated. Stop early with `signal` or by leaving the loop.
   */
  async *tailInstanceLog(instanceId: InstanceId, filter: LogFilter = {}, options: ReadOptions = {}): AsyncGenerator<InstanceLogLine> {
    let lastId: string | undefined;
    for (let failures = 0; ;) {
      let res: Response;
      try {
        res = await this.get('instanceLog/tail', { instanceId, ...filter }, lastId ? { 'Last-Event-ID': lastId } : {}, options.signal);
      } catch (err) {
        if (!(err instanceof TransportError) || !err.retryable || ++failures >= this.attempts) throw err;
        await this.backoff(failures, options.signal);
        continue;
      }
      try {
        for await (const event of serverSentEvents(res)) {
          if (event.event === 'end') return;
          if (event.event !== 'line') continue;
          failures = 0;
          lastId = event.id ?? lastId;
          yield JSON.parse(event.data) as InstanceLogLine;
        }
      } catch (err) {
        if (options.signal?.aborted) throw options.signal.reason;
        if (++failures >= this.attempts) throw new TransportError(`tailInstanceLog: the stream broke (${(err as Error).message})`, 'tailInstanceLog', true, failures, undefined, undefined, { cause: err });
      }
      // The stream ended without its end event (the API went away): resume after the last line.
      await this.backoff(Math.max(1, failures), options.signal);
    }
  }

  /** An authenticated GET under /openApi (the log download and tail); a refusal as TempojobError, a broken exchange as TransportError. */
  private async get(path: string, query: Record<string, string | number | null | undefined>, headers: Record<string, string>, signal: AbortSignal | undefined): Promise<Response> {
    signal?.throwIfAborted();
    for (let reauthenticated = false; ;) {
      const session = this.authenticate();
      const { appId, token } = await session;
      const params = new URLSearchParams(Object.entries(query).flatMap(([k, v]): [string, string][] => (v == null ? [] : [[k, String(v)]])));
      let res: Response;
      try {
        res = await this.fetchImpl(`${this.baseUrl}/openApi/${path}?${params}`, { method: 'GET', headers: { [HEADERS.appId]: String(appId), [HEADERS.token]: token, ...headers }, ...(signal ? { signal } : {}) });
      } catch (err) {
        if (signal?.aborted) throw signal.reason;
        throw new TransportError(`${path}: request failed (${(err as Error).message})`, path, true, 1, undefined, undefined, { cause: err });
      }
      if (res.ok) return res;
      const envelope = parseEnvelope(await res.text());
      if (envelope && !reauthenticated && STALE_TOKEN_CODES.includes(envelope.code)) {
        reauthenticated = true;
        if (this.session === session) this.session = undefined;
        continue;
      }
      if (envelope) throw new TempojobError(envelope.message ?? `${path} failed`, envelope.code, path, undefined);
      throw new TransportError(`${path}: HTTP ${res.status}`, path, res.status >= 500, 1, undefined, res.status);
    }
  }

  private async login(): Promise<Session> {
    const { password, appName } = this.options;
    const secret = typeof password === 'function' ? await password() : password;
    const input: z.input<typeof authAppOperation.input> = { appName, encryptedPassword: md5Hex(secret), encryptType: 'md5' };
    const envelope = await this.post('authApp', input, {}, 1, undefined, undefined);
    if (!envelope.success) throw new TempojobError(envelope.message ?? 'authApp failed', envelope.code, 'authApp', undefined);
    const data = envelope.data as z.output<typeof authAppOperation.output>;
    return { appId: data.appId, token: data.token };
  }

  /** One HTTP exchange: an envelope, or a TransportError saying whether trying again makes sense. */
  private async post(
    operation: string,
    input: unknown,
    headers: Record<string, string>,
    attempt: number,
    key: string | undefined,
    signal: AbortSignal | undefined,
  ): Promise<Envelope> {
    signal?.throwIfAborted();
    const failed = (message: string, retryable: boolean, status?: number, cause?: unknown) =>
      new TransportError(`${operation}: ${message}`, operation, retryable, attempt, key, status, { cause });
    const timeout = AbortSignal.timeout(this.timeoutMs);
    const combined = signal ? AbortSignal.any([signal, timeout]) : timeout;
    let status: number;
    let text: string;
    try {
      const res = await this.fetchImpl(`${this.baseUrl}/openApi/${operation}`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json; charset=utf-8', Accept: 'application/json', ...headers },
        body: JSON.stringify(input ?? {}),
        signal: combined,
      });
      status = res.status;
      text = await res.text();
    } catch (err) {
      // The caller gave up: not a transport failure, and no further attempt.
      if (signal?.aborted) throw signal.reason;
      const why = timeout.aborted ? `no answer within ${this.timeoutMs} ms` : `request failed (${(err as Error).message})`;
      throw failed(why, true, undefined, err);
    }
    const envelope = parseEnvelope(text);
    if (envelope) return envelope;
    // A proxy's error page or a server that is restarting; 408/429 say "later", 4xx say "wrong place".
    const retryable = status >= 500 || status === 408 || status === 429;
    throw failed(`HTTP ${status} without a response envelope: ${text.slice(0, 200)}`, retryable, status);
  }

  private async backoff(failures: number, signal: AbortSignal | undefined): Promise<void> {
    const base = this.backoffMs * 2 ** (failures - 1);
    await sleep(base / 2 + Math.random() * (base / 2), signal);
  }
}

/** The events of a Server-Sent Events response, as the stream delivers them. */
async function* serverSentEvents(res: Response): AsyncGenerator<{ id?: string; event: string; data: string }> {
  if (!res.body) return;
  const decoder = new TextDecoder();
  let buffered = '';
  for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
    buffered += decoder.decode(chunk, { stream: true });
    for (let end = buffered.indexOf('\n\n'); end >= 0; end = buffered.indexOf('\n\n')) {
      const block = buffered.slice(0, end);
      buffered = buffered.slice(end + 2);
      let id: string | undefined;
      let event = 'message';
      const data: string[] = [];
      for (const line of block.split('\n')) {
        const colon = line.indexOf(':');
        if (colon === 0) continue;
        const [field, value] = colon < 0 ? [line, ''] : [line.slice(0, colon), line.slice(colon + 1).replace(/^ /, '')];
        if (field === 'id') id = value;
        else if (field === 'event') event = value;
        else if (field === 'data') data.push(value);
      }
      if (data.length > 0 || event !== 'message') yield { ...(id !== undefined ? { id } : {}), event, data: data.join('\n') };
    }
  }
}

function parseEnvelope(text: string): Envelope | undefined {
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (typeof body !== 'object' || body === null || typeof (body as { success?: unknown }).success !== 'boolean') return undefined;
  const { success, data, message, code } = body as Partial<Envelope>;
  return { success: success!, data: data ?? null, message: message ?? null, code: code ?? null };
}

/** Shorthand for `new TempojobClient(options)`. */
export function createClient(options: ClientOptions): TempojobClient {
  return new TempojobClient(options);
}
