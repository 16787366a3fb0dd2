/**
 * `npm run bench:dag`: fire → finish of DAG workflows of no-op JOB nodes, beside the same
 * shapes as bare Temporal child workflows, in the same run on the same stack (issue #14:
 * target ≥ 0.7× bare, throughput-wise: tempojob's time ≤ bare's ÷ 0.7).
 *
 * Two shapes, N = `--size` (default 100):
 * - chain: N JOB nodes n1 → n2 → … → nN (N − 1 edges); one node runs at a time;
 * - fan-out/fan-in: one root → N parallel nodes → one sink (N + 2 nodes, 2N edges): the N start
 *   together once the root succeeded, the sink once all N did.
 * Every JOB node runs the bench app's no-op job (API / STANDALONE / BUILT_IN `noop`).
 *
 * tempojob: the workflows are made through the API as a user makes them (addWorkflowNode, then
 * saveWorkflow: time type API, FAIL_FAST, maxWfInstanceNum 0 as the baseline takes no slot);
 * each run is a runWorkflow, awaited on the workflow instance's close and read back with
 * fetchWfInstanceInfo: fire → finish is its actualTriggerTime → finishedTime, and the run
 * counts only if it and every node ended SUCCEED. Also printed: request → closed (runWorkflow
 * sent → instance closed). bare: `bareDagChain` / `bareDagFanOut` (bench/bare/workflows.ts),
 * each node a child workflow running one no-op activity; fire → finish is its first workflow
 * task → its last, on the same workflow clock; request → closed is start sent → closed.
 *
 * Runs go one at a time, rotating which of the four goes first, so drift hits them alike.
 * Printed per shape: p50 and max (ms), the run's own history size (KiB), the ratio bare ÷ tempojob on the p50 (throughput-wise,
 * higher is better) against the 0.7 target, and the load average before and after. Exits 1 if
 * a run failed or a target was missed.
 *
 *   npm run bench:dag                        # 100 nodes, 5 runs of each after 1 warm-up
 *   npm run bench:dag -- --runs 5 --warmup 0
 *   npm run bench:dag -- --size 20           # smaller DAGs (a smoke test)
 */
