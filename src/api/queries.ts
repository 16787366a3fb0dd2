import { z } from 'zod';
import { DispatchStrategy, ExecuteType, InstanceStatus, JobStatus, ProcessorType, TimeExpressionType } from '../domain/enums.js';
import type { JobDefinition } from '../domain/job.js';
import type { WorkflowDefinition } from '../domain/workflow.js';
import { WorkflowInstanceStatus } from '../domain/dag.js';
import type { WfInstanceView } from './dto.js';

/**
 * PowerJob's query objects: JobInfoQuery (queryJob) and InstancePageQuery (queryInstance).
 * Every given condition must hold (AND); `…Like` matches a substring, as SQL `%x%` does.
 */

/**
 * Every number of a query is whole — ids, status codes, epoch ms, pages — as a JSON number or
 * a string of digits (form bodies), within what JavaScript holds exactly. Anything else is
 * refused here, never passed on to Temporal's query parser.
 */
const WHOLE = 'must be a whole number';
const num = z.union([z.number({ message: WHOLE }), z.string({ message: WHOLE }).trim().regex(/^-?\d+$/, WHOLE).transform(Number)], { message: WHOLE })
  .pipe(z.number().int({ message: WHOLE, abort: true }).min(Number.MIN_SAFE_INTEGER, `${WHOLE} of at least -(2^53 - 1)`).max(Number.MAX_SAFE_INTEGER, `${WHOLE} of at most 2^53 - 1`));
/** The range of a JavaScript Date: ±100,000,000 days around 1970. */
const MAX_DATE_MS = 8.64e15;
/** Dates arrive as epoch ms (PowerJob's Java client) or ISO-8601 strings. */
const date = z.union([z.number(), z.string().transform((text, ctx) => {
  const ms = /^-?\d+$/.test(text) ? Number(text) : Date.parse(text);
  if (Number.isNaN(ms)) ctx.addIssue({ code: 'custom', message: `"${text}" is not a date (epoch ms or ISO-8601)` });
  return ms;
})]).pipe(z.number().int({ message: 'must be a date: epoch milliseconds or ISO-8601', abort: true }).min(-MAX_DATE_MS, 'is before any date').max(MAX_DATE_MS, 'is after any date'));
const codes = z.array(num);

export const jobQuerySchema = z.object({
  appIdEq: num.nullish(),
  idEq: num.nullish(), idLt: num.nullish(), idGt: num.nullish(),
  jobNameEq: z.string().nullish(), jobNameLike: z.string().nullish(),
  jobDescriptionLike: z.string().nullish(), jobParamsLike: z.string().nullish(),
  timeExpressionTypeIn: codes.nullish(), executeTypeIn: codes.nullish(), processorTypeIn: codes.nullish(),
  processorInfoEq: z.string().nullish(), processorInfoLike: z.string().nullish(),
  statusIn: codes.nullish(),
  nextTriggerTimeGt: num.nullish(), nextTriggerTimeLt: num.nullish(),
  notifyUserIdsLike: z.string().nullish(),
  gmtCreateLt: date.nullish(), gmtCreateGt: date.nullish(), gmtModifiedLt: date.nullish(), gmtModifiedGt: date.nullish(),
  dispatchStrategyEq: num.nullish(),
  tagEq: z.string().nullish(),
});
export type JobQuery = z.infer<typeof jobQuerySchema>;

const like = (value: string | null, pattern: string | null | undefined) =>
  pattern == null || (value ?? '').includes(pattern.replaceAll('%', ''));
const eq = <T>(value: T, wanted: T | null | undefined) => wanted == null || value === wanted;
const inList = (code: number, list: number[] | null | undefined) => list == null || list.length === 0 || list.includes(code);
const lt = (value: number | null, bound: number | null | undefined) => bound == null || (value !== null && value < bound);
const gt = (value: number | null, bound: number | null | undefined) => bound == null || (value !== null && value > bound);

