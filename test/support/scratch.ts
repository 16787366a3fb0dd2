import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * A fresh folder for a test's Temporal SQLite file (or a whole stack's data): in
 * memory-backed /dev/shm where there is one. This VM's disk stalls every process waiting on
 * it for seconds at a time (/proc/pressure/io: "full" 3.6% over five minutes, 780 s since
 * boot), and a dev server waiting on fsync holds every fire and every workflow task, which
 * the timing assertions then saw as lateness. Files there still survive a server restart.
 */
export function scratchDir(prefix: string): string {
  return mkdtempSync(join(existsSync('/dev/shm') ? '/dev/shm' : tmpdir(), `tempojob-${prefix}-`));
}
