import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { PROJECT_ROOT } from '../../../src/temporal/cli.js';
import { portAnswers } from './cluster-scripts.js';

/** The cluster's port settings, named as scripts/cluster/env.sh reads them. */
const GRPC_SETTINGS = ['TEMPOJOB_CLUSTER_FRONTEND_PORT', 'TEMPOJOB_CLUSTER_HISTORY_PORT', 'TEMPOJOB_CLUSTER_MATCHING_PORT', 'TEMPOJOB_CLUSTER_WORKER_PORT'] as const;
const PORT_SETTINGS = ['TEMPOJOB_CLUSTER_PG_PORT', 'TEMPOJOB_CLUSTER_FRONTEND_HTTP_PORT', ...GRPC_SETTINGS, 'TEMPOJOB_CLUSTER_METRICS_BASE'] as const;
type PortSetting = (typeof PORT_SETTINGS)[number];

/** The settings' defaults, as scripts/cluster/env.sh gives them (its CLUSTER_METRICS_BASE is the metrics one). */
function portDefaults(): Record<PortSetting, number> {
  const script = `source scripts/cluster/env.sh && ${PORT_SETTINGS.map((name) =>
    `echo ${name}=\${${name === 'TEMPOJOB_CLUSTER_METRICS_BASE' ? 'CLUSTER_METRICS_BASE' : name}}`).join(' && ')}`;
  const env = Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith('TEMPOJOB_CLUSTER_')));
  const output = execFileSync('bash', ['-c', script], { cwd: PROJECT_ROOT, env, encoding: 'utf8' });
  const values = Object.fromEntries(output.trim().split('\n').map((line) => line.split('=') as [string, string]).map(([name, value]) => [name, Number(value)]));
  return Object.fromEntries(PORT_SETTINGS.map((name) => [name, values[name]])) as Record<PortSetting, number>;
}
const MAX_SHIFTS = 40;

/** Every port a cluster with these settings listens on (see scripts/cluster/temporal/cluster.yaml). */
function portsOf(settings: Record<PortSetting, number>): number[] {
  const metrics = [1, 2, 3, 4].map((i) => settings.TEMPOJOB_CLUSTER_METRICS_BASE + i);
  // Each Temporal service also listens on its membership port, its gRPC port - 300.
  const membership = GRPC_SETTINGS.map((name) => settings[name] - 300);
  return [settings.TEMPOJOB_CLUSTER_PG_PORT, settings.TEMPOJOB_CLUSTER_FRONTEND_HTTP_PORT, ...GRPC_SETTINGS.map((name) => settings[name]), ...membership, ...metrics];
}

/** Whether a process this checkout's cluster started (a pid file in .data/cluster/run) is alive. */
function ownClusterAlive(): boolean {
  const runDir = join(process.env.TEMPOJOB_CLUSTER_DIR ?? join(PROJECT_ROOT, '.data', 'cluster'), 'run');
  if (!existsSync(runDir)) return false;
  return readdirSync(runDir).filter((file) => file.endsWith('.pid')).some((file) => {
    const pid = Number(readFileSync(join(runDir, file), 'utf8').trim());
    try {
      process.kill(pid, 0);
      return true;
    } catch {
      return false;
    }
  });
}

/**
 * Picks the ports of the cluster this test run uses and puts them in the environment, which
 * scripts/cluster/up.sh, down.sh and every test fork read. The defaults unless another
 * program (another checkout's cluster, say) holds one of them; then the first set, shifted by
 * 100 (PostgreSQL by 1) at a time, that is wholly free. Settings given in the environment,
 * and a cluster this checkout already runs, are kept as they are.
 */
export async function chooseClusterPorts(): Promise<void> {
  const defaults = portDefaults();
  if (PORT_SETTINGS.some((name) => process.env[name] !== undefined) || ownClusterAlive()) {
    for (const name of PORT_SETTINGS) process.env[name] ??= String(defaults[name]);
    return;
  }
  for (let shift = 0; shift < MAX_SHIFTS; shift++) {
    const settings = Object.fromEntries(PORT_SETTINGS.map((name) => [name, defaults[name] + (name === 'TEMPOJOB_CLUSTER_PG_PORT' ? shift : shift * 100)])) as Record<PortSetting, number>;
    const taken = await Promise.all(portsOf(settings).map(portAnswers));
    if (taken.some(Boolean)) continue;
    if (shift > 0) console.log(`[cluster] the default cluster ports are in use by another program: this run uses Temporal ${settings.TEMPOJOB_CLUSTER_FRONTEND_PORT} and PostgreSQL ${settings.TEMPOJOB_CLUSTER_PG_PORT}`);
    for (const [name, port] of Object.entries(settings)) process.env[name] = String(port);
    return;
  }
  throw new Error(`No free set of cluster ports found (tried ${MAX_SHIFTS} shifts of the defaults); set TEMPOJOB_CLUSTER_*_PORT to free ports`);
}
