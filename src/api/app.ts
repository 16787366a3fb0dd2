import express, { type ErrorRequestHandler } from 'express';
import { absolutePath as swaggerUiAssets } from 'swagger-ui-dist';
import type { Client } from '@temporalio/client';
import type { Config } from '../config.js';
import { AlertService } from './alert-service.js';
import { AppService } from './app-service.js';
import { sqlAlertStore } from '../alerts/store.js';
import { AUTH_HEADERS, TokenService } from './auth.js';
import { failure } from './envelope.js';
import { ApiError, ErrorCode, NotFoundError, ThrottledError, UnavailableError } from './errors.js';
import { isTransient } from '../temporal/errors.js';
import { requestErrorOf } from './request-errors.js';
import { AuthThrottle } from './auth-throttle.js';
import { corsPolicy, securityHeaders } from './security-headers.js';
import { type LogStore, sqlOfLogStore } from '../logs/store.js';
import { InstanceOwners } from './instance-owners.js';
import { InstanceService } from './instance-service.js';
import { LogService } from './log-service.js';
import { JobService } from './job-service.js';
import { WorkflowService } from './workflow-service.js';
import { WfInstanceService } from './wf-instance-service.js';
import { openApiDocument } from './openapi-document.js';
import { adminRouter } from './routes/admin.js';
import { metricsRoute } from './routes/metrics.js';
import { liveAppWorkers, seenAppWorkers } from '../temporal/live-workers.js';
import { processMetrics, type TempojobMetrics } from '../metrics/metrics.js';
import { openApiRouter } from './routes/openapi.js';
import { consoleRouter } from './routes/console.js';
import { CONSOLE_DIST } from '../console/paths.js';
import type { Tracing } from '../tracing/index.js';

export interface ApiOptions {
  client: Client;
  config: Pick<Config, 'TEMPOJOB_CORE_TASK_QUEUE' | 'TEMPOJOB_ADMIN_TOKEN' | 'TEMPOJOB_TOKEN_TTL_SECONDS' | 'TEMPOJOB_HEARTBEAT_TIMEOUT_MS'
    | 'TEMPOJOB_API_CALL_TIMEOUT_MS' | 'TEMPOJOB_DEFAULT_TIME_ZONE' | 'TEMPOJOB_CORS_ORIGINS'>
    & Partial<Pick<Config, 'TEMPOJOB_METRICS_PUBLIC' | 'TEMPOJOB_TRUST_PROXY' | 'TEMPOJOB_WEB_UI_URL'>>;
  jwtSecret: string;
  /** Where instance logs are kept (openLogStore). */
  logStore: LogStore;
  /** Whether the whole stack can serve (for /healthz); default: Temporal answers. */
  ready?: () => Promise<boolean>;
  /** What GET /metrics serves and where the API counts; default this process's (processMetrics()); false: no /metrics, nothing counted. */
  metrics?: TempojobMetrics | false;
  /** A span per /openApi request, and workflow starts that carry it (docs/tracing.md); unset = none of it. */
  tracing?: Tracing;
  /** Where the built console is served from at /console (default console/dist of this checkout). */
  consoleDir?: string;
  /** Temporal's Web UI, for the console's links to instance workflows (default TEMPOJOB_WEB_UI_URL; none: no links). */
  webUiUrl?: string;
}

export interface Api {
  app: express.Express;
  apps: AppService;
}

