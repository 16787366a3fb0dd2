/**
 * The workflow side of tracing (docs/tracing.md), bundled into the core worker's workflow
 * code only when tracing is on (bundleCoreWorkflows({ tracing: true })); src/workflows/index.ts
 * does not export it.
 *
 * It speaks the wire format of Temporal's OpenTelemetry interceptors (the `_tracer-data`
 * header holding a W3C `traceparent`, spans out through the `exporter` sink that
 * `makeWorkflowExporter` serves on the worker), so the client and activity interceptors of
 * @temporalio/interceptors-opentelemetry link to its spans; but it is not theirs:
 *
 * - Theirs hand the workflow a new promise for each call (`instrument()`), settling a few
 *   microtasks after the SDK's: a run whose activity or child result lands in the same
 *   activation as an update then took its steps in another order, and a DAG history recorded
 *   with tracing off failed to replay with it on ("ModifyWorkflowPropertiesMachine does not
 *   handle WorkflowExecutionUpdateCompleted"), and the other way round. Here every method
 *   returns the SDK's own promise; the span ends in a reaction of its own.
 * - Theirs run OpenTelemetry's SDK in the sandbox, evaluated again for every execution (1.6 MB
 *   of bundle; runJob throughput fell 15 %), and draw span ids from Math.random, the workflow's
 *   seeded generator, so a traced run would draw other random numbers than an untraced one.
 *   Here ids are a hash of the run id and a counter: no random number is drawn.
 *
 * So a run takes the same steps with or without this module, and tracing can be turned on or
 * off under running executions. What it adds: a RunWorkflow span per run (child of the span
 * in the start request's header; a root span for runs a schedule started), a StartActivity /
 * StartChildWorkflow / SignalWorkflow / ContinueAsNew span around each such call, children of
 * the run's span, each call's header carrying its span; no command. Sink calls are not made
 * during replay, and a span recreated by a replay has the ids it had the first time.
 * Signals, updates and queries are not traced.
 */
import { defaultPayloadConverter, type Headers } from '@temporalio/common';
import {
  ContinueAsNew,
  proxySinks,
  workflowInfo,
  type ActivityInput,
  type ContinueAsNewInput,
  type LocalActivityInput,
  type Next,
  type SignalWorkflowInput,
  type Sinks,
  type StartChildWorkflowExecutionInput,
  type WorkflowExecuteInput,
  type WorkflowInboundCallsInterceptor,
  type WorkflowInterceptorsFactory,
  type WorkflowOutboundCallsInterceptor,
} from '@temporalio/workflow';

/** Temporal's OpenTelemetry interceptors' header (instrumentation.ts TRACE_HEADER). */
const TRACE_HEADER = '_tracer-data';

interface SpanContext {
  traceId: string;
  spanId: string;
  /** W3C trace flags: 1 = sampled. */
  traceFlags: number;
  traceState?: string;
}

type HrTime = [number, number];

/** The span the `exporter` sink takes (@temporalio/interceptors-opentelemetry SerializableSpan). */
interface SerializableSpan {
  name: string;
  kind: number;
  spanContext: SpanContext & { isRemote?: boolean };
  parentSpanId?: string;
  startTime: HrTime;
  endTime: HrTime;
  status: { code: number; message?: string };
  attributes: Record<string, string | number | boolean>;
  links: never[];
  events: never[];
  duration: HrTime;
  ended: boolean;
  droppedAttributesCount: number;
  droppedLinksCount: number;
  droppedEventsCount: number;
  instrumentationLibrary: { name: string };
}

interface TracingSinks extends Sinks {
  exporter: { export(spans: SerializableSpan[]): void };
}

const INTERNAL = 0;
const STATUS_OK = 1;
const STATUS_ERROR = 2;

/** FNV-1a over a string, from a seed: 8 hex digits. */
function hash8(text: string, seed: number): string {
  let h = seed >>> 0;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h.toString(16).padStart(8, '0');
}

/** Ids from the run id and a count of the run's spans: the same on every replay, and no random number drawn. */
let spansMade = 0;
function newId(hexDigits: 16 | 32): string {
  const key = `${workflowInfo().runId}:${++spansMade}`;
  let id = '';
  for (let part = 0; id.length < hexDigits; part++) id += hash8(key, 0x811c9dc5 + part * 0x9e3779b9);
  return /^0+$/.test(id) ? `${id.slice(1)}1` : id;
}

function extract(headers: Headers): SpanContext | undefined {
  const payload = headers[TRACE_HEADER];
  if (!payload) return undefined;
  try {
    const carrier = defaultPayloadConverter.fromPayload<Record<string, string>>(payload);
    const match = /^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/.exec(carrier['traceparent']?.trim() ?? '');
    if (!match) return undefined;
    return { traceId: match[1]!, spanId: match[2]!, traceFlags: parseInt(match[3]!, 16), ...(carrier['tracestate'] ? { traceState: carrier['tracestate'] } : {}) };
  } catch {
    return undefined;
  }
}

