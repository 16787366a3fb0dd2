import { defineConfig } from 'vitest/config';
import { BaseSequencer, type TestSpecification } from 'vitest/node';

/**
 * The heavy files run last, the replica-kill burst and then the chaos suite at the very end:
 * the cluster is still catching up for a while after each, and the timing assertions of other
 * suites (CRON lateness) must not be measured then; the chaos suite also kills and restarts
 * the Temporal services and PostgreSQL every file shares.
 */
const HEAVY_LAST = ['map.test.ts', 'failover.cluster.ts', 'chaos.cluster.ts'];
class HeavyLast extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    const sorted = await super.sort(files);
    const rank = (f: TestSpecification) => HEAVY_LAST.findIndex((name) => f.moduleId.endsWith(`/${name}`));
    return [...sorted].sort((a, b) => rank(a) - rank(b));
  }
}

export default defineConfig({
  test: {
    // Temporal's native worker does not survive worker_threads (sdk-typescript#876).
    pool: 'forks',
    include: ['test/*.test.ts', 'test/cluster/**/*.cluster.ts'],
    exclude: [
      // These start and kill their own Temporal dev server, or `npm start`'s embedded one:
      // they test the single-machine stack, not the cluster.
      'test/embedded-stack.test.ts',
      'test/story4-durable-delays.test.ts',
      'test/misfire-restart.test.ts',
      // Need no cluster (they read files, lint, replay recorded histories, pack the project,
      // or run Temporal's time-skipping test server); `npm test` runs them once.
      'test/docker-compose.test.ts',
      'test/lint-wall.test.ts',
      'test/schedule-engine.test.ts',
      'test/replay.test.ts',
      'test/package.test.ts',
      'test/workflows-time-skipping.test.ts',
      'test/chaos-check.test.ts',
      // The HTTP edge is the same code on the cluster; its thousands of failed logins would
      // throttle this machine's address on the replicas every other file shares.
      'test/edge-fuzz.test.ts',
      // Configures its own API (a trusted proxy, CORS origins); the cluster's replicas are configured once.
      'test/edge-security.test.ts',
      // Puts its own TLS terminator in front of the dev server and uses the dev run's core queue.
      'test/temporal-tls.test.ts',
      // The console in a browser over the same API: `npm test` runs it once (its setup builds the console and finds Chromium).
      'test/console-ui.test.ts',
      'test/console-workflows.test.ts',
      // Counts what its own in-process core worker does; the cluster's core workers are other processes.
      'test/metrics.test.ts',
    ],
    globalSetup: ['test/cluster/global-setup.ts'],
    setupFiles: ['test/setup-runtime.ts'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    // One file at a time: the whole cluster already runs on this (2-core) machine, and the
    // replica-kill burst saturates it, which the timing assertions of other suites (CRON
    // lateness) must not be measured under.
    fileParallelism: false,
    maxWorkers: 1,
    sequence: { sequencer: HeavyLast },
  },
});
