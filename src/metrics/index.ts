/** Prometheus metrics (Node-only): the registry and its metrics, the /metrics server, the core worker's workflow sinks. */
export { TempojobMetrics, processMetrics } from './metrics.js';
export { bearerMatches, metricsRequestHandler, serveMetrics, type MetricsServer } from './server.js';
export { metricsSinks } from './sinks.js';
export { installTemporalMetrics } from './temporal-runtime.js';
