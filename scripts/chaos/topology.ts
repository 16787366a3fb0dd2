import { execFile } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { PROJECT_ROOT } from '../../src/temporal/cli.js';
import { runClusterScript } from '../../test/cluster/support/cluster-scripts.js';
import { spawnNode, type NodeProcess } from '../../test/cluster/support/node-process.js';
import { freePort } from '../../test/support/ports.js';

/**
 * The processes of a chaos run and what a supervisor does to them: tempojob's 2 API
 * replicas, 2 core workers and 3 chaos processor workers (scripts/chaos/worker.ts), each
 * reaching Temporal through the fault proxy, started here; and the cluster's own Temporal
 * services and PostgreSQL, started by scripts/cluster/up.sh (pid files in
 * .data/cluster/run/). A killed process is started again, as a supervisor would: tempojob's
 * by this module, Temporal's and PostgreSQL by running up.sh again, which starts what is
 * not running.
 */

export const TEMPORAL_SERVICES = ['frontend', 'history', 'matching', 'worker'] as const;
export const API_REPLICAS = 2;
export const CORE_WORKERS = 2;
export const PROCESSOR_WORKERS = 3;

export interface TopologySettings {
  /** The fault proxy in front of the frontend: every tempojob process connects to it. */
  proxyAddress: string;
  coreTaskQueue: string;
  workflowBundle: string;
  logDatabaseUrl: string;
  appName: string;
  jwtSecret: string;
  /** Where process logs and the chaos workers' records go. */
  runDir: string;
  recordDir: string;
  /** Where up.sh's output goes when the cluster is restarted. */
  log: (line: string) => void;
}

interface Spec {
  script: string;
  env: Record<string, string>;
  ready: RegExp;
}

/** up.sh's pid files (scripts/cluster/env.sh: CLUSTER_RUN). */
const CLUSTER_RUN = join(process.env.TEMPOJOB_CLUSTER_DIR ?? join(PROJECT_ROOT, '.data', 'cluster'), 'run');
const run = promisify(execFile);

export class Topology {
  /** tempojob's processes by name (`api-1`, `core-2`, `processor-3`), the current one of each. */
  private readonly processes = new Map<string, NodeProcess>();
  private readonly specs = new Map<string, Spec>();
  private readonly generations = new Map<string, number>();
  readonly apiUrls: string[] = [];
  readonly workerIds: string[] = [];

  private constructor(private readonly settings: TopologySettings) {}

  static async start(settings: TopologySettings): Promise<Topology> {
    const topology = new Topology(settings);
    const common = { TEMPORAL_ADDRESS: settings.proxyAddress, TEMPOJOB_CORE_TASK_QUEUE: settings.coreTaskQueue };
    for (let i = 1; i <= API_REPLICAS; i++) {
      const port = await freePort();
      topology.apiUrls.push(`http://127.0.0.1:${port}`);
      topology.specs.set(`api-${i}`, {
        script: 'src/api/main.ts',
        env: { ...common, TEMPOJOB_PORT: String(port), TEMPOJOB_HOST: '127.0.0.1', TEMPOJOB_JWT_SECRET: settings.jwtSecret, TEMPOJOB_LOG_DATABASE_URL: settings.logDatabaseUrl },
        ready: /API ready/,
      });
    }
    for (let i = 1; i <= CORE_WORKERS; i++) {
      topology.specs.set(`core-${i}`, {
        script: 'src/core/main.ts',
        env: { ...common, TEMPOJOB_WORKFLOW_BUNDLE: settings.workflowBundle, TEMPOJOB_LOG_DATABASE_URL: settings.logDatabaseUrl },
        ready: /core worker ready/,
      });
    }
    for (let i = 1; i <= PROCESSOR_WORKERS; i++) {
      const workerId = `chaos-worker-${i}`;
      topology.workerIds.push(workerId);
      topology.specs.set(`processor-${i}`, {
        script: 'scripts/chaos/worker.ts',
        env: { ...common, CHAOS_RECORD_DIR: settings.recordDir, CHAOS_APP: settings.appName, CHAOS_WORKER_ID: workerId },
        ready: /chaos worker .* ready/,
      });
    }
    await Promise.all([...topology.specs.keys()].map((name) => topology.launch(name)));
    return topology;
  }

  /** The tempojob processes `up.sh --app` started that are running (by their pid files). */
  static clusterAppProcesses(): string[] {
    if (!existsSync(CLUSTER_RUN)) return [];
    return readdirSync(CLUSTER_RUN).filter((file) => /^(api|core|processor)-\d+\.pid$/.test(file)).flatMap((file) => {
      try {
        process.kill(Number(readFileSync(join(CLUSTER_RUN, file), 'utf8').trim()), 0);
        return [file.replace(/\.pid$/, '')];
      } catch {
        return [];
      }
    });
  }

