import { Context } from '@temporalio/activity';
import type { Client } from '@temporalio/client';
import type { ProcessRequest } from '../contract/activities.js';
import { appendWorkflowContextSignal } from '../contract/messages.js';
import { wfInstanceWorkflowId } from '../contract/names.js';
import { WORKFLOW_CONTEXT_LIMITS, type WorkflowContextData, contextJson, contextValueOf, parseInitParams } from '../domain/dag.js';

/**
 * The workflow context of one attempt of a JOB node's instance (PowerJob's WorkflowContext):
 * what the processor reads (`ctx.workflowContext`) and what it appends
 * (`ctx.appendWorkflowContext`), signalled to the workflow instance before the attempt
 * reports back, so the node's successors see it. Outside workflows the context is null and
 * appending does nothing, as in PowerJob.
 */
export class AttemptWorkflowContext {
  readonly context: WorkflowContextData | null;
  private readonly appended: Record<string, string> = {};

  /** `refusal`: why this kind of task may not append (appending then throws it, instead of being lost). */
  constructor(private readonly request: ProcessRequest, private readonly refusal?: string) {
    // In a workflow the instance params are the context's JSON (PowerJob's contract).
    this.context = request.wfInstanceId === undefined ? null : Object.freeze(parseInitParams(request.instanceParams));
  }

  /**
   * A string value is kept as it is, anything else as its JSON (PowerJob's appendData2WfContext).
   * Beyond PowerJob, which drops an over-long append silently, one over the limit throws.
   */
  append(key: string, value: unknown): void {
    if (this.request.wfInstanceId === undefined) return;
    if (this.refusal) throw new Error(this.refusal);
    const next = { ...this.appended, [key]: contextValueOf(value) };
    const length = contextJson(next).length;
    if (length > WORKFLOW_CONTEXT_LIMITS.appendedChars) {
      throw new RangeError(
        `appendWorkflowContext("${key}", …) would make this node's appended context ${length} characters of JSON, over the ${WORKFLOW_CONTEXT_LIMITS.appendedChars} one node may append: append less, or keep large data elsewhere and append its key`,
      );
    }
    Object.defineProperty(this.appended, key, { value: next[key], enumerable: true, writable: true, configurable: true });
  }

  /** Hands what was appended to the workflow instance (nothing when nothing was). */
  async report(client: Client): Promise<void> {
    const { wfInstanceId, instanceId, instanceAttempt, attempt } = this.request;
    if (wfInstanceId === undefined || Object.keys(this.appended).length === 0) return;
    try {
      await client.workflow.getHandle(wfInstanceWorkflowId(wfInstanceId)).signal(appendWorkflowContextSignal, {
        instanceId, instanceAttempt: instanceAttempt ?? attempt, data: { ...this.appended },
      });
    } catch (err) {
      // The workflow instance has ended (stopped): nothing will read the context any more.
      Context.current().log.warn(`instance ${instanceId}: the appended workflow context could not reach workflow instance ${wfInstanceId}: ${String(err)}`);
    }
  }
}
