import { EventEmitter } from 'node:events';
import type { Processor, TaskContext } from '../../src/workers/index.js';

export interface Execution {
  processor: string;
  instanceId: number;
  attempt: number;
  idempotencyKey: string;
  workerId: string;
  at: number;
  aborted?: boolean;
}

/**
 * Wraps processors so a test can count every execution and await them as events,
 * instead of sleeping.
 */
export class Recorder {
  readonly executions: Execution[] = [];
  private readonly events = new EventEmitter();

  wrap(processors: Record<string, Processor>): Record<string, Processor> {
    return Object.fromEntries(
      Object.entries(processors).map(([name, processor]) => [
        name,
        async (ctx: TaskContext) => {
          const execution: Execution = {
            processor: name, instanceId: ctx.instanceId, attempt: ctx.attempt,
            idempotencyKey: ctx.idempotencyKey, workerId: ctx.workerId, at: Date.now(),
          };
          this.executions.push(execution);
          this.events.emit('change');
          ctx.signal.addEventListener('abort', () => {
            execution.aborted = true;
            this.events.emit('change');
          });
          return processor(ctx);
        },
      ]),
    );
  }

  of(instanceId: number): Execution[] {
    return this.executions.filter((e) => e.instanceId === instanceId);
  }

  /** Resolves once the predicate holds (checked on every execution event). */
  until(predicate: () => boolean, timeoutMs = 30_000): Promise<void> {
    return whenTrue(this.events, predicate, timeoutMs);
  }

}

/** Resolves once `predicate` holds, re-checked on every 'change' event of `events`. */
export function whenTrue(events: EventEmitter, predicate: () => boolean, timeoutMs: number): Promise<void> {
  if (predicate()) return Promise.resolve();
  return new Promise((resolveWait, reject) => {
    const timer = setTimeout(() => {
      events.off('change', check);
      reject(new Error(`condition not met within ${timeoutMs} ms`));
    }, timeoutMs);
    const check = () => {
      if (!predicate()) return;
      clearTimeout(timer);
      events.off('change', check);
      resolveWait();
    };
    events.on('change', check);
  });
}
