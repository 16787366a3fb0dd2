import type { Tracing } from './types.js';
import { type TracingComponent, type TracingEnv, type TracingSettings, tracingSettingsOf } from './settings.js';

export { DEFAULT_SERVICE_NAMES, TRACING_ENV_KEYS, tracingSettingsOf } from './settings.js';
export type { TracingComponent, TracingEnv, TracingSettings } from './settings.js';
export type { RequestSpans, Tracing } from './types.js';

/** Starts tracing with these settings (loads the SDK). */
export async function startTracing(settings: TracingSettings): Promise<Tracing> {
  const { createTracing } = await import('./sdk.js');
  return createTracing(settings);
}

/** Starts tracing if the environment asks for it (an OTLP endpoint); undefined, having loaded nothing, otherwise. */
export async function tracingFromEnv(component: TracingComponent, env: TracingEnv): Promise<Tracing | undefined> {
  const settings = tracingSettingsOf(component, env);
  return settings ? startTracing(settings) : undefined;
}
