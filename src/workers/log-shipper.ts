import { randomBytes } from 'node:crypto';
import type { Logger } from '@temporalio/common';
import { ErrorCode } from '../api/errors.js';
import { MAX_LOG_BATCH } from '../api/schemas.js';
import { TempojobError, TransportError } from '../client/errors.js';
import type { ShippedLogLine } from '../logs/types.js';

/** Sends one batch; resolves once the API acknowledged it (stored or already stored). */
export type LogTransport = (lines: ShippedLogLine[]) => Promise<void>;

/** A line as a TaskLogger hands it over: the shipper adds its worker id, its stream and the seq. */
export type LogEntry = Omit<ShippedLogLine, 'workerId' | 'stream' | 'seq'>;

export interface LogShipperOptions {
  transport: LogTransport;
  workerId: string;
  /** Where the shipper says what it could not ship (refused batches, lines left at a flush deadline). */
  logger: Logger;
  /** Lines held (queued or in flight) at most; beyond, lines are dropped and counted (default 10,000). */
  maxBufferedLines?: number;
  /** How long a line may wait for others to share its batch (default 200 ms). */
  lingerMs?: number;
  /** Backoff after a failed send: doubles from `initialMs` (100) up to `maxMs` (5,000), with jitter. */
  backoff?: { initialMs?: number; maxMs?: number };
  /** Told how many lines the API acknowledged, and how many were dropped and why (the worker's metrics). */
  counts?: LogShipperCounts;
}

export interface LogShipperCounts {
  shipped(lines: number): void;
  dropped(lines: number, reason: 'buffer_full' | 'refused'): void;
}

/**
 * The API takes request bodies of at most 1 MB (src/api/routes/openapi.ts); a batch stays at
 * half that, so a batch of long lines is never refused for its size. One line is at most
 * ~200 KB of JSON (message and fields each cut to MAX_LOG_LINE_LENGTH characters).
 */
const MAX_BATCH_BYTES = 512 * 1024;
/**
 * (instance, attempt) pairs whose seq counter is kept. A pair evicted and written to again
 * would restart at seq 1 and its lines be taken for duplicates; a pair is evicted only after
 * this many other pairs wrote since its last line, long after its attempt has ended.
 */
const MAX_SEQ_COUNTERS = 100_000;
/** Refusals that say "not now" rather than "never": the login or the server, not the lines. */
const RETRIED_CODES: readonly (string | null)[] = [
  ErrorCode.INCORRECT_PASSWORD, ErrorCode.INVALID_TOKEN, ErrorCode.INVALID_APP, ErrorCode.TOKEN_EXPIRED,
  ErrorCode.SYSTEM_UNKNOWN_ERROR, ErrorCode.OPEN_API_AUTH_FAILED,
];

interface Dropped {
  instanceId: number;
  attempt: number;
  count: number;
}

interface FlushWaiter {
  /** Resolved once this many lines, counted from the shipper's start, were sent or refused. */
  position: number;
  resolve: () => void;
}

/**
 * Ships a worker's instance log lines to the API, in the order they were written, without
 * loss short of a full buffer (which is then said in the instance's own log). One batch is in
 * flight at a time and a failed one is sent again as it was, with the same seqs, so the store
 * keeps every line once whether or not a failed send had in fact been stored. Nothing on the
 * processor's path waits: `enqueue` only appends, sending happens on timers.
 */
export class LogShipper {
  /**
   * This process's own id for its lines: a restarted worker with the same id writes a new
   * stream. 96 random bits, as 16 characters: it is in every stored line and its key.
   */
  readonly stream = randomBytes(12).toString('base64url');
  private readonly maxBuffered: number;
  private readonly lingerMs: number;
  private readonly initialBackoffMs: number;
  private readonly maxBackoffMs: number;
  /** Unsettled lines: queue[head] is the oldest. */
  private queue: ShippedLogLine[] = [];
  private head = 0;
  /** The first lines of the queue, in flight or waiting out a backoff to be sent again as they are. */
  private batch: ShippedLogLine[] | undefined;
  /** Seq counters of (instance, attempt) pairs other than the one being written to, least recently written first. */
  private readonly seqs = new Map<string, number>();
  /** The pair written to last and its counter, kept out of `seqs` while it is written to: most lines follow one of the same attempt. */
  private current: { instanceId: number; attempt: number; seq: number } | undefined;
  private readonly dropped = new Map<string, Dropped>();
  /** Lines ever queued, and lines ever settled (acknowledged or refused): flush waits on these. */
  private queued = 0;
  private settled = 0;
  private waiters: FlushWaiter[] = [];
  private timer: NodeJS.Timeout | undefined;
  private failures = 0;

