import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createClient, InstanceStatus, JobStatus, type TempojobClient } from '../src/client/index.js';
import { createWorker, type ProcessorWorker } from '../src/workers/index.js';
import { liveAppWorkers } from '../src/temporal/live-workers.js';
import { badge, checkScreen, makeArtifactsDir, signIn as signInAs } from './support/console-page.js';
import { eventually } from './support/eventually.js';
import { Recorder } from './support/recorder.js';
import { startTestStack, type TestStack } from './support/stack.js';

/**
 * The console's Workflows screens in a real headless Chromium (Debian's, through
 * playwright-core) against the real stack, as console-ui.test.ts does for jobs and instances:
 * the list, the DAG drawn from the workflow, the editor (nodes from the app's jobs, edges,
 * refusals before saving), a run's nodes live with stop / retry. Every check is also on what
 * the API holds afterwards and on how many times each processor ran; each screen is checked
 * with axe-core and photographed into test-artifacts/console/.
 */

const WF_SUCCEED = 4;
const WF_FAILED = 3;

let stack: TestStack;
let browser: Browser;
let appName: string;
let password: string;
let api: TempojobClient;
let other: TempojobClient;
let otherWorkflowId: number;
let otherRunId: number;
let worker: { worker: ProcessorWorker; done: Promise<void> };
const recorder = new Recorder();

/** The second step of the failing workflow fails until the test says otherwise. */
let secondFails = true;

const processors = recorder.wrap({
  extract: (ctx) => ({ success: true, msg: `extracted ${ctx.instanceParams ?? ''}` }),
  load: () => ({ success: true, msg: 'loaded' }),
  fetch: () => ({ success: true, msg: 'fetched' }),
  publish: () => (secondFails ? { success: false, msg: 'the feed is down' } : { success: true, msg: 'published' }),
});

const job = (processorInfo: string) => ({
  jobName: `${processorInfo} step`, timeExpressionType: 'API' as const, executeType: 'STANDALONE' as const, processorType: 'BUILT_IN' as const, processorInfo,
});

/** A workflow first → second made through the API, as a script would. */
async function saveChain(client: TempojobClient, wfName: string, firstJob: number, secondJob: number): Promise<number> {
  const [first, second] = await client.addWorkflowNode([{ type: 1, jobId: firstJob }, { type: 1, jobId: secondJob }]);
  return client.saveWorkflow({ wfName, timeExpressionType: 'API', dag: { nodes: [{ nodeId: first!.id }, { nodeId: second!.id }], edges: [{ from: first!.id, to: second!.id }] } });
}

const ranOf = (processor: string) => recorder.executions.filter((e) => e.processor === processor);

beforeAll(async () => {
  makeArtifactsDir();
  stack = await startTestStack();
  ({ appName, password } = await stack.newApp('console-wf'));
  api = createClient({ baseUrl: stack.url, appName, password });
  const created = await createWorker({ appName, processors, workerId: 'wf-1', address: inject('temporalAddress'), shutdownGraceMs: 0 });
  worker = { worker: created, done: created.run() };
  await eventually(() => liveAppWorkers(stack.client, appName), (live) => live.length === 1, 30_000);

  const theirs = await stack.newApp('other-wf');
  other = createClient({ baseUrl: stack.url, appName: theirs.appName, password: theirs.password });
  const theirJob = await other.saveJob({ ...job('theirs'), jobName: 'their job' });
  otherWorkflowId = await saveChain(other, 'their secret workflow', theirJob, theirJob);
  otherRunId = await other.runWorkflow(otherWorkflowId, { delay: 3_600_000 });
  browser = await chromium.launch({ executablePath: inject('chromiumPath'), args: ['--no-sandbox'] });
}, 120_000);

afterAll(async () => {
  await other?.stopWfInstance(otherRunId).catch(() => undefined);
  await browser?.close();
  if (worker) {
    await worker.worker.shutdown();
    await worker.done;
  }
  await stack?.close();
});

async function newPage(viewport = { width: 1280, height: 800 }): Promise<Page> {
  const context = await browser.newContext({ viewport, baseURL: stack.url, timezoneId: 'Europe/Berlin' });
  const page = await context.newPage();
  page.on('pageerror', (err) => { throw err; });
  return page;
}

const signIn = (page: Page, as = { appName, password }) => signInAs(page, as);


const drawn = (page: Page) => page.getByTestId('dag').locator('g[data-node-id]');
const drawnStatuses = (page: Page) => drawn(page).evaluateAll((nodes) => nodes.map((n) => n.getAttribute('data-status')));