export function matchesJobQuery(job: JobDefinition, q: JobQuery, nextTriggerTime: number | null): boolean {
  return eq(job.id, q.idEq) && lt(job.id, q.idLt) && gt(job.id, q.idGt)
    && eq(job.jobName, q.jobNameEq) && like(job.jobName, q.jobNameLike)
    && like(job.jobDescription, q.jobDescriptionLike) && like(job.jobParams, q.jobParamsLike)
    && inList(TimeExpressionType.codes[job.timeExpressionType], q.timeExpressionTypeIn)
    && inList(ExecuteType.codes[job.executeType], q.executeTypeIn)
    && inList(ProcessorType.codes[job.processorType], q.processorTypeIn)
    && eq(job.processorInfo, q.processorInfoEq) && like(job.processorInfo, q.processorInfoLike)
    && inList(JobStatus.codes[job.status], q.statusIn)
    // Jobs without a next trigger time fail any bound on it, as SQL NULL would.
    && lt(nextTriggerTime, q.nextTriggerTimeLt) && gt(nextTriggerTime, q.nextTriggerTimeGt)
    && like(job.notifyUserIds.join(','), q.notifyUserIdsLike)
    && lt(job.gmtCreate, q.gmtCreateLt) && gt(job.gmtCreate, q.gmtCreateGt)
    && lt(job.gmtModified, q.gmtModifiedLt) && gt(job.gmtModified, q.gmtModifiedGt)
    && eq(DispatchStrategy.codes[job.dispatchStrategy], q.dispatchStrategyEq)
    && eq(job.tag, q.tagEq);
}

/** A query's `sortBy`: one of `fields`, by default `gmtCreate`. */
function sortField<const F extends readonly [string, ...string[]]>(fields: F) {
  return z.enum(fields, { message: `sortBy must be one of ${fields.join(', ')}` }).nullish().transform((v) => v ?? 'gmtCreate');
}

const SORTABLE_INSTANCE_FIELDS = [
  'instanceId', 'jobId', 'status', 'gmtCreate', 'gmtModified', 'expectedTriggerTime', 'actualTriggerTime', 'finishedTime', 'runningTimes',
] as const;
export type InstanceSortField = (typeof SORTABLE_INSTANCE_FIELDS)[number];

export const instanceQuerySchema = z.object({
  appIdEq: num.nullish(),
  instanceIdEq: num.nullish(), instanceIdLt: num.nullish(), instanceIdGt: num.nullish(),
  jobIdEq: num.nullish(),
  statusIn: z.array(num.refine((code) => InstanceStatus.nameOf(code) !== undefined, 'statusIn holds an unknown instance status code')).nullish(),
  gmtCreateLt: date.nullish(), gmtCreateGt: date.nullish(), gmtModifiedLt: date.nullish(), gmtModifiedGt: date.nullish(),
  index: num.pipe(z.number().int().min(0, 'index must be >= 0')).nullish().transform((v) => v ?? 0),
  pageSize: num.pipe(z.number().int().min(1, 'pageSize must be >= 1').max(1000, 'pageSize must be <= 1000')).nullish().transform((v) => v ?? 10),
  sortBy: sortField(SORTABLE_INSTANCE_FIELDS),
  asc: z.union([z.boolean(), z.enum(['true', 'false']).transform((v) => v === 'true')]).nullish().transform((v) => v ?? false),
});
export type InstanceQuery = z.infer<typeof instanceQuerySchema>;

export interface Page<T> {
  index: number;
  pageSize: number;
  totalPages: number;
  totalItems: number;
  data: T[];
}

export function page<T>(items: T[], index: number, pageSize: number): Page<T> {
  return {
    index,
    pageSize,
    totalPages: Math.ceil(items.length / pageSize),
    totalItems: items.length,
    data: items.slice(index * pageSize, (index + 1) * pageSize),
  };
}

const SORTABLE_WORKFLOW_FIELDS = ['id', 'wfName', 'gmtCreate', 'gmtModified'] as const;

/** queryWorkflow (beyond PowerJob): a page of the app's workflows, filtered like queryInstance. */
export const workflowQuerySchema = z.object({
  appIdEq: num.nullish(),
  idEq: num.nullish(), idLt: num.nullish(), idGt: num.nullish(),
  wfNameEq: z.string().nullish(), wfNameLike: z.string().nullish(),
  wfDescriptionLike: z.string().nullish(),
  timeExpressionTypeIn: codes.nullish(),
  statusIn: codes.nullish(),
  gmtCreateLt: date.nullish(), gmtCreateGt: date.nullish(), gmtModifiedLt: date.nullish(), gmtModifiedGt: date.nullish(),
  index: instanceQuerySchema.shape.index,
  pageSize: instanceQuerySchema.shape.pageSize,
  sortBy: sortField(SORTABLE_WORKFLOW_FIELDS),
  asc: instanceQuerySchema.shape.asc,
});
export type WorkflowQuery = z.infer<typeof workflowQuerySchema>;

