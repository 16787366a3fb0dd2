import { openSync, readFileSync, rmSync, writeSync, closeSync } from 'node:fs';
import { join } from 'node:path';
import { ConfigError } from '../config.js';

/**
 * `npm start`'s claim on its data folder: the Temporal SQLite file and the log store in it
 * take one writer, and two stacks on one folder corrupted the log store. The claim is a file
 * holding this process's pid, created only if absent; a file whose process has died (a
 * crash, SIGKILL) is taken over.
 */
export interface DataDirLock {
  /** Gives the folder up (only if the file is still this process's). */
  release(): void;
}

export function claimDataDir(dataDir: string): DataDirLock {
  const file = join(dataDir, 'stack.pid');
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const fd = openSync(file, 'wx', 0o600);
      writeSync(fd, String(process.pid));
      closeSync(fd);
      return {
        release: () => { if (holderOf(file) === process.pid) rmSync(file, { force: true }); },
      };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const holder = holderOf(file);
      if (holder !== undefined && holder !== process.pid && isAlive(holder)) {
        throw new ConfigError(
          `the data folder ${dataDir} is in use by another tempojob stack (pid ${holder}): stop that one, or start this one with ` +
          `TEMPOJOB_DATA_DIR set to another folder (and other TEMPORAL_PORT, TEMPORAL_UI_PORT, TEMPOJOB_PORT). ` +
          `If pid ${holder} is not a tempojob stack, delete ${file}.`,
        );
      }
      rmSync(file, { force: true });
    }
  }
  throw new ConfigError(`could not claim the data folder ${dataDir}: another process keeps creating ${file}`);
}

function holderOf(file: string): number | undefined {
  try {
    const pid = Number(readFileSync(file, 'utf8').trim());
    return Number.isInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: alive, but another user's.
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
