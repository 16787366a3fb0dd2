import { setTimeout as sleep } from 'node:timers/promises';
import express, { Router, type Request, type Response } from 'express';
import type { z } from 'zod';
import { InstanceStatus } from '../../domain/enums.js';
import type { AlertService } from '../alert-service.js';
import type { AppService } from '../app-service.js';
import type { AuthenticatedApp, TokenService } from '../auth.js';
import { AUTH_HEADERS, requireApp } from '../auth.js';
import { instanceInfoDTO, jobInfoDTO, nextTrigger, wfInstanceInfoDTO, workflowInfoDTO, workflowNodeInfoDTO } from '../dto.js';
import { ok } from '../envelope.js';
import { AuthError, ErrorCode, InvalidRequestError, ThrottledError } from '../errors.js';
import type { AuthThrottle } from '../auth-throttle.js';
import { idempotencyOf, type Idempotency } from '../idempotency.js';
import type { InstanceService } from '../instance-service.js';
import { type LogService, tailLineOf } from '../log-service.js';
import { formatLogLine } from '../../logs/format.js';
import type { LogFilter } from '../../logs/store.js';
import type { JobService } from '../job-service.js';
import type { WorkflowService } from '../workflow-service.js';
import type { WfInstanceService } from '../wf-instance-service.js';
import { authAppOperation, operations, type OperationName } from '../operations.js';
import { matchesJobQuery, matchesWorkflowQuery, page, sortBy } from '../queries.js';
import { fetchInstanceLogSchema, parse } from '../schemas.js';
import { appTaskQueue, workerTaskQueue } from '../../contract/names.js';
import type { SeenWorker } from '../../temporal/live-workers.js';

export interface OpenApiDeps {
  /** The app's live processor workers (src/temporal/live-workers.ts). */
  workers: (appName: string) => Promise<SeenWorker[]>;
  apps: AppService;
  tokens: TokenService;
  throttle: AuthThrottle;
  jobs: JobService;
  instances: InstanceService;
  workflows: WorkflowService;
  wfInstances: WfInstanceService;
  logs: LogService;
  alerts: AlertService;
}

type Handler<K extends OperationName> = (
  app: AuthenticatedApp,
  input: z.infer<(typeof operations)[K]['input']>,
  idempotency: Idempotency | null,
) => Promise<unknown>;

