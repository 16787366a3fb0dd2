import { proxySinks } from '@temporalio/workflow';
import type { MetricsSinks } from '../contract/sinks.js';

/** Facts for the core worker's metrics: sink calls, not commands, so histories do not change (src/contract/sinks.ts). */
export const { tempojobMetrics: metrics } = proxySinks<MetricsSinks>();
