import type { Logger } from '@temporalio/common';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { MAX_LOG_BATCH, MAX_LOG_LINE_LENGTH } from '../src/api/schemas.js';
import { TempojobError } from '../src/client/errors.js';
import type { LogConfig } from '../src/domain/job.js';
import { LOG_LEVEL_OFF, LOG_LEVELS, LOG_TYPES, type ShippedLogLine } from '../src/logs/types.js';
import { type LogEntry, LogShipper, type LogShipperOptions } from '../src/workers/log-shipper.js';
import { type TaskLogSinks, taskLogger } from '../src/workers/task-logger.js';

/**
 * A transport that behaves like the log store: it keeps a line once per (instanceId,
 * attempt, workerId, stream, seq) and counts the rest as duplicates. It can fail before
 * storing (`failBefore`), store and then fail as if the answer were lost (`failAfter`), or be
 * down until released; `waitFor` resolves once what it stored satisfies a condition.
 */
class FakeStore {
  readonly stored: ShippedLogLine[] = [];
  readonly batches: ShippedLogLine[][] = [];
  duplicates = 0;
  failBefore = 0;
  failAfter = 0;
  refuseWith: TempojobError | undefined;
  private down = false;
  private readonly keys = new Set<string>();
  private watchers: { ready: () => boolean; resolve: () => void }[] = [];

  readonly transport = async (lines: ShippedLogLine[]): Promise<void> => {
    this.batches.push(lines);
    this.notify();
    if (this.down) throw new Error('connect ECONNREFUSED');
    if (this.failBefore > 0) {
      this.failBefore--;
      throw new Error('socket hang up');
    }
    if (this.refuseWith) throw this.refuseWith;
    for (const line of lines) {
      const key = `${line.instanceId}:${line.attempt}:${line.workerId}:${line.stream}:${line.seq}`;
      if (this.keys.has(key)) this.duplicates++;
      else {
        this.keys.add(key);
        this.stored.push(line);
      }
    }
    this.notify();
    if (this.failAfter > 0) {
      this.failAfter--;
      throw new Error('no answer within 10000 ms');
    }
  };

  goDown(): void {
    this.down = true;
  }

  release(): void {
    this.down = false;
  }

  waitFor(ready: () => boolean): Promise<void> {
    if (ready()) return Promise.resolve();
    return new Promise((resolve) => this.watchers.push({ ready, resolve }));
  }

  of(instanceId: number, attempt = 1): ShippedLogLine[] {
    return this.stored.filter((line) => line.instanceId === instanceId && line.attempt === attempt);
  }

  private notify(): void {
    const ready = this.watchers.filter((w) => w.ready());
    this.watchers = this.watchers.filter((w) => !ready.includes(w));
    for (const w of ready) w.resolve();
  }
}

interface LocalLine {
  level: string;
  message: string;
  meta: Record<string, unknown> | undefined;
}

function recordingLogger(): Logger & { lines: LocalLine[] } {
  const lines: LocalLine[] = [];
  const at = (level: string) => (message: string, meta?: Record<string, unknown>) => { lines.push({ level, message, meta }); };
  return { lines, log: (level, message, meta) => at(level)(message, meta), trace: at('TRACE'), debug: at('DEBUG'), info: at('INFO'), warn: at('WARN'), error: at('ERROR') };
}

function shipperFor(store: FakeStore, options: Partial<LogShipperOptions> = {}) {
  const logger = recordingLogger();
  const shipper = new LogShipper({ transport: store.transport, workerId: 'w1', logger, lingerMs: 5, backoff: { initialMs: 1, maxMs: 8 }, ...options });
  return { shipper, logger };
}

function entry(instanceId: number, message: string, attempt = 1): LogEntry {
  return { instanceId, attempt, taskId: null, level: 'INFO', time: Date.now(), message, fields: null };
}

/** Each (instance, attempt)'s lines were stored once each, seq 1..n in the order they were written. */
function expectInOrder(lines: ShippedLogLine[], messages: string[]): void {
  expect(lines.map((line) => line.message)).toEqual(messages);
  expect(lines.map((line) => line.seq)).toEqual(messages.map((_, i) => i + 1));
}

afterEach(() => {
  vi.useRealTimers();
});

