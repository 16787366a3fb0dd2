import { once } from 'node:events';
import { createConnection, createServer, type Server, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkInvariants, type CheckInput } from '../scripts/chaos/check.js';
import { FaultProxy } from '../scripts/chaos/fault-proxy.js';
import { FAULT_PROFILES, planFaults, type AppliedFault } from '../scripts/chaos/faults.js';
import type { ExecutionRecord } from '../scripts/chaos/records.js';
import type { InstanceFacts } from '../scripts/chaos/reads.js';
import type { TrackedRun } from '../scripts/chaos/workload.js';

/**
 * The chaos suite's own parts that need no cluster (scripts/chaos; the suite itself runs in
 * the cluster run): the seeded fault schedule, the fault proxy, and the invariant checker
 * finding each kind of violation it is there to find, with the ids and workers involved.
 */

const TARGETS = ['api-1', 'api-2', 'core-1', 'core-2', 'processor-1', 'processor-2', 'processor-3', 'temporal-frontend', 'temporal-history', 'temporal-matching', 'temporal-worker'];

describe('fault schedule', () => {
  it('is the same for the same seed, and another for another seed', () => {
    const plan = planFaults(413, 30 * 60_000, FAULT_PROFILES.full, TARGETS);
    expect(planFaults(413, 30 * 60_000, FAULT_PROFILES.full, TARGETS)).toEqual(plan);
    expect(planFaults(414, 30 * 60_000, FAULT_PROFILES.full, TARGETS)).not.toEqual(plan);
  });

  it('deals a kill and a stall of every process, a PostgreSQL restart, a proxy delay and a proxy drop before any fault again', () => {
    const plan = planFaults(7, 60 * 60_000, FAULT_PROFILES.full, TARGETS);
    const deck = plan.slice(0, TARGETS.length * 2 + 3).map((f) => `${f.kind} ${f.target ?? ''}`.trim());
    expect(new Set(deck)).toEqual(new Set([...TARGETS.flatMap((t) => [`kill ${t}`, `stall ${t}`]), 'pg-restart', 'proxy-delay', 'proxy-drop']));
    for (const fault of plan.filter((f) => f.kind === 'stall')) expect(fault.durationMs).toBeGreaterThanOrEqual(1_000);
    for (const fault of plan.filter((f) => f.kind === 'stall')) expect(fault.durationMs).toBeLessThanOrEqual(60_000);
    for (let i = 1; i < plan.length; i++) expect(plan[i]!.atMs).toBeGreaterThan(plan[i - 1]!.atMs + (plan[i - 1]!.durationMs ?? 0));
  });
});

describe('fault proxy', () => {
  let echo: Server;
  let proxy: FaultProxy;
  beforeAll(async () => {
    echo = createServer((socket) => socket.pipe(socket));
    echo.listen(0, '127.0.0.1');
    await once(echo, 'listening');
    proxy = await FaultProxy.start('127.0.0.1', (echo.address() as { port: number }).port);
  });
  afterAll(async () => {
    await proxy.close();
    echo.close();
  });

  const connect = async () => {
    const socket = createConnection({ host: '127.0.0.1', port: proxy.port });
    await once(socket, 'connect');
    return socket;
  };
  const roundTrip = async (socket: Socket, text: string) => {
    const started = Date.now();
    socket.write(text);
    const [chunk] = (await once(socket, 'data')) as [Buffer];
    return { text: chunk.toString(), ms: Date.now() - started };
  };

  it('passes bytes through, delays them both ways when told, in order', async () => {
    const socket = await connect();
    expect((await roundTrip(socket, 'hello')).text).toBe('hello');
    proxy.delay(150);
    const delayed = await roundTrip(socket, 'later');
    expect(delayed.text).toBe('later');
    expect(delayed.ms).toBeGreaterThanOrEqual(280);
    proxy.heal();
    socket.destroy();
  });

  it('drops bytes when told, and on healing resets the connections that lost some', async () => {
    const socket = await connect();
    proxy.drop();
    const closed = once(socket, 'close');
    const received: Buffer[] = [];
    socket.on('data', (chunk: Buffer) => received.push(chunk));
    const dropped = once(proxy, 'dropped');
    socket.write('lost');
    expect(await dropped).toEqual([4]);
    proxy.heal();
    await closed;
    expect(Buffer.concat(received).toString()).toBe('');
    const fresh = await connect();
    expect((await roundTrip(fresh, 'again')).text).toBe('again');
    fresh.destroy();
  });
});

