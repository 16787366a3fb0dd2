/**
 * A chaos processor worker process (`scripts/chaos/run.ts` starts three): every execution
 * of user code appends a `start` line before it does anything and an `end` line when it is
 * done, fsynced (records.ts), to `$CHAOS_RECORD_DIR/executions-<workerId>.jsonl`.
 *
 * - `chaos.run` (STANDALONE, DAG nodes): job params `{"failFirst": true}` fail the first
 *   attempt; `{"sleepMs": n}` in the job's or (outside workflows) the instance's params
 *   sleep that long, aborted by a stop.
 * - `chaos.broadcast`: preProcess, process on every member (sleeping instance params'
 *   `sleepMs`), postProcess.
 * - `chaos.map` (MAP_REDUCE): the root maps instance params `{"n": n}` numbers, each
 *   sub-task records itself (and sleeps `sleepMs`), reduce records the task ids it was given.
 */
import { closeSync, fsyncSync, openSync, writeSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { DefaultLogger, Runtime } from '@temporalio/worker';
import { broadcastProcessor, createWorker, defaultBroadcastResult, mapProcessor, type TaskContext } from '../../src/workers/index.js';
import { recordFileOf, type ExecutionRecord, type ExecutionStep } from './records.js';

const { CHAOS_RECORD_DIR: dir, CHAOS_APP: appName, CHAOS_WORKER_ID: workerId } = process.env;
if (!dir || !appName || !workerId) throw new Error('set CHAOS_RECORD_DIR, CHAOS_APP and CHAOS_WORKER_ID');
const worker: string = workerId;

Runtime.install({ logger: new DefaultLogger('WARN') });

const fd = openSync(recordFileOf(dir, workerId), 'a');
process.once('exit', () => closeSync(fd));

function record(ev: ExecutionRecord['ev'], step: ExecutionStep, ctx: TaskContext, extra: Partial<ExecutionRecord> = {}): void {
  const line: ExecutionRecord = {
    ev, at: Date.now(), instanceId: ctx.instanceId, jobId: ctx.jobId, attempt: ctx.attempt, taskId: ctx.taskId ?? null,
    key: ctx.idempotencyKey, step, workerId: worker, pid: process.pid, inWorkflow: ctx.workflowContext !== null, ...extra,
  };
  writeSync(fd, `${JSON.stringify(line)}\n`);
  fsyncSync(fd);
}

interface RunParams { failFirst?: boolean; sleepMs?: number; n?: number }
const paramsOf = (text: string | null): RunParams => (text?.startsWith('{') ? (JSON.parse(text) as RunParams) : {});

/** Sleeps `ms` (if any), aborted by a stop. */
async function pause(ms: number | undefined, ctx: TaskContext): Promise<void> {
  if (ms) await sleep(ms, undefined, { signal: ctx.signal });
}

/** Runs `body` between a start and an end record; an abort (stop, shutdown) ends it with `aborted`. */
async function recorded(step: ExecutionStep, ctx: TaskContext, body: () => Promise<boolean> | boolean, extra: () => Partial<ExecutionRecord> = () => ({})) {
  record('start', step, ctx);
  try {
    const ok = await body();
    record('end', step, ctx, { ok, ...extra() });
    return { success: ok, msg: ok ? `${step} on ${worker}` : `${step}: planned failure of attempt ${ctx.attempt}` };
  } catch (err) {
    record('end', step, ctx, { ok: false, aborted: ctx.signal.aborted });
    throw err;
  }
}

const processorWorker = await createWorker({
  appName,
  workerId,
  shutdownGraceMs: 0,
  processors: {
    'chaos.run': (ctx) => recorded('run', ctx, async () => {
      const job = paramsOf(ctx.jobParams);
      await pause(job.sleepMs ?? (ctx.workflowContext === null ? paramsOf(ctx.instanceParams).sleepMs : undefined), ctx);
      return !(job.failFirst === true && ctx.attempt === 1);
    }),
    'chaos.broadcast': broadcastProcessor({
      preProcess: (ctx) => recorded('pre', ctx, () => true),
      process: (ctx) => recorded('share', ctx, async () => {
        await pause(paramsOf(ctx.instanceParams).sleepMs, ctx);
        return true;
      }),
      postProcess: async (ctx, results) => {
        await recorded('post', ctx, () => true);
        return defaultBroadcastResult(results);
      },
    }),
    'chaos.map': mapProcessor({
      process: (ctx) => recorded('map', ctx, async () => {
        const params = paramsOf(ctx.instanceParams);
        if (ctx.isRootTask) await ctx.map(Array.from({ length: params.n ?? 10 }, (_, i) => i), 'item');
        else await pause(params.sleepMs, ctx);
        return true;
      }),
      reduce: (ctx, results) => {
        const reduced = results.map((r) => r.taskId);
        return recorded('reduce', ctx, () => results.every((r) => r.success), () => ({ reduced }));
      },
    }),
  },
});
console.log(`chaos worker ${workerId} ready (pid ${process.pid})`);
await processorWorker.run();
