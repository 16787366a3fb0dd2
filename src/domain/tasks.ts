/** PowerJob's task ids and names: a broadcast's steps, a map's root and reduce tasks. */
export const TASK = {
  root: { id: '0', name: 'OMS_ROOT_TASK' },
  broadcast: { id: (index: number) => `0.${index + 1}`, name: 'OMS_BROADCAST_TASK' },
  last: { id: '9999', name: 'OMS_LAST_TASK' },
} as const;

/** One task's result as postProcess and reduce see it (PowerJob's TaskResult). */
export interface TaskResult {
  taskId: string;
  workerId: string;
  success: boolean;
  result: string | null;
}
