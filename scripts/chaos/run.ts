import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Client } from '@temporalio/client';
import { AppService } from '../../src/api/app-service.js';
import { createClient, type TempojobClient } from '../../src/client/index.js';
import { DEFAULT_CORE_TASK_QUEUE } from '../../src/contract/names.js';
import { InstanceStatus } from '../../src/domain/enums.js';
import { bundleCoreWorkflows } from '../../src/core/worker.js';
import { connectClient } from '../../src/temporal/connection.js';
import { startRoundRobinProxy } from '../../test/cluster/support/cluster-stack.js';
import { portAnswers, runClusterScript } from '../../test/cluster/support/cluster-scripts.js';
import { testTarget } from '../../test/support/temporal-env.js';
import { checkInvariants } from './check.js';
import { FaultProxy } from './fault-proxy.js';
import { FAULT_PROFILES, injectFaults, planFaults, type AppliedFault } from './faults.js';
import { readRecords } from './records.js';
import { readFires, readInstances, readWfInstances, runningFires } from './reads.js';
import { buildReport, reportMarkdown, type ChaosReport } from './report.js';
import { Rng } from './rng.js';
import { Topology } from './topology.js';
import { pause, Workload, WORKLOAD_PROFILES } from './workload.js';

export interface ChaosOptions {
  seed: number;
  profile: 'full' | 'short';
  baselineMs: number;
  chaosMs: number;
  /** Where report.md, report.json, the fault log, the records and the processes' logs go. */
  outDir: string;
  /**
   * `manage`: bring the cluster up with scripts/cluster/up.sh (and down again at the end if
   * it was not running); `external`: it is up (the cluster test run), use it as it is.
   */
  cluster: { kind: 'manage' } | { kind: 'external'; temporalAddress: string; logDatabaseUrl: string; workflowBundle: string; coreTaskQueue: string };
  /** The command line that replays this run, for the report. */
  command: string;
  log: (line: string) => void;
}

const FRONTEND_PORT = Number(process.env.TEMPOJOB_CLUSTER_FRONTEND_PORT ?? 17233);
/** After the fault phase: how long a call under way may still take to be answered. */
const ANSWER_GRACE_MS = 90_000;
/** After the last delayed run fell due: how long runs may take to finish. */
const DRAIN_MS = { full: 180_000, short: 120_000 };

/**
 * One chaos run: the production-like topology with tempojob behind the fault proxy, the
 * mixed workload without faults (the baseline), then with the seeded faults, a drain, the
 * invariant check, and the report (written to `outDir`, returned).
 */
