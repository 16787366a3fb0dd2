import type { Config } from '../config.js';

/**
 * Whether and where this process sends trace spans, from OpenTelemetry's standard variables
 * (validated by src/config.ts). Off unless an OTLP endpoint is set: then nothing of
 * OpenTelemetry is loaded, no interceptor is installed and the workflow bundle has no
 * tracing module (docs/tracing.md).
 */

/** The three kinds of tempojob process; each is one service in a trace. */
export type TracingComponent = 'api' | 'core-worker' | 'worker';

/** Service names when OTEL_SERVICE_NAME is unset. */
export const DEFAULT_SERVICE_NAMES: Readonly<Record<TracingComponent, string>> = {
  api: 'tempojob-api',
  'core-worker': 'tempojob-core-worker',
  worker: 'tempojob-worker',
};

export interface TracingSettings {
  /** The OTLP/HTTP traces endpoint spans are POSTed to, e.g. `http://collector:4318/v1/traces`. */
  tracesUrl: string;
  /** `service.name` of every span this component exports. */
  serviceName: string;
}

export type TracingEnv = Pick<Config,
  'OTEL_EXPORTER_OTLP_ENDPOINT' | 'OTEL_EXPORTER_OTLP_TRACES_ENDPOINT' | 'OTEL_SERVICE_NAME' | 'OTEL_SDK_DISABLED' | 'OTEL_TRACES_EXPORTER'>;

/** The variables tracingSettingsOf reads, for loadConfigPart. */
export const TRACING_ENV_KEYS = [
  'OTEL_EXPORTER_OTLP_ENDPOINT', 'OTEL_EXPORTER_OTLP_TRACES_ENDPOINT', 'OTEL_SERVICE_NAME', 'OTEL_SDK_DISABLED', 'OTEL_TRACES_EXPORTER',
] as const satisfies readonly (keyof TracingEnv)[];

/**
 * The settings of one component, or undefined (tracing off). As the OpenTelemetry spec says:
 * OTEL_EXPORTER_OTLP_TRACES_ENDPOINT is the URL itself, OTEL_EXPORTER_OTLP_ENDPOINT a base
 * that `v1/traces` is appended to; OTEL_SDK_DISABLED=true or OTEL_TRACES_EXPORTER=none turn
 * tracing off whatever the endpoint.
 */
export function tracingSettingsOf(component: TracingComponent, env: TracingEnv): TracingSettings | undefined {
  if (env.OTEL_SDK_DISABLED === 'true' || env.OTEL_TRACES_EXPORTER === 'none') return undefined;
  const tracesUrl = env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT
    ?? (env.OTEL_EXPORTER_OTLP_ENDPOINT ? `${env.OTEL_EXPORTER_OTLP_ENDPOINT.replace(/\/+$/, '')}/v1/traces` : undefined);
  if (!tracesUrl) return undefined;
  return { tracesUrl, serviceName: env.OTEL_SERVICE_NAME ?? DEFAULT_SERVICE_NAMES[component] };
}
