import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { liveAppWorkers } from '../src/activities/workers.js';
import type { InstanceState } from '../src/domain/instance.js';
import { broadcastShareWorkflowId, parseWorkerIdentity, workerTaskQueue } from '../src/contract/names.js';
import type { TaskResult } from '../src/workers/index.js';
import type { OpenApiCaller } from './support/api-client.js';
import { eventually } from './support/eventually.js';
import { spawnTs, type ChildHandle } from './support/processes.js';
import { startTestStack, type TestStack } from './support/stack.js';

/**
 * Failure story 2: during a broadcast one worker dies. PowerJob (#1003, before 5.1.1)
 * handed the dead worker's sub-task to a healthy worker that had already run its own. Here
 * every share is a child workflow whose activity is pinned to its worker's own queue, so a
 * lost share fails (naming the worker) and goes nowhere else. Real processes, real SIGKILL;
 * executions are counted from the processors' own append-only log.
 */

/** Detection bound of this file (TEMPOJOB_HEARTBEAT_TIMEOUT_MS): long enough for a restarted process to come up. */
const WORKER_LOST_MS = 8_000;

interface Line {
  step: 'pre' | 'process-start' | 'process-done' | 'post';
  workerId: string;
  pid: number;
  instanceId: number;
  attempt: number;
  key: string;
  results?: TaskResult[];
}

const dir = mkdtempSync(join(tmpdir(), 'tempojob-broadcast-'));
const children: WorkerProcess[] = [];
let stack: TestStack;

/** A worker process; its ready line tells its pid, so a restart is provably a new process. */
interface WorkerProcess {
  handle: ChildHandle;
  ready: Promise<number>;
  /** SIGKILL of the worker's process group, as a crash would; resolves once it is gone. */
  crash(): Promise<void>;
}

function spawnWorkerProcess(env: Record<string, string>): WorkerProcess {
  const handle = spawnTs('test/fixtures/broadcast-worker.ts', env, /broadcast worker .* ready \(pid \d+\)/);
  let output = '';
  const pid = new Promise<number>((resolvePid) => {
    handle.child.stdout!.on('data', (chunk: Buffer) => {
      output += chunk.toString();
      const match = /ready \(pid (\d+)\)/.exec(output);
      if (match) resolvePid(Number(match[1]));
    });
  });
  const ready = handle.ready.then(() => pid);
  ready.catch(() => {});
  return { handle, ready, crash: () => handle.kill() };
}

beforeAll(async () => {
  stack = await startTestStack({ TEMPOJOB_HEARTBEAT_TIMEOUT_MS: String(WORKER_LOST_MS) });
});
afterAll(async () => {
  for (const child of children) await child.crash();
  await stack?.close();
  rmSync(dir, { recursive: true, force: true });
});

function readLines(file: string): Line[] {
  if (!existsSync(file)) return [];
  return readFileSync(file, 'utf8').split('\n').filter(Boolean).map((line) => JSON.parse(line) as Line);
}

/** Resolves once the processors' log satisfies the predicate (the processors are the events). */
function untilLines(file: string, done: (lines: Line[]) => boolean, timeoutMs = 60_000): Promise<Line[]> {
  return eventually(async () => readLines(file), done, timeoutMs);
}

