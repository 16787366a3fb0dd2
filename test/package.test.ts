import { execFile } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { OpenApiCaller } from './support/api-client.js';
import { scratchDir } from './support/scratch.js';
import { startTestStack, type TestStack } from './support/stack.js';

/**
 * The installable packages, as a user's project gets them: this project is packed as for
 * publishing (`npm pack`, whose prepack compiles dist/ from a clean checkout), the tarball
 * is installed into a fresh project, and a plain `node` script there runs a processor
 * (`tempojob/worker`) and a client call (`tempojob/client`) against the test stack.
 */

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const TSC = join(ROOT, 'node_modules', '.bin', 'tsc');
const NPM_INSTALL_TIMEOUT_MS = 180_000;

interface Run { code: number | null; stdout: string; stderr: string }

/**
 * Runs a command to its end and reports how it ended, without throwing. The environment is
 * a plain shell's: `npm test` and `npx` hand their children npm_config_local_prefix (this
 * project), which would point the nested `npm install` at this project instead of the
 * fresh one, and npm_package_* / npm_lifecycle_* describing this project.
 */
function run(command: string, args: string[], options: { cwd: string; env?: Record<string, string>; timeoutMs: number }): Promise<Run> {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (!/^npm_(config_local_prefix|config_call|command|lifecycle_|package_)/i.test(key)) env[key] = value;
  }
  return new Promise((resolveRun) => {
    execFile(command, args, { cwd: options.cwd, env: { ...env, ...options.env }, timeout: options.timeoutMs, maxBuffer: 64 * 1024 * 1024 },
      (err, stdout, stderr) => {
        const code = err ? (typeof err.code === 'number' ? err.code : null) : 0;
        resolveRun({ code, stdout, stderr: err && code === null ? `${stderr}\n${err.message}` : stderr });
      });
  });
}

const output = (r: Run) => `exit ${r.code}\n--- stdout\n${r.stdout}\n--- stderr\n${r.stderr}`;

function succeeded(r: Run, what: string): Run {
  if (r.code !== 0) throw new Error(`${what} failed: ${output(r)}`);
  return r;
}

/** The user's script: plain ESM JavaScript, only the two package entry points. */
const CONSUMER = `
import { createWorker } from 'tempojob/worker';
import { createClient, InstanceStatus, verifyWebhookSignature } from 'tempojob/client';
import { createHmac } from 'node:crypto';

const { TEMPOJOB_URL, APP_NAME, APP_PASSWORD } = process.env;
let runs = 0;
// Temporal's address comes from $TEMPORAL_ADDRESS, the SDK's default.
const worker = await createWorker({
  appName: APP_NAME,
  workerId: 'package-consumer',
  shutdownGraceMs: 0,
  processors: {
    'package.hello': async (ctx) => {
      runs += 1;
      return { success: true, msg: 'hello ' + ctx.instanceParams };
    },
  },
});
const running = worker.run();

const tempojob = createClient({ baseUrl: TEMPOJOB_URL, appName: APP_NAME, password: APP_PASSWORD });
const jobId = await tempojob.saveJob({
  jobName: 'package-hello', timeExpressionType: 'API', executeType: 'STANDALONE',
  processorType: 'BUILT_IN', processorInfo: 'package.hello',
});
const instanceId = await tempojob.runJob(jobId, { instanceParams: 'from a plain node project' });
const finished = ['SUCCEED', 'FAILED', 'CANCELED', 'STOPPED'];
const deadline = Date.now() + 60_000;
let info = await tempojob.fetchInstanceInfo(instanceId);
while (!finished.includes(InstanceStatus.nameOf(info.status)) && Date.now() < deadline) {
  await new Promise((resolve) => setTimeout(resolve, 200));
  info = await tempojob.fetchInstanceInfo(instanceId);
}
await worker.shutdown();
await running;
// A webhook alert receiver checks a signature made as the spec says (HMAC-SHA256 over "<timestamp>.<body>").
const stamp = String(Date.now());
const body = '{"id":"INSTANCE_FAILED:1:1"}';
const signature = 'sha256=' + createHmac('sha256', 'receiver-secret').update(stamp + '.' + body).digest('hex');
const verified = [
  verifyWebhookSignature({ secret: 'receiver-secret', timestamp: stamp, body, signature }),
  verifyWebhookSignature({ secret: 'receiver-secret', timestamp: stamp, body: body + ' ', signature }),
];
console.log('RESULT ' + JSON.stringify({ runs, jobId, instanceId, status: InstanceStatus.nameOf(info.status), result: info.result, verified }));
`;