  /** Every process a fault can hit: tempojob's and Temporal's services. */
  get targets(): string[] {
    return [...this.specs.keys(), ...TEMPORAL_SERVICES.map((s) => `temporal-${s}`)];
  }

  /** The pid of a chaos processor worker's current process group, by worker id (the records carry pids). */
  pidOf(name: string): number {
    if (name.startsWith('temporal-')) return Number(readFileSync(join(CLUSTER_RUN, `${name}.pid`), 'utf8').trim());
    return this.processes.get(name)!.child.pid!;
  }

  /** SIGKILL of the process (its whole group), then a start of it again. */
  async kill(name: string): Promise<void> {
    if (name.startsWith('temporal-')) {
      const pid = this.pidOf(name);
      signalGroup(pid, 'SIGKILL');
      await exited(pid);
      // up.sh starts a service whose pid file names no live process; a zombie nobody reaped yet still answers kill -0.
      rmSync(join(CLUSTER_RUN, `${name}.pid`), { force: true });
    } else {
      await this.processes.get(name)!.kill();
    }
    await this.restart(name);
  }

  /** SIGSTOP of the process's group for `ms`, then SIGCONT. */
  async stall(name: string, ms: number, signal?: AbortSignal): Promise<void> {
    const pid = this.pidOf(name);
    signalGroup(pid, 'SIGSTOP');
    try {
      await new Promise<void>((resolveWait) => {
        const timer = setTimeout(resolveWait, ms);
        signal?.addEventListener('abort', () => { clearTimeout(timer); resolveWait(); }, { once: true });
      });
    } finally {
      signalGroup(pid, 'SIGCONT');
    }
  }

  /** PostgreSQL stopped at once (`pg_ctl -m immediate`: no checkpoint, as in a crash), then started by up.sh. */
  async restartPostgres(): Promise<void> {
    await run('bash', ['-c', 'source scripts/cluster/env.sh && pg_paths && as_pg_owner "$(pg_bin)/pg_ctl" -D "${CLUSTER_PGDATA}" -m immediate -w stop'], { cwd: PROJECT_ROOT });
    await this.restartCluster();
  }

  /** Stops tempojob's processes (SIGTERM, SIGKILL after 10 s); the cluster is left to its owner. */
  async stop(): Promise<void> {
    await Promise.all([...this.processes.values()].map((p) => p.stop()));
  }

  /** Starts the process again: tempojob's here, Temporal's through up.sh. */
  async restart(name: string): Promise<void> {
    if (name.startsWith('temporal-')) await this.restartCluster();
    else await this.launch(name);
  }

  /** scripts/cluster/up.sh: starts whatever of PostgreSQL and Temporal is not running, and waits until the frontend is healthy. */
  async restartCluster(): Promise<void> {
    await runClusterScript('up.sh', [], (chunk) => {
      // What it started, and what went wrong; the rest of its progress is the same every time.
      for (const line of chunk.toString().split('\n')) if (/started|starting|ERROR|ready in/.test(line)) this.settings.log(`  up.sh: ${line.trim()}`);
    });
  }

  /** Starts the process (after killing what is left of an earlier one that never got ready); it must be ready within 2 minutes. */
  private async launch(name: string): Promise<void> {
    await this.processes.get(name)?.kill();
    const spec = this.specs.get(name)!;
    const generation = (this.generations.get(name) ?? 0) + 1;
    this.generations.set(name, generation);
    const child = spawnNode(`${name}.${generation}`, spec.script, spec.env, spec.ready, this.settings.runDir);
    this.processes.set(name, child);
    let timer: NodeJS.Timeout | undefined;
    try {
      await Promise.race([child.ready, new Promise((_, reject) => { timer = setTimeout(() => reject(new Error(`${name} not ready within 120 s`)), 120_000); })]);
    } finally {
      clearTimeout(timer);
    }
  }
}

/** Resolves once `pid` is gone or a zombie (dead, waiting to be reaped). */
async function exited(pid: number): Promise<void> {
  for (let waited = 0; waited < 10_000; waited += 50) {
    let state: string;
    try {
      state = readFileSync(`/proc/${pid}/stat`, 'utf8').replace(/^.*\) /s, '')[0] ?? 'X';
    } catch {
      return;
    }
    if (state === 'Z' || state === 'X') return;
    await new Promise((resolveWait) => setTimeout(resolveWait, 50));
  }
  throw new Error(`process ${pid} did not die within 10 s of SIGKILL`);
}

function signalGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    process.kill(pid, signal);
  }
}