function inject(headers: Headers, span: SpanContext): Headers {
  const carrier: Record<string, string> = { traceparent: `00-${span.traceId}-${span.spanId}-0${(span.traceFlags & 1).toString(16)}` };
  if (span.traceState) carrier['tracestate'] = span.traceState;
  return { ...headers, [TRACE_HEADER]: defaultPayloadConverter.toPayload(carrier) };
}

const hrTime = (ms: number): HrTime => [Math.floor(ms / 1000), Math.round((ms % 1000) * 1e6)];

/** The run's span: every span of the run's calls is its child. */
let runSpan: SpanContext | undefined;

/**
 * Runs `fn` under a new span and returns fn's own promise; the span ends (and, if sampled, is
 * exported) in a reaction of its own that nothing in the workflow waits on.
 */
function traced<T>(name: string, parent: SpanContext | undefined, fn: (span: SpanContext) => Promise<T>, acceptable?: (err: unknown) => boolean): Promise<T> {
  const span: SpanContext = {
    traceId: parent?.traceId ?? newId(32),
    spanId: newId(16),
    traceFlags: parent ? parent.traceFlags : 1,
    ...(parent?.traceState ? { traceState: parent.traceState } : {}),
  };
  const startMs = Date.now();
  const end = (status: SerializableSpan['status']) => {
    if ((span.traceFlags & 1) === 0) return;
    const endMs = Math.max(Date.now(), startMs);
    proxySinks<TracingSinks>().exporter.export([{
      name, kind: INTERNAL, spanContext: span, ...(parent ? { parentSpanId: parent.spanId } : {}),
      startTime: hrTime(startMs), endTime: hrTime(endMs), duration: hrTime(endMs - startMs), status, attributes: {},
      links: [], events: [], ended: true, droppedAttributesCount: 0, droppedLinksCount: 0, droppedEventsCount: 0,
      instrumentationLibrary: { name: 'tempojob-workflow' },
    }]);
  };
  const failed = (err: unknown) => {
    end(acceptable?.(err) ? { code: STATUS_OK } : { code: STATUS_ERROR, message: err instanceof Error ? err.message : String(err) });
  };
  let result: Promise<T>;
  try {
    result = fn(span);
  } catch (err) {
    failed(err);
    throw err;
  }
  result.then(() => end({ code: STATUS_OK }), failed);
  return result;
}

const isContinueAsNew = (err: unknown) => err instanceof ContinueAsNew;

class InboundInterceptor implements WorkflowInboundCallsInterceptor {
  execute(input: WorkflowExecuteInput, next: Next<WorkflowInboundCallsInterceptor, 'execute'>): Promise<unknown> {
    return traced(`RunWorkflow:${workflowInfo().workflowType}`, extract(input.headers), (span) => {
      runSpan = span;
      return next(input);
    }, isContinueAsNew);
  }
}

/** A call under a child span of the run's, its header carrying that span; untraced before the run's span exists. */
function call<I extends { headers: Headers }, T>(name: string, input: I, next: (input: I) => Promise<T>, acceptable?: (err: unknown) => boolean): Promise<T> {
  if (!runSpan) return next(input);
  return traced(name, runSpan, (span) => next({ ...input, headers: inject(input.headers, span) }), acceptable);
}

class OutboundInterceptor implements WorkflowOutboundCallsInterceptor {
  scheduleActivity(input: ActivityInput, next: Next<WorkflowOutboundCallsInterceptor, 'scheduleActivity'>): Promise<unknown> {
    return call(`StartActivity:${input.activityType}`, input, next);
  }

  scheduleLocalActivity(input: LocalActivityInput, next: Next<WorkflowOutboundCallsInterceptor, 'scheduleLocalActivity'>): Promise<unknown> {
    return call(`StartActivity:${input.activityType}`, input, next);
  }

  startChildWorkflowExecution(
    input: StartChildWorkflowExecutionInput,
    next: Next<WorkflowOutboundCallsInterceptor, 'startChildWorkflowExecution'>,
  ): Promise<[Promise<string>, Promise<unknown>]> {
    return call(`StartChildWorkflow:${input.workflowType}`, input, next);
  }

  signalWorkflow(input: SignalWorkflowInput, next: Next<WorkflowOutboundCallsInterceptor, 'signalWorkflow'>): Promise<void> {
    return call(`SignalWorkflow:${input.signalName}`, input, next);
  }

  continueAsNew(input: ContinueAsNewInput, next: Next<WorkflowOutboundCallsInterceptor, 'continueAsNew'>): Promise<never> {
    return call(`ContinueAsNew:${input.options.workflowType ?? workflowInfo().workflowType}`, input, next, isContinueAsNew);
  }
}

export const interceptors: WorkflowInterceptorsFactory = () => ({
  inbound: [new InboundInterceptor()],
  outbound: [new OutboundInterceptor()],
});
