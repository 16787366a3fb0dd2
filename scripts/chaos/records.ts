import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * What the chaos processors write: one JSON line when user code starts (`start`) and one
 * when it ends (`end`), each fsynced before the processor goes on, so a SIGKILL right after
 * loses neither. One file per worker id (`executions-<workerId>.jsonl`), appended across
 * restarts of that worker.
 */
export interface ExecutionRecord {
  ev: 'start' | 'end';
  at: number;
  instanceId: number;
  jobId: number;
  /** The instance attempt (STANDALONE), or the step's attempt (broadcast, map). */
  attempt: number;
  /** Broadcast: `0` pre, `0.<n>` a share, `9999` post; map: `0` root, `0.<n>` sub-tasks, reduce's own id; else null. */
  taskId: string | null;
  /** ctx.idempotencyKey: one per attempt (per step and share in a broadcast, per task in a map). */
  key: string;
  /** Which processor step ran: `run`, `pre`, `share`, `post`, `map`, `reduce`. */
  step: ExecutionStep;
  workerId: string;
  pid: number;
  /** A DAG node's instance. */
  inWorkflow: boolean;
  /** `end` only: the processor's verdict (`false` for the planned first failure and for an abort). */
  ok?: boolean;
  aborted?: boolean;
  /** `end` of reduce: the task ids of the results it was given, in order. */
  reduced?: string[];
}

export type ExecutionStep = 'run' | 'pre' | 'share' | 'post' | 'map' | 'reduce';

export const recordFileOf = (dir: string, workerId: string) => join(dir, `executions-${workerId}.jsonl`);

/**
 * Every record the chaos workers wrote into `dir`, and how many lines were torn (a kill in
 * the middle of a write, before its fsync returned and so before the processor went on).
 */
export function readRecords(dir: string): { records: ExecutionRecord[]; torn: number } {
  const records: ExecutionRecord[] = [];
  let torn = 0;
  if (!existsSync(dir)) return { records, torn };
  for (const name of readdirSync(dir).filter((file) => file.startsWith('executions-') && file.endsWith('.jsonl'))) {
    for (const line of readFileSync(join(dir, name), 'utf8').split('\n')) {
      if (!line.trim()) continue;
      try {
        records.push(JSON.parse(line) as ExecutionRecord);
      } catch {
        torn++;
      }
    }
  }
  return { records, torn };
}
