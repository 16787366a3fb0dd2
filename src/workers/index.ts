/** The worker SDK: what users import to run their processors. */
export { createWorker, UnknownProcessorError } from './processor-worker.js';
export type { CreateWorkerOptions, ProcessorWorker } from './processor-worker.js';
export type { Processor, ProcessResult, TaskContext } from './task-context.js';
