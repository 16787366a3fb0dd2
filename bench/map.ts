/**
 * `npm run bench:map`: sub-tasks per second of a MAP job whose sub-tasks are no-ops, at
 * 10,000 and 100,000 sub-tasks, against two baselines measured in the same run on the same
 * dev server: the same number of bare Temporal activities, fanned out the same way (one
 * child workflow per 1,000, the same window in flight per child; bench/bare/workflows.ts),
 * with every child started at once (the plain way) and with MAP_LIMITS.batchesAtOnce
 * children at a time (as tempojob runs its batches).
 *
 * tempojob's figure is runJob sent → instance closed (root task, ctx.map starting the
 * batch workflows, every sub-task, the counts); a baseline's is parent started → parent
 * closed. Every sub-task is counted by the processor, and the run fails unless each ran
 * exactly once.
 *
 *   npm run bench:map                      # 10,000 and 100,000
 *   npm run bench:map -- --sizes 10000     # one size
 *   npm run bench:map -- --concurrency 50  # sub-tasks in flight per batch (default 50)
 *   npm run bench:map -- --temporal-address 127.0.0.1:17233   # a running Temporal (e.g. scripts/cluster/up.sh)
 */
import { randomBytes } from 'node:crypto';
import { loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import { DefaultLogger, Runtime } from '@temporalio/worker';
import { MAP_LIMITS } from '../src/domain/map.js';
import { instanceWorkflowId } from '../src/contract/names.js';
import { mapProcessor } from '../src/workers/index.js';
import { report } from './report.js';
import { benchTemporalAddress, postOpenApi, startBareWorker, startBenchStack } from './stack.js';

const { values } = parseArgs({ options: { sizes: { type: 'string' }, concurrency: { type: 'string' }, 'temporal-address': { type: 'string' } } });
const TEMPORAL_ADDRESS = benchTemporalAddress(values['temporal-address']);
const SIZES = (values.sizes ?? '10000,100000').split(',').map((raw) => {
  const size = Number(raw);
  if (!Number.isSafeInteger(size) || size < 1) throw new Error(`--sizes takes whole numbers >= 1 separated by commas, got "${raw}"`);
  return size;
});
const CONCURRENCY = Number(values.concurrency ?? 50);
if (!Number.isSafeInteger(CONCURRENCY) || CONCURRENCY < 1) throw new Error(`--concurrency must be a whole number >= 1, got "${values.concurrency}"`);

Runtime.install({ logger: new DefaultLogger('ERROR'), shutdownSignals: [] });

/** Executions per instance and item: the proof that each sub-task ran once. */
const executions = new Map<number, Uint8Array>();
const stack = await startBenchStack((line) => console.log(line), TEMPORAL_ADDRESS, {
  fanOut: mapProcessor({
    async process(ctx) {
      if (ctx.isRootTask) {
        const size = Number(ctx.instanceParams);
        executions.set(ctx.instanceId, new Uint8Array(size));
        await ctx.map(Array.from({ length: size }, (_, i) => i), 'noop');
      } else {
        executions.get(ctx.instanceId)![ctx.subTask as number]! += 1;
      }
      return { success: true };
    },
  }),
});
const bare = await startBareWorker(stack, 100);
const bareQueue = bare.taskQueue;

try {
  const jobId = await postOpenApi<number>(stack.url, 'saveJob', {
    jobName: 'bench-map', timeExpressionType: 'API', executeType: 'MAP', processorType: 'BUILT_IN', processorInfo: 'fanOut',
    concurrency: CONCURRENCY,
  }, stack.authHeaders);
  const rows: string[][] = [];
  const baselines = [
    { label: 'bare, all at once', childrenAtOnce: 0 },
    { label: `bare, ${MAP_LIMITS.batchesAtOnce} at a time`, childrenAtOnce: MAP_LIMITS.batchesAtOnce },
  ];
  for (const size of SIZES) {
    const perSecond = (ms: number) => (size / ms) * 1000;
    const bareRates: number[] = [];
    for (const { label, childrenAtOnce } of baselines) {
      console.log(`\n${size} sub-tasks: ${label}…`);
      const bareStarted = Date.now();
      const ran = await stack.client.workflow.execute('bareFanOut', {
        taskQueue: bareQueue, workflowId: `bench-bare-${size}-${randomBytes(3).toString('hex')}`, args: [size, CONCURRENCY, childrenAtOnce],
      });
      const bareMs = Date.now() - bareStarted;
      if (ran !== size) throw new Error(`baseline ran ${ran} activities, not ${size}`);
      console.log(`  ${bareMs} ms (load ${loadavg()[0]!.toFixed(1)})`);
      bareRates.push(perSecond(bareMs));
    }

    console.log(`${size} sub-tasks: tempojob MAP…`);
    const started = Date.now();
    const instanceId = await postOpenApi<number>(stack.url, 'runJob', { jobId, instanceParams: String(size) }, stack.authHeaders);
    await stack.client.workflow.getHandle(instanceWorkflowId(instanceId)).result();
    const mapMs = Date.now() - started;
    const info = await postOpenApi<{ status: number; result: string }>(stack.url, 'fetchInstanceInfo', { instanceId }, stack.authHeaders);
    const counts = executions.get(instanceId)!;
    const wrong = counts.filter((n) => n !== 1).length;
    if (info.status !== 5 || wrong > 0) throw new Error(`MAP of ${size}: status ${info.status} "${info.result}", ${wrong} sub-tasks not run exactly once`);
    console.log(`  ${mapMs} ms (load ${loadavg()[0]!.toFixed(1)}): ${info.result}, every sub-task ran exactly once`);

    const rate = perSecond(mapMs);
    rows.push([String(size), ...bareRates.map((r) => r.toFixed(0)), rate.toFixed(0), ...bareRates.map((r) => (rate / r).toFixed(2))]);
    // The baseline that runs batches as tempojob does: two at a time.
    const paced = bareRates.at(-1)!;
    report({
      benchmark: 'bench:map',
      measure: `MAP, ${size} no-op sub-tasks, one worker, window ${CONCURRENCY}`,
      tempojob: `${rate.toFixed(0)} sub-tasks/s`,
      bare: `${paced.toFixed(0)}/s (child workflows, ${MAP_LIMITS.batchesAtOnce} at a time)`,
      ratio: rate / paced,
      command: `npm run bench:map -- --sizes ${size} --concurrency ${CONCURRENCY}`,
    });
  }
  const header = ['size', ...baselines.map((b) => b.label), 'tempojob MAP', ...baselines.map((b) => `ratio vs ${b.label}`)];
  console.log(`\nsub-tasks per second, window ${CONCURRENCY} per 1,000-item batch, one worker:`);
  for (const row of [header, ...rows]) console.log(`| ${row.join(' | ')} |`);
  console.log(`reproduce: npm run bench:map -- --sizes ${SIZES.join(',')} --concurrency ${CONCURRENCY}${TEMPORAL_ADDRESS ? ` --temporal-address ${TEMPORAL_ADDRESS}` : ''}`);
} finally {
  await bare.stop();
  await stack.close();
}