  constructor(private readonly options: LogShipperOptions) {
    this.maxBuffered = Math.max(1, options.maxBufferedLines ?? 10_000);
    this.lingerMs = options.lingerMs ?? 200;
    this.initialBackoffMs = options.backoff?.initialMs ?? 100;
    this.maxBackoffMs = options.backoff?.maxMs ?? 5_000;
  }

  /** Lines queued or in flight. */
  get buffered(): number {
    return this.queue.length - this.head;
  }

  /** Queues a line; never throws, never waits. A line that finds the buffer full is counted, and reported once there is room. */
  enqueue(entry: LogEntry): void {
    this.reportDropped();
    if (this.buffered >= this.maxBuffered) {
      this.options.counts?.dropped(1, 'buffer_full');
      const key = `${entry.instanceId}:${entry.attempt}`;
      const known = this.dropped.get(key);
      if (known) known.count++;
      else this.dropped.set(key, { instanceId: entry.instanceId, attempt: entry.attempt, count: 1 });
      return;
    }
    this.push(entry);
  }

  /**
   * Resolves once every line queued before the call (and the report of any line dropped
   * before it) is acknowledged or refused, or after `timeoutMs`, with how many were left
   * unsent (then also said in the worker's log). Lines are sent at once, without lingering.
   */
  flush(timeoutMs: number): Promise<number> {
    const position = this.queued + this.dropped.size;
    if (this.settled >= position) return Promise.resolve(0);
    return new Promise((resolve) => {
      // Not unref'd: a process that is shutting down must stay up until its lines are out.
      const deadline = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w !== waiter);
        const unsent = position - this.settled;
        this.options.logger.warn(`instance logs: ${unsent} log lines left unsent after ${timeoutMs} ms (the API did not acknowledge them)`);
        resolve(unsent);
      }, timeoutMs);
      const waiter: FlushWaiter = { position, resolve: () => { clearTimeout(deadline); resolve(0); } };
      this.waiters.push(waiter);
      if (!this.batch) this.sendSoon(0);
    });
  }

  private push(entry: LogEntry): void {
    const seq = this.nextSeq(entry.instanceId, entry.attempt);
    this.queue.push({ ...entry, workerId: this.options.workerId, stream: this.stream, seq });
    this.queued++;
    if (this.batch) return;
    if (this.buffered >= MAX_LOG_BATCH || this.waiters.length > 0) this.sendSoon(0);
    else if (!this.timer) this.sendSoon(this.lingerMs);
  }

  private nextSeq(instanceId: number, attempt: number): number {
    const current = this.current;
    if (current?.instanceId === instanceId && current.attempt === attempt) return ++current.seq;
    if (current) {
      // Put back last, so the Map's order stays least recently written first.
      this.seqs.set(`${current.instanceId}:${current.attempt}`, current.seq);
      if (this.seqs.size > MAX_SEQ_COUNTERS) this.seqs.delete(this.seqs.keys().next().value!);
    }
    const key = `${instanceId}:${attempt}`;
    const seq = (this.seqs.get(key) ?? 0) + 1;
    this.seqs.delete(key);
    this.current = { instanceId, attempt, seq };
    return seq;
  }

  /** One WARN line per (instance, attempt) that lost lines, as far as there is room; before any newer line. */
  private reportDropped(): void {
    for (const [key, { instanceId, attempt, count }] of this.dropped) {
      if (this.buffered >= this.maxBuffered) return;
      this.dropped.delete(key);
      this.push({
        instanceId, attempt, taskId: null, level: 'WARN', time: Date.now(), fields: null,
        message: `${count} log lines dropped: the worker's log buffer was full`,
      });
    }
  }

  private sendSoon(delayMs: number): void {
    if (this.timer) clearTimeout(this.timer);
    // Unref'd: shipping never keeps a worker alive; flush() does while it waits.
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void this.send();
    }, delayMs).unref();
  }

  private async send(): Promise<void> {
    if (this.buffered === 0) return;
    const batch = (this.batch ??= this.nextBatch());
    try {
      await this.options.transport(batch);
      this.failures = 0;
      this.options.counts?.shipped(batch.length);
    } catch (err) {
      if (!isRefusal(err)) {
        // The same batch again, after a backoff: its lines keep their seqs, so a batch that had been stored is stored once.
        this.failures++;
        const base = Math.min(this.maxBackoffMs, this.initialBackoffMs * 2 ** (this.failures - 1));
        this.sendSoon(base / 2 + Math.random() * (base / 2));
        return;
      }
      this.refused(batch, err);
    }
    this.batch = undefined;
    this.settle(batch.length);
    this.reportDropped();
    if (this.buffered === 0) return;
    this.sendSoon(this.buffered >= MAX_LOG_BATCH || this.waiters.length > 0 ? 0 : this.lingerMs);
  }

  private nextBatch(): ShippedLogLine[] {
    const end = Math.min(this.queue.length, this.head + MAX_LOG_BATCH);
    let bytes = 0;
    let i = this.head;
    for (; i < end; i++) {
      bytes += jsonBytesAtMost(this.queue[i]!);
      if (bytes > MAX_BATCH_BYTES && i > this.head) break;
    }
    return this.queue.slice(this.head, i);
  }

  private settle(count: number): void {
    this.head += count;
    this.settled += count;
    // Drop settled lines from the array once they are most of it: amortised O(1) per line.
    if (this.head > 1_024 && this.head * 2 > this.queue.length) {
      this.queue = this.queue.slice(this.head);
      this.head = 0;
    }
    const done = this.waiters.filter((w) => w.position <= this.settled);
    this.waiters = this.waiters.filter((w) => w.position > this.settled);
    for (const waiter of done) waiter.resolve();
  }

  private refused(batch: ShippedLogLine[], err: unknown): void {
    this.options.counts?.dropped(batch.length, 'refused');
    const instances = [...new Set(batch.map((line) => line.instanceId))].join(', ');
    this.options.logger.warn(
      `instance logs: the API refused ${batch.length} log lines of instance(s) ${instances}; they are dropped: ${(err as Error).message}`,
      { code: err instanceof TempojobError ? err.code : null },
    );
  }
}

