/**
 * The OpenTelemetry SDK side of tracing, loaded by startTracing only (src/tracing/index.ts):
 * a process that does not trace never loads this file or anything it imports.
 */
import { type Attributes, type Tracer, context, propagation, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { Resource, envDetectorSync } from '@opentelemetry/resources';
import { BatchSpanProcessor, NodeTracerProvider } from '@opentelemetry/sdk-trace-node';
import { Client } from '@temporalio/client';
import { OpenTelemetryWorkflowClientInterceptor } from '@temporalio/interceptors-opentelemetry/lib/client/index.js';
import {
  OpenTelemetryActivityInboundInterceptor,
  OpenTelemetryActivityOutboundInterceptor,
  makeWorkflowExporter,
} from '@temporalio/interceptors-opentelemetry/lib/worker/index.js';
import type { ActivityInboundCallsInterceptor, ActivityInterceptorsFactory, WorkerOptions } from '@temporalio/worker';
import type { RequestSpans, Tracing } from './types.js';
import type { TracingSettings } from './settings.js';

/** The first provider of the process sets the global context manager (AsyncLocalStorage) and W3C propagator. */
let registered = false;

export function createTracing(settings: TracingSettings): Tracing {
  // OTEL_RESOURCE_ATTRIBUTES adds attributes; the service name is ours (OTEL_SERVICE_NAME or the component's default).
  const resource = Resource.default().merge(envDetectorSync.detect()).merge(new Resource({ 'service.name': settings.serviceName }));
  // The exporter reads OTEL_EXPORTER_OTLP_(TRACES_)HEADERS / _TIMEOUT / _COMPRESSION itself; the
  // batch processor OTEL_BSP_*; the provider OTEL_TRACES_SAMPLER(_ARG).
  const exporter = new OTLPTraceExporter({ url: settings.tracesUrl });
  const processor = new BatchSpanProcessor(exporter);
  const provider = new NodeTracerProvider({ resource, mergeResourceWithDefaults: false, spanProcessors: [processor] });
  if (!registered) {
    // Context propagation is process-wide; every component passes its own tracer explicitly.
    provider.register();
    registered = true;
  }
  const tracer = provider.getTracer('tempojob');
  const clientInterceptors = () => ({ workflow: [new OpenTelemetryWorkflowClientInterceptor({ tracer })] });
  const activityInterceptors: ActivityInterceptorsFactory = (ctx) => ({
    inbound: new OpenTelemetryActivityInboundInterceptor(ctx, { tracer }),
    outbound: new OpenTelemetryActivityOutboundInterceptor(ctx),
  });
  let stopped: Promise<void> | undefined;
  return {
    serviceName: settings.serviceName,
    tracer,
    clientInterceptors,
    instrumentClient: (client) => new Client({ connection: client.connection, namespace: client.options.namespace, interceptors: clientInterceptors() }),
    workerOptions: ({ workflows }) => workerOptions(activityInterceptors, workflows ? workflowExporter(processor, resource) : undefined),
    requestSpans: () => requestSpans(tracer),
    // A backend that is down costs the last spans, not the process's clean stop.
    shutdown: () => (stopped ??= provider.shutdown().catch((err: unknown) => {
      console.warn(`tracing (${settings.serviceName}): the last spans were not exported to ${settings.tracesUrl}: ${(err as Error).message}`);
    })),
  };
}

/**
 * Temporal's sink for the spans of workflows, given only what identifies the run: it copies
 * the whole WorkflowInfo into every span's attributes, memo and search attributes included,
 * and an instance's memo holds its job's and its own parameters (users' secrets, maybe).
 */
function workflowExporter(processor: BatchSpanProcessor, resource: Resource): WorkflowExporter {
  const sink = makeWorkflowExporter(processor, resource);
  return {
    export: {
      ...sink.export,
      fn: (info, spans) => {
        const { workflowId, runId, workflowType, taskQueue, namespace, attempt } = info;
        return sink.export.fn({ workflowId, runId, workflowType, taskQueue, namespace, attempt } as typeof info, spans);
      },
    },
  };
}

type WorkflowExporter = ReturnType<typeof makeWorkflowExporter>;

function workerOptions(
  activityInterceptors: ActivityInterceptorsFactory,
  workflowExporter: WorkflowExporter | undefined,
): Pick<WorkerOptions, 'interceptors' | 'sinks'> {
  return {
    // First is outermost: the attributes are set on the RunActivity span the OpenTelemetry interceptor opened.
    interceptors: { activity: [activityInterceptors, () => ({ inbound: new AttemptAttributes() })] },
    ...(workflowExporter ? { sinks: { exporter: workflowExporter } } : {}),
  };
}

/**
 * Puts what identifies a processor attempt on its RunActivity span, from the activity's
 * request (every processor activity takes a ProcessRequest first): app, job, instance,
 * attempt, task. Never the job's or instance's parameters, which may hold secrets.
 */
class AttemptAttributes implements ActivityInboundCallsInterceptor {
  execute: ActivityInboundCallsInterceptor['execute'] = (input, next) => {
    const span = trace.getActiveSpan();
    const request = input.args[0];
    if (span && typeof request === 'object' && request !== null) span.setAttributes(attemptAttributes(request as Record<string, unknown>));
    return next(input);
  };
}

/** Attribute name → field of a ProcessRequest (src/contract/activities.ts); only those present are set. */
const ATTEMPT_FIELDS = {
  'tempojob.app': 'appName',
  'tempojob.job_id': 'jobId',
  'tempojob.instance_id': 'instanceId',
  'tempojob.wf_instance_id': 'wfInstanceId',
  'tempojob.processor': 'processorInfo',
  'tempojob.attempt': 'attempt',
  'tempojob.max_attempts': 'maxAttempts',
  'tempojob.instance_attempt': 'instanceAttempt',
  'tempojob.task_id': 'taskId',
  'tempojob.task_name': 'taskName',
} as const;

export function attemptAttributes(request: Record<string, unknown>): Attributes {
  const attributes: Attributes = {};
  for (const [name, field] of Object.entries(ATTEMPT_FIELDS)) {
    const value = request[field];
    if (typeof value === 'string' || typeof value === 'number') attributes[name] = value;
  }
  return attributes;
}

/**
 * One SERVER span per /openApi request: `POST /openApi/<operation>`, the caller's W3C
 * `traceparent` honoured (so a traced client's trace continues here), the operation, the
 * authenticated app (never a header or body: no tokens or passwords), the HTTP status and,
 * since PowerJob answers business errors with HTTP 200, whether the envelope said success
 * (its error code when not; the message is left out, it may quote the request).
 */
function requestSpans(tracer: Tracer): RequestSpans {
  return (req, res, next) => {
    const method = req.method ?? 'GET';
    const parent = propagation.extract(context.active(), req.headers);
    // Named after the route that served it once known (`/runJob`; an unknown path is the
    // catch-all's `/{*rest}`, one name, not one per path a client made up).
    const span = tracer.startSpan(`${method} /openApi`, {
      kind: SpanKind.SERVER,
      attributes: { 'http.request.method': method, 'url.path': `/openApi${(req.url ?? '/').split('?')[0]!}` },
    }, parent);
    // Express's response (its locals, json()), typed here without Express.
    const reply = res as unknown as { locals?: Record<string, unknown>; json?: (body: unknown) => unknown };
    const json = reply.json;
    if (typeof json === 'function') {
      reply.json = function (this: unknown, body: unknown) {
        if (typeof body === 'object' && body !== null && 'success' in body) {
          const envelope = body as { success: unknown; code?: unknown };
          span.setAttribute('tempojob.success', envelope.success === true);
          if (envelope.success !== true) {
            span.setStatus({ code: SpanStatusCode.ERROR, message: `code ${String(envelope.code ?? 'unknown')}` });
            if (typeof envelope.code === 'string' || typeof envelope.code === 'number') span.setAttribute('tempojob.error_code', envelope.code);
          }
        }
        return json.call(this, body);
      };
    }
    let ended = false;
    const end = () => {
      if (ended) return;
      ended = true;
      const route = (req as { route?: { path?: unknown } }).route?.path;
      if (typeof route === 'string') {
        span.updateName(`${method} /openApi${route}`);
        span.setAttributes({ 'http.route': `/openApi${route}`, 'tempojob.operation': route.replace(/^\//, '') });
      }
      const app = reply.locals?.['app'] as { appId?: unknown; appName?: unknown } | undefined;
      if (typeof app?.appId === 'number') span.setAttribute('tempojob.app_id', app.appId);
      if (typeof app?.appName === 'string') span.setAttribute('tempojob.app', app.appName);
      span.setAttribute('http.response.status_code', res.statusCode);
      if (res.statusCode >= 500) span.setStatus({ code: SpanStatusCode.ERROR });
      span.end();
    };
    res.once('finish', end);
    res.once('close', end);
    const active = trace.setSpan(parent, span);
    // Body parsers continue in the request stream's callbacks, which run in the socket's async
    // context, not this one: bound listeners keep the span active through to the handler.
    context.bind(active, req);
    context.with(active, () => next());
  };
}
