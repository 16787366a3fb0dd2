import { Runtime, type RuntimeOptions } from '@temporalio/worker';

/**
 * Installs Temporal's Runtime with the SDK's own Prometheus exporter (worker slots, poll
 * latencies, workflow and activity task counts: `temporal_*`) listening on `bindAddress`
 * (host:port, scraped at /metrics, unauthenticated: keep it on a private network). The Runtime
 * is process-wide and installed once: returns false, and changes nothing, when one is
 * installed already (a test's, or a host application's), so it never fights another owner.
 */
export function installTemporalMetrics(bindAddress: string, options: Omit<RuntimeOptions, 'telemetryOptions'> = {}): boolean {
  if (Runtime._instance) return false;
  Runtime.install({
    ...options,
    telemetryOptions: { metrics: { prometheus: { bindAddress, countersTotalSuffix: true, useSecondsForDurations: true, unitSuffix: true } } },
  });
  return true;
}
