import { z } from 'zod';
import { FAILURE_POLICIES, WorkflowNodeType } from '../domain/dag.js';
import { DispatchStrategy, ExecuteType, ProcessorType, TimeExpressionType } from '../domain/enums.js';
import { LOG_LEVELS, type LogLevelName } from '../logs/types.js';
import { InvalidRequestError } from './errors.js';

/**
 * Request schemas of the OpenAPI. Bodies arrive as JSON (numbers are numbers) or as
 * forms (everything is a string), so numeric fields accept both.
 */

const MAX_PARAMS_LENGTH = 65_536;
/** A node's params live in its app's node registry (one memo), so they are kept smaller than a job's. */
const MAX_NODE_PARAMS_LENGTH = 16_384;

/** A whole number, from JSON or from a form field. */
const integer = (field: string) =>
  z.union([z.number(), z.string().trim().regex(/^-?\d+$/).transform(Number)], {
    error: (issue) => (issue.input === undefined || issue.input === '' ? `${field} is required` : `${field} must be a whole number`),
  })
    .pipe(z.number().int(`${field} must be a whole number`).refine(Number.isSafeInteger, `${field} is out of range`));

const id = (field: string) => integer(field).pipe(z.number().positive(`${field} must be a positive id`));
const nonNegative = (field: string) => integer(field).pipe(z.number().min(0, `${field} must be >= 0`));
const decimal = (field: string) =>
  z.union([z.number(), z.string().trim().transform(Number)], { error: `${field} must be a number` }).pipe(z.number({ message: `${field} must be a number` }).min(0, `${field} must be >= 0`));
const bool = z.union([z.boolean(), z.enum(['true', 'false']).transform((v) => v === 'true')]);
const text = (max = 4096) => z.string().max(max).nullish().transform((v) => v ?? null);
const enumName = <T extends [string, ...string[]]>(names: T) => z.enum(names);

export const saveJobSchema = z.object({
  id: id('id').nullish(),
  appId: id('appId').nullish(),
  jobName: z.string({ message: 'jobName is required' }).trim().min(1, 'jobName must not be empty').max(128),
  jobDescription: text(),
  jobParams: text(MAX_PARAMS_LENGTH),
  timeExpressionType: enumName(TimeExpressionType.names),
  timeExpression: text(),
  timeZone: z.string().trim().min(1).nullish().describe('IANA time zone for CRON and DAILY_TIME_INTERVAL (default: the server\'s TEMPOJOB_DEFAULT_TIME_ZONE)'),
  misfirePolicy: z.object({
    type: z.enum(['SKIP', 'RUN_ONCE', 'CATCH_UP']),
    maxCatchUp: integer('misfirePolicy.maxCatchUp').pipe(z.number().min(1, 'misfirePolicy.maxCatchUp must be >= 1').max(1000, 'misfirePolicy.maxCatchUp must be <= 1000')).optional(),
    thresholdMs: integer('misfirePolicy.thresholdMs').pipe(z.number().min(0)).optional(),
  }).refine((p) => p.type !== 'CATCH_UP' || p.maxCatchUp !== undefined, 'misfirePolicy.maxCatchUp is required for CATCH_UP').nullish(),
  executeType: enumName(ExecuteType.names),
  processorType: enumName(ProcessorType.names),
  processorInfo: z.string({ message: 'processorInfo is required: the name of the processor to run' }).trim().min(1, 'processorInfo must not be empty').max(512),
  maxInstanceNum: nonNegative('maxInstanceNum').default(0),
  concurrency: integer('concurrency').pipe(z.number().min(1, 'concurrency must be >= 1')).default(5),
  instanceTimeLimit: nonNegative('instanceTimeLimit').default(0),
  instanceRetryNum: nonNegative('instanceRetryNum').pipe(z.number().max(100, 'instanceRetryNum must be <= 100')).default(0),
  taskRetryNum: nonNegative('taskRetryNum').pipe(z.number().max(100, 'taskRetryNum must be <= 100')).default(0),
  retryBackoff: z.object({
    initialIntervalMs: integer('retryBackoff.initialIntervalMs').pipe(z.number().min(0)),
    backoffCoefficient: z.number().min(1, 'retryBackoff.backoffCoefficient must be >= 1'),
    maximumIntervalMs: integer('retryBackoff.maximumIntervalMs').pipe(z.number().min(0)),
  }).refine((b) => b.maximumIntervalMs >= b.initialIntervalMs, 'retryBackoff.maximumIntervalMs must be >= initialIntervalMs').nullish(),
  minCpuCores: decimal('minCpuCores').default(0),
  minMemorySpace: decimal('minMemorySpace').default(0),
  minDiskSpace: decimal('minDiskSpace').default(0),
  enable: bool.default(true),
  designatedWorkers: text(),
  maxWorkerCount: nonNegative('maxWorkerCount').default(0),
  notifyUserIds: z.array(id('notifyUserIds[]')).nullish().transform((v) => v ?? []),
  extra: text(),
  dispatchStrategy: enumName(DispatchStrategy.names).nullish().transform((v) => v ?? 'HEALTH_FIRST'),
  dispatchStrategyConfig: text(),
  lifeCycle: z.object({ start: nonNegative('lifeCycle.start').nullish(), end: nonNegative('lifeCycle.end').nullish() })
    .refine((l) => l.start == null || l.end == null || l.start <= l.end, 'lifeCycle.start must not be after lifeCycle.end')
    .nullish(),
  alarmConfig: z.object({
    alertThreshold: nonNegative('alarmConfig.alertThreshold'),
    statisticWindowLen: nonNegative('alarmConfig.statisticWindowLen'),
    silenceWindowLen: nonNegative('alarmConfig.silenceWindowLen'),
  }, { message: 'illegal alarm config: alertThreshold, statisticWindowLen and silenceWindowLen are all required' }).nullish(),
  tag: text(255),
  logConfig: z.object({ type: integer('logConfig.type'), level: integer('logConfig.level'), loggerName: text(255) }).nullish(),
  advancedRuntimeConfig: z.object({ taskTrackerBehavior: integer('advancedRuntimeConfig.taskTrackerBehavior') }).nullish(),
});
export type SaveJobRequest = z.infer<typeof saveJobSchema>;