export async function runChaos(options: ChaosOptions): Promise<ChaosReport> {
  const { log } = options;
  mkdirSync(join(options.outDir, 'records'), { recursive: true });
  const faultLog = join(options.outDir, 'faults.log');
  writeFileSync(faultLog, '');
  const logLine = (line: string) => {
    const stamped = `${new Date().toISOString()} ${line}`;
    writeFileSync(faultLog, `${stamped}\n`, { flag: 'a' });
    log(stamped);
  };

  const cleanups: (() => Promise<unknown>)[] = [];
  try {
    const cluster = await clusterOf(options, cleanups, logLine);
    const temporal: Client = await connectClient(testTarget(cluster.temporalAddress));
    cleanups.push(() => temporal.connection.close());
    const [host, port] = [cluster.temporalAddress.replace(/:\d+$/, ''), Number(cluster.temporalAddress.replace(/^.*:/, ''))];
    const proxy = await FaultProxy.start(host, port);
    cleanups.push(() => proxy.close());

    const appName = `chaos-${options.seed}-${randomBytes(3).toString('hex')}`;
    const password = randomBytes(12).toString('hex');
    logLine(`starting tempojob behind the fault proxy ${proxy.address} (app ${appName}, core queue ${cluster.coreTaskQueue})`);
    const topology = await Topology.start({
      proxyAddress: proxy.address, coreTaskQueue: cluster.coreTaskQueue, workflowBundle: cluster.workflowBundle,
      logDatabaseUrl: cluster.logDatabaseUrl, appName, jwtSecret: randomBytes(32).toString('hex'),
      runDir: options.outDir, recordDir: join(options.outDir, 'records'), log: logLine,
    });
    cleanups.push(() => topology.stop());
    // The app directory lives on the default core queue (served by these core workers, or by the cluster run's).
    await new AppService(temporal, DEFAULT_CORE_TASK_QUEUE).put(appName, password, 'create');
    const balancer = await startRoundRobinProxy(topology.apiUrls);
    cleanups.push(() => balancer.close());
    const client = createClient({ baseUrl: balancer.url, appName, password, timeoutMs: 15_000, retry: { attempts: 4, backoffMs: 300 } });

    const workloadProfile = WORKLOAD_PROFILES[options.profile];
    const workload = await Workload.setup(client, workloadProfile);
    const rng = new Rng(options.seed);
    const plan = planFaults(options.seed, options.chaosMs, FAULT_PROFILES[options.profile], topology.targets);
    writeFileSync(join(options.outDir, 'fault-plan.json'), JSON.stringify(plan, null, 2));
    logLine(`workload: ${workloadProfile.actors} actors; ${plan.length} faults planned over ${Math.round(options.chaosMs / 1000)} s`);

    const stopActors = new AbortController();
    const giveUp = new AbortController();
    const baselineStart = Date.now();
    const driving = workload.drive(rng.fork(), stopActors.signal, giveUp.signal);
    await pause(options.baselineMs, new AbortController().signal);
    const chaosStart = Date.now();
    logLine('baseline over: faults from now on');
    const stopFaults = new AbortController();
    const injecting = injectFaults(plan, chaosStart, { topology, proxy, log: logLine }, stopFaults.signal);
    await pause(options.chaosMs, new AbortController().signal);
    const chaosEnd = Date.now();
    stopFaults.abort();
    stopActors.abort();
    const faults: AppliedFault[] = await injecting;
    logLine(`fault phase over (${faults.length} faults); every process is running; draining`);
    const giveUpTimer = setTimeout(() => giveUp.abort(), ANSWER_GRACE_MS);
    await driving;
    clearTimeout(giveUpTimer);
    await workload.stopSchedules();
    await drain(client, temporal, workload, Math.max(...workload.tracked.map((r) => r.submittedAt + r.delayMs), chaosEnd) + DRAIN_MS[options.profile]);
    const drainMs = Date.now() - chaosEnd;

    logLine('checking');
    const workflows = await readWfInstances(client, workload.tracked.flatMap((r) => (r.wfInstanceId === undefined ? [] : [r.wfInstanceId])));
    const instances = await readInstances(client, [
      ...workload.tracked.flatMap((r) => (r.instanceId === undefined ? [] : [r.instanceId])),
      ...[...workflows.values()].flatMap((wf) => wf.nodeInstanceIds),
    ]);
    const fires = { cron: await readFires(temporal, workload.jobs.cron), fixedRate: await readFires(temporal, workload.jobs.fixedRate) };
    const { records, torn } = readRecords(join(options.outDir, 'records'));
    const check = checkInvariants({
      tracked: workload.tracked, unanswered: workload.unanswered, instances, workflows, fires: [...fires.cron, ...fires.fixedRate], records, faults,
      processOf: (workerId) => `processor-${workerId.replace(/^chaos-worker-/, '')}`,
      mapSize: workloadProfile.mapSize, mapJobId: workload.jobs.map, broadcastJobId: workload.jobs.broadcast,
    });
    const report = buildReport({
      seed: options.seed, profile: options.profile, command: options.command, baseline: [baselineStart, chaosStart], chaos: [chaosStart, chaosEnd], drainMs,
      faults, completions: workload.completions, tracked: workload.tracked, instances, fires, records, torn, proxyDroppedBytes: proxy.droppedBytes,
      refusals: workload.refusals, unanswered: workload.unanswered, check,
    });
    writeFileSync(join(options.outDir, 'report.json'), JSON.stringify(report, null, 2));
    writeFileSync(join(options.outDir, 'report.md'), reportMarkdown(report));
    return report;
  } finally {
    for (const cleanup of cleanups.reverse()) await cleanup().catch((err: unknown) => log(`cleanup: ${(err as Error).message}`));
  }
}

