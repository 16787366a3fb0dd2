import { ApplicationFailure, setHandler, upsertMemo, workflowInfo } from '@temporalio/workflow';
import { MemoKey } from '../contract/memo.js';
import { bindWorkflowNodesUpdate, saveWorkflowNodesUpdate } from '../contract/messages.js';
import type { SaveNodesRequest, WorkflowNodesState, WorkflowNodesWorkflow } from '../contract/workflows.js';
import type { WorkflowNodeRecord } from '../domain/workflow.js';
import { continueAsNewWhenSuggested } from './long-lived.js';

/** Idempotency keys of node saves remembered per app: a repeat older than this many saves creates nodes again. */
const REMEMBERED_KEYS = 1_000;

/**
 * The registry of one app's workflow nodes (PowerJob's `WorkflowNodeInfoDO` table). One
 * long-lived workflow per app: updates serialise every change, so node ids are allocated
 * without clashes by any number of API replicas, and a node is bound to one workflow only.
 * The API reads the nodes from the memo (describe needs no worker).
 */
export const workflowNodesWorkflow: WorkflowNodesWorkflow = async (
  initial: WorkflowNodesState = { nextNodeId: 1, nodes: [], keys: [] },
): Promise<void> => {
  const state: WorkflowNodesState = { nextNodeId: initial.nextNodeId, nodes: [...initial.nodes], keys: [...initial.keys] };
  const byId = new Map(state.nodes.map((node) => [node.id, node]));
  const publish = () => upsertMemo({ [MemoKey.nodes]: state.nodes });
  if (workflowInfo().memo?.[MemoKey.nodes] === undefined) publish();

  const repeatOf = (request: SaveNodesRequest) => state.keys.find((saved) => saved.key === request.idempotency?.key);

  setHandler(
    saveWorkflowNodesUpdate,
    (request) => {
      const repeat = repeatOf(request);
      if (repeat) return repeat.nodeIds.flatMap((id) => byId.get(id) ?? []).map((node) => ({ ...node }));
      const saved = request.nodes.map(({ id, workflowId, ...fields }): WorkflowNodeRecord => {
        const existing = id === null ? undefined : byId.get(id);
        if (existing) {
          Object.assign(existing, fields, { gmtModified: request.now });
          return existing;
        }
        const created: WorkflowNodeRecord = {
          ...fields, id: state.nextNodeId++, appId: request.appId, workflowId: workflowId ?? null, gmtCreate: request.now, gmtModified: request.now,
        };
        state.nodes.push(created);
        byId.set(created.id, created);
        return created;
      });
      if (request.idempotency) {
        state.keys.push({ ...request.idempotency, nodeIds: saved.map((node) => node.id) });
        if (state.keys.length > REMEMBERED_KEYS) state.keys.shift();
      }
      publish();
      return saved.map((node) => ({ ...node }));
    },
    {
      validator: (request: SaveNodesRequest) => {
        const repeat = repeatOf(request);
        if (repeat && repeat.hash !== request.idempotency?.hash) {
          throw ApplicationFailure.nonRetryable(
            `Idempotency-Key "${repeat.key}" was already used for a different request; use a new key for a new request`,
            'IdempotencyKeyReuse',
          );
        }
        if (repeat) return;
        const unknown = request.nodes.filter((node) => node.id !== null && !byId.has(node.id)).map((node) => node.id);
        if (unknown.length > 0) {
          throw ApplicationFailure.nonRetryable(
            `no workflow node ${unknown.join(', ')} in this app: leave id out to create a node, or use an id addWorkflowNode returned`,
            'UnknownWorkflowNode',
          );
        }
      },
    },
  );

  setHandler(
    bindWorkflowNodesUpdate,
    ({ workflowId, nodeIds, now }) => {
      const listed = new Set(nodeIds);
      for (const id of nodeIds) {
        const node = byId.get(id)!;
        if (node.workflowId === null) Object.assign(node, { workflowId, gmtModified: now });
      }
      // PowerJob deletes the workflow's nodes its new DAG no longer lists.
      for (const node of state.nodes) if (node.workflowId === workflowId && !listed.has(node.id)) byId.delete(node.id);
      state.nodes = state.nodes.filter((node) => byId.has(node.id));
      publish();
    },
    {
      validator: ({ workflowId, nodeIds }) => {
        const problems: string[] = [];
        for (const id of nodeIds) {
          const node = byId.get(id);
          if (!node) problems.push(`node ${id} does not exist in this app: create it with addWorkflowNode first`);
          else if (node.workflowId !== null && node.workflowId !== workflowId) {
            problems.push(`node ${id} belongs to workflow ${node.workflowId}: a node is part of one workflow only; create a new node`);
          }
        }
        if (problems.length > 0) throw ApplicationFailure.nonRetryable(problems.join('; '), 'InvalidWorkflowNodes');
      },
    },
  );

  await continueAsNewWhenSuggested<WorkflowNodesWorkflow>(() => [state]);
};