export const previewSchema = z.object({
  timeExpressionType: enumName(TimeExpressionType.names),
  timeExpression: text(),
  timeZone: z.string().trim().min(1).nullish(),
  count: integer('count').pipe(z.number().min(1, 'count must be >= 1').max(100, 'count must be <= 100')).nullish().transform((v) => v ?? 5),
  lifeCycle: z.object({ start: nonNegative('lifeCycle.start').nullish(), end: nonNegative('lifeCycle.end').nullish() }).nullish(),
});

export const jobIdSchema = z.object({ jobId: id('jobId') });
export const instanceIdSchema = z.object({ instanceId: id('instanceId') });

export const runJobSchema = z.object({
  jobId: id('jobId'),
  instanceParams: z.string().max(MAX_PARAMS_LENGTH, `instanceParams must be at most ${MAX_PARAMS_LENGTH} characters`).nullish()
    .transform((v) => (v ? v : null)),
  delay: integer('delay').pipe(z.number().min(0, 'delay must be >= 0 (milliseconds)'))
    .pipe(z.number().max(100 * 365 * 24 * 3600 * 1000, 'delay must be at most 100 years')).nullish()
    .transform((v) => v ?? 0),
});

/** A node or edge list of PowerJob's PEWorkflowDAG; run-time fields a client echoes back are ignored. */
const dagSchema = z.object({
  nodes: z.array(z.object({
    nodeId: id('dag.nodes[].nodeId'),
    nodeType: integer('dag.nodes[].nodeType').nullish(),
    jobId: integer('dag.nodes[].jobId').nullish(),
    nodeName: text(255),
    nodeParams: text(MAX_PARAMS_LENGTH),
    enable: bool.nullish(),
    skipWhenFailed: bool.nullish(),
  }), { message: 'dag.nodes must be a list of nodes ({nodeId})' }),
  edges: z.array(z.object({
    from: id('dag.edges[].from'),
    to: id('dag.edges[].to'),
    property: text(16),
    enable: bool.nullish(),
  }), { message: 'dag.edges must be a list of edges ({from, to})' }).nullish().transform((v) => v ?? []),
}, { message: 'dag must be an object {nodes, edges}' });

