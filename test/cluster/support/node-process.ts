import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { join } from 'node:path';
import { PROJECT_ROOT } from '../../../src/temporal/cli.js';

export interface NodeProcess {
  name: string;
  child: ChildProcess;
  /** Resolves when the process printed its ready line. */
  ready: Promise<void>;
  /** SIGKILL: the process dies at once, as in a crash or a pulled plug. */
  kill(): Promise<void>;
  /** SIGTERM (graceful), SIGKILL after `graceMs`. */
  stop(graceMs?: number): Promise<void>;
}

/**
 * Runs a TypeScript entry point of this project as ONE node process (`node --import tsx`),
 * in its own process group, output to `<logDir>/<name>.log`. Unlike the `tsx` launcher,
 * which runs the program in a child process of its own, a SIGKILL here really kills the
 * program: nothing survives to keep serving.
 */
export function spawnNode(name: string, script: string, env: Record<string, string>, readyLine: RegExp, logDir: string): NodeProcess {
  const child = spawn(process.execPath, ['--import', 'tsx', join(PROJECT_ROOT, script)], {
    cwd: PROJECT_ROOT,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  const log = createWriteStream(join(logDir, `${name}.log`));
  let output = '';
  const exited = new Promise<void>((resolveExit) => child.once('exit', () => resolveExit()));
  const ready = new Promise<void>((resolveReady, reject) => {
    const onData = (chunk: Buffer) => {
      log.write(chunk);
      if (output.length < 20_000) output += chunk.toString();
      if (readyLine.test(output)) resolveReady();
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    void exited.then(() => reject(new Error(`${name} (${script}) exited before it was ready:\n${output}`)));
  });
  ready.catch(() => {});
  const alive = () => child.exitCode === null && child.signalCode === null;
  const signal = (sig: NodeJS.Signals) => {
    try {
      process.kill(-child.pid!, sig); // the whole group: the program and anything it started
    } catch {
      /* already gone */
    }
  };
  return {
    name,
    child,
    ready,
    async kill() {
      if (alive()) signal('SIGKILL');
      await exited;
    },
    async stop(graceMs = 10_000) {
      if (!alive()) return;
      signal('SIGTERM');
      const timer = setTimeout(() => signal('SIGKILL'), graceMs);
      await exited;
      clearTimeout(timer);
    },
  };
}
