import { existsSync, renameSync, watch, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';

/** Resolves once `path` exists: a gate one process opens for another by creating the file. */
export function fileAppears(path: string): Promise<void> {
  return new Promise((resolve) => {
    const watcher = watch(dirname(path), () => {
      if (!existsSync(path)) return;
      watcher.close();
      resolve();
    });
    // Created before the watch began.
    if (existsSync(path)) {
      watcher.close();
      resolve();
    }
  });
}

/** Writes `path` whole at once (a rename into place), so a process waiting on fileAppears never reads it half written. */
export function publishFile(path: string, content: string): void {
  writeFileSync(`${path}.part`, content);
  renameSync(`${path}.part`, path);
}