export const saveWorkflowSchema = z.object({
  id: id('id').nullish(),
  appId: id('appId').nullish(),
  wfName: z.string({ message: 'wfName is required' }).trim().min(1, 'wfName must not be empty').max(128),
  wfDescription: text(),
  timeExpressionType: enumName(TimeExpressionType.names),
  timeExpression: text(),
  timeZone: z.string().trim().min(1).nullish().describe('IANA time zone of a CRON expression (default: the server\'s TEMPOJOB_DEFAULT_TIME_ZONE)'),
  misfirePolicy: saveJobSchema.shape.misfirePolicy,
  maxWfInstanceNum: integer('maxWfInstanceNum').nullish().transform((v) => (v == null ? 1 : Math.max(0, v)))
    .describe('runs at once (WAITING or RUNNING); 0 or less = unlimited; default 1'),
  enable: bool.default(true),
  notifyUserIds: z.array(id('notifyUserIds[]')).nullish().transform((v) => v ?? []),
  dag: dagSchema.nullish(),
  lifeCycle: saveJobSchema.shape.lifeCycle,
  failurePolicy: z.enum(FAILURE_POLICIES, { message: `failurePolicy must be one of ${FAILURE_POLICIES.join(', ')}` }).nullish()
    .transform((v) => v ?? 'FAIL_FAST')
    .describe('beyond PowerJob: FAIL_FAST (the first failed node fails the workflow) or CONTINUE_BRANCHES (a failure blocks only its descendants)'),
  extra: text(),
});
export type SaveWorkflowRequest = z.infer<typeof saveWorkflowSchema>;

export const saveWorkflowNodeSchema = z.object({
  id: id('id').nullish().transform((v) => v ?? null),
  appId: id('appId').nullish(),
  type: z.union([integer('type'), z.enum(WorkflowNodeType.names)], { message: 'type is required: 1 (JOB), 2 (DECISION) or 3 (NESTED_WORKFLOW)' })
    .transform((v, ctx) => {
      const name = typeof v === 'string' ? v : WorkflowNodeType.nameOf(v);
      if (name === undefined) ctx.addIssue({ code: 'custom', message: `type ${v} is not a node type: use 1 (JOB), 2 (DECISION) or 3 (NESTED_WORKFLOW)` });
      return name ?? 'JOB';
    }),
  jobId: id('jobId').nullish().transform((v) => v ?? null),
  nodeName: text(255),
  nodeParams: text(MAX_NODE_PARAMS_LENGTH),
  enable: bool.nullish().transform((v) => v ?? true),
  skipWhenFailed: bool.nullish().transform((v) => v ?? false),
  extra: text(),
});
export const saveWorkflowNodesSchema = z.array(saveWorkflowNodeSchema, { message: 'the body must be a JSON list of nodes' })
  .min(1, 'send at least one node').max(500, 'send at most 500 nodes at once');

export const workflowIdSchema = z.object({ workflowId: id('workflowId') });
export const wfInstanceIdSchema = z.object({ wfInstanceId: id('wfInstanceId') });
export const markNodeSchema = z.object({ wfInstanceId: id('wfInstanceId'), nodeId: id('nodeId') });

export const runWorkflowSchema = z.object({
  workflowId: id('workflowId'),
  initParams: z.string().max(MAX_PARAMS_LENGTH, `initParams must be at most ${MAX_PARAMS_LENGTH} characters`).nullish()
    .transform((v) => (v ? v : null)),
  delay: runJobSchema.shape.delay,
});

/** countInstances (beyond PowerJob): a job, and a window on when the runs started (epoch ms). */
export const countInstancesSchema = z.object({
  jobIdEq: id('jobIdEq').nullish(),
  startedAfter: nonNegative('startedAfter').nullish(),
  startedBefore: nonNegative('startedBefore').nullish(),
}).refine((q) => q.startedAfter == null || q.startedBefore == null || q.startedAfter < q.startedBefore, 'startedAfter must be before startedBefore');

