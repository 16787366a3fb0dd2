/**
 * `npm run bench:map`: sub-tasks per second of a MAP job whose sub-tasks are no-ops, at
 * 10,000 and 100,000 sub-tasks, against a baseline measured in the same run on the same
 * dev server: the same number of bare Temporal activities, fanned out the same way (one
 * child workflow per 1,000, the same window in flight per child; bench/bare/workflows.ts).
 *
 * tempojob's figure is runJob sent → instance closed (root task, ctx.map starting the
 * batch workflows, every sub-task, the counts); the baseline's is parent started → parent
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
import { fileURLToPath } from 'node:url';
import { DefaultLogger, Runtime, Worker } from '@temporalio/worker';
import { instanceWorkflowId } from '../src/temporal/names.js';
import { mapProcessor } from '../src/workers/index.js';
import { benchTemporalAddress, postOpenApi, startBenchStack } from './stack.js';

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
const bareQueue = `bench-bare-${randomBytes(3).toString('hex')}`;
const bareWorker = await Worker.create({
  connection: stack.connection,
  taskQueue: bareQueue,
  workflowsPath: fileURLToPath(new URL('./bare/workflows.ts', import.meta.url)),
  activities: { noop: async () => {} },
  maxConcurrentActivityTaskExecutions: 100,
});
const bareDone = bareWorker.run();

try {
  const jobId = await postOpenApi<number>(stack.url, 'saveJob', {
    jobName: 'bench-map', timeExpressionType: 'API', executeType: 'MAP', processorType: 'BUILT_IN', processorInfo: 'fanOut',
    concurrency: CONCURRENCY,
  }, stack.authHeaders);
  const rows: string[] = [];
  for (const size of SIZES) {
    console.log(`\n${size} sub-tasks: bare Temporal activities…`);
    const bareStarted = Date.now();
    const ran = await stack.client.workflow.execute('bareFanOut', {
      taskQueue: bareQueue, workflowId: `bench-bare-${size}-${randomBytes(3).toString('hex')}`, args: [size, CONCURRENCY],
    });
    const bareMs = Date.now() - bareStarted;
    if (ran !== size) throw new Error(`baseline ran ${ran} activities, not ${size}`);
    console.log(`  ${bareMs} ms (load ${loadavg()[0]!.toFixed(1)}); tempojob MAP…`);

    const started = Date.now();
    const instanceId = await postOpenApi<number>(stack.url, 'runJob', { jobId, instanceParams: String(size) }, stack.authHeaders);
    await stack.client.workflow.getHandle(instanceWorkflowId(instanceId)).result();
    const mapMs = Date.now() - started;
    const info = await postOpenApi<{ status: number; result: string }>(stack.url, 'fetchInstanceInfo', { instanceId }, stack.authHeaders);
    const counts = executions.get(instanceId)!;
    const wrong = counts.filter((n) => n !== 1).length;
    if (info.status !== 5 || wrong > 0) throw new Error(`MAP of ${size}: status ${info.status} "${info.result}", ${wrong} sub-tasks not run exactly once`);
    console.log(`  ${mapMs} ms (load ${loadavg()[0]!.toFixed(1)}): ${info.result}, every sub-task ran exactly once`);

    const perSecond = (ms: number) => (size / ms) * 1000;
    rows.push(`${String(size).padStart(7)} | ${perSecond(bareMs).toFixed(0).padStart(12)} | ${perSecond(mapMs).toFixed(0).padStart(13)} | ${(perSecond(mapMs) / perSecond(bareMs)).toFixed(2)}`);
  }
  console.log(`\nsub-tasks per second, window ${CONCURRENCY} per 1,000-item batch, one worker:`);
  console.log('  size   | bare Temporal | tempojob MAP | ratio');
  for (const row of rows) console.log(row);
  console.log(`reproduce: npm run bench:map -- --sizes ${SIZES.join(',')} --concurrency ${CONCURRENCY}${TEMPORAL_ADDRESS ? ` --temporal-address ${TEMPORAL_ADDRESS}` : ''}`);
} finally {
  bareWorker.shutdown();
  await bareDone;
  await stack.close();
}