function handlers({ jobs, instances, workflows, wfInstances, logs, alerts, workers }: OpenApiDeps): { [K in OperationName]: Handler<K> } {
  return {
    saveJob: (app, input, key) => jobs.save(app, input, key),
    copyJob: (app, { jobId }, key) => jobs.copy(app, jobId, key),
    exportJob: (app, { jobId }) => jobs.export(app, jobId),
    fetchJob: async (app, { jobId }) => jobInfoDTO(await jobs.get(app, jobId)),
    fetchAllJob: async (app) => (await jobs.list(app)).map((job) => jobInfoDTO(job)),
    queryJob: async (app, query) => {
      const now = Date.now();
      return (await jobs.list(app)).filter((job) => matchesJobQuery(job, query, nextTrigger(job, now))).map((job) => jobInfoDTO(job, now));
    },
    validateTimeExpression: async (_app, input) => jobs.preview(input),
    enableJob: async (app, { jobId }) => { await jobs.setStatus(app, jobId, 'ENABLE'); return null; },
    disableJob: async (app, { jobId }) => { await jobs.setStatus(app, jobId, 'DISABLE'); return null; },
    deleteJob: async (app, { jobId }) => { await jobs.setStatus(app, jobId, 'DELETED'); return null; },
    runJob: (app, input, key) => instances.run(app, input, key),
    stopInstance: async (app, { instanceId }, key) => { await instances.stop(app, instanceId, key); return null; },
    cancelInstance: async (app, { instanceId }, key) => { await instances.cancel(app, instanceId, key); return null; },
    retryInstance: async (app, { instanceId }, key) => { await instances.retry(app, instanceId, key); return null; },
    fetchInstanceStatus: async (app, { instanceId }) => InstanceStatus.codes[(await instances.get(app, instanceId)).status],
    fetchInstanceInfo: async (app, { instanceId }) => instanceInfoDTO(await instances.get(app, instanceId)),
    queryInstance: async (app, query) => {
      const result = await instances.query(app, query);
      return { ...result, data: result.data.map(instanceInfoDTO) };
    },
    addWorkflowNode: async (app, nodes, key) => (await workflows.saveNodes(app, nodes, key)).map(workflowNodeInfoDTO),
    saveWorkflow: (app, input, key) => workflows.save(app, input, key),
    copyWorkflow: (app, { workflowId }, key) => workflows.copy(app, workflowId, key),
    fetchWorkflow: async (app, { workflowId }) => {
      const [workflow, nodes] = await Promise.all([workflows.get(app, workflowId), workflows.nodes(app.appId)]);
      return workflowInfoDTO(workflow, nodes);
    },
    queryWorkflow: async (app, query) => {
      const [all, nodes] = await Promise.all([workflows.list(app), workflows.nodes(app.appId)]);
      const matching = sortBy(all.filter((workflow) => matchesWorkflowQuery(workflow, query)), query.sortBy, query.asc);
      const now = Date.now();
      const result = page(matching, query.index, query.pageSize);
      return { ...result, data: result.data.map((workflow) => workflowInfoDTO(workflow, nodes, now)) };
    },
    enableWorkflow: async (app, { workflowId }) => { await workflows.setStatus(app, workflowId, 'ENABLE'); return null; },
    disableWorkflow: async (app, { workflowId }) => { await workflows.setStatus(app, workflowId, 'DISABLE'); return null; },
    deleteWorkflow: async (app, { workflowId }) => { await workflows.setStatus(app, workflowId, 'DELETED'); return null; },
    runWorkflow: (app, input, key) => wfInstances.run(app, input, key),
    fetchWfInstanceInfo: async (app, { wfInstanceId }) => wfInstanceInfoDTO(await wfInstances.get(app, wfInstanceId)),
    stopWfInstance: async (app, { wfInstanceId }, key) => { await wfInstances.stop(app, wfInstanceId, key); return null; },
    retryWfInstance: async (app, { wfInstanceId }, key) => { await wfInstances.retry(app, wfInstanceId, key); return null; },
    markWorkflowNodeAsSuccess: async (app, { wfInstanceId, nodeId }, key) => {
      await wfInstances.markNodeSucceeded(app, wfInstanceId, nodeId, key);
      return null;
    },
    fetchInstanceLog: (app, { instanceId, index, ...filter }) => logs.page(app, instanceId, logFilter(filter), index),
    appendInstanceLog: (app, input, key) => logs.append(app, input, key),
    shipInstanceLog: (app, { lines }) => logs.ship(app, lines),
    queryWfInstance: async (app, query) => {
      const result = await wfInstances.query(app, query);
      return { ...result, data: result.data.map(wfInstanceInfoDTO) };
    },
    saveAlertTarget: (app, input, key) => alerts.save(app, input, key),
    fetchAlertTarget: (app, { targetId }) => alerts.fetch(app, targetId),
    listAlertTargets: (app) => alerts.list(app),
    deleteAlertTarget: async (app, { targetId }, key) => { await alerts.delete(app, targetId, key); return null; },
    queryAlertDeliveries: (app, filter) => alerts.deliveries(app, filter),
    listWorkers: async (app) => (await workers(app.appName)).map((worker) => ({
      ...worker, taskQueues: [appTaskQueue(app.appName), workerTaskQueue(app.appName, worker.workerId)],
    })),
    listInstances: async (app, query) => {
      const { data, more, runs } = await instances.newest(app, query);
      return { index: query.index, pageSize: query.pageSize, more, runs, data: data.map(instanceInfoDTO) };
    },
    countInstances: async (app, query) => {
      const counts = await instances.count(app, query);
      return {
        total: counts.reduce((sum, { count }) => sum + count, 0),
        byStatus: counts.map(({ status, count }) => ({ status: InstanceStatus.codes[status], name: status, count })),
      };
    },
  };
}

const appOf = (res: Response) => res.locals.app as AuthenticatedApp;

function logFilter({ attempt, workerId, taskId, level }: Omit<z.infer<typeof fetchInstanceLogSchema>, 'instanceId' | 'index'>): LogFilter {
  return {
    ...(attempt !== undefined ? { attempt } : {}),
    ...(workerId !== undefined ? { workerId } : {}),
    ...(taskId !== undefined ? { taskId } : {}),
    ...(level !== undefined ? { minLevel: level } : {}),
  };
}

/** The live tail polls the store this often; a line reaches a subscriber within about this plus the worker's batching (200 ms). */
const TAIL_POLL_MS = 200;
/** Lines read per poll. */
const TAIL_BATCH = 500;
/** After the run ended, the tail waits this long without a new line (late shipments) before it ends. */
const TAIL_END_QUIET_MS = 2_000;
/** Whether the run has ended is read (from Temporal) at most this often, not at every poll of the store. */
const TAIL_STATUS_EVERY_MS = 1_000;
/** A comment line this often keeps proxies from closing a quiet stream. */
const TAIL_KEEPALIVE_MS = 15_000;

/**
 * GET /openApi/instanceLog/tail?instanceId=…[&attempt&workerId&taskId&level][&after=<id>]: Server-Sent
 * Events, one `line` event per log line (its id the store's, data a TailLine), resuming after
 * `Last-Event-ID` (or `after`); an `end` event (data: the instance's status) closes it once the
 * run has ended and its last lines arrived.
 */
