import { z } from 'zod';
import { instanceInfoSchema, jobInfoSchema, pageSchema, wfInstanceInfoSchema, workflowInfoSchema, workflowNodeInfoSchema } from './dto.js';
import { instanceQuerySchema, jobQuerySchema, wfInstanceQuerySchema, workflowQuerySchema } from './queries.js';
import {
  appendInstanceLogSchema, authAppSchema, fetchInstanceLogSchema, instanceIdSchema, shipInstanceLogSchema, jobIdSchema, markNodeSchema, previewSchema, runJobSchema, runWorkflowSchema, saveJobSchema, saveWorkflowNodesSchema,
  saveWorkflowSchema, wfInstanceIdSchema, workflowIdSchema, saveAlertTargetSchema, alertTargetIdSchema, queryAlertDeliveriesSchema, countInstancesSchema, listInstancesSchema,
} from './schemas.js';

/**
 * The OpenAPI's operations: one table that the router registers and the OpenAPI 3.1
 * document describes, so the two cannot drift apart.
 */
export interface OperationSpec {
  summary: string;
  input: z.ZodType;
  /** Schema of the envelope's `data`. */
  output: z.ZodType;
  /** Changes state: accepts an Idempotency-Key. */
  mutating: boolean;
  /** PowerJob's Java client sends a form body (else JSON). Both are accepted. */
  form: boolean;
}

const empty = z.object({});

/** An alert target as reads show it: secrets replaced by `secretSet`, robot URLs (their path is the access token) masked as scheme://host/***. */
const alertTargetSchema = z.object({
  id: z.number().int(),
  name: z.string(),
  email: z.string().nullable(),
  webhook: z.object({ url: z.string(), secretSet: z.boolean() }).nullable(),
  slack: z.object({ url: z.string().describe('masked') }).nullable(),
  lark: z.object({ url: z.string().describe('masked'), secretSet: z.boolean() }).nullable(),
  dingtalk: z.object({ url: z.string().describe('masked'), secretSet: z.boolean() }).nullable(),
  wecom: z.object({ url: z.string().describe('masked') }).nullable(),
  channels: z.array(z.enum(['email', 'webhook', 'slack', 'lark', 'dingtalk', 'wecom'])),
  gmtCreate: z.number().describe('epoch ms'),
  gmtModified: z.number().describe('epoch ms'),
});

const alertDeliverySchema = z.object({
  alertId: z.string().describe('the same for every delivery of one event, and the Idempotency-Key receivers see'),
  event: z.string(),
  instanceId: z.number().int().nullable(),
  wfInstanceId: z.number().int().nullable(),
  jobId: z.number().int().nullable(),
  targetId: z.number().int(),
  channel: z.string(),
  status: z.enum(['PENDING', 'DELIVERED', 'FAILED']),
  attempts: z.number().int(),
  lastError: z.string().nullable(),
  createdAt: z.number().describe('epoch ms'),
  updatedAt: z.number().describe('epoch ms'),
  deliveredAt: z.number().nullable().describe('epoch ms'),
});
/** A live processor worker of the app, as listWorkers answers. */
const workerSchema = z.object({
  workerId: z.string(),
  tags: z.array(z.string()),
  identity: z.string().describe('its Temporal identity: workerId or workerId[tag,…], then a random name of the worker\'s own'),
  lastSeen: z.number().describe('epoch ms of its newest poll or heartbeat Temporal holds'),
  taskQueues: z.array(z.string()).describe('the app\'s shared queue and the worker\'s own'),
});

const nothing = z.null();
const id = z.number().int();

