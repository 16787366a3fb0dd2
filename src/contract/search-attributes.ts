import { defineSearchAttributeKey } from '@temporalio/common';

/**
 * Custom search attributes: how instances and jobs are found in the Temporal Web UI
 * (e.g. `TempojobJobId = 42 AND TempojobStatus = "FAILED"`). SQL visibility offers
 * 3 Int and 10 Keyword slots per namespace; we use all 3 Ints.
 */
export const SA = {
  appId: defineSearchAttributeKey('TempojobAppId', 'INT'),
  appName: defineSearchAttributeKey('TempojobAppName', 'KEYWORD'),
  jobId: defineSearchAttributeKey('TempojobJobId', 'INT'),
  instanceId: defineSearchAttributeKey('TempojobInstanceId', 'INT'),
  status: defineSearchAttributeKey('TempojobStatus', 'KEYWORD'),
  expectedTriggerTime: defineSearchAttributeKey('TempojobExpectedTriggerTime', 'DATETIME'),
  /** Workflows (DAGs): the workflow of a schedule or run, and a run's wf instance id (Keywords: the Int slots are taken). */
  workflowId: defineSearchAttributeKey('TempojobWorkflowId', 'KEYWORD'),
  wfInstanceId: defineSearchAttributeKey('TempojobWfInstanceId', 'KEYWORD'),
} as const;

export const ALL_SEARCH_ATTRIBUTES = Object.values(SA);

/** `TempojobStatus` of a schedule's fire that its misfire policy dropped (the fire's own workflow, never an instance). */
export const MISFIRE_DROPPED = 'MISFIRE_DROPPED';