async function setUp(name: string, workerIds: string[]) {
  const { appName, api } = await stack.newApp(name);
  const recordFile = join(dir, `${name}.jsonl`);
  const spawnWorker = (workerId: string) => {
    const child = spawnWorkerProcess({
      TEMPORAL_ADDRESS: inject('temporalAddress'), RECORD_FILE: recordFile, RECORD_APP: appName, RECORD_WORKER_ID: workerId,
    });
    children.push(child);
    return child;
  };
  // One after another: starting five TypeScript processes at once saturates a 2-core CI
  // machine for seconds, which other suites' timing tests running alongside would feel.
  const workers = new Map<string, WorkerProcess>();
  for (const id of workerIds) {
    const worker = spawnWorker(id);
    workers.set(id, worker);
    await worker.ready;
  }
  // Fire only once Temporal itself lists every worker: membership is Temporal's view.
  await eventually(() => liveAppWorkers(stack.client, appName), (live) => live.length === workerIds.length, 30_000);
  const jobId = await api.data<number>('saveJob', {
    jobName: 'cluster-wide', timeExpressionType: 'API', executeType: 'BROADCAST', processorType: 'BUILT_IN', processorInfo: 'gatedBroadcast',
    taskRetryNum: name.includes('restart') ? 1 : 0,
    retryBackoff: { initialIntervalMs: 100, backoffCoefficient: 1, maximumIntervalMs: 100 },
  });
  const run = (gate: string) => api.data<number>('runJob', { jobId, instanceParams: JSON.stringify({ gate }) }, { form: true });
  return { appName, api, recordFile, workers, spawnWorker, run };
}

interface InfoDTO {
  status: number;
  result: string | null;
  broadcast?: { workerId: string; status: string; result: string | null; attempts: number }[];
}
const info = (api: OpenApiCaller, instanceId: number) => api.data<InfoDTO>('fetchInstanceInfo', { instanceId }, { form: true });

/** What Temporal holds: every activity of a share's child ran on that worker's own queue, and only there. */
async function expectPinned(appName: string, instanceId: number, workerId: string) {
  const history = await stack.client.workflow.getHandle(broadcastShareWorkflowId(instanceId, workerId)).fetchHistory();
  const scheduled = (history.events ?? []).filter((e) => e.activityTaskScheduledEventAttributes);
  expect(scheduled.length).toBeGreaterThan(0);
  for (const event of scheduled) {
    expect(event.activityTaskScheduledEventAttributes!.taskQueue!.name).toBe(workerTaskQueue(appName, workerId));
  }
  for (const event of (history.events ?? []).filter((e) => e.activityTaskStartedEventAttributes)) {
    expect(parseWorkerIdentity(event.activityTaskStartedEventAttributes!.identity!).workerId).toBe(workerId);
  }
}