export function matchesWorkflowQuery(workflow: WorkflowDefinition, q: WorkflowQuery): boolean {
  return eq(workflow.id, q.idEq) && lt(workflow.id, q.idLt) && gt(workflow.id, q.idGt)
    && eq(workflow.wfName, q.wfNameEq) && like(workflow.wfName, q.wfNameLike)
    && like(workflow.wfDescription, q.wfDescriptionLike)
    && inList(TimeExpressionType.codes[workflow.timeExpressionType], q.timeExpressionTypeIn)
    && inList(JobStatus.codes[workflow.status], q.statusIn)
    && lt(workflow.gmtCreate, q.gmtCreateLt) && gt(workflow.gmtCreate, q.gmtCreateGt)
    && lt(workflow.gmtModified, q.gmtModifiedLt) && gt(workflow.gmtModified, q.gmtModifiedGt);
}

/** Sorts by one field (ties by id), ascending or not. */
export function sortBy<T extends { id: number }, K extends keyof T>(items: T[], field: K, asc: boolean): T[] {
  const sign = asc ? 1 : -1;
  return [...items].sort((a, b) => {
    const x = a[field];
    const y = b[field];
    const order = x === y ? a.id - b.id : (x as number | string) < (y as number | string) ? -1 : 1;
    return sign * order;
  });
}

const SORTABLE_WF_INSTANCE_FIELDS = ['wfInstanceId', 'status', 'gmtCreate', 'gmtModified', 'expectedTriggerTime', 'actualTriggerTime', 'finishedTime'] as const;

/** queryWfInstance (beyond PowerJob): a page of the app's workflow instances, filtered like queryInstance. */
export const wfInstanceQuerySchema = z.object({
  appIdEq: num.nullish(),
  workflowIdEq: num.nullish(),
  wfInstanceIdEq: num.nullish(),
  parentWfInstanceIdEq: num.nullish(),
  statusIn: z.array(num.refine((code) => WorkflowInstanceStatus.nameOf(code) !== undefined, 'statusIn holds an unknown workflow instance status code (1, 2, 3, 4, 10)')).nullish(),
  gmtCreateLt: date.nullish(), gmtCreateGt: date.nullish(), gmtModifiedLt: date.nullish(), gmtModifiedGt: date.nullish(),
  index: instanceQuerySchema.shape.index,
  pageSize: instanceQuerySchema.shape.pageSize,
  sortBy: sortField(SORTABLE_WF_INSTANCE_FIELDS),
  asc: instanceQuerySchema.shape.asc,
});
export type WfInstanceQuery = z.infer<typeof wfInstanceQuerySchema>;

const modifiedAt = ({ run, state }: WfInstanceView) => state.finishedTime ?? state.actualTriggerTime ?? run.createdAt;

export function matchesWfInstanceQuery(view: WfInstanceView, q: WfInstanceQuery): boolean {
  return eq(view.run.parentWfInstanceId, q.parentWfInstanceIdEq)
    && (q.statusIn == null || q.statusIn.length === 0 || q.statusIn.includes(WorkflowInstanceStatus.codes[view.state.status]))
    && lt(view.run.createdAt, q.gmtCreateLt) && gt(view.run.createdAt, q.gmtCreateGt)
    && lt(modifiedAt(view), q.gmtModifiedLt) && gt(modifiedAt(view), q.gmtModifiedGt);
}

export function wfInstanceSortKey(field: WfInstanceQuery['sortBy']): (view: WfInstanceView) => number | null {
  switch (field) {
    case 'wfInstanceId': return (v) => v.wfInstanceId;
    case 'status': return (v) => WorkflowInstanceStatus.codes[v.state.status];
    case 'gmtCreate': return (v) => v.run.createdAt;
    case 'gmtModified': return modifiedAt;
    case 'expectedTriggerTime': return (v) => v.run.expectedTriggerTime;
    case 'actualTriggerTime': return (v) => v.state.actualTriggerTime;
    case 'finishedTime': return (v) => v.state.finishedTime;
  }
}