/** listInstances (beyond PowerJob): newest first, filtered like countInstances, by creation time. */
export const listInstancesSchema = z.object({
  jobIdEq: id('jobIdEq').nullish(),
  statusIn: z.array(integer('statusIn[]')).nullish(),
  createdAfter: nonNegative('createdAfter').nullish(),
  createdBefore: nonNegative('createdBefore').nullish(),
  index: nonNegative('index').pipe(z.number().max(10_000, 'index must be <= 10000')).nullish().transform((v) => v ?? 0),
  pageSize: integer('pageSize').pipe(z.number().min(1, 'pageSize must be >= 1').max(200, 'pageSize must be <= 200')).nullish().transform((v) => v ?? 50),
});

export const authAppSchema = z.object({
  appName: z.string({ message: 'appName is required' }).trim().min(1, 'appName must not be empty'),
  encryptedPassword: z.string({ message: 'encryptedPassword is required' }).min(1, 'encryptedPassword must not be empty'),
  encryptType: z.enum(['none', 'md5'], { message: 'encryptType must be "none" or "md5"' }).nullish().transform((v) => v ?? 'none'),
  extra: z.unknown().optional(),
});

export const createAppSchema = z.object({
  appName: z.string({ message: 'appName is required' }).trim().regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/, 'appName must be 1-64 characters of letters, digits, ".", "_" or "-", starting with a letter or digit'),
  password: z.string({ message: 'password is required' }).min(8, 'password must be at least 8 characters').max(256),
});

/** Parses with a schema, or throws an error listing every problem by field. */
export function parse<T extends z.ZodType>(schema: T, input: unknown): z.infer<T> {
  const result = schema.safeParse(input ?? {});
  if (result.success) return result.data;
  const problems = result.error.issues.map((issue) => {
    const field = issue.path.join('.');
    return field && !issue.message.startsWith(field) ? `${field}: ${issue.message}` : issue.message;
  });
  throw new InvalidRequestError(`invalid request: ${problems.join('; ')}`);
}

/** At most this many characters in one log line; longer lines are refused (a worker cuts them first). */
export const MAX_LOG_LINE_LENGTH = 16_384;
/** At most this many lines in one shipment or append. */
export const MAX_LOG_BATCH = 1_000;

const logLevel = z.enum(Object.keys(LOG_LEVELS) as [LogLevelName, ...LogLevelName[]], { message: `level must be one of ${Object.keys(LOG_LEVELS).join(', ')}` });
const logMessage = z.string({ message: 'a log line must be a string' }).max(MAX_LOG_LINE_LENGTH, `a log line must be at most ${MAX_LOG_LINE_LENGTH} characters`);

/** shipInstanceLog: what a processor worker sends (src/logs/types.ts, ShippedLogLine). */
export const shipInstanceLogSchema = z.object({
  lines: z.array(z.object({
    instanceId: id('instanceId'),
    attempt: nonNegative('attempt'),
    taskId: z.string().max(512).nullable(),
    workerId: z.string().min(1).max(256),
    stream: z.string().min(1).max(64),
    seq: integer('seq').pipe(z.number().min(1, 'seq must be >= 1')),
    level: logLevel,
    time: nonNegative('time'),
    message: logMessage,
    fields: z.record(z.string(), z.unknown()).nullable(),
  })).min(1, 'lines must not be empty').max(MAX_LOG_BATCH, `at most ${MAX_LOG_BATCH} lines per call`),
});

/** appendInstanceLog (beyond PowerJob, #1047): lines from outside systems into an instance's log. */
export const appendInstanceLogSchema = z.object({
  instanceId: id('instanceId'),
  lines: z.array(logMessage).min(1, 'lines must not be empty').max(MAX_LOG_BATCH, `at most ${MAX_LOG_BATCH} lines per call`),
  level: logLevel.nullish().transform((v) => v ?? 'INFO'),
});

/** fetchInstanceLog: PowerJob's 0-based page index (100 lines a page), plus filters. */
export const fetchInstanceLogSchema = z.object({
  instanceId: id('instanceId'),
  index: nonNegative('index').nullish().transform((v) => v ?? 0),
  attempt: nonNegative('attempt').nullish().transform((v) => v ?? undefined),
  workerId: z.string().min(1).max(256).nullish().transform((v) => v ?? undefined),
  taskId: z.string().min(1).max(512).nullish().transform((v) => v ?? undefined),
  level: logLevel.nullish().transform((v) => v ?? undefined).describe('the lowest level shown'),
});

