import { spawn } from 'node:child_process';
import { createConnection } from 'node:net';
import { join } from 'node:path';
import { PROJECT_ROOT } from '../../../src/temporal/cli.js';

/** Whether something accepts TCP connections on 127.0.0.1:`port`. */
export function portAnswers(port: number): Promise<boolean> {
  return new Promise((resolvePort) => {
    const socket = createConnection({ host: '127.0.0.1', port });
    socket.once('connect', () => { socket.destroy(); resolvePort(true); });
    socket.once('error', () => resolvePort(false));
  });
}

/**
 * Runs a script of scripts/cluster/ (up.sh, down.sh), handing its progress to `echo`
 * (default: this process's stdout); resolves with its output.
 */
export function runClusterScript(script: string, args: string[] = [], echo: (chunk: Buffer) => void = (chunk) => process.stdout.write(chunk)): Promise<string> {
  return new Promise((resolveRun, reject) => {
    const child = spawn('bash', [join(PROJECT_ROOT, 'scripts', 'cluster', script), ...args], { cwd: PROJECT_ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      echo(chunk);
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.on('error', reject);
    child.on('exit', (code) => (code === 0 ? resolveRun(output) : reject(new Error(`scripts/cluster/${script} failed with exit code ${code}:\n${output.slice(-2_000)}`))));
  });
}
