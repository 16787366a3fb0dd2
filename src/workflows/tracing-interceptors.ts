/**
 * The workflow side of tracing (docs/tracing.md), bundled into the core worker's workflow
 * code only when tracing is on (bundleCoreWorkflows({ tracing: true })); src/workflows/index.ts
 * does not export it.
 *
 * Temporal's OpenTelemetry workflow interceptors, with their spans, headers and sink, but
 * made to take no extra turn of the event loop. Theirs (`instrument()`) hand the workflow a
 * new promise that settles a few microtasks after the SDK's; a workflow whose activity or
 * child result lands in the same activation as an update or signal then runs its code in
 * another order than without them, and histories recorded with tracing off stopped replaying
 * with it on (a DAG run stopped by an update: "ModifyWorkflowPropertiesMachine does not
 * handle WorkflowExecutionUpdateCompleted"), and the other way round. Here every method
 * returns the SDK's own promise, the span ending on the side; so a run takes the same steps
 * with or without this module, and tracing can be turned on or off under running executions.
 *
 * What it adds: a RunWorkflow span per run (child of the span in the start request's header),
 * a StartActivity / StartChildWorkflow / SignalWorkflow / ContinueAsNew span around each such
 * call with its context in the call's Temporal header, and the spans out through the
 * `exporter` sink (not called during replay). No command. Signals, updates and queries are
 * not traced (their handlers are not wrapped at all).
 */
import { type Context, type Span, SpanStatusCode, type Tracer } from '@opentelemetry/api';
import {
  ContinueAsNew,
  type ActivityInput,
  type ContinueAsNewInput,
  type LocalActivityInput,
  type Next,
  type QueryInput,
  type SignalInput,
  type SignalWorkflowInput,
  type StartNexusOperationInput,
  type StartNexusOperationOutput,
  type UpdateInput,
  type StartChildWorkflowExecutionInput,
  type WorkflowExecuteInput,
  type WorkflowInboundCallsInterceptor,
  type WorkflowInterceptorsFactory,
  type WorkflowOutboundCallsInterceptor,
  workflowInfo,
} from '@temporalio/workflow';
import { extractContextFromHeaders, headersWithContext } from '@temporalio/interceptors-opentelemetry/lib/instrumentation.js';
import {
  OpenTelemetryInboundInterceptor,
  OpenTelemetryInternalsInterceptor,
  OpenTelemetryOutboundInterceptor,
} from '@temporalio/interceptors-opentelemetry/lib/workflow/index.js';

/**
 * Runs `fn` with a new span active and returns fn's own promise; the span ends when it
 * settles, through a reaction of its own that starts nothing the workflow waits on.
 */
function traced<T>(tracer: Tracer, name: string, parent: Context | undefined, fn: () => Promise<T>, acceptable?: (err: unknown) => boolean): Promise<T> {
  const run = (span: Span): Promise<T> => {
    const failed = (err: unknown) => {
      if (acceptable?.(err)) span.setStatus({ code: SpanStatusCode.OK });
      else {
        span.setStatus({ code: SpanStatusCode.ERROR, message: err instanceof Error ? err.message : String(err) });
        if (err instanceof Error) span.recordException(err);
      }
      span.end();
    };
    let result: Promise<T>;
    try {
      result = fn();
    } catch (err) {
      failed(err);
      throw err;
    }
    result.then(() => {
      span.setStatus({ code: SpanStatusCode.OK });
      span.end();
    }, failed);
    return result;
  };
  return parent ? tracer.startActiveSpan(name, {}, parent, run) : tracer.startActiveSpan(name, run);
}

const isContinueAsNew = (err: unknown) => err instanceof ContinueAsNew;

/** Extends Temporal's for its tracer (the isolate's provider, context manager and sink exporter). */
class InboundInterceptor extends OpenTelemetryInboundInterceptor {
  override execute(input: WorkflowExecuteInput, next: Next<WorkflowInboundCallsInterceptor, 'execute'>): Promise<unknown> {
    return traced(this.tracer, `RunWorkflow:${workflowInfo().workflowType}`, extractContextFromHeaders(input.headers), () => next(input), isContinueAsNew);
  }

  override handleSignal(input: SignalInput, next: Next<WorkflowInboundCallsInterceptor, 'handleSignal'>): Promise<void> {
    return next(input);
  }

  override handleUpdate(input: UpdateInput, next: Next<WorkflowInboundCallsInterceptor, 'handleUpdate'>): Promise<unknown> {
    return next(input);
  }

  override validateUpdate(input: UpdateInput, next: Next<WorkflowInboundCallsInterceptor, 'validateUpdate'>): void {
    next(input);
  }

  override handleQuery(input: QueryInput, next: Next<WorkflowInboundCallsInterceptor, 'handleQuery'>): Promise<unknown> {
    return next(input);
  }
}

class OutboundInterceptor extends OpenTelemetryOutboundInterceptor {
  override scheduleActivity(input: ActivityInput, next: Next<WorkflowOutboundCallsInterceptor, 'scheduleActivity'>): Promise<unknown> {
    return traced(this.tracer, `StartActivity:${input.activityType}`, undefined, () => next({ ...input, headers: headersWithContext(input.headers) }));
  }

  override scheduleLocalActivity(input: LocalActivityInput, next: Next<WorkflowOutboundCallsInterceptor, 'scheduleLocalActivity'>): Promise<unknown> {
    return traced(this.tracer, `StartActivity:${input.activityType}`, undefined, () => next({ ...input, headers: headersWithContext(input.headers) }));
  }

  override startChildWorkflowExecution(
    input: StartChildWorkflowExecutionInput,
    next: Next<WorkflowOutboundCallsInterceptor, 'startChildWorkflowExecution'>,
  ): Promise<[Promise<string>, Promise<unknown>]> {
    return traced(this.tracer, `StartChildWorkflow:${input.workflowType}`, undefined, () => next({ ...input, headers: headersWithContext(input.headers) }));
  }

  override signalWorkflow(input: SignalWorkflowInput, next: Next<WorkflowOutboundCallsInterceptor, 'signalWorkflow'>): Promise<void> {
    return traced(this.tracer, `SignalWorkflow:${input.signalName}`, undefined, () => next({ ...input, headers: headersWithContext(input.headers) }));
  }

  override continueAsNew(input: ContinueAsNewInput, next: Next<WorkflowOutboundCallsInterceptor, 'continueAsNew'>): Promise<never> {
    return traced(this.tracer, `ContinueAsNew:${input.options.workflowType}`, undefined,
      () => next({ ...input, headers: headersWithContext(input.headers) }), isContinueAsNew);
  }

  override startNexusOperation(
    input: StartNexusOperationInput,
    next: Next<WorkflowOutboundCallsInterceptor, 'startNexusOperation'>,
  ): Promise<StartNexusOperationOutput> {
    return next(input);
  }
}

export const interceptors: WorkflowInterceptorsFactory = () => ({
  inbound: [new InboundInterceptor()],
  outbound: [new OutboundInterceptor()],
  internals: [new OpenTelemetryInternalsInterceptor()],
});
