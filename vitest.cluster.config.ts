import { defineConfig } from 'vitest/config';
import { BaseSequencer, type TestSpecification } from 'vitest/node';

/**
 * The replica-kill burst runs last: the cluster is still catching up for a while after it,
 * and the timing assertions of other suites (CRON lateness) must not be measured then.
 */
class FailoverLast extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    const sorted = await super.sort(files);
    const last = (f: TestSpecification) => (f.moduleId.endsWith('failover.cluster.ts') ? 1 : 0);
    return [...sorted].sort((a, b) => last(a) - last(b));
  }
}

/**
 * `npm run test:cluster`: the feature suites and the cluster tests against the production
 * topology — Temporal v1.29.1 on PostgreSQL (scripts/cluster/up.sh, built and installed on
 * first use), 2 API replicas, 2 core workers and 3 processor workers as separate processes.
 */
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
      // Reads docker-compose.yml only; part of `npm test`.
      'test/docker-compose.test.ts',
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
    sequence: { sequencer: FailoverLast },
  },
});
