/**
 * tempojob's typed client. Import from here rather than from the files behind it: this is
 * the surface that stays stable. It loads no Express and no Temporal, only the server's
 * zod schemas (so its types follow the server's), zod, @noble/hashes' md5 and, for verifying a
 * webhook alert's signature, node:crypto. `client.ts` itself needs no Node builtin, so the
 * console runs it in the browser.
 */
export {
  TempojobClient, createClient,
  type ClientOptions, type FetchLike, type ReadOptions, type WriteOptions, type Session,
  type OperationInput, type OperationOutput,
  type SaveJobRequest, type JobQuery, type InstanceQuery, type JobInfo, type InstanceInfo, type InstancePage, type ExportedJob,
  type JobId, type InstanceId,
  type SaveWorkflowRequest, type SaveWorkflowNodeRequest, type WorkflowQuery, type WorkflowInfo, type WorkflowNodeInfo, type WorkflowPage,
  type WorkflowId, type WfInstanceId, type WfInstanceInfo, type WfInstanceQuery, type WfInstancePage,
  type LogFilter, type InstanceLogLine,
  type SaveAlertTargetRequest, type AlertTargetInfo, type AlertDeliveryQuery, type AlertDelivery,
  type WorkerInfo, type InstanceCountQuery, type InstanceCounts, type NewestInstancesQuery, type NewestInstancesPage,
} from './client.js';
export { TempojobError, TransportError } from './errors.js';
/** For receivers of the generic webhook alert channel: checks X-Tempojob-Signature (docs/alerting-channels.md). */
export { verifyWebhookSignature, WEBHOOK_HEADERS, type VerifyWebhookOptions } from '../alerts/webhook-signature.js';
export { operations, type OperationName } from '../api/operations.js';
export { InstanceStatus, JobStatus } from '../domain/enums.js';
