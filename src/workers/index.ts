/** The worker SDK: what users import to run their processors. */
export { createWorker } from './processor-worker.js';
export { UnknownProcessorError } from './attempt.js';
export type { CreateWorkerOptions, ProcessorWorker } from './processor-worker.js';
export { broadcastProcessor, defaultBroadcastResult, mapProcessor } from './task-context.js';
export type {
  BroadcastProcessor, MapProcessor, MapTaskContext, Processor, ProcessorDefinition, ProcessResult, TaskContext, TaskResult,
} from './task-context.js';