/** A TypeScript user's file: compiles only if the declarations resolve and are real types, not any. */
const TYPED_CONSUMER = `
import { createWorker, mapProcessor, type ProcessorDefinition, type TaskContext } from 'tempojob/worker';
import { createClient, InstanceStatus, type InstanceInfo, type SaveJobRequest } from 'tempojob/client';

const hello: ProcessorDefinition = async (ctx: TaskContext) => ({ success: true, msg: 'hello ' + ctx.instanceParams });
const squares = mapProcessor({ process: async (ctx) => (ctx.isRootTask ? (await ctx.map([1, 2], 'n'), { success: true }) : { success: true }) });
const job: SaveJobRequest = { jobName: 'x', timeExpressionType: 'API', executeType: 'STANDALONE', processorType: 'BUILT_IN', processorInfo: 'hello' };

export async function main(): Promise<boolean> {
  const worker = await createWorker({ appName: 'billing', processors: { hello, squares } });
  const client = createClient({ baseUrl: 'http://localhost:7700', appName: 'billing', password: 'secret' });
  const instanceId: number = await client.runJob(await client.saveJob(job), { delay: 1000 });
  const info: InstanceInfo = await client.fetchInstanceInfo(instanceId);
  await worker.shutdown();
  return info.status === InstanceStatus.codes.SUCCEED;
}

// @ts-expect-error a job needs its execute type, processor and time expression type
export const incomplete: SaveJobRequest = { jobName: 'x' };
// @ts-expect-error appName is required
export const noApp = () => createWorker({ processors: { hello } });
// @ts-expect-error a processor returns a result
export const wrongResult: ProcessorDefinition = async () => 42;
// @ts-expect-error no such status
export const noStatus = InstanceStatus.codes.DONE;
`;

/** Records every module the process loads (ESM through a load hook, CommonJS from require's cache). */
const LOAD_RECORDER = `
import { appendFileSync } from 'node:fs';
import { createRequire, register } from 'node:module';
register('data:text/javascript,' + encodeURIComponent(\`
  import { appendFileSync } from 'node:fs';
  export async function load(url, context, next) {
    if (url.startsWith('file:')) appendFileSync(process.env.LOADS_FILE, new URL(url).pathname + '\\\\n');
    return next(url, context);
  }
\`));
const require = createRequire(import.meta.url);
process.on('exit', () => appendFileSync(process.env.LOADS_FILE, Object.keys(require.cache).join('\\n') + '\\n'));
`;

interface Packed { filename: string; size: number; unpackedSize: number; files: { path: string; size: number }[] }

let stack: TestStack;
let app: { appName: string; password: string; api: OpenApiCaller };
let work: string;
let consumer: string;
let packed: Packed;

beforeAll(async () => {
  stack = await startTestStack();
  app = await stack.newApp('package');
  work = scratchDir('package');
  // As `npm publish` would: prepack compiles dist/ first.
  const pack = succeeded(await run('npm', ['pack', '--json', '--pack-destination', work], { cwd: ROOT, timeoutMs: 120_000 }), 'npm pack');
  packed = (JSON.parse(pack.stdout) as Packed[])[0]!;

  consumer = join(work, 'consumer');
  mkdirSync(consumer);
  writeFileSync(join(consumer, 'package.json'), JSON.stringify({ name: 'tempojob-consumer', private: true, type: 'module' }, null, 2));
  // --prefer-offline: the cache npm ci filled serves it here; a fresh machine downloads.
  succeeded(await run('npm', ['install', join(work, packed.filename), '--prefer-offline', '--no-audit', '--no-fund'],
    { cwd: consumer, timeoutMs: NPM_INSTALL_TIMEOUT_MS }), 'npm install <tarball>');
}, 60_000 + 120_000 + NPM_INSTALL_TIMEOUT_MS);

afterAll(async () => {
  await stack?.close();
  if (work) rmSync(work, { recursive: true, force: true });
});

