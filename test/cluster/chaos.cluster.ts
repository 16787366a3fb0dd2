import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { describe, expect, inject, it } from 'vitest';
import { PROJECT_ROOT } from '../../src/temporal/cli.js';
import { reportMarkdown } from '../../scripts/chaos/report.js';
import { runChaos } from '../../scripts/chaos/run.js';
import { uniqueName } from '../support/stack.js';

/**
 * The chaos suite's short profile (scripts/chaos, README "Chaos suite") on the cluster run's
 * topology: its own 2 API replicas, 2 core workers (on a core queue of their own) and 3 chaos
 * processor workers behind its fault proxy, a minute of the mixed workload without faults,
 * then two minutes with seeded faults (kills and stalls of every process kind, Temporal's
 * services included, a PostgreSQL restart, delayed and dropped traffic to Temporal), a
 * drain and the invariant check. It runs last (vitest.cluster.config.ts): it restarts the
 * cluster's shared processes; each is running again when it ends, and the run's other
 * processes reconnect. A violation fails it, with the report's findings as the message.
 */

const seed = Number(process.env.TEMPOJOB_CHAOS_SEED ?? 1812);
const outDir = join(PROJECT_ROOT, '.data', 'cluster', 'test-run', `chaos-${randomBytes(3).toString('hex')}`);

describe('chaos, short profile', () => {
  it(`the mixed workload under seeded faults (seed ${seed}) keeps every invariant`, { timeout: 15 * 60_000 }, async () => {
    const report = await runChaos({
      seed, profile: 'short', baselineMs: 60_000, chaosMs: 120_000, outDir,
      cluster: {
        kind: 'external', temporalAddress: inject('temporalAddress'), logDatabaseUrl: process.env.TEMPOJOB_CLUSTER_LOG_DATABASE_URL!,
        workflowBundle: inject('workflowBundlePath'), coreTaskQueue: uniqueName('tempojob-core-chaos'),
      },
      command: `TEMPOJOB_CHAOS_SEED=${seed} npm run test:cluster -- chaos.cluster.ts`,
      log: (line) => console.log(`[chaos] ${line}`),
    });
    console.log(reportMarkdown(report));
    expect(report.faults.applied.length).toBeGreaterThan(0);
    expect(Object.values(report.work.acceptedByKind).reduce((sum, n) => sum + (n ?? 0), 0)).toBeGreaterThan(0);
    expect(report.violations.map((v) => `${v.kind}: ${v.message}`)).toEqual([]);
  });
});
