import { readFileSync, readdirSync } from 'node:fs';
import { join, relative } from 'node:path';
import { Worker, type ReplayResult } from '@temporalio/worker';
import { beforeAll, describe, expect, inject, it } from 'vitest';
import { metricsSinks } from '../src/metrics/sinks.js';
import * as workflows from '../src/workflows/index.js';
import { historyFromJSON } from './support/history-json.js';

/**
 * Users' running executions replay on whatever workflow code the next core worker runs.
 * Every history under test/histories/<workflowType>/ (recorded from real runs by
 * scripts/record-histories.ts, see docs/replay.md) is replayed against the workflow bundle
 * this test run built from src/workflows: a change that would break an in-flight execution
 * with a non-determinism error fails here, one test per history.
 */

const HISTORIES = join(import.meta.dirname, 'histories');

interface HistoryFile {
  /** e.g. instanceWorkflow/map.json */
  name: string;
  workflowType: string;
  workflowId: string;
  json: { workflowId?: string; events: unknown[] };
}

const files: HistoryFile[] = readdirSync(HISTORIES, { recursive: true, encoding: 'utf8' })
  .filter((path) => path.endsWith('.json'))
  .sort()
  .map((path) => {
    const json = JSON.parse(readFileSync(join(HISTORIES, path), 'utf8')) as HistoryFile['json'];
    const name = relative(HISTORIES, join(HISTORIES, path));
    return { name, workflowType: name.split('/')[0]!, workflowId: json.workflowId ?? `replay-${name}`, json };
  });

/** The workflow types the core worker registers: every function src/workflows/index.ts exports (updates and signals are objects). */
const workflowTypes = Object.entries(workflows).filter(([, value]) => typeof value === 'function').map(([name]) => name).sort();

const results = new Map<string, ReplayResult>();

beforeAll(async () => {
  // TEMPOJOB_REPLAY_BUNDLE: replay against another bundle instead, e.g. a release's
  // (scripts/cluster/bundle-workflows.ts) or a deliberately broken one (docs/replay.md).
  const code = readFileSync(process.env.TEMPOJOB_REPLAY_BUNDLE ?? inject('workflowBundlePath'), 'utf8');
  // One replay worker for every history, in file order: results come back in the same order.
  const replays = Worker.runReplayHistories(
    // The metric sinks workflows call (none counted: replay workers never call them), so no call is an unregistered sink.
    { workflowBundle: { code }, sinks: metricsSinks(undefined) },
    files.map((file) => ({ workflowId: file.workflowId, history: historyFromJSON(file.json) })),
  );
  let index = 0;
  for await (const result of replays) results.set(files[index++]!.name, result);
}, 120_000);

describe('replay of committed histories', () => {
  it('covers every workflow type the core worker registers', () => {
    const covered = new Set(files.map((file) => file.workflowType));
    const missing = workflowTypes.filter((type) => !covered.has(type));
    expect(missing, `record a history for each (docs/replay.md): npx tsx scripts/record-histories.ts`).toEqual([]);
    expect(workflowTypes.length).toBeGreaterThan(0);
  });

  it.each(files.map((file) => [file.name, file] as const))('%s replays without a determinism error', (_name, file) => {
    const firstEvent = file.json.events[0] as { workflowExecutionStartedEventAttributes?: { workflowType?: { name?: string } } };
    expect(firstEvent.workflowExecutionStartedEventAttributes?.workflowType?.name, 'a history lives in the folder of its workflow type').toBe(file.workflowType);
    const result = results.get(file.name);
    expect(result, 'replayed').toBeDefined();
    if (result?.error) throw result.error;
  });
});
