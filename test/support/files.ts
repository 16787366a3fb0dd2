import { existsSync, watch } from 'node:fs';
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
