import { execFileSync, spawn } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { demoProcessors } from '../src/demo/processors.js';
import { PROJECT_ROOT } from '../src/temporal/cli.js';
import { SA } from '../src/contract/search-attributes.js';
import { Recorder } from './support/recorder.js';
import { startTestStack, type TestStack } from './support/stack.js';

/**
 * PowerJob's own Java client (tech.powerjob:powerjob-client:5.1.1) against tempojob:
 * compat/powerjob-java runs every job, instance and workflow call and asserts each result,
 * then (story 3) counts jobs and instances to prove every call took effect exactly once.
 */

const PROJECT = join(PROJECT_ROOT, 'compat', 'powerjob-java');
const JAR = join(PROJECT, 'target', 'powerjob-compat.jar');

let stack: TestStack;
const recorder = new Recorder();

/** Whether the jar is missing or older than a source file or the pom (a stale jar would test old code). */
function jarIsStale(): boolean {
  if (!existsSync(JAR)) return true;
  const built = statSync(JAR).mtimeMs;
  const sources = [join(PROJECT, 'pom.xml'), ...readdirSync(join(PROJECT, 'src'), { recursive: true, encoding: 'utf8' }).map((f) => join(PROJECT, 'src', f))];
  return sources.some((file) => statSync(file).mtimeMs > built);
}

beforeAll(async () => {
  if (jarIsStale()) execFileSync('mvn', ['-q', '-B', 'package'], { cwd: PROJECT, stdio: 'inherit' });
  stack = await startTestStack();
}, 300_000);
afterAll(() => stack?.close());

function runJava(args: string[]): Promise<{ code: number | null; output: string }> {
  return new Promise((resolveRun, reject) => {
    const child = spawn('java', ['-jar', JAR, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => { output += chunk.toString(); });
    child.stderr.on('data', (chunk: Buffer) => { output += chunk.toString(); });
    child.on('error', reject);
    child.on('exit', (code) => resolveRun({ code, output }));
  });
}

describe("PowerJob's Java client 5.1.1", () => {
  it('works unchanged against tempojob, and every call takes effect exactly once', { timeout: 240_000 }, async () => {
    const { appName, password, api } = await stack.newApp('java');
    await stack.startWorker(appName, recorder.wrap(demoProcessors));
    const { code, output } = await runJava([new URL(stack.url).host, appName, password]);
    const summary = /^(\d+) passed, (\d+) failed$/m.exec(output);
    expect(summary, output).not.toBeNull();
    expect(Number(summary![2]), output).toBe(0);
    expect(Number(summary![1])).toBeGreaterThanOrEqual(27);
    expect(code, output).toBe(0);

    // Our own count, independent of the Java program: 3 jobs + 1 copy + the WORKFLOW-type node job, each run started once.
    await expect.poll(async () => (await api.data<unknown[]>('fetchAllJob')).length, { timeout: 10_000 }).toBe(5);
    const perInstance = new Map<number, number>();
    for (const e of recorder.executions) perInstance.set(e.instanceId, (perInstance.get(e.instanceId) ?? 0) + 1);
    const { count } = await stack.client.workflow.count(`${SA.appId.name} = ${api.appId} AND WorkflowType = 'instanceWorkflow'`);
    expect(count).toBeGreaterThanOrEqual(perInstance.size);
    expect([...perInstance.values()].every((n) => n <= 2)).toBe(true);
  });
});