describe('LogShipper', () => {
  it('stores every line once, in seq order per (instance, attempt), across failed sends and lost answers', async () => {
    const store = new FakeStore();
    const { shipper } = shipperFor(store);
    store.failBefore = 3;
    store.failAfter = 2;
    const written = new Map<string, string[]>();
    for (let i = 0; i < 2_500; i++) {
      const instanceId = 1 + (i % 3);
      const attempt = 1 + (i % 2);
      const message = `line ${i}`;
      shipper.enqueue(entry(instanceId, message, attempt));
      written.set(`${instanceId}:${attempt}`, [...(written.get(`${instanceId}:${attempt}`) ?? []), message]);
    }
    expect(await shipper.flush(30_000)).toBe(0);
    expect(store.stored).toHaveLength(2_500);
    for (const [key, messages] of written) {
      const [instanceId, attempt] = key.split(':').map(Number) as [number, number];
      expectInOrder(store.of(instanceId, attempt), messages);
    }
    expect(store.duplicates).toBeGreaterThan(0);
    for (const batch of store.batches) expect(batch.length).toBeLessThanOrEqual(MAX_LOG_BATCH);
    expect(new Set(store.stored.map((line) => line.stream))).toEqual(new Set([shipper.stream]));
    expect(store.stored.every((line) => line.workerId === 'w1')).toBe(true);
  });

  it('sends a batch whose answer was lost again, as it was, and the store keeps it once', async () => {
    const store = new FakeStore();
    const { shipper } = shipperFor(store);
    store.failAfter = 1;
    for (let i = 0; i < 10; i++) shipper.enqueue(entry(7, `l${i}`));
    await shipper.flush(30_000);
    expect(store.batches).toHaveLength(2);
    expect(store.batches[1]).toEqual(store.batches[0]);
    expect(store.duplicates).toBe(10);
    expectInOrder(store.of(7), Array.from({ length: 10 }, (_, i) => `l${i}`));
  });

  it('loses nothing while the API is down, and ships it all once it is back', async () => {
    const store = new FakeStore();
    const { shipper } = shipperFor(store);
    store.goDown();
    const messages = Array.from({ length: 1_500 }, (_, i) => `m${i}`);
    for (const message of messages) shipper.enqueue(entry(3, message));
    await store.waitFor(() => store.batches.length >= 5);
    expect(store.stored).toHaveLength(0);
    expect(shipper.buffered).toBe(1_500);
    store.release();
    expect(await shipper.flush(30_000)).toBe(0);
    expectInOrder(store.of(3), messages);
    expect(shipper.buffered).toBe(0);
  });

  it('says in the instance log exactly how many lines a full buffer dropped, once there is room again', async () => {
    const store = new FakeStore();
    const { shipper } = shipperFor(store, { maxBufferedLines: 10 });
    store.goDown();
    const send = (instanceId: number, from: number, count: number) => {
      for (let i = from; i < from + count; i++) expect(() => shipper.enqueue(entry(instanceId, `i${instanceId} #${i}`))).not.toThrow();
    };
    send(1, 0, 8);
    send(2, 0, 7);
    send(1, 8, 5);
    await store.waitFor(() => store.batches.length >= 2);
    store.release();
    await shipper.flush(30_000);
    // Instance 1: its first 8 lines, then the report of the 5 dropped ones.
    expectInOrder(store.of(1), [...Array.from({ length: 8 }, (_, i) => `i1 #${i}`), "5 log lines dropped: the worker's log buffer was full"]);
    expect(store.of(1).at(-1)).toMatchObject({ level: 'WARN', taskId: null });
    // Instance 2: its first 2 lines fitted, 5 did not.
    expectInOrder(store.of(2), ['i2 #0', 'i2 #1', "5 log lines dropped: the worker's log buffer was full"]);
    // A line written after the loss comes after its report.
    send(2, 7, 1);
    await shipper.flush(30_000);
    expect(store.of(2).at(-1)).toMatchObject({ message: 'i2 #7', seq: 4 });
  });

  it('reports lines dropped before a flush within that flush', async () => {
    const store = new FakeStore();
    const { shipper } = shipperFor(store, { maxBufferedLines: 3 });
    for (let i = 0; i < 5; i++) shipper.enqueue(entry(4, `x${i}`));
    expect(await shipper.flush(30_000)).toBe(0);
    expectInOrder(store.of(4), ['x0', 'x1', 'x2', "2 log lines dropped: the worker's log buffer was full"]);
  });

  it('flush resolves only after the last line is stored', async () => {
    const store = new FakeStore();
    const { shipper } = shipperFor(store);
    store.goDown();
    for (let i = 0; i < 20; i++) shipper.enqueue(entry(5, `f${i}`));
    let flushed = false;
    const flush = shipper.flush(30_000).then((unsent) => { flushed = true; return unsent; });
    await store.waitFor(() => store.batches.length >= 3);
    expect(flushed).toBe(false);
    store.release();
    expect(await flush).toBe(0);
    expect(store.of(5)).toHaveLength(20);
    expect(await shipper.flush(1)).toBe(0);
  });

  it('flush gives up at its deadline, saying locally how many lines were left unsent', async () => {
    vi.useFakeTimers();
    const store = new FakeStore();
    const { shipper, logger } = shipperFor(store);
    store.goDown();
    for (let i = 0; i < 4; i++) shipper.enqueue(entry(6, `d${i}`));
    const flush = shipper.flush(1_000);
    await vi.advanceTimersByTimeAsync(1_000);
    expect(await flush).toBe(4);
    expect(logger.lines).toContainEqual(expect.objectContaining({ level: 'WARN', message: expect.stringContaining('4 log lines left unsent') }));
    // The lines are still held, and go out once the API is back.
    store.release();
    const later = shipper.flush(60_000);
    await vi.advanceTimersByTimeAsync(10);
    expect(await later).toBe(0);
    expect(store.of(6)).toHaveLength(4);
  });

  it('waits 200 ms for a batch to fill, and sends a full batch at once', async () => {
    vi.useFakeTimers();
    const store = new FakeStore();
    const shipper = new LogShipper({ transport: store.transport, workerId: 'w1', logger: recordingLogger() });
    shipper.enqueue(entry(1, 'first'));
    await vi.advanceTimersByTimeAsync(199);
    expect(store.batches).toHaveLength(0);
    await vi.advanceTimersByTimeAsync(1);
    expect(store.batches).toHaveLength(1);
    for (let i = 0; i < MAX_LOG_BATCH; i++) shipper.enqueue(entry(1, `n${i}`));
    await vi.advanceTimersByTimeAsync(0);
    expect(store.batches).toHaveLength(2);
    expect(store.batches[1]).toHaveLength(MAX_LOG_BATCH);
  });

  it('backs off from 100 ms, doubling up to 5 s, with the same batch each time', async () => {
    vi.useFakeTimers();
    vi.spyOn(Math, 'random').mockReturnValue(1);
    const store = new FakeStore();
    const shipper = new LogShipper({ transport: store.transport, workerId: 'w1', logger: recordingLogger(), lingerMs: 0 });
    store.goDown();
    shipper.enqueue(entry(1, 'retry me'));
    await vi.advanceTimersByTimeAsync(0);
    const sends = () => store.batches.length;
    expect(sends()).toBe(1);
    // With the jitter at its top, each wait is the full backoff: 100, 200, 400, … 5,000, 5,000.
    for (const wait of [100, 200, 400, 800, 1_600, 3_200, 5_000, 5_000]) {
      const before = sends();
      await vi.advanceTimersByTimeAsync(wait - 1);
      expect(sends()).toBe(before);
      await vi.advanceTimersByTimeAsync(1);
      expect(sends()).toBe(before + 1);
    }
    expect(new Set(store.batches.map((b) => JSON.stringify(b))).size).toBe(1);
    vi.mocked(Math.random).mockRestore();
  });

  it('drops a batch the API refuses, says so locally, and goes on; a refused login is retried', async () => {
    const store = new FakeStore();
    const { shipper, logger } = shipperFor(store);
    store.refuseWith = new TempojobError('invalid request: lines.0.seq: seq must be >= 1', '-300', 'shipInstanceLog', undefined);
    shipper.enqueue(entry(8, 'refused'));
    expect(await shipper.flush(30_000)).toBe(0);
    expect(store.stored).toHaveLength(0);
    expect(logger.lines).toContainEqual(expect.objectContaining({ level: 'WARN', message: expect.stringMatching(/refused 1 log lines of instance\(s\) 8.*seq must be/) }));

    store.refuseWith = new TempojobError('incorrect password', '-400', 'shipInstanceLog', undefined);
    shipper.enqueue(entry(8, 'kept'));
    await store.waitFor(() => store.batches.length >= 4);
    store.refuseWith = undefined;
    expect(await shipper.flush(30_000)).toBe(0);
    expect(store.of(8).map((line) => line.message)).toEqual(['kept']);
  });

  it('keeps batches of long lines well under the API body limit', async () => {
    const store = new FakeStore();
    const { shipper } = shipperFor(store);
    for (let i = 0; i < 200; i++) shipper.enqueue(entry(9, 'é'.repeat(MAX_LOG_LINE_LENGTH)));
    // Characters JSON escapes to six bytes each: control characters and lone surrogates.
    for (let i = 0; i < 100; i++) shipper.enqueue(entry(9, (i % 2 === 0 ? '\u0001' : '\ud800').repeat(MAX_LOG_LINE_LENGTH)));
    await shipper.flush(30_000);
    expect(store.of(9)).toHaveLength(300);
    for (const batch of store.batches) expect(Buffer.byteLength(JSON.stringify({ lines: batch }))).toBeLessThan(1024 * 1024);
  });
});