/**
 * No fewer bytes than the line's JSON takes in a request body: its texts in UTF-8 (a text
 * with any character JSON escapes counted as if every character were escaped to six bytes),
 * its fields as JSON, and room for the keys and numbers. Cheaper than serialising each line
 * to measure it, and a batch kept under the limit by it is surely under.
 */
function jsonBytesAtMost(line: ShippedLogLine): number {
  const texts = textBytesAtMost(line.message) + textBytesAtMost(line.taskId ?? '') + textBytesAtMost(line.workerId) + textBytesAtMost(line.stream);
  return 256 + texts + (line.fields === null ? 0 : Buffer.byteLength(JSON.stringify(line.fields)));
}

/** What JSON.stringify may escape: control characters, quote, backslash, and surrogates (a lone one becomes \uXXXX). */
// eslint-disable-next-line no-control-regex -- the control characters are what JSON escapes
const JSON_ESCAPED = /[\u0000-\u001f"\\\ud800-\udfff]/;
function textBytesAtMost(text: string): number {
  return JSON_ESCAPED.test(text) ? text.length * 6 : Buffer.byteLength(text);
}

/**
 * The API's verdict on the lines themselves (a malformed batch, a request too large), which
 * the same batch would get again; anything else (no answer, the API down, a login not
 * accepted yet) is worth sending again.
 */
function isRefusal(err: unknown): boolean {
  if (err instanceof TempojobError) return !RETRIED_CODES.includes(err.code);
  return err instanceof TransportError && !err.retryable;
}
