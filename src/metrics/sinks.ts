import type { InjectedSinks } from '@temporalio/worker';
import type { MetricsSinks } from '../contract/sinks.js';
import type { TempojobMetrics } from './metrics.js';

/**
 * The core worker's side of the workflows' metric sinks (src/contract/sinks.ts): counters and
 * histograms only, called after each workflow activation, never during replay. Without
 * metrics, the same sinks do nothing (a workflow calling an unregistered sink makes the
 * worker log an error at every call).
 */
export function metricsSinks(metrics: TempojobMetrics | undefined): InjectedSinks<MetricsSinks> {
  const sink = <A extends unknown[]>(fn: (...args: A) => void) => ({
    fn: metrics ? (_info: unknown, ...args: A) => fn(...args) : () => undefined,
    callDuringReplay: false,
  });
  const m = metrics!;
  return {
    tempojobMetrics: {
      instanceStarted: sink(({ app, jobId, trigger }) => m.instancesStarted.labels(app, String(jobId), trigger).inc()),
      instanceFired: sink(({ app, jobId, latenessMs }) => m.fireLateness.labels(app, String(jobId)).observe(Math.max(0, latenessMs) / 1000)),
      instanceRetried: sink(({ app, jobId, executeType }) => m.retries.labels(app, String(jobId), executeType).inc()),
      instanceFinished: sink(({ app, jobId, executeType, status }) => m.instancesFinished.labels(app, String(jobId), executeType, status).inc()),
      misfire: sink(({ app, job, policy, decision }) => m.misfires.labels(app, job, policy, decision).inc()),
    },
  };
}
