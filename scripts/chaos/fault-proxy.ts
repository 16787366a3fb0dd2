import { EventEmitter } from 'node:events';
import { createConnection, createServer, type Server, type Socket } from 'node:net';

/**
 * A TCP proxy of our own in front of Temporal's frontend, for the tempojob processes (API
 * replicas, core and processor workers) of a chaos run: it passes bytes through unchanged
 * (TLS included: the frontend's certificate is checked against its name, not this address),
 * and on command delays them or drops them.
 *
 * - `delay(ms)`: every chunk, both ways, is held `ms` before it is forwarded, in order.
 * - `drop()`: every chunk is swallowed, on open connections and on new ones, as in a
 *   network partition. `heal()` then resets the connections that lost bytes (their streams
 *   are broken, as TCP's keepalive would find), so clients reconnect. Each chunk swallowed is
 *   counted in `droppedBytes` and announced as a `dropped` event.
 */
export class FaultProxy extends EventEmitter<{ dropped: [bytes: number] }> {
  droppedBytes = 0;
  private mode: { kind: 'pass' } | { kind: 'delay'; ms: number } | { kind: 'drop' } = { kind: 'pass' };
  private readonly pairs = new Set<Pair>();

  private constructor(private readonly server: Server, readonly port: number) {
    super();
  }

  static async start(targetHost: string, targetPort: number): Promise<FaultProxy> {
    const server = createServer();
    await new Promise<void>((resolveListen, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => resolveListen());
    });
    const address = server.address();
    const proxy = new FaultProxy(server, typeof address === 'object' && address ? address.port : 0);
    server.on('connection', (client) => proxy.accept(client, targetHost, targetPort));
    return proxy;
  }

  get address(): string {
    return `127.0.0.1:${this.port}`;
  }

  delay(ms: number): void {
    this.mode = { kind: 'delay', ms };
  }

  drop(): void {
    this.mode = { kind: 'drop' };
  }

  /** Back to passing bytes through; connections that lost bytes while dropping are reset. */
  heal(): void {
    this.mode = { kind: 'pass' };
    for (const pair of this.pairs) if (pair.lostBytes) pair.destroy();
  }

  async close(): Promise<void> {
    for (const pair of this.pairs) pair.destroy();
    await new Promise<void>((resolveClose) => this.server.close(() => resolveClose()));
  }

  private accept(client: Socket, host: string, port: number): void {
    const upstream = createConnection({ host, port });
    const pair = new Pair(client, upstream, () => this.mode, (bytes) => {
      this.droppedBytes += bytes;
      this.emit('dropped', bytes);
    });
    this.pairs.add(pair);
    pair.onClose(() => this.pairs.delete(pair));
  }
}

/** One proxied connection: two sockets, and per direction a queue of chunks held for the delay. */
class Pair {
  lostBytes = false;
  private closed = false;
  private readonly listeners: (() => void)[] = [];

  constructor(private readonly client: Socket, private readonly upstream: Socket, mode: () => { kind: string; ms?: number }, dropped: (bytes: number) => void) {
    const forward = (from: Socket, to: Socket) => {
      const queue: { chunk: Buffer; due: number }[] = [];
      let timer: NodeJS.Timeout | undefined;
      const drain = () => {
        timer = undefined;
        while (queue.length > 0 && queue[0]!.due <= Date.now()) to.write(queue.shift()!.chunk);
        if (queue.length > 0) timer = setTimeout(drain, queue[0]!.due - Date.now());
      };
      from.on('data', (chunk: Buffer) => {
        const now = mode();
        if (now.kind === 'drop') {
          this.lostBytes = true;
          dropped(chunk.length);
          return;
        }
        const last = queue.length > 0 ? queue[queue.length - 1]!.due : 0;
        const due = Math.max(Date.now() + (now.kind === 'delay' ? now.ms ?? 0 : 0), last);
        if (queue.length === 0 && due <= Date.now()) {
          to.write(chunk);
          return;
        }
        queue.push({ chunk, due });
        timer ??= setTimeout(drain, Math.max(0, due - Date.now()));
      });
      from.on('close', () => {
        if (timer) clearTimeout(timer);
        this.destroy();
      });
      from.on('error', () => this.destroy());
    };
    forward(client, upstream);
    forward(upstream, client);
  }

  onClose(listener: () => void): void {
    this.listeners.push(listener);
  }

  destroy(): void {
    if (this.closed) return;
    this.closed = true;
    this.client.destroy();
    this.upstream.destroy();
    for (const listener of this.listeners) listener();
  }
}
