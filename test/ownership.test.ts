import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { operations, type OperationName } from '../src/api/operations.js';
import type { Body, OpenApiCaller } from './support/api-client.js';
import { eventually } from './support/eventually.js';
import { startTestStack, type TestStack } from './support/stack.js';

/**
 * One app can never see or touch another app's jobs, instances, workflows or logs: every operation of the
 * OpenAPI, called by an intruder with the victim's ids, answers as not found (or lists
 * nothing of the victim's), and the victim's data is unchanged afterwards.
 */

let stack: TestStack;
let victim: OpenApiCaller;
let intruder: OpenApiCaller;
let jobId: number;
let instanceId: number;
let workflowId: number;
let nodeId: number;
let wfInstanceId: number;
let targetId: number;
const TARGET_SECRET = 'victim-webhook-secret-0123456789';

const job = { jobName: 'victim-job', timeExpressionType: 'API', executeType: 'STANDALONE', processorType: 'BUILT_IN', processorInfo: 'p' };

beforeAll(async () => {
  stack = await startTestStack();
  victim = (await stack.newApp('victim')).api;
  intruder = (await stack.newApp('intruder')).api;
  targetId = await victim.data<number>('saveAlertTarget', { name: 'victim-oncall', webhook: { url: 'https://hooks.example.com/victim', secret: TARGET_SECRET } });
  jobId = await victim.data<number>('saveJob', job);
  instanceId = await victim.data<number>('runJob', { jobId, delay: 3_600_000 }, { form: true });
  nodeId = (await victim.data<{ id: number }[]>('addWorkflowNode', [{ type: 1, jobId }]))[0]!.id;
  workflowId = await victim.data<number>('saveWorkflow', { wfName: 'victim-wf', timeExpressionType: 'API', dag: { nodes: [{ nodeId }], edges: [] } });
  await eventually(() => victim.data<{ totalItems: number }>('queryInstance', { jobIdEq: jobId }), (page) => page.totalItems === 1);
  await eventually(() => victim.data<{ totalItems: number }>('queryWorkflow', { idEq: workflowId }), (page) => page.totalItems === 1);
  wfInstanceId = await victim.data<number>('runWorkflow', { workflowId, delay: 3_600_000 }, { form: true });
});
afterAll(async () => {
  await victim?.call('cancelInstance', { instanceId }, { form: true });
  await victim?.call('stopWfInstance', { wfInstanceId }, { form: true });
  await stack?.close();
});

