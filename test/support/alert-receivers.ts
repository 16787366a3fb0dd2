import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { SMTPServer } from 'smtp-server';

/** One request a receiver saw, and what it answered. */
export interface Received {
  path: string;
  headers: IncomingHttpHeaders;
  body: string;
  status: number;
}

/** How a route answers its n-th request (1-based): status and body; `hold` keeps it open until released. */
export type Behaviour = (n: number) => { status: number; body?: string; hold?: Promise<void> };

/**
 * Local HTTP receivers for alert channels (webhook, Slack-format robots): each route answers
 * as its behaviour says and records what it saw; `next(path, n)` resolves once the route has
 * answered `n` requests with a 2xx (events, not sleeps).
 */
export class HttpReceivers {
  readonly seen = new Map<string, Received[]>();
  private readonly behaviours = new Map<string, Behaviour>();
  private readonly waiters: { path: string; n: number; resolve: () => void }[] = [];
  private readonly server: Server;
  private readonly counts = new Map<string, number>();
  url = '';

  constructor() {
    this.server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (chunk: Buffer) => chunks.push(chunk));
      req.on('end', () => {
        void (async () => {
          const path = req.url ?? '/';
          const n = (this.counts.get(path) ?? 0) + 1;
          this.counts.set(path, n);
          const behaviour: Behaviour = this.behaviours.get(path) ?? (() => ({ status: 404, body: 'no such route' }));
          const answer = behaviour(n);
          // Seen on arrival (status 0 while held), answered after.
          const received: Received = { path, headers: req.headers, body: Buffer.concat(chunks).toString('utf8'), status: 0 };
          const list = this.seen.get(path) ?? [];
          list.push(received);
          this.seen.set(path, list);
          this.wake();
          if (answer.hold) await answer.hold;
          res.writeHead(answer.status, { 'content-type': 'text/plain' }).end(answer.body ?? 'ok');
          received.status = answer.status;
          this.wake();
        })();
      });
    });
  }

  async start(): Promise<void> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  route(path: string, behaviour: Behaviour): string {
    this.behaviours.set(path, behaviour);
    return `${this.url}${path}`;
  }

  /** Requests of the route answered with a 2xx. */
  accepted(path: string): Received[] {
    return (this.seen.get(path) ?? []).filter((r) => r.status >= 200 && r.status < 300);
  }

  all(path: string): Received[] {
    return this.seen.get(path) ?? [];
  }

  /** Resolves once the route received `n` requests (answered or not) — or, with `accepted`, answered `n` with a 2xx. */
  next(path: string, n = 1, accepted = true): Promise<void> {
    return new Promise((resolve) => {
      this.waiters.push({ path, n: accepted ? n : -n, resolve });
      this.wake();
    });
  }

  private wake(): void {
    for (const waiter of [...this.waiters]) {
      const count = waiter.n > 0 ? this.accepted(waiter.path).length : this.all(waiter.path).length;
      if (count >= Math.abs(waiter.n)) {
        this.waiters.splice(this.waiters.indexOf(waiter), 1);
        waiter.resolve();
      }
    }
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

export interface Mail {
  to: string[];
  from: string;
  data: string;
}

/** A real SMTP server (smtp-server) on a free port, plain text (no STARTTLS), no authentication required. */
export class MailReceiver {
  readonly mails: Mail[] = [];
  private readonly waiters: { n: number; resolve: () => void }[] = [];
  private readonly server: SMTPServer;
  url = '';

  constructor() {
    this.server = new SMTPServer({
      authOptional: true,
      disabledCommands: ['STARTTLS'],
      logger: false,
      onData: (stream, session, callback) => {
        const chunks: Buffer[] = [];
        stream.on('data', (chunk: Buffer) => chunks.push(chunk));
        stream.on('end', () => {
          this.mails.push({
            to: session.envelope.rcptTo.map((r) => r.address),
            from: session.envelope.mailFrom ? session.envelope.mailFrom.address : '',
            data: Buffer.concat(chunks).toString('utf8'),
          });
          callback();
          for (const waiter of [...this.waiters]) {
            if (this.mails.length >= waiter.n) {
              this.waiters.splice(this.waiters.indexOf(waiter), 1);
              waiter.resolve();
            }
          }
        });
      },
    });
  }

  async start(): Promise<void> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    const address = this.server.server.address() as AddressInfo;
    this.url = `smtp://127.0.0.1:${address.port}`;
  }

  next(n = 1): Promise<void> {
    if (this.mails.length >= n) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push({ n, resolve }));
  }

  close(): Promise<void> {
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}
