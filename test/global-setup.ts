import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestProject } from 'vitest/node';
import { ensureTemporalCli } from '../src/temporal/cli.js';
import { startDevServer } from '../src/temporal/dev-server.js';
import { bundleCoreWorkflows } from '../src/workers/core-worker.js';
import { freePort } from './support/ports.js';

declare module 'vitest' {
  export interface ProvidedContext {
    temporalAddress: string;
    temporalCliPath: string;
    workflowBundlePath: string;
  }
}

/**
 * One real Temporal dev server and one workflow bundle for the whole run.
 * TEMPOJOB_TEST_TEMPORAL_ADDRESS=host:port uses that Temporal instead of starting a dev
 * server (the cluster run: vitest.cluster.config.ts).
 */
export default async function setup(project: TestProject) {
  const dir = mkdtempSync(join(tmpdir(), 'tempojob-test-'));
  const cliPath = await ensureTemporalCli();
  const external = process.env.TEMPOJOB_TEST_TEMPORAL_ADDRESS;
  const server = external
    ? { address: external, stop: async () => {} }
    : await startDevServer({ cliPath, dbFile: join(dir, 'temporal.db'), port: await freePort() });
  const bundle = await bundleCoreWorkflows();
  const bundlePath = join(dir, 'workflows.bundle.js');
  writeFileSync(bundlePath, bundle.code);
  project.provide('temporalAddress', server.address);
  project.provide('temporalCliPath', cliPath);
  project.provide('workflowBundlePath', bundlePath);
  return async () => {
    await server.stop();
    rmSync(dir, { recursive: true, force: true });
  };
}
