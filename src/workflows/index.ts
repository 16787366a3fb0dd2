/**
 * Every workflow the core worker runs, exported under its type name (contract/workflows.ts
 * WorkflowType). Only the core worker bundles this code; everything else starts these
 * workflows by name through src/contract.
 */
export { instanceWorkflow } from './instance.js';
export { jobSlotsWorkflow } from './job-slots.js';
export { appDirectoryWorkflow } from './app-directory.js';
export { scheduledRunWorkflow } from './scheduled-run.js';
export { fixedDelayWorkflow } from './fixed-delay.js';
export { misfireLedgerWorkflow } from './misfire-ledger.js';
export { broadcastShareWorkflow } from './broadcast.js';
export { mapBatchWorkflow } from './map.js';
export { workflowNodesWorkflow } from './workflow-nodes.js';
export { dagWorkflow } from './dag.js';
export { scheduledWorkflowRunWorkflow } from './scheduled-workflow-run.js';
export { logRetentionWorkflow } from './log-retention.js';
export { alertScanWorkflow, alertDeliveryWorkflow } from './alerts.js';