describe('invariant checker', () => {
  const T0 = Date.UTC(2026, 11, 1, 12);
  let nextPid = 100;
  const exec = (instanceId: number, key: string, at: number, workerId = 'chaos-worker-1', extra: Partial<ExecutionRecord> = {}): ExecutionRecord[] => {
    const pid = nextPid++;
    const base = { instanceId, jobId: 1, attempt: 1, taskId: null, key, step: 'run' as const, workerId, pid, inWorkflow: false, ...extra };
    return [{ ...base, ev: 'start', at }, { ...base, ev: 'end', at: at + 10, ok: true }];
  };
  const facts = (instanceId: number, status: InstanceFacts['status'], extra: Partial<InstanceFacts> = {}): InstanceFacts => ({
    instanceId, jobId: 1, status, result: status === 'FAILED' ? 'worker lost: chaos-worker-1' : 'ok', expectedTriggerTime: T0, actualTriggerTime: T0 + 5, ...extra,
  });
  const run = (instanceId: number, extra: Partial<TrackedRun> = {}): TrackedRun => ({ kind: 'run', jobId: 1, instanceId, submittedAt: T0 - 100, answeredAt: T0 - 50, delayMs: 0, ...extra });
  const input = (parts: Partial<CheckInput>): CheckInput => ({
    tracked: [], unanswered: [], instances: new Map(), workflows: new Map(), fires: [], records: [], faults: [],
    processOf: (workerId) => `processor-${workerId.replace('chaos-worker-', '')}`, mapSize: 2, mapJobId: 3, broadcastJobId: 2, ...parts,
  });
  const kinds = (parts: Partial<CheckInput>) => checkInvariants(input(parts)).violations.map((v) => v.kind);

  it('finds nothing wrong with runs executed once, a run FAILED with its reason, and a delayed run on time', () => {
    expect(kinds({
      tracked: [run(1), run(2), run(3, { kind: 'run-delayed', delayMs: 5_000 })],
      instances: new Map([[1, facts(1, 'SUCCEED')], [2, facts(2, 'FAILED')], [3, facts(3, 'SUCCEED')]]),
      records: [...exec(1, 'tempojob:1:1', T0), ...exec(3, 'tempojob:3:1', T0 + 4_950)],
    })).toEqual([]);
  });

  it('reports an attempt started twice, naming both workers, their pids and the faults around it', () => {
    const stall: AppliedFault = { atMs: 0, kind: 'stall', target: 'processor-1', durationMs: 30_000, startedAt: T0 + 1_000, endedAt: T0 + 31_000 };
    const result = checkInvariants(input({
      tracked: [run(1)], instances: new Map([[1, facts(1, 'SUCCEED')]]), faults: [stall],
      records: [...exec(1, 'tempojob:1:1', T0, 'chaos-worker-1'), ...exec(1, 'tempojob:1:1', T0 + 12_000, 'chaos-worker-2')],
    }));
    expect(result.violations.map((v) => v.kind)).toEqual(['duplicate-execution']);
    const [violation] = result.violations;
    expect(violation).toMatchObject({ instanceId: 1, message: expect.stringMatching(/chaos-worker-1 pid \d+ .*chaos-worker-2 pid \d+/) });
    expect(violation!.executions!.map((e) => e.workerId)).toEqual(['chaos-worker-1', 'chaos-worker-1', 'chaos-worker-2', 'chaos-worker-2']);
    expect(violation!.faults).toEqual([expect.stringContaining('stall processor-1 30000 ms')]);
  });

  it('reports a run whose user code completed under two attempts', () => {
    expect(kinds({
      tracked: [run(1)], instances: new Map([[1, facts(1, 'SUCCEED')]]),
      records: [...exec(1, 'tempojob:1:1', T0), ...exec(1, 'tempojob:1:2', T0 + 11_000, 'chaos-worker-2', { attempt: 2 })],
    })).toEqual(['executed-twice']);
  });

  it('lists, not reports, a run completed again under a new attempt after its worker was declared lost', () => {
    const base = {
      tracked: [run(1)], instances: new Map([[1, facts(1, 'SUCCEED')]]),
      records: [...exec(1, 'tempojob:1:1', T0), ...exec(1, 'tempojob:1:2', T0 + 11_000, 'chaos-worker-2', { attempt: 2 })],
    };
    const stall: AppliedFault = { atMs: 0, kind: 'stall', target: 'temporal-frontend', startedAt: T0 + 500, endedAt: T0 + 30_000 };
    const result = checkInvariants(input({ ...base, faults: [stall] }));
    expect(result.violations).toEqual([]);
    expect(result.rerunsAfterLoss).toEqual([{ instanceId: 1, step: 'run', keys: ['tempojob:1:1', 'tempojob:1:2'], cause: expect.stringContaining('stall temporal-frontend') }]);
  });

  it('attributes a re-run to the first holder\'s stall even when that stalled run ended last', () => {
    const stalledFirst = exec(1, 'tempojob:1:1', T0).map((r) => (r.ev === 'end' ? { ...r, at: T0 + 40_000 } : r));
    const result = checkInvariants(input({
      tracked: [run(1)], instances: new Map([[1, facts(1, 'SUCCEED')]]),
      records: [...stalledFirst, ...exec(1, 'tempojob:1:2', T0 + 11_000, 'chaos-worker-2', { attempt: 2 })],
      faults: [{ atMs: 0, kind: 'stall', target: 'processor-1', startedAt: T0 + 800, endedAt: T0 + 40_000 }],
    }));
    expect(result.violations).toEqual([]);
    expect(result.rerunsAfterLoss).toEqual([{ instanceId: 1, step: 'run', keys: ['tempojob:1:1', 'tempojob:1:2'], cause: expect.stringContaining('stall processor-1') }]);
  });

  it('attributes a re-run to a holder whose user code began only after its stall, and to a stall of the history service', () => {
    const resumed = checkInvariants(input({
      tracked: [run(1)], instances: new Map([[1, facts(1, 'SUCCEED')]]),
      records: [...exec(1, 'tempojob:1:2', T0 + 11_000, 'chaos-worker-1', { attempt: 2 }), ...exec(1, 'tempojob:1:1', T0 + 40_012, 'chaos-worker-3')],
      faults: [{ atMs: 0, kind: 'stall', target: 'processor-3', startedAt: T0, endedAt: T0 + 40_000 }],
    }));
    expect(resumed.violations).toEqual([]);
    expect(resumed.rerunsAfterLoss).toEqual([{ instanceId: 1, step: 'run', keys: ['tempojob:1:1', 'tempojob:1:2'], cause: expect.stringContaining('stall processor-3') }]);
    const history = checkInvariants(input({
      tracked: [run(1)], instances: new Map([[1, facts(1, 'SUCCEED')]]),
      records: [...exec(1, 'tempojob:1:2', T0), ...exec(1, 'tempojob:1:3', T0 + 60_000, 'chaos-worker-1', { attempt: 3 })].map((r) => ({ ...r, attempt: r.key.endsWith(':3') ? 3 : 2 })),
      faults: [{ atMs: 0, kind: 'stall', target: 'temporal-history', startedAt: T0 + 1_000, endedAt: T0 + 59_000 }],
    }));
    expect(history.violations).toEqual([]);
    expect(history.rerunsAfterLoss).toHaveLength(1);
  });

  it('reports a lost run, one never finished, one SUCCEED without an execution, and a FAILED one without a reason', () => {
    expect(kinds({
      tracked: [run(1), run(2), run(3), run(4)],
      instances: new Map([[1, facts(1, 'NOT_FOUND')], [2, facts(2, 'RUNNING')], [3, facts(3, 'SUCCEED')], [4, facts(4, 'FAILED', { result: '' })]]),
    })).toEqual(['accepted-but-lost', 'not-finished', 'succeeded-without-execution', 'failed-without-reason']);
  });

  it('reports a delayed run that started early', () => {
    expect(kinds({
      tracked: [run(1, { kind: 'run-delayed', delayMs: 10_000 })], instances: new Map([[1, facts(1, 'SUCCEED')]]),
      records: exec(1, 'tempojob:1:1', T0 + 9_000),
    })).toEqual(['early']);
  });

  it('reports a cancel answered OK whose run executed anyway, and a stop answered OK whose run succeeded', () => {
    expect(kinds({
      tracked: [run(1, { kind: 'cancel', delayMs: 20_000, cancel: { ok: true, answeredAt: T0 } }), run(2, { kind: 'stop', stop: { ok: true, answeredAt: T0 + 5_000 } })],
      instances: new Map([[1, facts(1, 'SUCCEED')], [2, facts(2, 'SUCCEED')]]),
      records: [...exec(1, 'tempojob:1:1', T0 + 20_000), ...exec(2, 'tempojob:2:1', T0)],
    })).toEqual(['canceled-but-executed', 'cancel-acknowledged-not-canceled', 'stop-acknowledged-not-stopped']);
  });

  it('lets an attempt admitted before a stop begin just after the answer, and reports a later start without a fault to delay it', () => {
    const stopped = (startAt: number, faults: AppliedFault[] = []) => checkInvariants(input({
      tracked: [run(3, { kind: 'stop', stop: { ok: true, answeredAt: T0 } })], instances: new Map([[3, facts(3, 'STOPPED')]]),
      records: exec(3, 'tempojob:3:1', startAt, 'chaos-worker-2'), faults,
    }));
    const justAfter = stopped(T0 + 1);
    expect(justAfter.violations).toEqual([]);
    expect(justAfter.admittedBeforeStop).toEqual([{ instanceId: 3, key: 'tempojob:3:1', afterMs: 1, cause: expect.stringContaining('transit') }]);
    expect(stopped(T0 + 5_000).violations.map((v) => v.kind)).toEqual(['started-after-stop']);
    const stall: AppliedFault = { atMs: 0, kind: 'stall', target: 'processor-2', startedAt: T0 - 500, endedAt: T0 + 4_000, durationMs: 4_500 };
    const delayed = stopped(T0 + 5_000, [stall]);
    expect(delayed.violations).toEqual([]);
    expect(delayed.admittedBeforeStop).toEqual([{ instanceId: 3, key: 'tempojob:3:1', afterMs: 5_000, cause: expect.stringContaining('stall processor-2') }]);
  });

  it('lets a map sub-task run again after its worker was declared lost, and reports it otherwise', () => {
    const subTask = (at: number, workerId: string) => exec(5, 'tempojob:5:1:t:0.1:1', at, workerId, { jobId: 3, step: 'map', taskId: '0.1' });
    const records = [...subTask(T0, 'chaos-worker-1'), ...subTask(T0 + 12_000, 'chaos-worker-2')];
    const base = { tracked: [run(5, { kind: 'map', jobId: 3 })], instances: new Map([[5, facts(5, 'FAILED', { jobId: 3 })]]), records };
    const kill: AppliedFault = { atMs: 0, kind: 'kill', target: 'processor-1', startedAt: T0 + 1_000, endedAt: T0 + 4_000 };
    const lost = checkInvariants(input({ ...base, faults: [kill] }));
    expect(lost.violations).toEqual([]);
    expect(lost.movedMapTasks).toEqual([{ instanceId: 5, key: 'tempojob:5:1:t:0.1:1', cause: expect.stringContaining('kill processor-1') }]);
    expect(kinds(base)).toEqual(['duplicate-execution']);
  });

  it('lets a map\'s root task run again as the same attempt after its holder was declared lost (a history stall), and reports it otherwise', () => {
    const root = (at: number, workerId: string) => exec(5, 'tempojob:5:1:t:0:1', at, workerId, { jobId: 3, step: 'map', taskId: '0' });
    const base = { tracked: [run(5, { kind: 'map', jobId: 3 })], instances: new Map([[5, facts(5, 'FAILED', { jobId: 3 })]]), records: [...root(T0, 'chaos-worker-2'), ...root(T0 + 39_000, 'chaos-worker-1')] };
    const stall: AppliedFault = { atMs: 0, kind: 'stall', target: 'temporal-history', startedAt: T0 + 12, endedAt: T0 + 37_000, durationMs: 36_988 };
    const lost = checkInvariants(input({ ...base, faults: [stall] }));
    expect(lost.violations).toEqual([]);
    expect(lost.movedMapTasks).toEqual([{ instanceId: 5, key: 'tempojob:5:1:t:0:1', cause: expect.stringContaining('stall temporal-history') }]);
    expect(kinds(base)).toEqual(['duplicate-execution']);
  });

  it('reports a broadcast share that ran on another worker, and two instances of one fire time', () => {
    const share = exec(6, 'tempojob:6:1:w:chaos-worker-3:1', T0, 'chaos-worker-1', { jobId: 2, step: 'share', taskId: '0.1' });
    const fire = (instanceId: number) => facts(instanceId, 'SUCCEED', { jobId: 9, expectedTriggerTime: T0 });
    expect(kinds({
      tracked: [run(6, { kind: 'broadcast', jobId: 2 })], instances: new Map([[6, facts(6, 'SUCCEED', { jobId: 2 })]]),
      fires: [fire(7), fire(8)], records: [...share, ...exec(7, 'tempojob:7:1', T0), ...exec(8, 'tempojob:8:1', T0)],
    })).toEqual(['share-moved', 'duplicate-fire']);
  });

  it('reports an execution no API answer named', () => {
    const result = checkInvariants(input({ records: exec(42, 'tempojob:42:1', T0) }));
    expect(result.violations).toMatchObject([{ kind: 'untracked-execution', instanceId: 42 }]);
  });
});
