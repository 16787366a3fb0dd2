import { DispatchStrategy, ExecuteType, InstanceStatus, InstanceType, JobStatus, ProcessorType, TimeExpressionType } from '../domain/enums.js';
import type { JobDefinition } from '../domain/job.js';
import type { InstanceView } from './instance-service.js';

/**
 * PowerJob's response shapes. Enum fields are codes, `lifecycle` is a JSON string and
 * `notifyUserIds` a comma list, as PowerJob's JobInfoDTO has them; dates are ISO-8601.
 */

const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

export function jobInfoDTO(job: JobDefinition) {
  return {
    id: job.id,
    jobName: job.jobName,
    jobDescription: job.jobDescription,
    appId: job.appId,
    jobParams: job.jobParams,
    timeExpressionType: TimeExpressionType.codes[job.timeExpressionType],
    timeExpression: job.timeExpression,
    executeType: ExecuteType.codes[job.executeType],
    processorType: ProcessorType.codes[job.processorType],
    processorInfo: job.processorInfo,
    maxInstanceNum: job.maxInstanceNum,
    concurrency: job.concurrency,
    instanceTimeLimit: job.instanceTimeLimit,
    instanceRetryNum: job.instanceRetryNum,
    taskRetryNum: job.taskRetryNum,
    retryBackoff: job.retryBackoff,
    status: JobStatus.codes[job.status],
    nextTriggerTime: null,
    minCpuCores: job.minCpuCores,
    minMemorySpace: job.minMemorySpace,
    minDiskSpace: job.minDiskSpace,
    designatedWorkers: job.designatedWorkers,
    maxWorkerCount: job.maxWorkerCount,
    notifyUserIds: job.notifyUserIds.length ? job.notifyUserIds.join(',') : null,
    extra: job.extra,
    dispatchStrategy: DispatchStrategy.codes[job.dispatchStrategy],
    dispatchStrategyConfig: job.dispatchStrategyConfig,
    lifecycle: job.lifeCycle ? JSON.stringify(job.lifeCycle) : null,
    alarmConfig: job.alarmConfig,
    tag: job.tag,
    logConfig: job.logConfig,
    advancedRuntimeConfig: job.advancedRuntimeConfig,
    gmtCreate: iso(job.gmtCreate),
    gmtModified: iso(job.gmtModified),
  };
}

export function instanceInfoDTO(view: InstanceView) {
  return {
    jobId: view.jobId,
    appId: view.appId,
    instanceId: view.instanceId,
    wfInstanceId: null,
    jobParams: view.jobParams,
    instanceParams: view.instanceParams,
    status: InstanceStatus.codes[view.status],
    type: InstanceType.codes.NORMAL,
    result: view.result,
    expectedTriggerTime: view.expectedTriggerTime,
    actualTriggerTime: view.actualTriggerTime,
    finishedTime: view.finishedTime,
    taskTrackerAddress: view.taskTrackerAddress ?? 'N/A',
    runningTimes: view.runningTimes,
    gmtCreate: iso(view.createdAt),
    gmtModified: iso(view.updatedAt),
  };
}
