import { setTimeout as sleep } from 'node:timers/promises';
import { broadcastProcessor, mapProcessor, type Processor } from '../workers/index.js';

/** Example processors the embedded stack runs for the `demo` app, so anyone can try it with curl. */
export const demoProcessors: Record<string, Processor> = {
  /** Succeeds with its instanceParams as the result. */
  'demo.echo': (ctx) => ({ success: true, msg: ctx.instanceParams ?? ctx.jobParams ?? '' }),

  /**
   * Sleeps for instanceParams milliseconds (default 1000), aborting early when stopped. In a
   * workflow the instance params are the workflow context, so the node's params say how long.
   */
  'demo.sleep': async (ctx) => {
    const ms = Number((ctx.workflowContext ? ctx.jobParams : ctx.instanceParams ?? ctx.jobParams) ?? 1000);
    if (!Number.isFinite(ms) || ms < 0) return { success: false, msg: `demo.sleep: instanceParams must be milliseconds, got "${ctx.instanceParams}"` };
    ctx.logger.info(`sleeping ${ms} ms`, { attempt: ctx.attempt });
    await sleep(ms, undefined, { signal: ctx.signal });
    ctx.logger.info('woke up');
    return { success: true, msg: `slept ${ms} ms` };
  },

  /** Always fails: try instanceRetryNum and retryInstance with it (and read why in its log). */
  'demo.fail': (ctx) => {
    ctx.logger.error('about to fail on purpose', { attempt: ctx.attempt });
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

  /**
   * For a MAP_REDUCE job: the root task maps the numbers 1..instanceParams (default 100),
   * each sub-task squares its number, reduce sums the squares.
   */
  'demo.squares': mapProcessor({
    async process(ctx) {
      if (ctx.isRootTask) {
        const n = Number(ctx.instanceParams ?? ctx.jobParams ?? 100);
        if (!Number.isSafeInteger(n) || n < 0) return { success: false, msg: `demo.squares: instanceParams must be a whole number, got "${ctx.instanceParams}"` };
        await ctx.map(Array.from({ length: n }, (_, i) => i + 1), 'square');
        return { success: true, msg: `mapped ${n}` };
      }
      return { success: true, msg: String((ctx.subTask as number) ** 2) };
    },
    reduce: (_ctx, results) => ({
      success: results.every((r) => r.success),
      msg: `sum of ${results.length} squares: ${results.reduce((sum, r) => sum + Number(r.result), 0)}`,
    }),
  }),
};