describe('tempojob as an installed package', () => {
  it('the tarball holds the compiled entry points with their declarations, not the sources', () => {
    const paths = packed.files.map((f) => f.path);
    expect(paths).toEqual(expect.arrayContaining([
      'package.json', 'README.md',
      'dist/workers/index.js', 'dist/workers/index.d.ts', 'dist/client/index.js', 'dist/client/index.d.ts',
    ]));
    expect(paths.filter((p) => !p.startsWith('dist/') && !['package.json', 'README.md', 'LICENSE'].includes(p))).toEqual([]);
    expect(paths.filter((p) => p.endsWith('.ts') && !p.endsWith('.d.ts'))).toEqual([]);
  });

  it('a plain node script runs a processor and the client from the packages against the stack', async () => {
    writeFileSync(join(consumer, 'consumer.mjs'), CONSUMER);
    const result = succeeded(await run('node', ['consumer.mjs'], {
      cwd: consumer,
      env: { TEMPORAL_ADDRESS: inject('temporalAddress'), TEMPOJOB_URL: stack.url, APP_NAME: app.appName, APP_PASSWORD: app.password },
      timeoutMs: 90_000,
    }), 'node consumer.mjs');
    const line = result.stdout.split('\n').find((l) => l.startsWith('RESULT '));
    expect(line, output(result)).toBeDefined();
    const outcome = JSON.parse(line!.slice('RESULT '.length)) as { runs: number; instanceId: number; status: string; result: string; verified: boolean[] };
    expect(outcome).toMatchObject({ runs: 1, status: 'SUCCEED', result: 'hello from a plain node project', verified: [true, false] });
    // The server agrees, read without the package.
    const info = await app.api.data<{ status: number; result: string; jobId: number }>('fetchInstanceInfo', { instanceId: outcome.instanceId });
    expect(info).toMatchObject({ status: 5, result: 'hello from a plain node project' });
  }, 100_000);

  it('exposes only ./worker and ./client', async () => {
    for (const specifier of ['tempojob', 'tempojob/src/workers/index.js', 'tempojob/src/client/index.ts', 'tempojob/dist/workers/index.js', 'tempojob/package.json']) {
      const r = await run('node', ['--input-type=module', '-e', `await import(${JSON.stringify(specifier)})`], { cwd: consumer, timeoutMs: 30_000 });
      expect(r.code, specifier).not.toBe(0);
      expect(r.stderr, specifier).toContain('ERR_PACKAGE_PATH_NOT_EXPORTED');
    }
  }, 60_000);

  it('ships type declarations a TypeScript project compiles against', async () => {
    writeFileSync(join(consumer, 'typed.ts'), TYPED_CONSUMER);
    writeFileSync(join(consumer, 'tsconfig.json'), JSON.stringify({
      compilerOptions: {
        target: 'ES2022', module: 'NodeNext', moduleResolution: 'NodeNext', strict: true, noEmit: true,
        // Our declarations are checked too; @types/node as a user's project has it.
        skipLibCheck: false, typeRoots: [join(ROOT, 'node_modules', '@types')], types: ['node'],
      },
      files: ['typed.ts'],
    }));
    const r = await run(TSC, ['-p', '.'], { cwd: consumer, timeoutMs: 60_000 });
    // Other libraries' own declarations may not pass a full check (Temporal's need @types/ms);
    // ours and the user's file must.
    const errors = r.stdout.split('\n').filter((l) => /error TS\d+/.test(l));
    expect(errors.filter((l) => !/^node_modules\/(?!tempojob\/)/.test(l)), output(r)).toEqual([]);
    expect(r.code === 0 || errors.length > 0, output(r)).toBe(true); // failed with no diagnostic: a broken setup
  }, 60_000);

  it('loads no dev-stack code at runtime: no tsx, Express or server modules', async () => {
    writeFileSync(join(consumer, 'record-loads.mjs'), LOAD_RECORDER);
    const loadsFile = join(consumer, 'loads.txt');
    succeeded(await run('node', ['--import', './record-loads.mjs', '--input-type=module', '-e', "await import('tempojob/worker'); await import('tempojob/client');"],
      { cwd: consumer, env: { LOADS_FILE: loadsFile }, timeoutMs: 30_000 }), 'importing the packages');
    const loaded = [...new Set(readFileSync(loadsFile, 'utf8').split('\n').filter(Boolean))];
    const ours = loaded.filter((f) => f.includes('/node_modules/tempojob/')).map((f) => f.slice(f.indexOf('/node_modules/tempojob/') + '/node_modules/tempojob/'.length));
    expect(ours).toEqual(expect.arrayContaining(['dist/workers/index.js', 'dist/client/index.js']));
    // config.js is allowed: every environment variable goes through it, the SDK's Temporal address too.
    const serverOnly = /^dist\/(stack|core|workflows|activities|demo)\/|^dist\/temporal\/(cli|dev-server|connection)\.js$|^dist\/api\/(app|auth|main|idempotency|.*-service)\.js$/;
    expect(ours.filter((f) => serverOnly.test(f))).toEqual([]);
    const packageOf = (f: string) => /.*\/node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(f)?.[1];
    const stackPackages = ['tsx', 'esbuild', 'express', '@node-rs/argon2', 'jose', 'swagger-ui-dist'];
    expect(loaded.map(packageOf).filter((p) => p && stackPackages.includes(p))).toEqual([]);
  }, 60_000);
});
