import { randomInt, randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { formatLogLine } from '../src/logs/format.js';
import { applyMigrations, MIGRATIONS } from '../src/logs/migrations.js';
import { openSqlExecutor, type SqlTarget } from '../src/logs/sql.js';
import { openLogStore, type LogStore } from '../src/logs/store.js';
import type { ShippedLogLine, StoredLogLine } from '../src/logs/types.js';

/**
 * The log store against real engines: embedded PGlite always, and a PostgreSQL server when
 * TEMPOJOB_TEST_LOG_DATABASE_URL names one. A server's database outlives the run, so every case
 * draws its own app and instance ids.
 */
const serverUrl = process.env.TEMPOJOB_TEST_LOG_DATABASE_URL;
const engines: { engine: string; target: SqlTarget }[] = [
  { engine: 'PGlite in memory', target: {} },
  ...(serverUrl ? [{ engine: 'PostgreSQL server', target: { url: serverUrl } }] : []),
];

const T0 = Date.UTC(2026, 11, 1, 13, 0, 0, 123);
const newId = (): number => randomInt(1, 2 ** 47);

function line(instanceId: number, seq: number, over: Partial<ShippedLogLine> = {}): ShippedLogLine {
  return {
    instanceId,
    attempt: 1,
    taskId: null,
    workerId: 'worker-a',
    stream: 'stream-1',
    seq,
    level: 'INFO',
    time: T0 + seq,
    message: `line ${seq}`,
    fields: null,
    ...over,
  };
}

/** What a stored line should be: the shipped line with its app, the store's id aside. */
const shipped = (stored: StoredLogLine[]): ShippedLogLine[] => stored.map(({ id: _id, appId: _appId, ...rest }) => rest);

describe.each(engines)('log store on $engine', ({ target }) => {
  let store: LogStore;
  beforeAll(async () => {
    store = await openLogStore(target);
  });
  afterAll(async () => {
    await store.close();
  });

  it('appends lines and reads them back in order, with the total', async () => {
    const app = newId();
    const instance = newId();
    const lines = [
      line(instance, 1, { fields: { k: 'v', n: 1 } }),
      line(instance, 2, { level: 'WARN', message: 'two\nlines' }),
      line(instance, 3, { taskId: '0.1', level: 'ERROR' }),
    ];
    expect(await store.append(app, lines)).toEqual({ stored: 3, duplicates: 0 });

    const all = await store.read(app, instance, {}, 0, 100);
    expect(all.total).toBe(3);
    expect(shipped(all.lines)).toEqual(lines);
    expect(all.lines.every((l) => l.appId === app)).toBe(true);
    const ids = all.lines.map((l) => l.id);
    expect(ids).toEqual([...ids].sort((a, b) => a - b));

    const page = await store.read(app, instance, {}, 1, 1);
    expect(page.total).toBe(3);
    expect(page.lines.map((l) => l.seq)).toEqual([2]);
    expect(await store.read(app, instance, {}, 3, 10)).toEqual({ lines: [], total: 3 });
  });

  it('stores nothing twice when a batch is sent again, and counts the duplicates', async () => {
    const app = newId();
    const instance = newId();
    const first = [line(instance, 1), line(instance, 2)];
    expect(await store.append(app, first)).toEqual({ stored: 2, duplicates: 0 });
    // The batch again, with one new line; and the same seq from a restarted worker's new stream.
    const again = [...first, line(instance, 3), line(instance, 1, { stream: 'stream-2' })];
    expect(await store.append(app, again)).toEqual({ stored: 2, duplicates: 2 });
    // A line repeated within one batch is stored once.
    expect(await store.append(app, [line(instance, 4), line(instance, 4)])).toEqual({ stored: 1, duplicates: 1 });

    const { lines, total } = await store.read(app, instance, {}, 0, 100);
    expect(total).toBe(5);
    expect(lines.map((l) => `${l.stream}/${l.seq}`)).toEqual(['stream-1/1', 'stream-1/2', 'stream-1/3', 'stream-2/1', 'stream-1/4']);
    expect(await store.append(app, [])).toEqual({ stored: 0, duplicates: 0 });
  });

  it('filters by attempt, worker, task and minimum level', async () => {
    const app = newId();
    const instance = newId();
    await store.append(app, [
      line(instance, 1, { level: 'DEBUG' }),
      line(instance, 2, { level: 'INFO', workerId: 'worker-b', taskId: '0.1' }),
      line(instance, 3, { level: 'WARN', taskId: '0.2' }),
      line(instance, 1, { attempt: 2, level: 'ERROR', workerId: 'worker-b', taskId: '0.1' }),
    ]);
    const seqs = async (filter: Parameters<LogStore['read']>[2]): Promise<string[]> => {
      const { lines, total } = await store.read(app, instance, filter, 0, 100);
      expect(total).toBe(lines.length);
      return lines.map((l) => `${l.attempt}/${l.seq}`);
    };
    expect(await seqs({ attempt: 1 })).toEqual(['1/1', '1/2', '1/3']);
    expect(await seqs({ attempt: 2 })).toEqual(['2/1']);
    expect(await seqs({ workerId: 'worker-b' })).toEqual(['1/2', '2/1']);
    expect(await seqs({ taskId: '0.1' })).toEqual(['1/2', '2/1']);
    expect(await seqs({ minLevel: 'INFO' })).toEqual(['1/2', '1/3', '2/1']);
    expect(await seqs({ minLevel: 'WARN' })).toEqual(['1/3', '2/1']);
    expect(await seqs({ attempt: 1, workerId: 'worker-b', taskId: '0.1', minLevel: 'INFO' })).toEqual(['1/2']);
    expect(await seqs({ workerId: 'worker-z' })).toEqual([]);
  });

  it("never shows one app's lines to another app", async () => {
    const app = newId();
    const other = newId();
    const instance = newId();
    await store.append(app, [line(instance, 1), line(instance, 2)]);
    expect(await store.read(other, instance, {}, 0, 100)).toEqual({ lines: [], total: 0 });
    expect(await store.after(other, instance, 0, 100)).toEqual([]);
    expect((await store.read(app, instance, {}, 0, 100)).total).toBe(2);
  });

  it('returns only the lines after an id, in order, for a live tail', async () => {
    const app = newId();
    const instance = newId();
    await store.append(app, [line(instance, 1), line(instance, 2)]);
    const head = await store.after(app, instance, 0, 100);
    expect(head.map((l) => l.seq)).toEqual([1, 2]);
    const lastSeen = head.at(-1)?.id ?? 0;
    expect(await store.after(app, instance, lastSeen, 100)).toEqual([]);

    await store.append(app, [line(instance, 3), line(instance, 4), line(instance, 5)]);
    const next = await store.after(app, instance, lastSeen, 2);
    expect(next.map((l) => l.seq)).toEqual([3, 4]);
    const rest = await store.after(app, instance, next.at(-1)?.id ?? 0, 100);
    expect(rest.map((l) => l.seq)).toEqual([5]);
  });

  it('purges only the lines written before the cut-off', async () => {
    const app = newId();
    const instance = newId();
    // Far in the past, so other cases' lines (and other runs' on a server) are never before the cut.
    const old = Date.UTC(1990, 0, 1) + randomInt(0, 1_000_000);
    await store.append(app, [
      line(instance, 1, { time: old - 1 }),
      line(instance, 2, { time: old - 1000 }),
      line(instance, 3, { time: old }),
      line(instance, 4, { time: old + 1 }),
    ]);
    // On a shared server, a concurrent run's old lines may be purged too: at least ours.
    const purged = await store.purge(old);
    expect(purged).toBeGreaterThanOrEqual(2);
    if (target.url === undefined) expect(purged).toBe(2);
    const { lines } = await store.read(app, instance, {}, 0, 100);
    expect(lines.map((l) => [l.seq, l.time])).toEqual([
      [3, old],
      [4, old + 1],
    ]);
  });

  it('takes 10,000 lines in one append and reads them back complete and in order', async () => {
    const app = newId();
    const instance = newId();
    const lines = Array.from({ length: 10_000 }, (_, i) =>
      line(instance, i + 1, { workerId: `worker-${i % 3}`, fields: i % 2 === 0 ? { i } : null }),
    );
    const sizeBefore = await store.sizeBytes();
    expect(await store.append(app, lines)).toEqual({ stored: 10_000, duplicates: 0 });
    const { lines: back, total } = await store.read(app, instance, {}, 0, 20_000);
    expect(total).toBe(10_000);
    expect(shipped(back)).toEqual(lines);
    expect(await store.sizeBytes()).toBeGreaterThan(sizeBefore);
  });

  it('applies the migrations once, however often and by however many it is opened', async () => {
    const [a, b] = await Promise.all([openSqlExecutor(target), openSqlExecutor(target)]);
    try {
      // Two at once, as two API replicas starting together (on PGlite, two separate databases).
      const applied = await Promise.all([applyMigrations(a), applyMigrations(b)]);
      const all = MIGRATIONS.map((m) => m.version);
      // In memory each executor is a database of its own; a server was migrated by the store's open.
      expect(applied).toEqual(target.url === undefined ? [all, all] : [[], []]);
      expect(await applyMigrations(a)).toEqual([]);
      const rows = await a.query<{ version: number; name: string }>('SELECT version, name FROM tempojob_log_migrations ORDER BY version');
      expect(rows).toEqual(MIGRATIONS.map(({ version, name }) => ({ version, name })));
    } finally {
      await Promise.all([a.close(), b.close()]);
    }
  });
});

describe('log store on PGlite with a data directory', () => {
  let dataDir: string;
  beforeAll(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'tempojob-log-store-'));
  });
  afterAll(async () => {
    await rm(dataDir, { recursive: true, force: true });
  });

  it('keeps lines and migrations across a reopen, and applies only a new migration', async () => {
    const app = newId();
    const instance = newId();
    const lines = [line(instance, 1, { fields: { k: 'v' } }), line(instance, 2, { taskId: '0.1' })];
    const first = await openLogStore({ dataDir });
    await first.append(app, lines);
    await first.close();

    const reopened = await openLogStore({ dataDir });
    const back = await reopened.read(app, instance, {}, 0, 100);
    expect(back.total).toBe(2);
    expect(shipped(back.lines)).toEqual(lines);
    expect(await reopened.append(app, lines)).toEqual({ stored: 0, duplicates: 2 });
    await reopened.close();

    const db = await openSqlExecutor({ dataDir });
    try {
      expect(await applyMigrations(db)).toEqual([]);
      const next = { version: MIGRATIONS.length + 1, name: 'a later migration', sql: 'CREATE TABLE later_migration_probe (id int)' };
      expect(await applyMigrations(db, [...MIGRATIONS, next])).toEqual([next.version]);
      expect(await applyMigrations(db, [...MIGRATIONS, next])).toEqual([]);
      const versions = await db.query<{ version: number }>('SELECT version FROM tempojob_log_migrations ORDER BY version');
      expect(versions.map((r) => r.version)).toEqual([...MIGRATIONS.map((m) => m.version), next.version]);
    } finally {
      await db.close();
    }
  });
});

