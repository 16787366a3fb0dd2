/** The worker SDK: what users import to run their processors. */
export { createWorker, UnknownProcessorError } from './processor-worker.js';
export type { CreateWorkerOptions, ProcessorWorker } from './processor-worker.js';
export { broadcastProcessor, defaultBroadcastResult } from './task-context.js';
export type { BroadcastProcessor, Processor, ProcessorDefinition, ProcessResult, TaskContext, TaskResult } from './task-context.js';
