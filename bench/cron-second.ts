/**
 * `npm run bench:cron:second`: a one-second CRON job for 30 s (`--seconds`), checked against
 * the target of issue #5: fire lateness (instance dispatched − nominal fire time) p99 ≤ 1 s,
 * one instance per fire. Baseline in the same run: a bare Temporal schedule firing every
 * second for as long, each fire a workflow that runs one no-op activity, whose lateness is
 * its first task − nominal. Exits 1 when the target is missed or a fire ran twice.
 */
import { parseArgs } from 'node:util';
import { DefaultLogger, Runtime } from '@temporalio/worker';
import { SA } from '../src/contract/search-attributes.js';
import { bareFires, duplicates, instanceFires, latenessFigure, latenessOf, latenessRow } from './fires.js';
import { benchTemporalAddress, postOpenApi, startBareWorker, startBenchStack, NOOP_PROCESSOR, type BenchStack } from './stack.js';
import { report, runBenchmark } from './report.js';
import { percentile } from './stats.js';

const { values } = parseArgs({ options: { seconds: { type: 'string' }, 'temporal-address': { type: 'string' } } });
const SECONDS = Number(values.seconds ?? 30);
if (!Number.isSafeInteger(SECONDS) || SECONDS < 5) throw new Error(`--seconds must be a whole number >= 5, got "${values.seconds}"`);
const TEMPORAL_ADDRESS = benchTemporalAddress(values['temporal-address']);
const TARGET_P99_MS = 1_000;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function bare(stack: BenchStack): Promise<number[]> {
  const scheduleId = `bench-second-${Date.now()}`;
  const worker = await startBareWorker(stack);
  try {
    await stack.client.schedule.create({
      scheduleId,
      spec: { intervals: [{ every: '1 second' }] },
      action: { type: 'startWorkflow', workflowType: 'bareScheduledRun', taskQueue: worker.taskQueue, args: [] },
      policies: { overlap: 'ALLOW_ALL' },
    });
    await sleep(SECONDS * 1000 + 500);
    await stack.client.schedule.getHandle(scheduleId).delete();
    return await bareFires(stack.client, `WorkflowType = 'bareScheduledRun' AND TaskQueue = '${worker.taskQueue}'`);
  } finally {
    await worker.stop();
  }
}

async function tempojob(stack: BenchStack): Promise<{ lateness: number[]; duplicates: number }> {
  const jobId = await postOpenApi<number>(stack.url, 'saveJob', {
    jobName: 'every-second', timeExpressionType: 'CRON', timeExpression: '* * * * * ?',
    executeType: 'STANDALONE', processorType: 'BUILT_IN', processorInfo: NOOP_PROCESSOR,
  }, stack.authHeaders);
  await sleep(SECONDS * 1000 + 500);
  await postOpenApi(stack.url, 'disableJob', { jobId }, stack.authHeaders);
  const query = `WorkflowType = 'instanceWorkflow' AND ${SA.jobId.name} = ${jobId}`;
  // Visibility trails the instances by a moment; the last fires may still be running.
  for (let i = 0; (await stack.client.workflow.count(`${query} AND ExecutionStatus = 'Running'`)).count > 0; i++) {
    if (i === 60) throw new Error('instances still running 60 s after the job was disabled');
    await sleep(1000);
  }
  const fires = await instanceFires(stack.client, query);
  return { lateness: latenessOf(fires), duplicates: duplicates(fires, (f) => f.expectedTriggerTime) };
}

async function main(): Promise<number> {
  Runtime.install({ logger: new DefaultLogger('WARN') });
  const stack = await startBenchStack((line) => console.log(line), TEMPORAL_ADDRESS);
  try {
    console.log(`bare schedule, every second for ${SECONDS} s…`);
    const baseline = await bare(stack);
    console.log(`tempojob CRON "* * * * * ?", for ${SECONDS} s…`);
    const ours = await tempojob(stack);
    const p99 = percentile(ours.lateness, 99);
    console.log(`\n${latenessRow('bare schedule', baseline)}\n${latenessRow('tempojob one-second CRON', ours.lateness)}`);
    console.log(`ratio tempojob/bare: p50 ${(percentile(ours.lateness, 50) / percentile(baseline, 50)).toFixed(2)}, p99 ${(p99 / percentile(baseline, 99)).toFixed(2)}`);
    console.log(`duplicates: ${ours.duplicates}; target p99 <= ${TARGET_P99_MS} ms: ${p99 <= TARGET_P99_MS ? 'met' : 'MISSED'}`);
    const command = `npm run bench:cron:second -- --seconds ${SECONDS}${TEMPORAL_ADDRESS ? ` --temporal-address ${TEMPORAL_ADDRESS}` : ''}`;
    console.log(`reproduce: ${command}`);
    report({
      benchmark: 'bench:cron:second',
      measure: `one-second CRON for ${SECONDS} s: fire lateness`,
      tempojob: `${latenessFigure(ours.lateness)}, ${ours.duplicates} duplicates`,
      bare: latenessFigure(baseline),
      ratio: p99 / percentile(baseline, 99),
      command,
    });
    return ours.duplicates === 0 && p99 <= TARGET_P99_MS ? 0 : 1;
  } finally {
    await stack.close();
  }
}

runBenchmark('bench:cron:second', main);
