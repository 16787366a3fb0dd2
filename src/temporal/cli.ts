import { spawn, spawnSync } from 'node:child_process';
import { accessSync, constants, mkdirSync } from 'node:fs';
import { delimiter, join, resolve } from 'node:path';
import { loadConfigPart } from '../config.js';

/**
 * Finds the Temporal CLI (which contains the dev server and the Web UI), or builds it.
 * Order: $TEMPORAL_CLI_PATH, then `temporal` on PATH, then the project-local build in
 * .tools/bin, then `go install` of the pinned version into .tools/bin.
 */

export const TEMPORAL_CLI_MODULE = 'github.com/temporalio/cli/cmd/temporal';
/** Newest tag `go install` accepts: later tags carry replace directives. */
export const TEMPORAL_CLI_VERSION = 'v1.5.1';

export const PROJECT_ROOT = resolve(import.meta.dirname, '../..');
const TOOLS_BIN = join(PROJECT_ROOT, '.tools', 'bin');

function isExecutable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

function onPath(name: string): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (dir && isExecutable(join(dir, name))) return join(dir, name);
  }
  return undefined;
}

export function findTemporalCli(): string | undefined {
  const fromEnv = loadConfigPart(['TEMPORAL_CLI_PATH']).TEMPORAL_CLI_PATH;
  if (fromEnv) {
    if (!isExecutable(fromEnv)) {
      throw new Error(`TEMPORAL_CLI_PATH=${fromEnv} is not an executable file; fix or unset it`);
    }
    return fromEnv;
  }
  const local = join(TOOLS_BIN, 'temporal');
  return onPath('temporal') ?? (isExecutable(local) ? local : undefined);
}

/** Builds the CLI with `go install`, printing progress; resolves to the binary's path. */
export async function buildTemporalCli(log: (line: string) => void = console.log): Promise<string> {
  const go = onPath('go');
  if (!go) throw new Error('The Temporal CLI is not installed and Go (>= 1.25) is missing to build it. Install Go or set TEMPORAL_CLI_PATH.');
  const version = spawnSync(go, ['env', 'GOVERSION'], { encoding: 'utf8' }).stdout.trim();
  mkdirSync(TOOLS_BIN, { recursive: true });
  log(`Building the Temporal CLI ${TEMPORAL_CLI_VERSION} with ${version} into ${TOOLS_BIN} (first run only, a few minutes)…`);
  const started = Date.now();
  await new Promise<void>((resolveBuild, reject) => {
    const child = spawn(go, ['install', '-v', `${TEMPORAL_CLI_MODULE}@${TEMPORAL_CLI_VERSION}`], {
      env: { ...process.env, GOBIN: TOOLS_BIN, GOFLAGS: '-buildvcs=false' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let packages = 0;
    let tail = '';
    const onOutput = (chunk: Buffer) => {
      const text = chunk.toString();
      tail = (tail + text).slice(-4000);
      for (const line of text.split('\n')) {
        if (!line.trim()) continue;
        if (line.startsWith('go: downloading')) continue;
        packages++;
        if (packages % 100 === 0) log(`  … ${packages} packages compiled (${Math.round((Date.now() - started) / 1000)} s)`);
      }
    };
    child.stdout.on('data', onOutput);
    child.stderr.on('data', onOutput);
    child.on('error', reject);
    child.on('exit', (code) =>
      code === 0 ? resolveBuild() : reject(new Error(`go install failed with exit code ${code}:\n${tail}`)),
    );
  });
  log(`Temporal CLI built in ${Math.round((Date.now() - started) / 1000)} s.`);
  return join(TOOLS_BIN, 'temporal');
}

export async function ensureTemporalCli(log?: (line: string) => void): Promise<string> {
  return findTemporalCli() ?? (await buildTemporalCli(log));
}