describe('story 2: a worker dies during a broadcast', () => {
  it('five workers, one SIGKILLed mid-process: the other four ran exactly once, the lost share fails naming its worker', { timeout: 180_000 }, async () => {
    const ids = ['bw-1', 'bw-2', 'bw-3', 'bw-4', 'bw-5'];
    const victim = 'bw-3';
    const { appName, api, recordFile, workers, run } = await setUp('bkill', ids);
    const gate = join(dir, 'bkill.gate');
    const instanceId = await run(gate);
    await untilLines(recordFile, (lines) => lines.filter((l) => l.instanceId === instanceId && l.step === 'process-start').length === 5);

    const killedAt = Date.now();
    await workers.get(victim)!.crash();
    writeFileSync(gate, 'go');
    const state = (await stack.finished(instanceId)) as InstanceState;
    const detectedIn = Date.now() - killedAt;

    const lines = readLines(recordFile).filter((l) => l.instanceId === instanceId);
    const count = (step: Line['step'], workerId: string) => lines.filter((l) => l.step === step && l.workerId === workerId).length;
    for (const id of ids) {
      expect(count('process-start', id), `${id} started`).toBe(1);
      expect(count('process-done', id), `${id} finished`).toBe(id === victim ? 0 : 1);
    }
    expect(lines.filter((l) => l.step === 'pre')).toHaveLength(1);
    const post = lines.filter((l) => l.step === 'post');
    expect(post).toHaveLength(1);
    expect(post[0]!.results).toHaveLength(5);
    expect(post[0]!.results!.filter((r) => r.success).map((r) => r.workerId)).toEqual(ids.filter((id) => id !== victim));
    expect(post[0]!.results!.find((r) => r.workerId === victim)).toMatchObject({ success: false, result: `worker lost: ${victim} stopped heartbeating` });

    expect(state.status).toBe('FAILED');
    const dto = await info(api, instanceId);
    expect(dto).toMatchObject({ status: 4, result: 'succeed:4, failed:1' });
    expect(dto.broadcast).toEqual(ids.map((workerId) => workerId === victim
      ? { workerId, status: 'FAILED', result: `worker lost: ${victim} stopped heartbeating`, attempts: 1 }
      : { workerId, status: 'SUCCEED', result: `done on ${workerId}`, attempts: 1 }));
    // Bounded: the lost share is detected within the configured bound (default 10 s), well under 30 s.
    expect(detectedIn).toBeLessThan(Math.min(30_000, WORKER_LOST_MS + 15_000));
    for (const id of ids) await expectPinned(appName, instanceId, id);

    // The dead worker is still listed by Temporal (pollers linger for minutes): the next
    // broadcast includes it, and its share fails fast on its own queue instead of hanging
    // or moving — the live four again run exactly once.
    const next = await run(gate);
    const sent = Date.now();
    await stack.finished(next);
    const nextLines = readLines(recordFile).filter((l) => l.instanceId === next);
    expect(nextLines.filter((l) => l.step === 'process-done').map((l) => l.workerId).sort()).toEqual(ids.filter((id) => id !== victim));
    expect(nextLines.filter((l) => l.step === 'process-start')).toHaveLength(4);
    const nextDto = await info(api, next);
    expect(nextDto).toMatchObject({ status: 4, result: 'succeed:4, failed:1' });
    expect(nextDto.broadcast!.find((s) => s.workerId === victim)).toEqual({
      workerId: victim, status: 'FAILED', result: `worker lost: ${victim} did not take its share within ${WORKER_LOST_MS / 1000} s`, attempts: 1,
    });
    expect(Date.now() - sent).toBeLessThan(WORKER_LOST_MS + 15_000);
  });

  it('a worker restarted under the same identity retries only its own share (taskRetryNum)', { timeout: 180_000 }, async () => {
    const ids = ['rw-1', 'rw-2', 'rw-3'];
    const victim = 'rw-2';
    const { api, recordFile, workers, spawnWorker, run } = await setUp('brestart', ids);
    const gate = join(dir, 'brestart.gate');
    const instanceId = await run(gate);
    await untilLines(recordFile, (lines) => lines.filter((l) => l.instanceId === instanceId && l.step === 'process-start').length === 3);
    const oldPid = await workers.get(victim)!.ready;

    await workers.get(victim)!.crash();
    writeFileSync(gate, 'go');
    const newPid = await spawnWorker(victim).ready;
    const state = (await stack.finished(instanceId)) as InstanceState;

    const lines = readLines(recordFile).filter((l) => l.instanceId === instanceId);
    const starts = lines.filter((l) => l.step === 'process-start');
    for (const id of ids.filter((i) => i !== victim)) {
      expect(starts.filter((l) => l.workerId === id).map((l) => l.attempt), id).toEqual([1]);
    }
    // The victim's share ran twice: attempt 1 in the killed process, attempt 2 in the new one.
    expect(starts.filter((l) => l.workerId === victim).map((l) => [l.pid, l.attempt])).toEqual([[oldPid, 1], [newPid, 2]]);
    // The restarted process ran no share but its own.
    const newProcessShares = lines.filter((l) => l.pid === newPid && l.step.startsWith('process'));
    expect(newProcessShares.length).toBeGreaterThan(0);
    expect(newProcessShares.every((l) => l.key.includes(`:w:${victim}:`))).toBe(true);
    expect(new Set(starts.map((l) => l.key)).size).toBe(4);

    expect(state.status).toBe('SUCCEED');
    expect(lines.filter((l) => l.step === 'post')).toHaveLength(1);
    const dto = await info(api, instanceId);
    expect(dto).toMatchObject({ status: 5, result: 'succeed:3, failed:0' });
    expect(dto.broadcast!.find((s) => s.workerId === victim)).toEqual({ workerId: victim, status: 'SUCCEED', result: `done on ${victim}`, attempts: 2 });
  });
});