describe('formatLogLine', () => {
  const stored: StoredLogLine = {
    id: 7,
    appId: 1,
    instanceId: 42,
    attempt: 1,
    taskId: null,
    workerId: 'worker-a',
    stream: randomUUID(),
    seq: 1,
    level: 'INFO',
    time: T0,
    message: 'the message',
    fields: null,
  };

  it('renders a line without task or fields', () => {
    expect(formatLogLine(stored)).toBe('2026-12-01 13:00:00.123 INFO [worker-a] [attempt 1] the message');
  });

  it('renders the task and the fields, and keeps a multi-line message on one line', () => {
    const line = { ...stored, level: 'ERROR' as const, attempt: 2, taskId: '0.1', message: 'failed:\n  at x\r\n', fields: { k: 'v', n: 2 } };
    expect(formatLogLine(line)).toBe('2026-12-01 13:00:00.123 ERROR [worker-a] [attempt 2] [task 0.1] failed:\\n  at x\\r\\n {"k":"v","n":2}');
  });
});

if (serverUrl) {
  describe('log store on a fresh PostgreSQL schema', () => {
    // Its own schema (search_path): the first migration really runs, here by two openers at once.
    const schema = `tempojob_log_test_${randomUUID().replaceAll('-', '')}`;
    const url = new URL(serverUrl);
    url.searchParams.set('options', `-c search_path=${schema}`);
    let admin: Awaited<ReturnType<typeof openSqlExecutor>>;
    beforeAll(async () => {
      admin = await openSqlExecutor({ url: serverUrl });
      await admin.query(`CREATE SCHEMA ${schema}`);
    });
    afterAll(async () => {
      await admin.query(`DROP SCHEMA ${schema} CASCADE`);
      await admin.close();
    });

    it('migrates once when two API replicas start together', async () => {
      const stores = await Promise.all([openLogStore({ url: url.href }), openLogStore({ url: url.href })]);
      try {
        const rows = await admin.query<{ version: number }>(`SELECT version FROM ${schema}.tempojob_log_migrations ORDER BY version`);
        expect(rows.map((r) => r.version)).toEqual(MIGRATIONS.map((m) => m.version));
        const app = newId();
        const instance = newId();
        expect(await stores[0].append(app, [line(instance, 1)])).toEqual({ stored: 1, duplicates: 0 });
        expect((await stores[1].read(app, instance, {}, 0, 10)).total).toBe(1);
      } finally {
        await Promise.all(stores.map((s) => s.close()));
      }
    });
  });
}
