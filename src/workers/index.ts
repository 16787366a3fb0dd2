/** The worker SDK: what users import to run their processors. */
export { createWorker } from './processor-worker.js';
export { UnknownProcessorError } from './attempt.js';
export type { CreateWorkerOptions, ProcessorWorker, WorkerLogOptions, WorkerMetricsOptions } from './processor-worker.js';
export { TempojobMetrics } from '../metrics/metrics.js';
export { LogShipper } from './log-shipper.js';
export type { LogEntry, LogShipperCounts, LogShipperOptions, LogTransport } from './log-shipper.js';
export type { TaskLogger } from './task-logger.js';
export { broadcastProcessor, defaultBroadcastResult, mapProcessor } from './task-context.js';
export type {
  BroadcastProcessor, MapProcessor, MapTaskContext, Processor, ProcessorDefinition, ProcessResult, TaskContext, TaskResult,
} from './task-context.js';
