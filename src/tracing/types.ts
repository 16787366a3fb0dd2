import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Tracer } from '@opentelemetry/api';
import type { Client, ClientInterceptors } from '@temporalio/client';
import type { WorkerOptions } from '@temporalio/worker';

/**
 * One component's tracing: its own tracer provider (service name), a batch span processor
 * and the OTLP/HTTP exporter. Types only (src/tracing/index.ts has no other import but settings.ts): the OpenTelemetry SDK and Temporal's
 * interceptors load (src/tracing/sdk.ts) when a component starts tracing, never when it is off.
 */
export interface Tracing {
  readonly serviceName: string;
  readonly tracer: Tracer;
  /** A client on the same connection whose workflow starts, signals and updates carry the active span (Temporal's header). */
  instrumentClient(client: Client): Client;
  /** Client interceptors alone (for a Client being constructed). */
  clientInterceptors(): ClientInterceptors;
  /**
   * Worker options: activity interceptors (each activity a RunActivity span, child of the
   * workflow's StartActivity); with `workflows`, the sink the workflow interceptors
   * (src/workflows/tracing-interceptors.ts, bundled by bundleCoreWorkflows) export through.
   */
  workerOptions(what: { workflows: boolean }): Pick<WorkerOptions, 'interceptors' | 'sinks'>;
  /** Express middleware: one SERVER span per request (mount it on /openApi). */
  requestSpans(): RequestSpans;
  /** Exports what is queued and stops; later spans are dropped. Never rejects: a failed export is a warning. */
  shutdown(): Promise<void>;
}

/** An Express middleware, typed without Express (this file is part of the worker SDK's declarations). */
export type RequestSpans = (req: IncomingMessage, res: ServerResponse, next: (err?: unknown) => void) => void;
