import {
  ApplicationFailure,
  CancellationScope,
  condition,
  getExternalWorkflowHandle,
  isCancellation,
  patched,
  proxyActivities,
  setHandler,
  startChild,
  upsertMemo,
  upsertSearchAttributes,
} from '@temporalio/workflow';
import type { CoreActivities } from '../contract/activities.js';
import { MemoKey, dagMemoChanges } from '../contract/memo.js';
import { appendWorkflowContextSignal, releaseSlotSignal, stopWfInstanceUpdate } from '../contract/messages.js';
import { workflowSlotsWorkflowId } from '../contract/names.js';
import { SA } from '../contract/search-attributes.js';
import { dagStartOptions, initialDagState, instanceStartOptions } from '../contract/start-options.js';
import { type AppendedContext, type DagWorkflow, type InstanceWorkflow, WorkflowType } from '../contract/workflows.js';
import {
  type NodeFinished, type PEWorkflowDAG, type PEWorkflowNode, type WorkflowContextData, type WorkflowOutcome,
  WorkflowSystemResult, applyDecision, contextJson, failDecision, isWorkflowRunning, markNodeStarted, mergeAppendedContext,
  mergeChildContext, newRunDag, nodeLabel, nodeTypeOf, recordNodeFinished, stepDag, stopDag,
} from '../domain/dag.js';
import { keyedId } from '../domain/ids.js';
import { SystemResult, cutResult, newInstanceInput } from '../domain/instance.js';
import { type DagInput, type DagState, type NestedResume, nodeTime } from '../domain/workflow.js';
import { metrics } from './metrics.js';

/**
 * One run of a workflow (a PowerJob workflow instance). Its history reads as the DAG's
 * story: created → waits on a durable timer until the fire time → takes a maxWfInstanceNum
 * slot → in steps of the pure state machine (`stepDag` in src/domain/dag.ts): each decision
 * node evaluated by the `evaluateDecision` activity (its verdict recorded in history, so a
 * replay never evaluates it again), each JOB node started as a child instanceWorkflow (a
 * normal instance with its own attempts), each NESTED_WORKFLOW node as a child dagWorkflow,
 * every node's outcome folded back into the DAG and its workflow context → finished.
 */

const { acquireWorkflowSlot } = proxyActivities<CoreActivities>({
  startToCloseTimeout: '30 seconds',
  retry: { maximumInterval: '10 seconds' },
});

const { evaluateDecision } = proxyActivities<CoreActivities>({
  startToCloseTimeout: '30 seconds',
  retry: { maximumAttempts: 5, maximumInterval: '5 seconds' },
});

/**
 * Runs started with this patch record only what changed at each step (`dagMemoChanges`)
 * instead of their whole DAG and context, so their history stays small.
 */
const DAG_MEMO_BY_CHANGE = 'dag-memo-by-change';

/** The result of nodes still running when another node's failure ends a FAIL_FAST run. */
const STOPPED_BY_FAILURE = 'stopped: another node failed and the workflow fails fast';

/** How a run ends: its status and result. */
type Ending = Pick<Exclude<WorkflowOutcome, { status: 'RUNNING' }>, 'status' | 'result'>;

/** How a node's child (instance or nested run) ended. */
interface NodeEnd extends NodeFinished {
  nodeType: 'JOB' | 'NESTED_WORKFLOW';
  /** A nested run's final context. */
  context?: WorkflowContextData;
}