export const operations = {
  saveJob: { summary: 'Create (no id) or update (id) a job', input: saveJobSchema, output: id.describe('jobId'), mutating: true, form: false },
  copyJob: { summary: 'Copy a job as "<name>_COPY"', input: jobIdSchema, output: id.describe('the new jobId'), mutating: true, form: true },
  exportJob: { summary: 'A job as a SaveJobInfoRequest (enum names, no id)', input: jobIdSchema, output: saveJobSchema, mutating: false, form: true },
  fetchJob: { summary: 'One job', input: jobIdSchema, output: jobInfoSchema, mutating: false, form: true },
  fetchAllJob: { summary: 'Every job of the app, deleted ones included', input: empty, output: z.array(jobInfoSchema), mutating: false, form: true },
  queryJob: { summary: 'Jobs matching a JobInfoQuery (all conditions ANDed)', input: jobQuerySchema, output: z.array(jobInfoSchema), mutating: false, form: false },
  enableJob: { summary: 'Enable a job', input: jobIdSchema, output: nothing, mutating: true, form: true },
  disableJob: { summary: 'Disable a job (runJob still runs it, as in PowerJob)', input: jobIdSchema, output: nothing, mutating: true, form: true },
  deleteJob: { summary: 'Delete a job (soft: status 99)', input: jobIdSchema, output: nothing, mutating: true, form: true },
  runJob: { summary: 'Run a job now or after `delay` ms', input: runJobSchema, output: id.describe('instanceId'), mutating: true, form: true },
  stopInstance: { summary: 'Stop an unfinished instance; its processor sees an abort', input: instanceIdSchema, output: nothing, mutating: true, form: true },
  cancelInstance: { summary: 'Cancel a run that has not fired yet', input: instanceIdSchema, output: nothing, mutating: true, form: true },
  retryInstance: { summary: 'Run a finished instance again under the same id', input: instanceIdSchema, output: nothing, mutating: true, form: true },
  fetchInstanceStatus: { summary: 'Status code of an instance', input: instanceIdSchema, output: id.describe('InstanceStatus code'), mutating: false, form: true },
  fetchInstanceInfo: { summary: 'One instance', input: instanceIdSchema, output: instanceInfoSchema, mutating: false, form: true },
  fetchInstanceLog: {
    summary: 'A page of an instance\'s log (PowerJob\'s StringPage: 100 formatted lines, 0-based index), filtered by attempt, worker, task and lowest level',
    input: fetchInstanceLogSchema, output: z.object({ index: id, totalPages: id, data: z.string() }), mutating: false, form: true,
  },
  appendInstanceLog: {
    summary: 'Append lines from outside systems to an instance\'s log (beyond PowerJob)',
    input: appendInstanceLogSchema, output: z.object({ stored: id }), mutating: true, form: false,
  },
  shipInstanceLog: {
    summary: 'What processor workers send: their processors\' lines; a line already stored (same instance, attempt, worker, stream, seq) is skipped, so a re-send is safe',
    input: shipInstanceLogSchema, output: z.object({ stored: id, duplicates: id }), mutating: false, form: false,
  },
  queryInstance: { summary: 'Instances matching an InstancePageQuery, paged and sorted', input: instanceQuerySchema, output: pageSchema(instanceInfoSchema), mutating: false, form: false },
  addWorkflowNode: {
    summary: 'Create (no id) or change (id) workflow nodes (PowerJob\'s saveWorkflowNode); a node joins the workflow whose saved DAG lists it',
    input: saveWorkflowNodesSchema, output: z.array(workflowNodeInfoSchema), mutating: true, form: false,
  },
  saveWorkflow: {
    summary: 'Create (no id) or replace (id) a workflow (DAG); its DAG lists node ids from addWorkflowNode and edges',
    input: saveWorkflowSchema, output: id.describe('workflowId'), mutating: true, form: false,
  },
  copyWorkflow: { summary: 'Copy a workflow and its nodes as "<name>_COPY"', input: workflowIdSchema, output: id.describe('the new workflowId'), mutating: true, form: true },
  fetchWorkflow: { summary: 'One workflow, its DAG with every node', input: workflowIdSchema, output: workflowInfoSchema, mutating: false, form: true },
  queryWorkflow: {
    summary: 'Workflows of the app matching every given condition, paged and sorted (beyond PowerJob)',
    input: workflowQuerySchema, output: pageSchema(workflowInfoSchema), mutating: false, form: false,
  },
  enableWorkflow: { summary: 'Enable a workflow', input: workflowIdSchema, output: nothing, mutating: true, form: true },
  disableWorkflow: { summary: 'Disable a workflow (its CRON stops firing)', input: workflowIdSchema, output: nothing, mutating: true, form: true },
  deleteWorkflow: { summary: 'Delete a workflow (soft: status 99; it can no longer run)', input: workflowIdSchema, output: nothing, mutating: true, form: true },
  runWorkflow: {
    summary: 'Run a workflow now or after `delay` ms; initParams (a JSON object, or any text kept under "initParams") become its context',
    input: runWorkflowSchema, output: id.describe('wfInstanceId'), mutating: true, form: true,
  },
  fetchWfInstanceInfo: {
    summary: 'One workflow instance: status, its DAG with every node\'s state, its context', input: wfInstanceIdSchema, output: wfInstanceInfoSchema,
    mutating: false, form: true,
  },
  stopWfInstance: {
    summary: 'Stop a waiting or running workflow instance: every running node stops (processors see an abort), nested runs too',
    input: wfInstanceIdSchema, output: nothing, mutating: true, form: true,
  },
  retryWfInstance: {
    summary: 'Run a FAILED or STOPPED workflow instance again under the same id: only its failed and stopped nodes run again',
    input: wfInstanceIdSchema, output: nothing, mutating: true, form: true,
  },
  markWorkflowNodeAsSuccess: {
    summary: 'Mark a failed node of a finished workflow instance successful, so that a retry carries on past it',
    input: markNodeSchema, output: nothing, mutating: true, form: true,
  },
  queryWfInstance: {
    summary: 'Workflow instances of the app matching every given condition, paged and sorted (beyond PowerJob)',
    input: wfInstanceQuerySchema, output: pageSchema(wfInstanceInfoSchema), mutating: false, form: false,
  },
  validateTimeExpression: {
    summary: 'Check a time expression and preview its next fire times (nothing is saved)',
    input: previewSchema,
    output: z.array(z.object({ epochMs: z.number(), local: z.string().describe('wall time in the time zone, YYYY-MM-DD HH:mm:ss') })),
    mutating: false,
    form: false,
  },
  saveAlertTarget: {
    summary: 'Create (no id) or update (id) an alert target of the app: a name and channels (email, webhook, slack, lark, dingtalk, wecom); jobs list its id in notifyUserIds. An update may omit a secret to keep it',
    input: saveAlertTargetSchema, output: id.describe('targetId'), mutating: true, form: false,
  },
  fetchAlertTarget: { summary: 'One alert target (secrets never returned; robot URLs masked)', input: alertTargetIdSchema, output: alertTargetSchema, mutating: false, form: true },
  listAlertTargets: { summary: 'Every alert target of the app (secrets never returned; robot URLs masked)', input: empty, output: z.array(alertTargetSchema), mutating: false, form: true },
  deleteAlertTarget: { summary: 'Delete an alert target; jobs that list it stop alerting it', input: alertTargetIdSchema, output: nothing, mutating: true, form: true },
  queryAlertDeliveries: {
    summary: 'Recent alert deliveries of the app, newest first: one per alert, target and channel, with status PENDING, DELIVERED or FAILED, attempts and the last error',
    input: queryAlertDeliveriesSchema, output: z.array(alertDeliverySchema), mutating: false, form: true,
  },
  listWorkers: {
    summary: 'The app\'s live processor workers, from Temporal\'s pollers and worker heartbeats (beyond PowerJob)',
    input: empty, output: z.array(workerSchema), mutating: false, form: true,
  },
  listInstances: {
    summary: 'A page of the app\'s instances, newest first by creation, reading only about as many runs as the page needs (queryInstance reads them all): for apps with many instances (beyond PowerJob)',
    input: listInstancesSchema,
    output: z.object({
      index: id,
      pageSize: id,
      more: z.boolean().describe('whether a next page exists'),
      runs: id.describe('how many runs match (a retried instance counts once per run): an "about" total'),
      data: z.array(instanceInfoSchema),
    }),
    mutating: false,
    form: false,
  },
  countInstances: {
    summary: 'How many instance runs of the app (or of one job) are in each status, by when they started; a retried instance counts once per run (beyond PowerJob)',
    input: countInstancesSchema,
    output: z.object({
      total: id,
      byStatus: z.array(z.object({ status: id.describe('InstanceStatus code'), name: z.string(), count: id })).describe('every status, WAITING_WORKER_RECEIVE counted as RUNNING'),
    }),
    mutating: false,
    form: true,
  },
} satisfies Record<string, OperationSpec>;

export type OperationName = keyof typeof operations;

export const authAppOperation = {
  summary: 'Exchange app name and password for an access token',
  input: authAppSchema,
  output: z.object({ appId: id, token: z.string(), extra: z.null() }),
  mutating: false,
  form: false,
} satisfies OperationSpec;