interface ClusterSettings { temporalAddress: string; logDatabaseUrl: string; workflowBundle: string; coreTaskQueue: string }

/** The cluster to run on: up.sh's (its mTLS settings put in this process's environment, which the processes inherit), or the given one. */
async function clusterOf(options: ChaosOptions, cleanups: (() => Promise<unknown>)[], log: (line: string) => void): Promise<ClusterSettings> {
  if (options.cluster.kind === 'external') return options.cluster;
  const appProcesses = Topology.clusterAppProcesses();
  if (appProcesses.length > 0) {
    throw new Error(`up.sh --app's tempojob processes are running (${appProcesses.join(', ')}): their core workers would take this run's work past the fault proxy. Stop them with scripts/cluster/down.sh first.`);
  }
  const wasRunning = await portAnswers(FRONTEND_PORT);
  if (!wasRunning) cleanups.push(() => runClusterScript('down.sh', [], () => {}));
  log('scripts/cluster/up.sh');
  const output = await runClusterScript('up.sh', [], (chunk) => process.stdout.write(chunk));
  const value = (name: string) => {
    const found = new RegExp(`^${name}=(\\S+)$`, 'm').exec(output)?.[1];
    if (!found) throw new Error(`scripts/cluster/up.sh did not print ${name}=…`);
    return found;
  };
  for (const line of output.matchAll(/^(TEMPORAL_TLS_[A-Z_]+)=(\S+)$/gm)) process.env[line[1]!] = line[2]!;
  const workflowBundle = join(options.outDir, 'workflows.bundle.js');
  writeFileSync(workflowBundle, (await bundleCoreWorkflows({ tracing: false })).code);
  return { temporalAddress: value('TEMPORAL_ADDRESS'), logDatabaseUrl: value('TEMPOJOB_LOG_DATABASE_URL'), workflowBundle, coreTaskQueue: DEFAULT_CORE_TASK_QUEUE };
}

/** `fn` of every item, 16 at a time. */
async function inBatches<T, R>(items: readonly T[], fn: (item: T) => Promise<R>): Promise<R[]> {
  const results: R[] = [];
  for (let i = 0; i < items.length; i += 16) results.push(...(await Promise.all(items.slice(i, i + 16).map(fn))));
  return results;
}

/** Until every accepted run and fire has finished, or `deadline`: what is still running then is the checker's finding. */
async function drain(client: TempojobClient, temporal: Client, workload: Workload, deadline: number): Promise<void> {
  const done = new Set<number>([InstanceStatus.codes.FAILED, InstanceStatus.codes.SUCCEED, InstanceStatus.codes.CANCELED, InstanceStatus.codes.STOPPED]);
  let open = workload.tracked.flatMap((r) => (r.instanceId === undefined ? [] : [r.instanceId]));
  let openWf = workload.tracked.flatMap((r) => (r.wfInstanceId === undefined ? [] : [r.wfInstanceId]));
  const never = new AbortController().signal;
  while (Date.now() < deadline) {
    const statuses = await inBatches(open, (id) => client.fetchInstanceStatus(id).catch(() => undefined));
    open = open.filter((_, i) => !done.has(statuses[i] ?? -1));
    const wfStatuses = await inBatches(openWf, (id) => client.fetchWfInstanceInfo(id).then((info) => info.status).catch(() => undefined));
    openWf = openWf.filter((_, i) => ![3, 4, 10].includes(wfStatuses[i] ?? -1));
    const firing = (await runningFires(temporal, workload.jobs.cron).catch(() => 1)) + (await runningFires(temporal, workload.jobs.fixedRate).catch(() => 1));
    if (open.length === 0 && openWf.length === 0 && firing === 0) return;
    await pause(2_000, never);
  }
}