async function tail(logs: LogService, req: Request, res: Response): Promise<void> {
  const app = appOf(res);
  const { instanceId, index: _index, ...query } = parse(fetchInstanceLogSchema, req.query);
  const filter = logFilter(query);
  const resumeFrom = req.get('Last-Event-ID') ?? (typeof req.query['after'] === 'string' ? req.query['after'] : '0');
  let after = /^\d+$/.test(resumeFrom) ? Number(resumeFrom) : 0;
  await logs.own(app, instanceId);
  res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache', connection: 'keep-alive', 'x-accel-buffering': 'no' });
  res.flushHeaders();
  const gone = new AbortController();
  req.on('close', () => gone.abort());
  let quietSince = Date.now();
  let endedAt: number | undefined;
  let lastWrite = Date.now();
  let statusReadAt = 0;
  while (!gone.signal.aborted) {
    const batch = await logs.after(app, instanceId, filter, after, TAIL_BATCH);
    for (const line of batch.lines) res.write(`id: ${line.id}\nevent: line\ndata: ${JSON.stringify(tailLineOf(line))}\n\n`);
    if (batch.last !== after) { after = batch.last; quietSince = Date.now(); lastWrite = Date.now(); }
    if (batch.full) continue;
    if (endedAt === undefined && Date.now() - statusReadAt >= TAIL_STATUS_EVERY_MS) {
      statusReadAt = Date.now();
      if (await logs.finished(app, instanceId)) endedAt = statusReadAt;
    }
    if (endedAt !== undefined && Date.now() - Math.max(endedAt, quietSince) >= TAIL_END_QUIET_MS) {
      res.write(`event: end\ndata: ${JSON.stringify({ instanceId })}\n\n`);
      break;
    }
    if (Date.now() - lastWrite >= TAIL_KEEPALIVE_MS) { res.write(': keep-alive\n\n'); lastWrite = Date.now(); }
    await sleep(TAIL_POLL_MS, undefined, { signal: gone.signal }).catch(() => undefined);
  }
  res.end();
}

/** GET /openApi/instanceLog/download?instanceId=…[&filters]: every line as plain text, a file named after the instance. */
async function download(logs: LogService, req: Request, res: Response): Promise<void> {
  const app = appOf(res);
  const { instanceId, index: _index, ...query } = parse(fetchInstanceLogSchema, req.query);
  const lines = logs.all(app, instanceId, logFilter(query));
  const first = await lines.next();
  res.type('text/plain; charset=utf-8').attachment(`instance-${instanceId}.log`);
  for (let batch = first; !batch.done; batch = await lines.next()) res.write(`${batch.value.map(formatLogLine).join('\n')}\n`);
  res.end();
}

const bodyParsers = [express.json({ limit: '1mb' }), express.urlencoded({ extended: false, limit: '1mb' })];

/** PowerJob's OpenAPI (`POST /openApi/*`), JSON or form bodies, `{success, data, message}` answers. */
export function openApiRouter(deps: OpenApiDeps): Router {
  const { apps, tokens, throttle } = deps;
  const router = Router();

  router.post('/authApp', ...bodyParsers, async (req, res) => {
    res.setHeader(AUTH_HEADERS.verdict, 'false');
    const { appName, encryptedPassword, encryptType } = parse(authAppOperation.input, req.body);
    const address = req.ip ?? 'unknown';
    const wait = await throttle.retryAfterS(appName, address);
    if (wait > 0) throw new ThrottledError(wait);
    const app = await apps.byName(appName);
    if (!app) {
      await throttle.failed(appName, address);
      throw new AuthError(`app "${appName}" does not exist; create it first (POST /admin/apps or TEMPOJOB_APPS)`, ErrorCode.INVALID_APP);
    }
    if (!(await apps.verifyPassword(app, encryptedPassword, encryptType))) {
      await throttle.failed(appName, address);
      throw new AuthError(`incorrect password for app "${appName}"`, ErrorCode.INCORRECT_PASSWORD);
    }
    await throttle.succeeded(appName, address);
    res.setHeader(AUTH_HEADERS.verdict, 'true');
    res.json(ok({ appId: app.appId, token: await tokens.issue(app), extra: null }));
  });

  router.use(requireApp(apps, tokens), ...bodyParsers);

  router.get('/instanceLog/tail', (req, res) => tail(deps.logs, req, res));
  router.get('/instanceLog/download', (req, res) => download(deps.logs, req, res));

  const table = handlers(deps);
  for (const name of Object.keys(operations) as OperationName[]) {
    const spec = operations[name];
    const handle = table[name] as Handler<OperationName>;
    router.post(`/${name}`, async (req, res) => {
      const input = parse(spec.input, req.body);
      const idempotency = spec.mutating ? idempotencyOf(req, input) : null;
      res.json(ok(await handle(appOf(res), input as never, idempotency)));
    });
  }
  router.all('/{*rest}', (req) => {
    throw new InvalidRequestError(`no endpoint ${req.method} ${req.originalUrl}; the OpenAPI takes POST /openApi/<operation>`);
  });
  return router;
}