// ---- Alerting (issue #16): alert targets and their deliveries ----

const ALERT_TARGET_CHANNELS = ['email', 'webhook', 'slack', 'lark', 'dingtalk', 'wecom'] as const;
const MAX_URL_LENGTH = 2048;

/** An absolute http(s) URL: where a channel posts. */
const httpUrl = (field: string) => z.string({ message: `${field} is required: an absolute http(s) URL` }).trim().max(MAX_URL_LENGTH)
  .refine((value) => {
    try {
      const url = new URL(value);
      return (url.protocol === 'http:' || url.protocol === 'https:') && url.hostname !== '';
    } catch {
      return false;
    }
  }, `${field} must be an absolute http(s) URL, e.g. https://hooks.example.com/alerts`);

/** What a read shows in place of a secret: accepted (and ignored) so that a target read back can be saved again. */
const readBack = z.boolean().optional().describe('ignored: reads show it in place of the secret');

const secret = (field: string, min = 1) => z.string().min(min, `${field} must be at least ${min} characters`).max(512).optional();

/**
 * saveAlertTarget: `id` absent creates, present updates. Channels: at most one of each; a
 * channel absent or null is removed by an update; an update may omit a secret to keep the stored one.
 */
export const saveAlertTargetSchema = z.object({
  id: id('id').nullish(),
  name: z.string({ message: 'name is required' }).trim().min(1, 'name must not be empty').max(128),
  email: z.email('email must be an email address, e.g. ops@example.com').max(320).nullish(),
  webhook: z.object({
    url: httpUrl('webhook.url'),
    secret: secret('webhook.secret', 16).describe('HMAC-SHA256 key every request is signed with; required at creation, kept when an update omits it'),
    secretSet: readBack,
  }, { message: 'webhook must be an object: {url, secret}' }).strict().nullish(),
  slack: z.object({ url: httpUrl('slack.url') }, { message: 'slack must be an object: {url}' }).strict().nullish(),
  lark: z.object({ url: httpUrl('lark.url'), secret: secret('lark.secret'), secretSet: readBack }, { message: 'lark must be an object: {url, secret?}' }).strict().nullish(),
  dingtalk: z.object({ url: httpUrl('dingtalk.url'), secret: secret('dingtalk.secret'), secretSet: readBack }, { message: 'dingtalk must be an object: {url, secret?}' }).strict().nullish(),
  wecom: z.object({ url: httpUrl('wecom.url') }, { message: 'wecom must be an object: {url}' }).strict().nullish(),
}).loose().superRefine((value, ctx) => {
  const known = new Set<string>(['id', 'name', ...ALERT_TARGET_CHANNELS]);
  const unknown = Object.keys(value).filter((key) => !known.has(key));
  if (unknown.length > 0) {
    ctx.addIssue({
      code: 'custom',
      message: `unknown field${unknown.length > 1 ? 's' : ''} ${unknown.map((k) => `"${k}"`).join(', ')}: a target has a name and channels among ${ALERT_TARGET_CHANNELS.join(', ')}`,
    });
  }
  if (!ALERT_TARGET_CHANNELS.some((channel) => value[channel] != null)) {
    ctx.addIssue({ code: 'custom', message: `a target needs at least one channel: one of ${ALERT_TARGET_CHANNELS.join(', ')}` });
  }
}).transform(({ id: targetId, name, email, webhook, slack, lark, dingtalk, wecom }) => ({ id: targetId, name, email, webhook, slack, lark, dingtalk, wecom }));
export type SaveAlertTargetRequest = z.infer<typeof saveAlertTargetSchema>;

export const alertTargetIdSchema = z.object({ targetId: id('targetId') });

export const queryAlertDeliveriesSchema = z.object({
  instanceId: id('instanceId').nullish(),
  wfInstanceId: id('wfInstanceId').nullish(),
  alertId: z.string().max(256).nullish(),
  status: z.enum(['PENDING', 'DELIVERED', 'FAILED'], { message: 'status must be PENDING, DELIVERED or FAILED' }).nullish(),
  limit: integer('limit').pipe(z.number().min(1, 'limit must be >= 1').max(1000, 'limit must be <= 1000')).default(100),
});
