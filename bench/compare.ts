/**
 * `npm run bench:compare -- --base <dir>`: what a change costs runJob, measured in one run.
 * `<dir>` is a checkout of the code to compare against (e.g. `git archive <commit> | tar -x -C
 * <dir>`, with `node_modules` and `.tools` symlinked to this checkout's). One dev server and
 * one process hold three lanes: this checkout's stack (core worker, API, processor worker,
 * no-op job), the same started from `<dir>`'s code, and bare Temporal (one no-op activity).
 * Rounds alternate which lane goes first, so load that comes and goes hits them alike; each
 * round's this ÷ base ratio is printed, with the median. See bench/README.md.
 */
import { availableParallelism, loadavg } from 'node:os';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { DefaultLogger, Runtime } from '@temporalio/worker';
import type { Envelope } from '../src/api/envelope.js';
import { instanceWorkflowId } from '../src/contract/names.js';
import { type InstanceState } from '../src/domain/instance.js';
import { runBenchmark } from './report.js';
import { type BenchLane, startBareWorker, startBenchStack } from './stack.js';
import { percentile, wholeNumber } from './stats.js';

const LANES = ['bare', 'base', 'this'] as const;
type Lane = (typeof LANES)[number];
type Starter = () => Promise<string>;

async function main(): Promise<number> {
  const { values } = parseArgs({ options: { base: { type: 'string' }, runs: { type: 'string' }, rounds: { type: 'string' }, concurrency: { type: 'string' } } });
  if (!values.base) throw new Error('--base <dir>: a checkout of the code to compare against');
  const baseDir = resolve(values.base);
  const runs = wholeNumber(values.runs, 100, 1, 'runs');
  const rounds = wholeNumber(values.rounds, 8, 1, 'rounds');
  const concurrency = wholeNumber(values.concurrency, 10, 1, 'concurrency');
  const command = `npm run bench:compare -- --base ${values.base} --runs ${runs} --rounds ${rounds} --concurrency ${concurrency}`;
  Runtime.install({ logger: new DefaultLogger('WARN'), shutdownSignals: [] });
  const loadBefore = loadavg()[0]!;
  const stack = await startBenchStack((line) => console.log(line));
  // The base checkout's own stack module: its core worker bundles its workflows, its worker runs its SDK.
  const { startBenchLane } = (await import(resolve(baseDir, 'bench/stack.ts'))) as { startBenchLane: (s: typeof stack) => Promise<BenchLane> };
  const base = await startBenchLane(stack);
  const bare = await startBareWorker(stack);
  try {
    const runJob = (url: string, authHeaders: Record<string, string>, jobId: number): Starter => async () => {
      const res = await fetch(`${url}/openApi/runJob`, {
        method: 'POST', headers: { ...authHeaders, 'Content-Type': 'application/x-www-form-urlencoded' }, body: `jobId=${jobId}`,
      });
      const envelope = (await res.json()) as Envelope<number>;
      if (!envelope.success || typeof envelope.data !== 'number') throw new Error(`runJob answered: ${envelope.message}`);
      return instanceWorkflowId(envelope.data);
    };
    let next = 0;
    const starters: Record<Lane, Starter> = {
      bare: async () => {
        const workflowId = `compare-bare-${Date.now()}-${next++}`;
        await stack.client.workflow.start('bareRun', { taskQueue: bare.taskQueue, workflowId });
        return workflowId;
      },
      base: runJob(base.url, base.authHeaders, base.jobId),
      this: runJob(stack.url, stack.authHeaders, stack.jobId),
    };
    /** Runs with at most `concurrency` in flight; succeeded runs per second. */
    const measure = async (start: Starter, count: number) => {
      let issued = 0;
      let succeeded = 0;
      let failed = 0;
      const began = performance.now();
      await Promise.all(Array.from({ length: concurrency }, async () => {
        while (issued < count) {
          issued++;
          try {
            const state = (await stack.client.workflow.getHandle(await start()).result()) as InstanceState | undefined;
            if (state && state.status !== 'SUCCEED') throw new Error(`ended ${state.status}`);
            succeeded++;
          } catch {
            failed++;
          }
        }
      }));
      return { succeeded, failed, ms: performance.now() - began };
    };
    console.log('Warm-up: 50 runs per lane…');
    for (const lane of LANES) await measure(starters[lane], 50);
    const totals = Object.fromEntries(LANES.map((lane) => [lane, { succeeded: 0, failed: 0, ms: 0 }])) as Record<Lane, { succeeded: number; failed: number; ms: number }>;
    const ratios: number[] = [];
    for (let round = 0; round < rounds; round++) {
      const rate: Partial<Record<Lane, number>> = {};
      const line: string[] = [];
      for (const lane of LANES.map((_, i) => LANES[(i + round) % LANES.length]!)) {
        const batch = await measure(starters[lane], runs);
        totals[lane].succeeded += batch.succeeded;
        totals[lane].failed += batch.failed;
        totals[lane].ms += batch.ms;
        rate[lane] = (batch.succeeded / batch.ms) * 1000;
        line.push(`${lane} ${rate[lane].toFixed(1)}/s${batch.failed ? ` (${batch.failed} FAILED)` : ''}`);
      }
      ratios.push(rate.this! / rate.base!);
      console.log(`Round ${round + 1}/${rounds}: ${line.join(' · ')} · this/base ${ratios.at(-1)!.toFixed(3)}`);
    }
    const throughput = (lane: Lane) => (totals[lane].succeeded / totals[lane].ms) * 1000;
    console.log(`
runJob → SUCCEED, no-op processor, ${rounds} rounds × ${runs} runs per lane, ${concurrency} clients; ${availableParallelism()} CPUs, load average ${loadBefore.toFixed(1)} → ${loadavg()[0]!.toFixed(1)}
${LANES.map((lane) => `${lane}: ${throughput(lane).toFixed(1)} runs/s (${totals[lane].failed} failed)`).join('\n')}
this/base: throughput ${(throughput('this') / throughput('base')).toFixed(3)} (median round ${percentile(ratios, 50).toFixed(3)}); this/bare ${(throughput('this') / throughput('bare')).toFixed(3)}, base/bare ${(throughput('base') / throughput('bare')).toFixed(3)}
Reproduce: ${command}`);
    return LANES.some((lane) => totals[lane].failed > 0) ? 1 : 0;
  } finally {
    await base.close();
    await bare.stop();
    await stack.close();
  }
}

runBenchmark('bench:compare', main);