import { availableParallelism, loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import type { WorkflowHandle } from '@temporalio/client';
import proto from '@temporalio/proto';
import { DefaultLogger, Runtime } from '@temporalio/worker';
import { wfInstanceWorkflowId } from '../src/contract/names.js';
import type { bareDagChain, bareDagFanOut } from './bare/workflows.js';
import { report, runBenchmark } from './report.js';
import { benchTemporalAddress, postOpenApi, startBareWorker, startBenchStack, type BenchStack } from './stack.js';
import { percentile, wholeNumber } from './stats.js';

const { values } = parseArgs({
  options: { size: { type: 'string' }, runs: { type: 'string' }, warmup: { type: 'string' }, 'temporal-address': { type: 'string' } },
});
const SIZE = wholeNumber(values.size ?? process.env.BENCH_DAG_SIZE, 100, 2, 'size');
const RUNS = wholeNumber(values.runs ?? process.env.BENCH_DAG_RUNS, 5, 1, 'runs');
const WARMUP = wholeNumber(values.warmup ?? process.env.BENCH_DAG_WARMUP, 1, 0, 'warmup');
const TEMPORAL_ADDRESS = benchTemporalAddress(values['temporal-address']);
const TARGET = 0.7;

// ERROR: the processor worker hosts no workflows and would warn about it.
Runtime.install({ logger: new DefaultLogger('ERROR'), shutdownSignals: [] });

interface Sample {
  fireToFinish: number;
  closed: number;
  /** The size of the run's own history (the DAG workflow's, not its children's), in bytes. */
  historyBytes: number;
}

async function historyBytes(handle: WorkflowHandle): Promise<number> {
  return proto.temporal.api.history.v1.History.encode(await handle.fetchHistory()).finish().length;
}

/** What this benchmark reads of fetchWfInstanceInfo's answer (PowerJob's WorkflowInstanceInfoDTO). */
interface WfInstanceInfo {
  status: number;
  result: string | null;
  dag: string;
  actualTriggerTime: number | null;
  finishedTime: number | null;
}

const WF_SUCCEED = 4;
const INSTANCE_SUCCEED = 5;

interface Shape {
  label: string;
  /** Nodes, in addWorkflowNode's order. */
  nodes: number;
  /** The edges between those nodes' ids. */
  edges(ids: number[]): { from: number; to: number }[];
  bareWorkflow: 'bareDagChain' | 'bareDagFanOut';
}

const SHAPES = {
  chain: {
    label: `${SIZE}-node chain`,
    nodes: SIZE,
    edges: (ids) => ids.slice(1).map((to, i) => ({ from: ids[i]!, to })),
    bareWorkflow: 'bareDagChain',
  },
  fan: {
    label: `fan-out/fan-in, 1 → ${SIZE} → 1`,
    nodes: SIZE + 2,
    edges: (ids) => {
      const [root, middle, sink] = [ids[0]!, ids.slice(1, -1), ids.at(-1)!];
      return [...middle.map((to) => ({ from: root, to })), ...middle.map((from) => ({ from, to: sink }))];
    },
    bareWorkflow: 'bareDagFanOut',
  },
} satisfies Record<string, Shape>;
type ShapeName = keyof typeof SHAPES;

function stats(samples: number[]) {
  return { p50: percentile(samples, 50), max: percentile(samples, 100) };
}

/** Makes the shape's workflow through the API; returns one run of it: runWorkflow → closed, read back. */
async function tempojobDag(stack: BenchStack, name: ShapeName): Promise<() => Promise<Sample>> {
  const shape = SHAPES[name];
  const nodes = await postOpenApi<{ id: number }[]>(stack.url, 'addWorkflowNode', Array.from({ length: shape.nodes }, (_, i) => ({
    type: 1, jobId: stack.jobId, nodeName: `${name}-${i + 1}`,
  })), stack.authHeaders);
  const ids = nodes.map((node) => node.id);
  const workflowId = await postOpenApi<number>(stack.url, 'saveWorkflow', {
    wfName: `bench-dag-${name}`, timeExpressionType: 'API', maxWfInstanceNum: 0, failurePolicy: 'FAIL_FAST',
    dag: { nodes: ids.map((nodeId) => ({ nodeId })), edges: shape.edges(ids) },
  }, stack.authHeaders);
  console.log(`tempojob ${shape.label}: workflow ${workflowId}, nodes ${ids[0]}…${ids.at(-1)}`);
  return async () => {
    const sent = Date.now();
    const wfInstanceId = await postOpenApi<number>(stack.url, 'runWorkflow', { workflowId }, stack.authHeaders);
    const handle = stack.client.workflow.getHandle(wfInstanceWorkflowId(wfInstanceId));
    await handle.result();
    const closed = Date.now() - sent;
    const info = await postOpenApi<WfInstanceInfo>(stack.url, 'fetchWfInstanceInfo', { wfInstanceId }, stack.authHeaders);
    const notSucceeded = (JSON.parse(info.dag) as { nodes: { nodeId: number; status?: number | null }[] }).nodes
      .filter((node) => node.status !== INSTANCE_SUCCEED);
    if (info.status !== WF_SUCCEED || notSucceeded.length > 0 || info.actualTriggerTime === null || info.finishedTime === null) {
      throw new Error(`${shape.label}: workflow ${workflowId} instance ${wfInstanceId} ended with status ${info.status} ("${info.result}"), `
        + `${notSucceeded.length} nodes not SUCCEED (${notSucceeded.slice(0, 5).map((node) => `${node.nodeId}: ${node.status}`).join(', ')}), `
        + `actualTriggerTime ${info.actualTriggerTime}, finishedTime ${info.finishedTime}`);
    }
    return { fireToFinish: info.finishedTime - info.actualTriggerTime, closed, historyBytes: await historyBytes(handle) };
  };
}

/** One run of the shape as bare child workflows. */
function bareDag(stack: BenchStack, taskQueue: string, name: ShapeName): () => Promise<Sample> {
  const shape = SHAPES[name];
  let next = 0;
  return async () => {
    const sent = Date.now();
    const handle = await stack.client.workflow.start<typeof bareDagChain | typeof bareDagFanOut>(shape.bareWorkflow, {
      taskQueue, workflowId: `${taskQueue}-${name}-${next++}`, args: [SIZE],
    });
    const { ran, fireToFinishMs } = await handle.result();
    const closed = Date.now() - sent;
    if (ran !== shape.nodes) throw new Error(`bare ${shape.label}: ${ran}/${shape.nodes} nodes succeeded`);
    return { fireToFinish: fireToFinishMs, closed, historyBytes: await historyBytes(handle) };
  };
}

async function main(): Promise<number> {
  const loadBefore = loadavg()[0]!;
  const stack = await startBenchStack((line) => console.log(line), TEMPORAL_ADDRESS);
  const bare = await startBareWorker(stack);
  try {
    const runs = {
      chain: await tempojobDag(stack, 'chain'),
      bareChain: bareDag(stack, bare.taskQueue, 'chain'),
      fan: await tempojobDag(stack, 'fan'),
      bareFan: bareDag(stack, bare.taskQueue, 'fan'),
    };
    const KINDS = ['chain', 'bareChain', 'fan', 'bareFan'] as const;
    console.log(`Warm-up: ${WARMUP} run${WARMUP === 1 ? '' : 's'} of each…`);
    for (let i = 0; i < WARMUP; i++) for (const kind of KINDS) await runs[kind]();

    const samples: Record<(typeof KINDS)[number], Sample[]> = { chain: [], bareChain: [], fan: [], bareFan: [] };
    for (let i = 0; i < RUNS; i++) {
      // Rotate which one goes first.
      for (let k = 0; k < KINDS.length; k++) {
        const kind = KINDS[(i + k) % KINDS.length]!;
        samples[kind].push(await runs[kind]());
      }
      console.log(`run ${i + 1}/${RUNS} done (load ${loadavg()[0]!.toFixed(1)})`);
    }

    const loadAfter = loadavg()[0]!;
    const command = `npm run bench:dag -- --size ${SIZE} --runs ${RUNS} --warmup ${WARMUP}${TEMPORAL_ADDRESS ? ` --temporal-address ${TEMPORAL_ADDRESS}` : ''}`;
    const lines = [`\nDAG of no-op JOB nodes, fire → finish, ${RUNS} runs each (ms)\n`, '| shape | run | fire→finish p50 | max | request→closed p50 | history KiB |', '|---|---|---|---|---|---|'];
    const verdicts: string[] = [];
    let missed = false;
    for (const [name, ours, theirs] of [['chain', 'chain', 'bareChain'], ['fan', 'fan', 'bareFan']] as const) {
      const shape = SHAPES[name];
      const t = stats(samples[ours].map((s) => s.fireToFinish));
      const b = stats(samples[theirs].map((s) => s.fireToFinish));
      const kib = (kind: keyof typeof samples) => Math.round(percentile(samples[kind].map((s) => s.historyBytes), 50) / 1024);
      lines.push(`| ${shape.label} | tempojob | ${t.p50} | ${t.max} | ${percentile(samples[ours].map((s) => s.closed), 50)} | ${kib(ours)} |`);
      lines.push(`| ${shape.label} | bare Temporal | ${b.p50} | ${b.max} | ${percentile(samples[theirs].map((s) => s.closed), 50)} | ${kib(theirs)} |`);
      const ratio = b.p50 / t.p50;
      const met = ratio >= TARGET;
      missed ||= !met;
      verdicts.push(`${shape.label}: bare ÷ tempojob ${ratio.toFixed(3)}× (target >= ${TARGET}×, i.e. tempojob p50 <= ${Math.floor(b.p50 / TARGET)} ms: ${met ? 'met' : 'MISSED'})`);
      report({
        benchmark: 'bench:dag',
        measure: `DAG workflow, ${shape.label} no-op JOB nodes, ${RUNS} runs: fire → finish (ratio: bare ÷ tempojob p50)`,
        tempojob: `p50 ${t.p50} ms, max ${t.max} ms, history ${kib(ours)} KiB (target ≥ ${TARGET}× bare: ${met ? 'met' : 'MISSED'})`,
        bare: `p50 ${b.p50} ms, max ${b.max} ms, history ${kib(theirs)} KiB (a child workflow per node, one no-op activity each)`,
        ratio,
        command,
      });
    }
    console.log([
      ...lines, '', ...verdicts,
      `load average (1 min) before ${loadBefore.toFixed(2)}, after ${loadAfter.toFixed(2)}, on ${availableParallelism()} cores`,
      `reproduce: ${command}`,
    ].join('\n'));
    return missed ? 1 : 0;
  } finally {
    await bare.stop();
    await stack.close();
  }
}

runBenchmark('bench:dag', main);