/** How the intruder aims each operation at the victim, and what a refusal looks like. */
const attacks: Record<OperationName, () => { body: Body; refused: (res: { success: boolean; data: unknown; message: string | null }) => boolean }> = {
  saveJob: () => ({ body: { ...job, id: jobId, jobName: 'hijacked' }, refused: notFound('job') }),
  copyJob: () => ({ body: { jobId }, refused: notFound('job') }),
  exportJob: () => ({ body: { jobId }, refused: notFound('job') }),
  fetchJob: () => ({ body: { jobId }, refused: notFound('job') }),
  fetchAllJob: () => ({ body: {}, refused: (res) => res.success && !(res.data as { id: number }[]).some((j) => j.id === jobId) }),
  queryJob: () => ({ body: { idEq: jobId, appIdEq: victim.appId }, refused: (res) => res.success && (res.data as unknown[]).length === 0 }),
  enableJob: () => ({ body: { jobId }, refused: notFound('job') }),
  disableJob: () => ({ body: { jobId }, refused: notFound('job') }),
  deleteJob: () => ({ body: { jobId }, refused: notFound('job') }),
  runJob: () => ({ body: { jobId }, refused: notFound('job') }),
  stopInstance: () => ({ body: { instanceId }, refused: notFound('instance') }),
  cancelInstance: () => ({ body: { instanceId }, refused: notFound('instance') }),
  retryInstance: () => ({ body: { instanceId }, refused: notFound('instance') }),
  fetchInstanceStatus: () => ({ body: { instanceId }, refused: notFound('instance') }),
  fetchInstanceInfo: () => ({ body: { instanceId }, refused: notFound('instance') }),
  fetchInstanceLog: () => ({ body: { instanceId, index: 0 }, refused: notFound('instance') }),
  appendInstanceLog: () => ({ body: { instanceId, lines: ['planted'] }, refused: notFound('instance') }),
  shipInstanceLog: () => ({
    body: { lines: [{ instanceId, attempt: 0, taskId: null, workerId: 'intruder-worker', stream: 's', seq: 1, level: 'INFO', time: Date.now(), message: 'planted', fields: null }] },
    refused: notFound('instance'),
  }),
  // Reads no stored data at all: it only computes fire times from its own input.
  validateTimeExpression: () => ({
    body: { timeExpressionType: 'CRON', timeExpression: '0 0 1 * * ?' },
    refused: (res) => res.success && (res.data as unknown[]).length === 5,
  }),
  // A node naming the victim's job, and a change to the victim's node: neither exists for the intruder.
  addWorkflowNode: () => ({ body: [{ type: 1, jobId }], refused: notFound('job') }),
  saveWorkflow: () => ({ body: { id: workflowId, wfName: 'hijacked', timeExpressionType: 'API' }, refused: notFound('workflow') }),
  copyWorkflow: () => ({ body: { workflowId }, refused: notFound('workflow') }),
  fetchWorkflow: () => ({ body: { workflowId }, refused: notFound('workflow') }),
  enableWorkflow: () => ({ body: { workflowId }, refused: notFound('workflow') }),
  disableWorkflow: () => ({ body: { workflowId }, refused: notFound('workflow') }),
  deleteWorkflow: () => ({ body: { workflowId }, refused: notFound('workflow') }),
  queryWorkflow: () => ({
    body: { idEq: workflowId, appIdEq: victim.appId },
    refused: (res) => res.success && (res.data as { totalItems: number }).totalItems === 0,
  }),
  runWorkflow: () => ({ body: { workflowId }, refused: notFound('workflow') }),
  fetchWfInstanceInfo: () => ({ body: { wfInstanceId }, refused: notFound('workflow instance') }),
  stopWfInstance: () => ({ body: { wfInstanceId }, refused: notFound('workflow instance') }),
  retryWfInstance: () => ({ body: { wfInstanceId }, refused: notFound('workflow instance') }),
  markWorkflowNodeAsSuccess: () => ({ body: { wfInstanceId, nodeId }, refused: notFound('workflow instance') }),
  queryWfInstance: () => ({
    body: { workflowIdEq: workflowId, appIdEq: victim.appId },
    refused: (res) => res.success && (res.data as { totalItems: number }).totalItems === 0,
  }),
  queryInstance: () => ({
    body: { jobIdEq: jobId, appIdEq: victim.appId, instanceIdEq: instanceId },
    refused: (res) => res.success && (res.data as { totalItems: number }).totalItems === 0,
  }),
  saveAlertTarget: () => ({ body: { id: targetId, name: 'hijacked', webhook: { url: 'https://intruder.example.com/' } }, refused: notFound('alert target') }),
  fetchAlertTarget: () => ({ body: { targetId }, refused: notFound('alert target') }),
  deleteAlertTarget: () => ({ body: { targetId }, refused: notFound('alert target') }),
  listAlertTargets: () => ({ body: {}, refused: (res) => res.success && (res.data as unknown[]).length === 0 }),
  queryAlertDeliveries: () => ({ body: {}, refused: (res) => res.success && (res.data as unknown[]).length === 0 }),
  // Both read only the caller's own app: its workers, its runs (test/console-api.test.ts runs workers on both sides).
  listWorkers: () => ({ body: {}, refused: (res) => res.success && (res.data as unknown[]).length === 0 }),
  listInstances: () => ({ body: { jobIdEq: jobId }, refused: (res) => res.success && (res.data as { data: unknown[] }).data.length === 0 }),
  countInstances: () => ({ body: { jobIdEq: jobId }, refused: (res) => res.success && (res.data as { total: number }).total === 0 }),
};

function notFound(kind: 'job' | 'instance' | 'workflow' | 'workflow instance' | 'alert target') {
  return (res: { success: boolean; message: string | null }) =>
    !res.success && new RegExp(`${kind} \\d+ not found in app intruder-`).test(res.message ?? '');
}

describe('ownership', () => {
  it('covers every operation of the OpenAPI', () => {
    expect(Object.keys(attacks).sort()).toEqual(Object.keys(operations).sort());
  });

  it.each(Object.keys(operations) as OperationName[])('%s refuses another app\'s ids', async (operation) => {
    const { body, refused } = attacks[operation]();
    for (const form of [false, true]) {
      const res = await intruder.call(operation, body, { form: form && operations[operation].form });
      expect(res.headers.get('X-POWERJOB-AUTH-PASSED')).toBe('true');
      expect(refused(res.body), `${operation}: ${JSON.stringify(res.body)}`).toBe(true);
    }
  });

  it('leaves the victim\'s job, instance and workflow untouched', async () => {
    expect(await victim.data('fetchJob', { jobId })).toMatchObject({ jobName: 'victim-job', status: 1 });
    expect(await victim.data('fetchWorkflow', { workflowId }, { form: true })).toMatchObject({
      wfName: 'victim-wf', status: 1, peworkflowDAG: { nodes: [{ nodeId, jobId }] },
    });
    expect(await victim.data('fetchWfInstanceInfo', { wfInstanceId }, { form: true })).toMatchObject({ workflowId, status: 1 });
    expect(await victim.data('fetchInstanceStatus', { instanceId })).toBe(1);
    expect(await victim.data('fetchInstanceLog', { instanceId }, { form: true })).toEqual({ index: 0, totalPages: 0, data: '' });
    await expect.poll(async () => (await victim.data<unknown[]>('fetchAllJob')).length, { timeout: 5_000 }).toBe(1);
    const target = await victim.data('fetchAlertTarget', { targetId });
    expect(target).toMatchObject({ name: 'victim-oncall', webhook: { url: 'https://hooks.example.com/victim', secretSet: true } });
    expect(JSON.stringify(target)).not.toContain(TARGET_SECRET);
  });
});
