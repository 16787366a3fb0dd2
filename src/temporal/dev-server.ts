import { spawn, type ChildProcess } from 'node:child_process';
import { createConnection } from 'node:net';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { ALL_SEARCH_ATTRIBUTES } from '../contract/search-attributes.js';

export interface DevServerOptions {
  cliPath: string;
  /** SQLite file: state survives restarts of the dev server. */
  dbFile: string;
  port: number;
  /** Web UI port; omit for a headless server. */
  uiPort?: number;
  ip?: string;
  namespace?: string;
  log?: (line: string) => void;
}

export interface DevServer {
  address: string;
  process: ChildProcess;
  /** Stops the server (SIGTERM, then SIGKILL after the grace period). */
  stop(graceMs?: number): Promise<void>;
  /** Kills the server at once, as a crash would. */
  kill(): Promise<void>;
}

const SA_TYPE_FLAG = { INT: 'Int', KEYWORD: 'Keyword', DATETIME: 'Datetime', TEXT: 'Text', BOOL: 'Bool', DOUBLE: 'Double', KEYWORD_LIST: 'KeywordList' } as const;

/** Go SDK worker options of the server's per-namespace worker, which runs the schedules. */
const SCHEDULER_WORKER_OPTIONS = { MaxConcurrentWorkflowTaskPollers: 16, StickyScheduleToStartTimeout: '60s' };

export function devServerArgs(options: DevServerOptions): string[] {
  const args = [
    'server', 'start-dev',
    '--db-filename', options.dbFile,
    '--port', String(options.port),
    '--ip', options.ip ?? '127.0.0.1',
    '--log-level', 'warn',
    // SQLite's defaults (rollback journal, an fsync per commit) capped the embedded stack: a
    // no-op runJob took p50 376 ms at 26 runs/s, and 5,000 delayed runs went in at 98/s.
    // Write-ahead log with fsync at checkpoints only: 35 runs/s, p50 200 ms, 220 submits/s.
    // A crashed process loses nothing; a power cut may lose the last commits, never the file.
    '--sqlite-pragma', 'journal_mode=wal',
    '--sqlite-pragma', 'synchronous=normal',
    '--dynamic-config-value', 'frontend.WorkerHeartbeatsEnabled=true',
    // Timers (delays, schedules) otherwise fire up to 1 s late, drifting: measured here, a
    // one-second schedule's fires went from ~0.4 s to ~1 s late; with 100 ms, p50 31 ms.
    '--dynamic-config-value', 'history.timerProcessorMaxTimeShift="100ms"',
    '--dynamic-config-value', 'frontend.ListWorkersEnabled=true',
    // The dev server has one history shard, and each of its task queues (transfer, timer,
    // visibility) polls persistence at most 20 times a second by default: every hand-off of
    // a run (workflow task, activity task, the next workflow task) waited ~45 ms for the next
    // poll, idle or not (a bare workflow with one activity: 150 ms alone; 21 ms with 1,000).
    '--dynamic-config-value', 'history.transferProcessorMaxPollRPS=1000',
    '--dynamic-config-value', 'history.timerProcessorMaxPollRPS=1000',
    '--dynamic-config-value', 'history.visibilityProcessorMaxPollRPS=1000',
    // Four partitions per task queue by default: a task on a partition whose pollers were all
    // busy waited ~2 s to be forwarded (p99 of every benchmark). One worker fleet, one partition.
    '--dynamic-config-value', 'matching.numTaskqueueReadPartitions=1',
    '--dynamic-config-value', 'matching.numTaskqueueWritePartitions=1',
    // Schedules are workflows of the server's own worker. Measured with 1,000 schedules due
    // at the same second: with its defaults (2 pollers, 5 s sticky timeout, 30 starts/s) 54
    // to 360 fired and the rest sat in a backlog past their catch-up window, dropped; with
    // these, all 1,000 started within 38 s.
    '--dynamic-config-value', 'worker.schedulerNamespaceStartWorkflowRPS=1000.0',
    '--dynamic-config-value', `worker.perNamespaceWorkerOptions=${JSON.stringify(SCHEDULER_WORKER_OPTIONS)}`,
    // Describing a schedule is a query on its workflow. A sticky query waits up to that
    // worker's sticky timeout for its sticky poller, and describes were seen hanging 30 s;
    // on the normal queue any of the 16 pollers answers (tempojob sends no other queries).
    '--dynamic-config-value', 'system.enableStickyQuery=false',
  ];
  if (options.namespace && options.namespace !== 'default') args.push('--namespace', options.namespace);
  if (options.uiPort) args.push('--ui-port', String(options.uiPort));
  else args.push('--headless');
  for (const key of ALL_SEARCH_ATTRIBUTES) args.push('--search-attribute', `${key.name}=${SA_TYPE_FLAG[key.type]}`);
  return args;
}

function portAnswers(host: string, port: number): Promise<boolean> {
  return new Promise((resolvePort) => {
    const socket = createConnection({ host, port });
    socket.once('connect', () => { socket.destroy(); resolvePort(true); });
    socket.once('error', () => resolvePort(false));
  });
}

export async function startDevServer(options: DevServerOptions): Promise<DevServer> {
  mkdirSync(dirname(options.dbFile), { recursive: true });
  const host = options.ip ?? '127.0.0.1';
  if (await portAnswers(host, options.port)) {
    throw new Error(`Port ${options.port} is already in use: stop what runs there or set TEMPORAL_PORT`);
  }
  const child = spawn(options.cliPath, devServerArgs(options), { stdio: ['ignore', 'pipe', 'pipe'] });
  const log = options.log ?? (() => {});
  let output = '';
  const collect = (chunk: Buffer) => {
    output = (output + chunk.toString()).slice(-8000);
    for (const line of chunk.toString().split('\n')) if (line.trim()) log(line);
  };
  child.stdout?.on('data', collect);
  child.stderr?.on('data', collect);
  const exited = new Promise<number | null>((resolveExit) => child.once('exit', (code) => resolveExit(code)));

  const deadline = Date.now() + 60_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`Temporal dev server exited with ${child.exitCode}:\n${output}`);
    if (await portAnswers(host, options.port)) break;
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`Temporal dev server did not open port ${options.port} within 60 s:\n${output}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }

  const stop = async (graceMs = 10_000) => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
    await exited;
    clearTimeout(timer);
  };
  const kill = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.kill('SIGKILL');
    await exited;
  };
  return { address: `${host}:${options.port}`, process: child, stop, kill };
}