export const dagWorkflow: DagWorkflow = async (input: DagInput): Promise<DagState> => {
  const state: DagState = input.recorded ?? initialDagState(input);
  if (input.recorded) return state;

  let stopRequested = false;
  /** Every node's child runs in this scope: a stop, or a fail-fast failure, cancels them all. */
  const nodeScope = new CancellationScope();
  const appended = new Map<number, AppendedContext>();
  const running = new Set<number>();
  const ended: NodeEnd[] = [];

  setHandler(stopWfInstanceUpdate, () => {
    stopRequested = true;
    nodeScope.cancel();
  }, {
    validator: () => {
      if (!isWorkflowRunning(state.status) || stopRequested) {
        throw ApplicationFailure.nonRetryable(
          `workflow instance ${input.wfInstanceId} has already finished (status ${state.status}); only a WAITING or RUNNING one can be stopped`,
          'WfInstanceNotStoppable',
        );
      }
    },
  });
  // Only the newest attempt's appends count: an attempt that failed and was retried appended for
  // nothing. Within one attempt they add up by key (a broadcast's workers each append).
  setHandler(appendWorkflowContextSignal, (append) => {
    const seen = appended.get(append.instanceId);
    if (!seen || seen.instanceAttempt < append.instanceAttempt) appended.set(append.instanceId, append);
    else if (seen.instanceAttempt === append.instanceAttempt) {
      appended.set(append.instanceId, { ...append, data: Object.fromEntries([...Object.entries(seen.data), ...Object.entries(append.data)]) });
    }
  });

  const byChange = patched(DAG_MEMO_BY_CHANGE);
  let recorded: DagState = { ...state };
  const record = (patch: Partial<DagState>, statusChanged = false) => {
    Object.assign(state, patch);
    if (byChange) {
      const changes = dagMemoChanges(recorded, state, input.dag);
      if (Object.keys(changes).length > 0) upsertMemo(changes);
      recorded = { ...state };
    } else {
      upsertMemo({ [MemoKey.wf]: { ...state } });
    }
    if (statusChanged) upsertSearchAttributes([{ key: SA.status, value: state.status }]);
  };
  const finish = (outcome: Ending): DagState => {
    record({ status: outcome.status, result: cutResult(outcome.result), finishedTime: Date.now() }, true);
    return { ...state };
  };

  try {
    const wait = input.expectedTriggerTime - Date.now();
    if (wait > 0) await condition(() => stopRequested, wait);
    if (stopRequested) return finish({ status: 'STOPPED', result: WorkflowSystemResult.stoppedByUser });
    const limited = input.maxWfInstanceNum > 0 && input.parentWfInstanceId === null;
    if (limited) {
      const slot = await acquireWorkflowSlot({
        workflowId: input.workflow.workflowId, wfInstanceId: input.wfInstanceId, maxWfInstanceNum: input.maxWfInstanceNum,
      });
      if (!slot.acquired) return finish({ status: 'FAILED', result: SystemResult.tooManyInstances(slot.running, input.maxWfInstanceNum) });
    }
    try {
      record({ status: 'RUNNING', actualTriggerTime: state.actualTriggerTime ?? Date.now() }, true);
      return finish(await run());
    } finally {
      if (limited) {
        await CancellationScope.nonCancellable(() =>
          getExternalWorkflowHandle(workflowSlotsWorkflowId(input.workflow.workflowId)).signal(releaseSlotSignal, { instanceId: input.wfInstanceId }),
        );
      }
    }
  } catch (err) {
    // Cancelling the run itself (its parent run was stopped) stops it and its nodes.
    if (!isCancellation(err)) throw err;
    stopRequested = true;
    return finish(await CancellationScope.nonCancellable(stopped));
  }

  /** Steps the DAG until it is finished, stopped, or failed. */
  async function run(): Promise<Ending> {
    let finishedNodeId: number | undefined;
    for (;;) {
      if (stopRequested) return stopped();
      const step = stepDag(state.dag, { policy: input.workflow.failurePolicy, ...(finishedNodeId !== undefined ? { finishedNodeId } : {}) });
      let dag = step.dag;
      if (step.decide.length > 0) {
        for (const node of step.decide) dag = await decide(dag, node);
        record({ dag });
        continue;
      }
      for (const node of step.start) dag = start(dag, node);
      record({ dag });
      if (step.outcome.status !== 'RUNNING') {
        if (running.size === 0) return step.outcome;
        // FAIL_FAST (or a node's instance stopped by hand): nothing new starts, and what still runs is stopped.
        nodeScope.cancel();
        await condition(() => running.size === 0);
        foldEnded(step.outcome.status === 'STOPPED' ? WorkflowSystemResult.stoppedByUser : STOPPED_BY_FAILURE);
        return step.outcome;
      }
      await condition(() => ended.length > 0 || stopRequested);
      finishedNodeId = foldEnded(null) ?? finishedNodeId;
    }
  }

  /** After a stop: every node's child has ended; started nodes are STOPPED. */
  async function stopped(): Promise<Ending> {
    nodeScope.cancel();
    await condition(() => running.size === 0);
    foldEnded(WorkflowSystemResult.stoppedByUser);
    const change = stopDag(state.dag, 'RUNNING');
    if (change.ok) record({ dag: change.dag });
    return { status: 'STOPPED', result: WorkflowSystemResult.stoppedByUser };
  }

  /** A decision node's verdict, from the sandbox; a script that cannot decide fails the node. */
  async function decide(dag: PEWorkflowDAG, node: PEWorkflowNode): Promise<PEWorkflowDAG> {
    const startTime = nodeTime(Date.now());
    const outcome = await evaluateDecision({ node: nodeLabel(node), script: node.nodeParams ?? '', context: state.context });
    const times = { startTime, finishedTime: nodeTime(Date.now()) };
    return 'verdict' in outcome ? applyDecision(dag, node.nodeId, outcome.verdict, times) : failDecision(dag, node.nodeId, outcome.failure, times);
  }

  /** Starts a JOB node as a child instance, a NESTED_WORKFLOW node as a child run; the node is RUNNING from here. */
  function start(dag: PEWorkflowDAG, node: PEWorkflowNode): PEWorkflowDAG {
    const now = Date.now();
    const nodeType = nodeTypeOf(node) === 'NESTED_WORKFLOW' ? 'NESTED_WORKFLOW' : 'JOB';
    // A retry carries a failed or stopped nested run on under its own id; anything else starts anew.
    const resume = nodeType === 'NESTED_WORKFLOW' && node.instanceId != null ? input.resumeNested?.[String(node.instanceId)] : undefined;
    const childId = resume ? node.instanceId! : keyedId(nodeType === 'JOB' ? 'wf-node' : 'wf-nested', input.wfInstanceId, node.nodeId, input.round);
    const child: Promise<Omit<NodeEnd, 'instanceId' | 'nodeType'>> = nodeType === 'JOB'
      ? nodeScope.run(() => runJobNode(node, childId, now))
      : nodeScope.run(() => runNestedNode(node, childId, now, resume));
    running.add(childId);
    void child
      .then(
        (end) => ended.push({ ...end, instanceId: childId, nodeType }),
        (err: unknown) => ended.push({
          instanceId: childId, nodeType, finishedTime: nodeTime(Date.now()),
          ...(isCancellation(err) ? { status: 'STOPPED', result: null } : { status: 'FAILED', result: cutResult(String((err as Error).message)) }),
        }),
      )
      .finally(() => running.delete(childId));
    return markNodeStarted(dag, node.nodeId, childId, nodeTime(now));
  }

  async function runJobNode(node: PEWorkflowNode, instanceId: number, now: number): Promise<Omit<NodeEnd, 'instanceId' | 'nodeType'>> {
    const job = input.jobs[String(node.jobId)];
    if (!job) return { status: 'FAILED', result: WorkflowSystemResult.canNotFindJob, finishedTime: nodeTime(now) };
    const instance = newInstanceInput({
      instanceId,
      appName: input.appName,
      // PowerJob: the node's params are the job params, the workflow context the instance params.
      job: { ...job, jobParams: node.nodeParams ?? null },
      instanceParams: contextJson(state.context),
      expectedTriggerTime: now,
      createdAt: now,
      heartbeatTimeoutMs: input.heartbeatTimeoutMs,
    });
    const handle = await startChild<InstanceWorkflow>(WorkflowType.instance, { ...instanceStartOptions({ ...instance, wfInstanceId: input.wfInstanceId }) });
    metrics.instanceStarted({ app: input.appName, jobId: job.id, trigger: 'workflow' });
    const end = await handle.result();
    const status = end.status === 'SUCCEED' || end.status === 'STOPPED' || end.status === 'CANCELED' ? end.status : 'FAILED';
    return { status, result: end.result, finishedTime: nodeTime(end.finishedTime ?? Date.now()) };
  }

  async function runNestedNode(
    node: PEWorkflowNode,
    wfInstanceId: number,
    now: number,
    resume: NestedResume | undefined,
  ): Promise<Omit<NodeEnd, 'instanceId' | 'nodeType'>> {
    const workflow = input.nested[String(node.jobId)];
    if (!workflow) return { status: 'FAILED', result: `can't find nested workflow ${node.jobId}`, finishedTime: nodeTime(now) };
    const handle = await startChild<DagWorkflow>(WorkflowType.dag, {
      ...dagStartOptions({
        ...input,
        wfInstanceId,
        workflow,
        dag: resume?.dag ?? newRunDag(workflow.dag, (jobId) => input.jobs[String(jobId)]?.jobParams),
        // PowerJob hands a nested workflow its parent's context as it is.
        context: resume?.context ?? state.context,
        initParams: contextJson(state.context),
        maxWfInstanceNum: 0,
        expectedTriggerTime: now,
        createdAt: now,
        createdBy: null,
        parentWfInstanceId: input.wfInstanceId,
        round: resume?.round ?? 0,
        retriedBy: null,
        actualTriggerTime: resume?.actualTriggerTime ?? null,
      }),
      ...(resume ? { workflowIdReusePolicy: 'ALLOW_DUPLICATE' as const } : {}),
    });
    const end = await handle.result();
    const status = end.status === 'SUCCEED' || end.status === 'STOPPED' ? end.status : 'FAILED';
    return { status, result: end.result, finishedTime: nodeTime(end.finishedTime ?? Date.now()), context: end.context };
  }

  /**
   * Folds the nodes that ended into the DAG and the context: a JOB node's appended context,
   * a nested run's whole context when it succeeded. A merge over the size limit fails the
   * node with the reason. `stoppedResult` names why nodes that ended STOPPED were stopped.
   * Returns the last node that finished.
   */
  function foldEnded(stoppedResult: string | null): number | undefined {
    let dag = state.dag;
    let context = state.context;
    let last: number | undefined;
    for (const end of ended.splice(0)) {
      const node = dag.nodes.find((candidate) => candidate.instanceId === end.instanceId);
      if (!node) continue;
      let { status, result } = end;
      const added = end.nodeType === 'JOB' ? appended.get(end.instanceId)?.data : status === 'SUCCEED' ? end.context : undefined;
      if (added) {
        const merged = end.nodeType === 'JOB' ? mergeAppendedContext(context, added, nodeLabel(node)) : mergeChildContext(context, added, nodeLabel(node));
        if (merged.ok) context = merged.context;
        else [status, result] = ['FAILED', merged.reason];
      }
      if (status === 'STOPPED' && stoppedResult !== null) result = stoppedResult;
      const recorded = recordNodeFinished(dag, { instanceId: end.instanceId, status, result, finishedTime: end.finishedTime ?? null });
      if (!recorded) continue;
      dag = recorded.dag;
      last = recorded.nodeId;
    }
    record({ dag, context });
    return last;
  }
};