describe('TaskLogger', () => {
  function sinks(withShipper = true) {
    const store = new FakeStore();
    const { shipper } = shipperFor(store);
    const local = recordingLogger();
    const stdout: string[] = [];
    const to: TaskLogSinks = { shipper: withShipper ? shipper : undefined, local, stdout: (text) => { stdout.push(text); } };
    return { store, shipper, local, stdout, to };
  }

  const config = (type: number, level: number = LOG_LEVELS.INFO): LogConfig => ({ type, level, loggerName: null });
  const scope = (logConfig: LogConfig | null | undefined, taskId: string | null = null) => ({ instanceId: 11, attempt: 2, taskId, logConfig });

  function writeAll(logger: ReturnType<typeof taskLogger>) {
    logger.debug('d');
    logger.info('i', { a: 1 });
    logger.warn('w');
    logger.error('e');
  }

  it('ONLINE by default (absent, null, or an unknown type), at INFO and above, tagged with the instance attempt and task', async () => {
    for (const logConfig of [undefined, null, config(42)]) {
      const { store, shipper, local, to } = sinks();
      writeAll(taskLogger(scope(logConfig, '0.3'), to));
      await shipper.flush(30_000);
      expect(store.stored.map((line) => [line.level, line.message, line.fields])).toEqual([['INFO', 'i', { a: 1 }], ['WARN', 'w', null], ['ERROR', 'e', null]]);
      expect(store.stored[0]).toMatchObject({ instanceId: 11, attempt: 2, taskId: '0.3', seq: 1 });
      expect(local.lines).toHaveLength(0);
    }
  });

  it('filters by the job level: DEBUG lets everything through, OFF nothing', async () => {
    const levels = async (level: number) => {
      const { store, shipper, to } = sinks();
      writeAll(taskLogger(scope(config(LOG_TYPES.ONLINE, level)), to));
      await shipper.flush(30_000);
      return store.stored.map((line) => line.level);
    };
    expect(await levels(LOG_LEVELS.DEBUG)).toEqual(['DEBUG', 'INFO', 'WARN', 'ERROR']);
    expect(await levels(LOG_LEVELS.WARN)).toEqual(['WARN', 'ERROR']);
    expect(await levels(LOG_LEVEL_OFF)).toEqual([]);
  });

  it('LOCAL goes to the worker log only, STDOUT to stdout only, LOCAL_AND_ONLINE to both, NULL nowhere', async () => {
    const run = async (type: number) => {
      const s = sinks();
      writeAll(taskLogger(scope(config(type), '0'), s.to));
      await s.shipper.flush(30_000);
      return { shipped: s.store.stored.length, local: s.local.lines, stdout: s.stdout };
    };
    const local = await run(LOG_TYPES.LOCAL);
    expect(local.shipped).toBe(0);
    expect(local.stdout).toEqual([]);
    expect(local.local.map((line) => line.level)).toEqual(['INFO', 'WARN', 'ERROR']);
    expect(local.local[0]).toEqual({ level: 'INFO', message: 'i', meta: { a: 1, instanceId: 11, instanceAttempt: 2, taskId: '0' } });

    const stdout = await run(LOG_TYPES.STDOUT);
    expect([stdout.shipped, stdout.local.length]).toEqual([0, 0]);
    expect(stdout.stdout).toHaveLength(3);
    expect(stdout.stdout[0]).toMatch(/^\S+ INFO \[instance 11 attempt 2 task 0\] i \{"a":1\}\n$/);

    const both = await run(LOG_TYPES.LOCAL_AND_ONLINE);
    expect([both.shipped, both.local.length, both.stdout.length]).toEqual([3, 3, 0]);

    const none = await run(LOG_TYPES.NULL);
    expect([none.shipped, none.local.length, none.stdout.length]).toEqual([0, 0, 0]);
  });

  it('takes Temporal\'s Logger forms too: trace as DEBUG, log(level, …); LOCAL lines carry the job\'s loggerName', async () => {
    const { store, shipper, to } = sinks();
    const logger = taskLogger(scope(config(LOG_TYPES.ONLINE, LOG_LEVELS.DEBUG)), to);
    logger.trace('t');
    logger.log('TRACE', 'lt');
    logger.log('WARN', 'lw', { k: 'v' });
    await shipper.flush(30_000);
    expect(store.stored.map((line) => [line.level, line.message, line.fields])).toEqual([['DEBUG', 't', null], ['DEBUG', 'lt', null], ['WARN', 'lw', { k: 'v' }]]);

    const named = sinks();
    taskLogger(scope({ type: LOG_TYPES.LOCAL, level: LOG_LEVELS.INFO, loggerName: 'billing.invoices' }), named.to).info('x');
    expect(named.local.lines).toEqual([{ level: 'INFO', message: 'x', meta: { instanceId: 11, instanceAttempt: 2, loggerName: 'billing.invoices' } }]);
  });

  it('without an API to ship to, ONLINE lines go to the worker log', () => {
    const { local, to } = sinks(false);
    writeAll(taskLogger(scope(undefined), to));
    expect(local.lines.map((line) => line.message)).toEqual(['i', 'w', 'e']);
  });

  it('ships fields as JSON keeps them, copied when the line is written', async () => {
    const { store, shipper, to } = sinks();
    const logger = taskLogger(scope(undefined), to);
    const fields: Record<string, unknown> = { n: 1, s: 'text', ok: true, none: null, gone: undefined, nan: Number.NaN };
    logger.info('flat', fields);
    fields.n = 2;
    logger.info('nested', { deep: { n: 1 }, list: [1, 'a'] });
    await shipper.flush(30_000);
    expect(store.stored.map((line) => line.fields)).toEqual([
      { n: 1, s: 'text', ok: true, none: null, nan: null },
      { deep: { n: 1 }, list: [1, 'a'] },
    ]);
  });

  it('cuts a line that is too long, saying by how much, and never throws on odd input', async () => {
    const { store, shipper, to } = sinks();
    const logger = taskLogger(scope(undefined), to);
    logger.info('x'.repeat(MAX_LOG_LINE_LENGTH + 500));
    const cycle: Record<string, unknown> = { name: 'loop' };
    cycle.self = cycle;
    const unprintable = { toString: () => { throw new Error('no'); } };
    expect(() => {
      logger.info('fields', { big: 10n, err: new Error('boom'), fn: () => 1, cycle });
      logger.warn(unprintable as unknown as string, 'not an object' as unknown as Record<string, unknown>);
      logger.error('huge fields', { blob: 'y'.repeat(MAX_LOG_LINE_LENGTH * 2) });
    }).not.toThrow();
    await shipper.flush(30_000);
    const [long, fields, odd, huge] = store.stored;
    expect(long!.message.length).toBeLessThanOrEqual(MAX_LOG_LINE_LENGTH);
    expect(long!.message.startsWith('x'.repeat(MAX_LOG_LINE_LENGTH - 100))).toBe(true);
    expect(long!.message.endsWith(`… (cut, ${MAX_LOG_LINE_LENGTH + 500 - long!.message.indexOf('…')} characters)`)).toBe(true);
    expect(fields!.fields).toMatchObject({ big: '10', err: { name: 'Error', message: 'boom' }, fn: expect.any(String), cycle: '[object Object]' });
    expect(odd).toMatchObject({ level: 'WARN', message: '[object Object]', fields: { value: 'not an object' } });
    expect(JSON.stringify(huge!.fields).length).toBeLessThanOrEqual(MAX_LOG_LINE_LENGTH + 20);
    expect((huge!.fields as { cut: string }).cut).toMatch(/… \(cut, \d+ characters\)$/);
  });
});