describe('console workflows', () => {
  let workflowId: number;
  let extractJob: number;
  let loadJob: number;

  it('builds A → B in the editor with a live preview, saves it once, runs it and watches both nodes succeed', async () => {
    extractJob = await api.saveJob({ ...job('extract'), jobName: 'extract orders' });
    loadJob = await api.saveJob({ ...job('load'), jobName: 'load warehouse' });
    const page = await newPage();
    await signIn(page);
    await page.getByRole('link', { name: 'Workflows' }).click();
    await page.getByText('No workflows.').waitFor();
    await checkScreen(page, 'workflows-empty');
    await page.getByRole('link', { name: 'New workflow' }).click();
    await page.getByLabel('Name', { exact: true }).fill('nightly orders');
    // A CRON expression previews its fires (the server's validateTimeExpression); the workflow stays an API one.
    await page.getByLabel('Time type').selectOption('CRON');
    await page.getByLabel('Time expression').fill('0 0 2 * * ?');
    await expect.poll(() => page.locator('.preview ol.fires li').count()).toBe(5);
    await page.getByLabel('Time type').selectOption('API');
    await page.getByLabel('Time expression').fill('');
    await page.getByLabel('Failure policy').selectOption('CONTINUE_BRANCHES');
    // Nodes from the app's jobs, then the edge between them.
    await page.getByLabel('Job', { exact: true }).selectOption(String(extractJob));
    await page.getByRole('button', { name: 'Add node' }).click();
    await page.getByLabel('Job', { exact: true }).selectOption(String(loadJob));
    await page.getByLabel('Node name (optional)').fill('load');
    await page.getByRole('button', { name: 'Add node' }).click();
    await page.getByLabel('From', { exact: true }).selectOption('1');
    await page.getByLabel('To', { exact: true }).selectOption('2');
    await page.getByRole('button', { name: 'Add edge' }).click();
    await expect.poll(() => drawn(page).count()).toBe(2);
    expect(await page.getByTestId('dag').locator('[data-edge="1-2"]').count()).toBe(1);
    expect(await page.getByTestId('dag').textContent()).toContain('extract orders');
    await checkScreen(page, 'workflow-editor');
    await page.getByRole('button', { name: 'Create workflow' }).dblclick();
    await page.waitForURL(/\/console\/workflows\/\d+$/);
    workflowId = Number(/(\d+)$/.exec(page.url())![1]);
    await page.getByRole('heading', { name: /Workflow nightly orders/, level: 1 }).waitFor();
    await expect.poll(() => drawn(page).count()).toBe(2);

    const saved = await api.fetchWorkflow(workflowId);
    expect(saved).toMatchObject({ wfName: 'nightly orders', timeExpressionType: 'API', failurePolicy: 'CONTINUE_BRANCHES', status: JobStatus.codes.ENABLE });
    const [a, b] = saved.peworkflowDAG.nodes;
    expect([a!.jobId, b!.jobId, b!.nodeName]).toEqual([extractJob, loadJob, 'load']);
    expect(saved.peworkflowDAG.edges.map((e) => [e.from, e.to])).toEqual([[a!.nodeId, b!.nodeId]]);
    // One intent, one workflow, however often Create was clicked (queryWorkflow trails writes: wait for it, then count).
    await expect.poll(async () => (await api.queryWorkflow({ wfNameEq: 'nightly orders' })).data.map((w) => w.id), { timeout: 10_000 }).toEqual([workflowId]);
    await checkScreen(page, 'workflow');

    await page.getByRole('button', { name: 'Run…' }).click();
    await page.getByLabel('Init params (a JSON object becomes the context)').fill('{"batch":"7"}');
    await page.getByRole('button', { name: 'Run now' }).dblclick();
    await page.waitForURL(/\/console\/wf-instances\/\d+$/);
    const runId = Number(/(\d+)$/.exec(page.url())![1]);
    await badge(page, 'SUCCEED').waitFor({ timeout: 30_000 });
    await expect.poll(() => drawnStatuses(page)).toEqual(['SUCCEED', 'SUCCEED']);
    await checkScreen(page, 'wf-instance');

    const info = await api.fetchWfInstanceInfo(runId);
    expect(info.status).toBe(WF_SUCCEED);
    const nodes = (JSON.parse(info.dag) as { nodes: { status: number; instanceId: string }[] }).nodes;
    expect(nodes.map((n) => n.status)).toEqual([InstanceStatus.codes.SUCCEED, InstanceStatus.codes.SUCCEED]);
    expect(ranOf('extract').map((e) => e.instanceId)).toEqual([Number(nodes[0]!.instanceId)]);
    expect(ranOf('load').map((e) => e.instanceId)).toEqual([Number(nodes[1]!.instanceId)]);
    await expect.poll(async () => (await api.queryWfInstance({ workflowIdEq: workflowId })).data.map((r) => r.wfInstanceId), { timeout: 10_000 }).toEqual([runId]);

    // A node links to its instance's page; the link's name is what the box shows.
    await page.getByTestId('dag').getByRole('link', { name: /^extract orders.*SUCCEED/ }).click();
    await page.waitForURL(new RegExp(`/console/instances/${nodes[0]!.instanceId}$`));
    await badge(page, 'SUCCEED').waitFor();

    // The list: found by name, with the run in the workflow's recent runs.
    await page.getByRole('link', { name: 'Workflows' }).click();
    await page.getByLabel('Search').fill('nightly');
    const row = page.locator(`tr[data-workflow-id="${workflowId}"]`);
    await row.waitFor({ timeout: 15_000 });
    await checkScreen(page, 'workflows');
    await row.getByRole('link', { name: 'nightly orders' }).click();
    await page.locator(`tr[data-wf-instance-id="${runId}"]`).waitFor();
    await page.close();
  });

  it('refuses a cycle in the editor with a message, and saves nothing', async () => {
    const before = await api.fetchWorkflow(workflowId);
    const page = await newPage();
    await signIn(page);
    await page.goto(`/console/workflows/${workflowId}/edit`);
    await expect.poll(() => drawn(page).count()).toBe(2);
    await page.getByLabel('From', { exact: true }).selectOption('2');
    await page.getByLabel('To', { exact: true }).selectOption('1');
    await page.getByRole('button', { name: 'Add edge' }).click();
    const problem = page.getByRole('list', { name: 'Problems of the DAG' }).getByText(/the edges form a cycle, node \d "extract orders" → node \d "load" → node \d "extract orders"/);
    await problem.waitFor();
    await page.getByRole('button', { name: 'Save workflow' }).click();
    await page.getByRole('alert').filter({ hasText: 'Nothing was saved: the edges form a cycle' }).waitFor();
    await checkScreen(page, 'workflow-editor-cycle');
    const after = await api.fetchWorkflow(workflowId);
    expect(after.peworkflowDAG).toEqual(before.peworkflowDAG);
    expect(after.gmtModified).toBe(before.gmtModified);
    // Removing the edge clears the refusal.
    await page.getByRole('button', { name: /^Remove edge node 2 .* → node 1 / }).click();
    await problem.waitFor({ state: 'detached' });
    await page.close();
  });

  it('shows a run whose second node fails as FAILED, and its retry runs only the failed node; marks a failed node as success', async () => {
    const workflow = await saveChain(api, 'publish feed', await api.saveJob(job('fetch')), await api.saveJob(job('publish')));
    const runId = await api.runWorkflow(workflow);
    const page = await newPage();
    await signIn(page);
    await page.goto(`/console/wf-instances/${runId}`);
    await badge(page, 'FAILED').waitFor({ timeout: 30_000 });
    await expect.poll(() => drawnStatuses(page)).toEqual(['SUCCEED', 'FAILED']);
    expect(await page.getByTestId('result').textContent()).toContain('the feed is down');
    await page.getByRole('button', { name: 'Mark as success' }).waitFor();
    await checkScreen(page, 'wf-instance-failed');
    expect((await api.fetchWfInstanceInfo(runId)).status).toBe(WF_FAILED);
    expect([ranOf('fetch').length, ranOf('publish').length]).toEqual([1, 1]);

    secondFails = false;
    await page.getByRole('button', { name: 'Retry failed nodes' }).dblclick();
    await badge(page, 'SUCCEED').waitFor({ timeout: 30_000 });
    await expect.poll(() => drawnStatuses(page)).toEqual(['SUCCEED', 'SUCCEED']);
    expect((await api.fetchWfInstanceInfo(runId)).status).toBe(WF_SUCCEED);
    // The first node did not run again; the failed one ran once more, once for a double click.
    expect([ranOf('fetch').length, ranOf('publish').length]).toEqual([1, 2]);

    // Another run fails at the same node, which is marked as success: the node shows SUCCEED
    // (the run stays FAILED, as in PowerJob, until a retry carries on past it), and nothing ran again.
    secondFails = true;
    const secondRun = await api.runWorkflow(workflow);
    await page.goto(`/console/wf-instances/${secondRun}`);
    await badge(page, 'FAILED').waitFor({ timeout: 30_000 });
    await page.getByRole('button', { name: 'Mark as success' }).click();
    await expect.poll(() => drawnStatuses(page), { timeout: 15_000 }).toEqual(['SUCCEED', 'SUCCEED']);
    const marked = await api.fetchWfInstanceInfo(secondRun);
    expect(marked.status).toBe(WF_FAILED);
    expect((JSON.parse(marked.dag) as { nodes: { result: string }[] }).nodes[1]!.result).toBe('mark as successful node');
    expect([ranOf('fetch').length, ranOf('publish').length]).toEqual([2, 3]);
    await page.close();
  });

  it('never shows or acts on another app\'s workflows and runs, whatever the URL', async () => {
    const page = await newPage();
    await signIn(page);
    await page.goto(`/console/workflows/${otherWorkflowId}`);
    await page.getByText(`workflow ${otherWorkflowId} not found in app ${appName}`).waitFor();
    expect(await page.getByRole('button', { name: /Run|Disable|Delete/ }).count()).toBe(0);
    await page.goto(`/console/workflows/${otherWorkflowId}/edit`);
    await page.getByText(`workflow ${otherWorkflowId} not found in app ${appName}`).waitFor();
    expect(await page.getByRole('button', { name: /Save/ }).count()).toBe(0);
    await page.goto(`/console/wf-instances/${otherRunId}`);
    await page.getByText(`workflow instance ${otherRunId} not found in app ${appName}`).waitFor();
    expect(await page.getByRole('button', { name: /Stop|Retry/ }).count()).toBe(0);
    await page.goto('/console/workflows');
    await page.locator('tr[data-workflow-id]').first().waitFor();
    expect(await page.getByText('their secret workflow').count()).toBe(0);
    // Theirs is as it was: enabled, its run still waiting for its delay.
    expect((await other.fetchWorkflow(otherWorkflowId)).status).toBe(JobStatus.codes.ENABLE);
    expect((await other.fetchWfInstanceInfo(otherRunId)).status).toBe(1);
    await page.close();
  });

  it('draws the DAG at phone width in a frame that scrolls, the page itself not wider than the screen', async () => {
    const page = await newPage({ width: 390, height: 844 });
    await signIn(page);
    await page.goto(`/console/workflows/${workflowId}`);
    await expect.poll(() => drawn(page).count()).toBe(2);
    expect(await page.evaluate<number>('document.documentElement.scrollWidth')).toBeLessThanOrEqual(390);
    const frame = page.getByRole('region', { name: /DAG of workflow/ });
    expect(await frame.evaluate((el) => el.scrollWidth > el.clientWidth)).toBe(true);
    // The frame takes focus, so the keyboard scrolls it; the focus ring shows.
    await frame.focus();
    expect(await page.evaluate<string>('getComputedStyle(document.activeElement).outlineStyle')).toBe('solid');
    await checkScreen(page, 'workflow-phone');
    await page.close();
  });

  it('disables, enables and deletes a workflow (after a confirmation)', async () => {
    const page = await newPage();
    await signIn(page);
    await page.goto('/console/workflows');
    const row = page.locator(`tr[data-workflow-id="${workflowId}"]`);
    await row.getByRole('button', { name: 'Disable' }).click();
    await row.getByRole('button', { name: 'Enable' }).waitFor();
    expect((await api.fetchWorkflow(workflowId)).status).toBe(JobStatus.codes.DISABLE);
    await row.getByRole('button', { name: 'Enable' }).click();
    await row.getByRole('button', { name: 'Disable' }).waitFor();
    await row.getByRole('button', { name: 'Delete…' }).click();
    const dialog = page.getByRole('dialog', { name: 'Delete workflow nightly orders?' });
    await dialog.getByRole('button', { name: 'Keep it' }).click();
    expect((await api.fetchWorkflow(workflowId)).status).toBe(JobStatus.codes.ENABLE);
    await row.getByRole('button', { name: 'Delete…' }).click();
    await checkScreen(page, 'workflow-delete');
    await dialog.getByRole('button', { name: 'Delete workflow' }).click();
    await row.waitFor({ state: 'detached' });
    expect((await api.fetchWorkflow(workflowId)).status).toBe(JobStatus.codes.DELETED);
    await page.close();
  });
});
