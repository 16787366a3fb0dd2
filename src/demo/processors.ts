import { setTimeout as sleep } from 'node:timers/promises';
import { broadcastProcessor, type Processor } from '../workers/index.js';

/** Example processors the embedded stack runs for the `demo` app, so anyone can try it with curl. */
export const demoProcessors: Record<string, Processor> = {
  /** Succeeds with its instanceParams as the result. */
  'demo.echo': (ctx) => ({ success: true, msg: ctx.instanceParams ?? ctx.jobParams ?? '' }),

  /** Sleeps for instanceParams milliseconds (default 1000), aborting early when stopped. */
  'demo.sleep': async (ctx) => {
    const ms = Number(ctx.instanceParams ?? ctx.jobParams ?? 1000);
    if (!Number.isFinite(ms) || ms < 0) return { success: false, msg: `demo.sleep: instanceParams must be milliseconds, got "${ctx.instanceParams}"` };
    await sleep(ms, undefined, { signal: ctx.signal });
    return { success: true, msg: `slept ${ms} ms` };
  },

  /** Always fails: try instanceRetryNum and retryInstance with it. */
  'demo.fail': () => {
    throw new Error('demo.fail: failing on purpose');
  },

  /**
   * For a BROADCAST job: every worker of the app reports its id and uptime, and
   * postProcess sums them up (preProcess could, e.g., snapshot a config version first).
   */
  'demo.broadcast': broadcastProcessor({
    preProcess: (ctx) => ({ success: true, msg: `broadcast of instance ${ctx.instanceId} starts` }),
    process: (ctx) => ({ success: true, msg: `${ctx.workerId} up ${Math.round(process.uptime())} s` }),
    postProcess: (_ctx, results) => {
      const failed = results.filter((r) => !r.success);
      return {
        success: failed.length === 0,
        msg: `${results.length - failed.length}/${results.length} workers done: ${results.map((r) => r.result ?? r.workerId).join('; ')}`,
      };
    },
  }),
};
