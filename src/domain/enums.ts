/**
 * PowerJob's enums with their wire codes. Requests carry names ("CRON"), stored
 * models and responses carry codes (2), exactly as PowerJob's server does.
 * Pure module: imported by the API and by deterministic workflow code.
 */

function codeTable<const T extends Record<string, number>>(table: T) {
  const byCode = new Map<number, keyof T & string>();
  for (const [name, code] of Object.entries(table)) byCode.set(code, name as keyof T & string);
  return {
    codes: table,
    names: Object.keys(table) as [keyof T & string, ...(keyof T & string)[]],
    nameOf: (code: number): (keyof T & string) | undefined => byCode.get(code),
  };
}

export const TimeExpressionType = codeTable({
  API: 1,
  CRON: 2,
  FIXED_RATE: 3,
  FIXED_DELAY: 4,
  WORKFLOW: 5,
  DAILY_TIME_INTERVAL: 11,
});
export type TimeExpressionTypeName = keyof typeof TimeExpressionType.codes;

export const ExecuteType = codeTable({ STANDALONE: 1, BROADCAST: 2, MAP_REDUCE: 3, MAP: 4 });
export type ExecuteTypeName = keyof typeof ExecuteType.codes;

export const ProcessorType = codeTable({ BUILT_IN: 1, SHELL: 2, PYTHON: 3, EXTERNAL: 4 });
export type ProcessorTypeName = keyof typeof ProcessorType.codes;

export const DispatchStrategy = codeTable({ HEALTH_FIRST: 1, RANDOM: 2, SPECIFY: 11 });
export type DispatchStrategyName = keyof typeof DispatchStrategy.codes;

export const JobStatus = codeTable({ ENABLE: 1, DISABLE: 2, DELETED: 99 });
export type JobStatusName = keyof typeof JobStatus.codes;

export const InstanceStatus = codeTable({
  WAITING_DISPATCH: 1,
  WAITING_WORKER_RECEIVE: 2,
  RUNNING: 3,
  FAILED: 4,
  SUCCEED: 5,
  CANCELED: 9,
  STOPPED: 10,
});
export type InstanceStatusName = keyof typeof InstanceStatus.codes;

export const FINISHED_INSTANCE_STATUSES: readonly InstanceStatusName[] = ['FAILED', 'SUCCEED', 'CANCELED', 'STOPPED'];

export function isFinished(status: InstanceStatusName): boolean {
  return FINISHED_INSTANCE_STATUSES.includes(status);
}

/** Instance type: NORMAL runs of a job, or job instances inside a DAG workflow. */
export const InstanceType = codeTable({ NORMAL: 1, WORKFLOW: 2 });

export const LogType = codeTable({ ONLINE: 1, LOCAL: 2, STDOUT: 3, LOCAL_AND_ONLINE: 4, NULL: 999 });
export const LogLevel = codeTable({ DEBUG: 1, INFO: 2, WARN: 3, ERROR: 4, OFF: 99 });
