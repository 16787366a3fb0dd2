/**
 * The workflow side of tracing (docs/tracing.md): Temporal's OpenTelemetry workflow
 * interceptors, bundled into the core worker's workflow code only when tracing is on
 * (bundleCoreWorkflows({ tracing: true })); src/workflows/index.ts does not export it.
 *
 * They add no command: a RunWorkflow span around each run (child of the span in the start
 * request's header), a StartActivity / StartChildWorkflow / SignalWorkflow span around each
 * such call, whose context goes in that call's Temporal header, and spans leave through the
 * `exporter` sink (not called during replay). Histories replay the same with or without it.
 */
import type { WorkflowInterceptorsFactory } from '@temporalio/workflow';
import {
  OpenTelemetryInboundInterceptor,
  OpenTelemetryInternalsInterceptor,
  OpenTelemetryOutboundInterceptor,
} from '@temporalio/interceptors-opentelemetry/lib/workflow/index.js';

export const interceptors: WorkflowInterceptorsFactory = () => ({
  inbound: [new OpenTelemetryInboundInterceptor()],
  outbound: [new OpenTelemetryOutboundInterceptor()],
  internals: [new OpenTelemetryInternalsInterceptor()],
});
