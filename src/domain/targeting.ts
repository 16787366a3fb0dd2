import type { JobSnapshot } from './job.js';

/**
 * Who may take part in a run (PowerJob's targeting): `designatedWorkers` lists worker ids
 * or tags (empty = every worker), `maxWorkerCount` caps a broadcast (0 = no cap).
 */
export interface WorkerTargeting {
  designatedWorkers: string[];
  maxWorkerCount: number;
}

/** A processor worker Temporal sees alive, as the membership activity reports it. */
export interface LiveWorker {
  workerId: string;
  tags: string[];
  /** Its Temporal identity (`workerId` or `workerId[tag,…]`, then a random name of the worker's own). */
  identity: string;
}

/** Worker ids and tags: no spaces, commas or brackets (they separate them in identities and designatedWorkers). */
export const WORKER_NAME_PATTERN = /^[^\s,[\]]{1,200}$/;

/** A job's designatedWorkers (PowerJob: comma-separated worker addresses or tags) as a list. */
export function parseDesignatedWorkers(value: string | null | undefined): string[] {
  if (!value) return [];
  return [...new Set(value.split(',').map((entry) => entry.trim()).filter((entry) => entry.length > 0))];
}

/** What is wrong with a job's targeting (designatedWorkers, maxWorkerCount), or null. */
export function targetingProblem(designatedWorkers: string | null | undefined, maxWorkerCount: number): string | null {
  for (const entry of parseDesignatedWorkers(designatedWorkers)) {
    if (!WORKER_NAME_PATTERN.test(entry)) {
      return `designatedWorkers entry "${entry}" is not a worker id or tag (1-200 characters, no spaces or brackets; separate entries with commas)`;
    }
  }
  if (!Number.isSafeInteger(maxWorkerCount) || maxWorkerCount < 0) {
    return `maxWorkerCount must be a whole number >= 0 (0 = every matching worker), got ${maxWorkerCount}`;
  }
  return null;
}

export function targetingOf(job: JobSnapshot): WorkerTargeting {
  // Snapshots frozen before targeting existed have neither field.
  return { designatedWorkers: parseDesignatedWorkers(job.designatedWorkers ?? null), maxWorkerCount: job.maxWorkerCount ?? 0 };
}

/** PowerJob's targeting: a worker takes part if its id or one of its tags is designated (or none is). */
export function matchesTargeting(worker: LiveWorker, designated: readonly string[]): boolean {
  if (designated.length === 0) return true;
  return designated.includes(worker.workerId) || worker.tags.some((tag) => designated.includes(tag));
}
