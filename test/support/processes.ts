import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { PROJECT_ROOT } from '../../src/temporal/cli.js';

export interface ChildHandle {
  child: ChildProcess;
  /** Resolves when the process printed its ready line. */
  ready: Promise<void>;
  /** SIGKILL to the whole process group, as a crash or a pulled plug would. */
  kill(): Promise<void>;
  /** Sends a signal (default SIGTERM) and resolves with the exit code. */
  stop(signal?: NodeJS.Signals): Promise<number | null>;
  /** What it printed so far (stdout and stderr). */
  output(): string;
}

const TSX = join(PROJECT_ROOT, 'node_modules', '.bin', 'tsx');

/** Runs a TypeScript entry point of this project in its own process, with this process's environment and `env` (an undefined value removes the variable). */
export function spawnTs(script: string, env: Record<string, string | undefined>, readyLine: RegExp): ChildHandle {
  // Its own process group: tsx runs the script in a child node process, and a crash or a
  // Ctrl-C must reach every process of the group, as it would in a terminal.
  const child = spawn(TSX, [join(PROJECT_ROOT, script)], {
    env: Object.fromEntries(Object.entries({ ...process.env, ...env }).filter(([, value]) => value !== undefined)),
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  const signalGroup = (signal: NodeJS.Signals) => {
    try {
      process.kill(-child.pid!, signal);
    } catch {
      // the group is already gone
    }
  };
  let output = '';
  const exited = new Promise<number | null>((resolveExit) => child.once('exit', (code) => resolveExit(code)));
  const ready = new Promise<void>((resolveReady, reject) => {
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      if (readyLine.test(output)) resolveReady();
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    void exited.then((code) => reject(new Error(`${script} exited with ${code} before it was ready:\n${output}`)));
  });
  ready.catch(() => {});
  return {
    child,
    ready,
    output: () => output,
    async kill() {
      signalGroup('SIGKILL');
      await exited;
    },
    async stop(signal: NodeJS.Signals = 'SIGTERM') {
      if (child.exitCode === null && child.signalCode === null) signalGroup(signal);
      return exited;
    },
  };
}
