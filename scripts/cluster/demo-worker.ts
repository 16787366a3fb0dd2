/**
 * A processor worker process running the demo processors (`demo.echo`, `demo.sleep`,
 * `demo.fail`) for the app "demo": what the local cluster (`up.sh --app`) and
 * docker-compose.yml run as "a processor worker". Your own workers look the same, with
 * your processors: `createWorker({ appName, processors })`.
 *
 *   TEMPORAL_ADDRESS=host:7233 tsx scripts/cluster/demo-worker.ts [--worker-id ID]
 */
import { ConfigError, loadConfig } from '../../src/config.js';
import { demoProcessors } from '../../src/demo/processors.js';
import { createWorker } from '../../src/workers/index.js';

async function main(): Promise<void> {
  const config = loadConfig();
  const idFlag = process.argv.indexOf('--worker-id');
  const workerId = idFlag > 0 ? process.argv[idFlag + 1] : undefined;
  const worker = await createWorker({
    appName: 'demo',
    processors: demoProcessors,
    address: config.TEMPORAL_ADDRESS ?? '127.0.0.1:7233',
    namespace: config.TEMPORAL_NAMESPACE,
    ...(workerId ? { workerId } : {}),
  });
  console.log(`processor worker ready: ${worker.workerId} for app demo`);
  await worker.run();
}

main().catch((err: unknown) => {
  console.error(err instanceof ConfigError ? err.message : err);
  process.exit(1);
});