/** The HTTP API: stateless, so any number of replicas can run side by side. */
export function createApi({ client: untraced, config, jwtSecret, logStore, ready, metrics: metricsOption, tracing, consoleDir = CONSOLE_DIST, webUiUrl }: ApiOptions): Api {
  const metrics = metricsOption === false ? undefined : metricsOption ?? processMetrics();
  const client = tracing ? tracing.instrumentClient(untraced) : untraced;
  const apps = new AppService(client, config.TEMPOJOB_CORE_TASK_QUEUE);
  const tokens = new TokenService(jwtSecret, config.TEMPOJOB_TOKEN_TTL_SECONDS);
  // Alert targets and deliveries live beside the logs, in the same database.
  const alerts = new AlertService(sqlAlertStore(sqlOfLogStore(logStore)));
  const jobs = new JobService(
    client, config.TEMPOJOB_CORE_TASK_QUEUE, config.TEMPOJOB_HEARTBEAT_TIMEOUT_MS, config.TEMPOJOB_DEFAULT_TIME_ZONE,
    (appId, ids) => alerts.foreignTargets(appId, ids),
  );
  const owners = new InstanceOwners();
  const instances = new InstanceService(
    client, jobs, config.TEMPOJOB_CORE_TASK_QUEUE, config.TEMPOJOB_HEARTBEAT_TIMEOUT_MS, config.TEMPOJOB_API_CALL_TIMEOUT_MS, owners, metrics,
  );
  const workflows = new WorkflowService(
    client, config.TEMPOJOB_CORE_TASK_QUEUE, jobs, config.TEMPOJOB_HEARTBEAT_TIMEOUT_MS, config.TEMPOJOB_DEFAULT_TIME_ZONE,
  );
  const wfInstances = new WfInstanceService(
    client, workflows, jobs, config.TEMPOJOB_CORE_TASK_QUEUE, config.TEMPOJOB_HEARTBEAT_TIMEOUT_MS, config.TEMPOJOB_API_CALL_TIMEOUT_MS,
  );
  const logs = new LogService(logStore, instances, owners, metrics);
  metrics?.watchLiveWorkers(() => liveWorkersByApp(client, apps));
  const temporalAnswers = async () => {
    try {
      await client.withDeadline(Date.now() + 2_000, () =>
        client.workflowService.describeNamespace({ namespace: client.options.namespace }));
      return true;
    } catch {
      return false;
    }
  };

  const app = express();
  app.disable('x-powered-by');
  app.set('query parser', 'simple');
  // Behind a proxy or load balancer, the client's address (login throttling) is in X-Forwarded-For.
  if (config.TEMPOJOB_TRUST_PROXY !== undefined) app.set('trust proxy', config.TEMPOJOB_TRUST_PROXY);
  app.use(securityHeaders());
  // Browsers on other origins may call the OpenAPI only when TEMPOJOB_CORS_ORIGINS lists them.
  if (config.TEMPOJOB_CORS_ORIGINS.length > 0) app.use('/openApi', corsPolicy(config.TEMPOJOB_CORS_ORIGINS));
  app.get('/healthz', async (_req, res) => {
    const up = await (ready ?? temporalAnswers)();
    res.status(up ? 200 : 503).json({ status: up ? 'ok' : 'starting' });
  });
  const document = openApiDocument();
  app.get('/openapi.json', (_req, res) => { res.json(document); });
  app.get('/docs', (_req, res) => { res.type('html').send(DOCS_PAGE); });
  app.get('/docs/start.js', (_req, res) => { res.type('js').send(DOCS_START); });
  app.use('/docs/assets', express.static(swaggerUiAssets()));
  if (metrics) app.get('/metrics', metricsRoute(metrics, config.TEMPOJOB_METRICS_PUBLIC ? undefined : config.TEMPOJOB_ADMIN_TOKEN, !config.TEMPOJOB_METRICS_PUBLIC));
  if (tracing) app.use('/openApi', tracing.requestSpans());
  app.use('/openApi', openApiRouter({
    apps, tokens, throttle: new AuthThrottle(), jobs, instances, workflows, wfInstances, logs, alerts, workers: (appName) => seenAppWorkers(client, appName),
  }));
  app.use('/admin', adminRouter(apps, config.TEMPOJOB_ADMIN_TOKEN));
  app.use('/console', consoleRouter(consoleDir, { webUiUrl: webUiUrl ?? config.TEMPOJOB_WEB_UI_URL, namespace: client.options.namespace }));
  app.use((req) => {
    throw new NotFoundError(`no route ${req.method} ${req.path}: the OpenAPI is POST /openApi/<operation> (list: GET /openapi.json, /docs), the console is at /console`);
  });
  app.use(errorHandler);
  return { app, apps };
}

/** How many live workers each app has (Temporal's pollers and heartbeats), ten apps at a time. */
async function liveWorkersByApp(client: Client, apps: AppService): Promise<Map<string, number>> {
  const names = (await apps.list()).map((app) => app.appName);
  const counts = new Map<string, number>();
  for (let i = 0; i < names.length; i += 10) {
    await Promise.all(names.slice(i, i + 10).map(async (name) => { counts.set(name, (await liveAppWorkers(client, name)).length); }));
  }
  return counts;
}

/** Swagger UI, served from the swagger-ui-dist package (no CDN), pointed at /openapi.json. */
const DOCS_PAGE = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>tempojob API</title>
<link rel="stylesheet" href="/docs/assets/swagger-ui.css"></head>
<body><div id="docs"></div>
<script src="/docs/assets/swagger-ui-bundle.js"></script>
<script src="/docs/start.js"></script>
</body></html>`;

/** Starts Swagger UI: a file, not an inline script, so the page's Content-Security-Policy allows only our own scripts. */
const DOCS_START = `SwaggerUIBundle({ url: '/openapi.json', dom_id: '#docs' });\n`;

/** Temporal did not answer in time or could not be reached: the client should retry, not read it as our bug. */
function temporalUnavailable(err: unknown): ApiError | undefined {
  if (!isTransient(err)) return undefined;
  return new UnavailableError(`Temporal did not answer in time or could not be reached (${(err as Error).message}); the call may or may not have taken effect: retry it with the same Idempotency-Key`);
}

const errorHandler: ErrorRequestHandler = (err, req, res, _next) => {
  const openApi = req.originalUrl.startsWith('/openApi');
  let error: ApiError;
  const refused = err instanceof ApiError ? err : requestErrorOf(err, req) ?? temporalUnavailable(err);
  if (refused) error = refused;
  else {
    console.error(`${req.method} ${req.originalUrl} failed:`, err);
    error = new ApiError(`internal error: ${(err as Error).message}`, ErrorCode.SYSTEM_UNKNOWN_ERROR, 500);
  }
  if (openApi && !res.getHeader(AUTH_HEADERS.verdict)) res.setHeader(AUTH_HEADERS.verdict, 'false');
  // PowerJob answers business errors with HTTP 200 and success=false; its Java client relies on it.
  // A throttled login says "later" as HTTP does, so clients and proxies back off.
  const throttled = error instanceof ThrottledError;
  if (error instanceof ThrottledError) res.setHeader('Retry-After', String(error.retryAfterS));
  res.status(openApi && !throttled ? 200 : error.httpStatus).json(failure(error.message, error.code));
};
