import { defineConfig } from 'vitest/config';

/**
 * Files that assert on wall-clock timing (CRON lateness, FIXED_DELAY gaps, durable delays,
 * a dev server stopped for 20 s): one at a time, after the parallel suite, so no other file's
 * load (five worker processes of a broadcast, a Java client) is measured as lateness.
 */
const TIMING_TESTS = ['test/timed-jobs.test.ts', 'test/misfire-restart.test.ts', 'test/story4-durable-delays.test.ts'];
/** PowerJob's Java client gives up after 2 s; it is measured alone, after the suite. */
const JAVA_CLIENT_TEST = 'test/powerjob-java-client.test.ts';
/**
 * 10,000 map sub-tasks saturate the dev server for two minutes: alone, last, so the timing
 * assertions of other files (CRON lateness) are never measured under that load.
 */
const MAP_SCALE_TEST = 'test/map.test.ts';
/**
 * The console in a real headless Chromium: last, alone, so a browser's CPU is never measured
 * as another file's lateness; its setup builds the console and finds (or installs) Chromium.
 */
const CONSOLE_UI_TESTS = ['test/console-ui.test.ts', 'test/console-workflows.test.ts'];
/**
 * Pure tests: no Temporal, so no global setup (dev server, workflow bundle, core worker).
 * `npx vitest run --project pure` runs them in seconds; `npm test` runs them alongside the suite.
 */
const PURE_TESTS = ['test/lint-wall.test.ts', 'test/schedule-engine.test.ts', 'test/dag.test.ts', 'test/log-store.test.ts', 'test/log-shipper.test.ts', 'test/alert-channels.test.ts', 'test/chaos-check.test.ts'];
/**
 * The Temporal projects' setup. Not on the root config: vitest always runs the root's global
 * setup, whichever projects run, so there it would start a dev server for the pure project too.
 */
const TEMPORAL_SETUP = ['test/global-setup.ts'];

export default defineConfig({
  test: {
    // Temporal's native worker does not survive worker_threads (sdk-typescript#876).
    pool: 'forks',
    setupFiles: ['test/setup-runtime.ts'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    fileParallelism: true,
    maxWorkers: 2,
    projects: [
      {
        extends: true,
        test: { name: 'suite', globalSetup: TEMPORAL_SETUP, include: ['test/**/*.test.ts'], exclude: [...TIMING_TESTS, JAVA_CLIENT_TEST, MAP_SCALE_TEST, ...PURE_TESTS, ...CONSOLE_UI_TESTS] },
      },
      // Not `extends: true`: no setupFiles (Temporal's Runtime), no Temporal at all.
      { test: { name: 'pure', include: PURE_TESTS, pool: 'forks', testTimeout: 60_000 } },
      { extends: true, test: { name: 'timing', globalSetup: TEMPORAL_SETUP, include: TIMING_TESTS, fileParallelism: false, maxWorkers: 1, sequence: { groupOrder: 1 } } },
      { extends: true, test: { name: 'powerjob-java', globalSetup: TEMPORAL_SETUP, include: [JAVA_CLIENT_TEST], sequence: { groupOrder: 2 } } },
      { extends: true, test: { name: 'map', globalSetup: TEMPORAL_SETUP, include: [MAP_SCALE_TEST], sequence: { groupOrder: 3 } } },
      {
        extends: true,
        test: { name: 'console', globalSetup: [...TEMPORAL_SETUP, 'test/console-setup.ts'], include: CONSOLE_UI_TESTS, fileParallelism: false, maxWorkers: 1, sequence: { groupOrder: 4 } },
      },
    ],
  },
});
