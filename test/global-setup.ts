import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { TestProject } from 'vitest/node';
import { DefaultLogger, Runtime } from '@temporalio/worker';
import { loadConfig } from '../src/config.js';
import { appDirectoryStartOptions } from '../src/contract/start-options.js';
import { WorkflowType } from '../src/contract/workflows.js';
import { startCoreWorker } from '../src/core/worker.js';
import { ensureTemporalCli } from '../src/temporal/cli.js';
import { connectTemporal, targetOf } from '../src/temporal/connection.js';
import { startDevServer } from '../src/temporal/dev-server.js';
import { bundleCoreWorkflows } from '../src/core/worker.js';
import { TEST_CORE_TASK_QUEUE } from './support/core-queue.js';
import { freePort } from './support/ports.js';
import { scratchDir } from './support/scratch.js';
import { temporalTlsEnv } from './support/temporal-env.js';

declare module 'vitest' {
  export interface ProvidedContext {
    temporalAddress: string;
    temporalCliPath: string;
    workflowBundlePath: string;
  }
}


/**
 * One real Temporal dev server, one workflow bundle and one core worker for the whole run:
 * like production's core workers, it outlives the test files, so none of their workflow
 * tasks is ever caught by a worker shutting down (such a task waits out its 10 s timeout).
 * TEMPOJOB_TEST_TEMPORAL_ADDRESS=host:port uses that Temporal, and its core workers,
 * instead (the cluster run: vitest.cluster.config.ts).
 */
export default async function setup(project: TestProject) {
  const dir = scratchDir('test');
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
  const core = external ? undefined : await startSharedCoreWorker(server.address, bundle.code);
  return async () => {
    await core?.stop();
    await server.stop();
    rmSync(dir, { recursive: true, force: true });
  };
}

// Each vitest project runs this setup in the same process: install the runtime once.
if (!Runtime._instance) Runtime.install({ logger: new DefaultLogger('WARN') });

/**
 * The shared core worker, and the app directory on its queue. The directory is one workflow
 * per namespace, served by the core queue of whoever created the first app; some files run
 * a core worker on a queue of their own and stop it when they end, and a directory created
 * there would wait forever once they had (every later app created or changed in the run hung).
 */
async function startSharedCoreWorker(address: string, code: string) {
  const config = loadConfig({ TEMPORAL_ADDRESS: address, ...temporalTlsEnv(), TEMPOJOB_CORE_TASK_QUEUE: TEST_CORE_TASK_QUEUE });
  const temporal = await connectTemporal(targetOf(config));
  const { worker, done } = await startCoreWorker({ ...temporal, config, workflowBundle: { code } });
  await temporal.client.workflow.start(WorkflowType.appDirectory, appDirectoryStartOptions(TEST_CORE_TASK_QUEUE));
  return {
    async stop() {
      worker.shutdown();
      await done;
      await temporal.close();
    },
  };
}
