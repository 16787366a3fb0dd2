import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createClient, InstanceStatus, JobStatus, type TempojobClient } from '../src/client/index.js';
import { broadcastProcessor, createWorker, mapProcessor, type ProcessorWorker, type TaskContext } from '../src/workers/index.js';
import { liveAppWorkers } from '../src/temporal/live-workers.js';
import { badge, checkScreen, makeArtifactsDir, signIn as signInAs } from './support/console-page.js';
import { eventually } from './support/eventually.js';
import { Recorder } from './support/recorder.js';
import { startTestStack, type TestStack } from './support/stack.js';

/**
 * The console in a real headless Chromium (Debian's, through playwright-core) against the
 * real stack: every check is on what the API and Temporal hold afterwards, and on how many
 * times a processor ran. Each screen is checked with axe-core and photographed into
 * test-artifacts/console/.
 */

const WEB_UI = 'http://127.0.0.1:8233';
const MAP_SIZE = 12;

let stack: TestStack;
let browser: Browser;
let appName: string;
let password: string;
let api: TempojobClient;
let other: TempojobClient;
let otherJobId: number;
let otherInstanceId: number;
const recorder = new Recorder();
const workers: { worker: ProcessorWorker; done: Promise<void> }[] = [];

/** The flaky processor fails until the test says otherwise. */
let flakyFails = true;
/** Map sub-tasks wait here until the test has seen them running in the console. */
let openMapGate: () => void = () => {};
const mapGate = new Promise<void>((resolve) => { openMapGate = resolve; });
/** The chatty processor's second line waits until the test has seen the first in the console. */
let openLogGate: () => void = () => {};
const logGate = new Promise<void>((resolve) => { openLogGate = resolve; });

const processors = {
  ...recorder.wrap({
    echo: (ctx) => ({ success: true, msg: `echo: ${ctx.instanceParams ?? ''}` }),
    block: (ctx) => new Promise((_resolve, reject) => { ctx.signal.addEventListener('abort', () => reject(new Error('stopped'))); }),
    flaky: () => (flakyFails ? { success: false, msg: 'the upstream said no' } : { success: true, msg: 'fine now' }),
    boom: () => ({ success: false, msg: 'disk full on /var/data' }),
    chatty: async (ctx) => {
      ctx.logger.info('step one: reading the orders');
      await logGate;
      ctx.logger.warn('step two: 3 orders skipped');
      return { success: true, msg: 'done talking' };
    },
  }),
  fanout: broadcastProcessor({ process: (ctx: TaskContext) => ({ success: true, msg: `share of ${ctx.workerId}` }) }),
  squares: mapProcessor({
    async process(ctx) {
      if (ctx.isRootTask) {
        await ctx.map(Array.from({ length: MAP_SIZE }, (_, i) => i + 1), 'square');
        return { success: true, msg: `mapped ${MAP_SIZE}` };
      }
      await mapGate;
      return { success: true, msg: String((ctx.subTask as number) ** 2) };
    },
    reduce: (_ctx, results) => ({ success: true, msg: `sum ${results.reduce((sum, r) => sum + Number(r.result), 0)}` }),
  }),
};

const job = (processorInfo: string, extra: Record<string, unknown> = {}) => ({
  jobName: `${processorInfo} job`, timeExpressionType: 'API' as const, executeType: 'STANDALONE' as const, processorType: 'BUILT_IN' as const, processorInfo, ...extra,
});

beforeAll(async () => {
  makeArtifactsDir();
  stack = await startTestStack({ TEMPOJOB_WEB_UI_URL: WEB_UI });
  ({ appName, password } = await stack.newApp('console'));
  api = createClient({ baseUrl: stack.url, appName, password });
  // Two workers, each with its own connection (as two processes), for a broadcast's shares.
  for (const [workerId, tags] of [['w-1', ['blue']], ['w-2', []]] as const) {
    const worker = await createWorker({
      appName, processors, workerId, tags: [...tags], address: inject('temporalAddress'), shutdownGraceMs: 0, logs: { apiUrl: stack.url, password },
    });
    workers.push({ worker, done: worker.run() });
  }
  await eventually(() => liveAppWorkers(stack.client, appName), (live) => live.length === 2, 30_000);

  const theirs = await stack.newApp('other');
  other = createClient({ baseUrl: stack.url, appName: theirs.appName, password: theirs.password });
  otherJobId = await other.saveJob({ ...job('theirs'), jobName: 'their secret job' });
  otherInstanceId = await other.runJob(otherJobId, { delay: 3_600_000 });
  browser = await chromium.launch({ executablePath: inject('chromiumPath'), args: ['--no-sandbox'] });
}, 120_000);

afterAll(async () => {
  openMapGate();
  openLogGate();
  await other?.cancelInstance(otherInstanceId).catch(() => undefined);
  await browser?.close();
  for (const { worker, done } of workers) {
    await worker.shutdown();
    await done;
  }
  await stack?.close();
});

async function newPage(viewport = { width: 1280, height: 800 }): Promise<Page> {
  // The viewer is in Berlin, so times show in a zone other than the jobs' (Tokyo, UTC).
  const context = await browser.newContext({ viewport, baseURL: stack.url, timezoneId: 'Europe/Berlin', permissions: ['clipboard-read', 'clipboard-write'] });
  const page = await context.newPage();
  page.on('pageerror', (err) => { throw err; });
  return page;
}

const signIn = (page: Page, as = { appName, password }) => signInAs(page, as);



describe('console', () => {
  it('refuses a wrong password with the server\'s reason, then signs in to the overview', async () => {
    const page = await newPage();
    await page.goto('/console');
    await checkScreen(page, 'sign-in');
    await page.getByLabel('App name').fill(appName);
    await page.getByLabel('Password').fill('not-the-password');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await expect.poll(() => page.getByRole('alert').textContent()).toContain(`incorrect password for app "${appName}"`);
    await page.getByLabel('Password').fill(password);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('heading', { name: 'Overview', level: 1 }).waitFor();
    await page.getByRole('link', { name: /w-1, w-2/ }).waitFor();
    await checkScreen(page, 'overview');
    await page.close();
  });

  it('creates a CRON job with a preview of its fires (validating as the user types), and its instances appear', async () => {
    const page = await newPage();
    await signIn(page);
    await page.getByRole('link', { name: 'Jobs' }).click();
    await page.getByRole('link', { name: 'New job' }).click();
    await page.getByLabel('Name').fill('every two seconds');
    await page.getByLabel('Name').fill('');
    await page.getByText('jobName must not be empty').waitFor();
    await page.getByLabel('Name').fill('every two seconds');
    await page.getByLabel('Processor', { exact: true }).fill('echo');
    await page.getByLabel('Time expression').fill('*/2 * * * * ?');
    await page.getByLabel('Time zone').fill('Asia/Tokyo');
    await page.getByLabel('Time expression').fill('nonsense');
    await page.locator('.preview [role="alert"]').waitFor();
    await page.getByLabel('Time expression').fill('*/2 * * * * ?');
    const fires = page.locator('.preview ol.fires li');
    await expect.poll(() => fires.count()).toBe(5);
    expect(await fires.first().textContent()).toContain('Asia/Tokyo');
    await checkScreen(page, 'job-form');
    await page.getByRole('button', { name: 'Create job' }).click();
    await page.getByRole('heading', { name: 'Jobs', level: 1 }).waitFor();
    const saved = (await api.fetchAllJob()).find((j) => j.jobName === 'every two seconds');
    expect(saved).toMatchObject({ timeExpressionType: 2, timeExpression: '*/2 * * * * ?', timeZone: 'Asia/Tokyo', processorInfo: 'echo', status: JobStatus.codes.ENABLE });
    const row = page.locator(`tr[data-job-id="${saved!.id}"]`);
    await row.waitFor();
    await checkScreen(page, 'jobs');
    // Its next fire in the viewer's zone (Berlin), in the job's (Tokyo) on hover.
    const nextFire = row.locator('time');
    const at = Date.parse((await nextFire.getAttribute('datetime'))!);
    const inZone = (timeZone: string) => new Intl.DateTimeFormat('en-CA', { timeZone, year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', second: '2-digit', hourCycle: 'h23' }).format(at).replace(',', '');
    expect(await nextFire.textContent()).toBe(inZone('Europe/Berlin'));
    expect(await nextFire.getAttribute('title')).toBe(`${inZone('Asia/Tokyo')} Asia/Tokyo (job's zone)`);
    // Ids are copyable.
    await row.getByRole('button', { name: `Copy job id ${saved!.id}` }).click();
    expect(await page.evaluate<string>('navigator.clipboard.readText()')).toBe(String(saved!.id));

    await page.goto(`/console/instances?jobId=${saved!.id}`);
    await page.locator('tr[data-instance-id]').first().waitFor({ timeout: 30_000 });
    await checkScreen(page, 'instances');
    await page.goto('/console/jobs');
    await row.getByRole('button', { name: 'Disable' }).click();
    await row.getByRole('button', { name: 'Enable' }).waitFor();
    expect((await api.fetchJob(saved!.id)).status).toBe(JobStatus.codes.DISABLE);
    await page.close();
  });

  it('runs a job with params once however often Run is clicked, and shows it reach SUCCEED', async () => {
    const jobId = await api.saveJob(job('echo', { jobName: 'echo once' }));
    const page = await newPage();
    await signIn(page);
    await page.goto('/console/jobs');
    await page.locator(`tr[data-job-id="${jobId}"]`).getByRole('button', { name: 'Run…' }).click();
    await page.getByLabel('Instance params').fill('hello console');
    await page.getByRole('button', { name: 'Run now' }).dblclick();
    await page.waitForURL(/\/console\/instances\/\d+$/);
    const instanceId = Number(/(\d+)$/.exec(page.url())![1]);
    await badge(page, 'SUCCEED').waitFor({ timeout: 30_000 });
    expect(await page.getByTestId('result').textContent()).toBe('echo: hello console');
    expect(await page.getByRole('link', { name: 'Open in Temporal Web UI' }).getAttribute('href'))
      .toBe(`${WEB_UI}/namespaces/default/workflows/tempojob-instance-${instanceId}`);
    await checkScreen(page, 'instance');
    expect(await api.fetchInstanceInfo(instanceId)).toMatchObject({ status: InstanceStatus.codes.SUCCEED, instanceParams: 'hello console' });
    // One intent, one instance: the processor ran once for this job, and the API lists one run.
    await expect.poll(async () => (await api.countInstances({ jobIdEq: jobId })).total, { timeout: 10_000 }).toBe(1);
    expect(recorder.executions.filter((e) => e.processor === 'echo' && e.instanceId === instanceId)).toHaveLength(1);
    expect((await api.queryInstance({ jobIdEq: jobId })).totalItems).toBe(1);

    // The list, filtered by job and status in the form: that run only; created before it: none.
    await page.getByRole('link', { name: 'Instances' }).click();
    await page.getByLabel('Job').selectOption(String(jobId));
    await page.getByLabel('Status').selectOption(String(InstanceStatus.codes.SUCCEED));
    await page.getByRole('button', { name: 'Filter' }).click();
    // The unfiltered page stays up while the filtered one loads: wait for the filtered one.
    await expect.poll(() => page.locator('tr[data-instance-id]').count(), { timeout: 15_000 }).toBe(1);
    await page.locator(`tr[data-instance-id="${instanceId}"]`).waitFor();
    expect(new URL(page.url()).searchParams.get('jobId')).toBe(String(jobId));
    await page.getByLabel('Created before').fill('2025-01-01T00:00');
    await page.getByRole('button', { name: 'Filter' }).click();
    await page.getByText('No instances.').waitFor();
    await page.close();
  });

  it('runs a job after a delay, and cancels it before it fires', async () => {
    const jobId = await api.saveJob(job('echo', { jobName: 'echo later' }));
    const page = await newPage();
    await signIn(page);
    await page.goto('/console/jobs');
    await page.locator(`tr[data-job-id="${jobId}"]`).getByRole('button', { name: 'Run…' }).click();
    // The server's refusal, in its words; the edited request is a new intent and goes through.
    await page.getByLabel('Instance params').fill('x'.repeat(70_000));
    await page.getByRole('button', { name: 'Run now' }).click();
    await page.getByRole('alert').filter({ hasText: 'instanceParams must be at most 65536 characters' }).waitFor();
    await page.getByLabel('Instance params').fill('later');
    await page.getByLabel('Delay (seconds)').fill('-1');
    await page.getByText('The delay is a number of seconds, 0 or more.').waitFor();
    await page.getByLabel('Delay (seconds)').fill('3600');
    await page.getByRole('button', { name: 'Run in 3600 s' }).click();
    await page.waitForURL(/\/console\/instances\/\d+$/);
    const instanceId = Number(/(\d+)$/.exec(page.url())![1]);
    await badge(page, 'WAITING_DISPATCH').waitFor();
    const info = await api.fetchInstanceInfo(instanceId);
    expect(info.expectedTriggerTime - Date.parse(info.gmtCreate)).toBe(3_600_000);
    await page.getByRole('button', { name: 'Cancel' }).click();
    await badge(page, 'CANCELED').waitFor({ timeout: 30_000 });
    expect((await api.fetchInstanceInfo(instanceId)).status).toBe(InstanceStatus.codes.CANCELED);
    expect(recorder.of(instanceId)).toEqual([]);
    await page.close();
  });

  it('works from the keyboard: sign-in, the skip link, the menu, a dialog that Escape closes', async () => {
    await api.saveJob(job('echo', { jobName: 'keyboard job' }));
    const page = await newPage();
    await page.goto('/console');
    // The sign-in form takes focus itself: typing goes straight into the app name.
    await expect.poll(() => page.evaluate<string>('document.activeElement.id')).toBe('appName');
    await page.keyboard.type(appName);
    await page.keyboard.press('Tab');
    await page.keyboard.type(password);
    await page.keyboard.press('Enter');
    await page.getByRole('heading', { name: 'Overview', level: 1 }).waitFor();
    await page.keyboard.press('Tab');
    expect(await page.evaluate<string>('document.activeElement.textContent')).toBe('Skip to content');
    await page.keyboard.press('Enter');
    expect(await page.evaluate<string>('document.activeElement.id')).toBe('main');
    await page.goto('/console/jobs');
    await page.locator('tr[data-job-id]').first().waitFor();
    const jobsLink = page.getByRole('link', { name: 'Jobs', exact: true });
    await jobsLink.focus();
    // Focus is visible: the focus ring is drawn.
    expect(await page.evaluate<string>('getComputedStyle(document.activeElement).outlineStyle')).toBe('solid');
    const run = page.getByRole('button', { name: 'Run…' }).first();
    await run.focus();
    await page.keyboard.press('Enter');
    const dialog = page.getByRole('dialog');
    await dialog.waitFor();
    expect(await page.evaluate<string>('document.activeElement.id')).toBe('run-params');
    await page.keyboard.press('Escape');
    await dialog.waitFor({ state: 'detached' });
    await page.close();
  });

  it('copies, exports and deletes a job (after a confirmation)', async () => {
    const jobId = await api.saveJob(job('echo', { jobName: 'to copy' }));
    const page = await newPage();
    await signIn(page);
    await page.goto('/console/jobs');
    const row = page.locator(`tr[data-job-id="${jobId}"]`);
    const download = page.waitForEvent('download');
    await row.getByRole('button', { name: 'Export' }).click();
    expect((await download).suggestedFilename()).toBe(`job-${jobId}.json`);
    await row.getByRole('button', { name: 'Copy', exact: true }).dblclick();
    await page.waitForURL(/\/console\/jobs\/\d+$/);
    const copyId = Number(/(\d+)$/.exec(page.url())![1]);
    await expect.poll(() => page.getByLabel('Name').inputValue()).toBe('to copy_COPY');
    expect((await api.fetchJob(copyId)).jobName).toBe('to copy_COPY');
    // One click's intent, one copy (fetchAllJob trails writes: wait for the copy to show, then count).
    await expect.poll(async () => (await api.fetchAllJob()).filter((j) => j.jobName === 'to copy_COPY').map((j) => j.id), { timeout: 10_000 }).toEqual([copyId]);
    await page.goto('/console/jobs');
    await row.getByRole('button', { name: 'Delete…' }).click();
    const dialog = page.getByRole('dialog', { name: 'Delete job to copy?' });
    await dialog.getByRole('button', { name: 'Keep it' }).click();
    expect((await api.fetchJob(jobId)).status).toBe(JobStatus.codes.ENABLE);
    await row.getByRole('button', { name: 'Delete…' }).click();
    await checkScreen(page, 'job-delete');
    await dialog.getByRole('button', { name: 'Delete job' }).click();
    await row.waitFor({ state: 'detached' });
    expect((await api.fetchJob(jobId)).status).toBe(JobStatus.codes.DELETED);
    await page.close();
  });

  it('stops a long run', async () => {
    const jobId = await api.saveJob(job('block'));
    const instanceId = await api.runJob(jobId);
    await recorder.until(() => recorder.of(instanceId).length === 1);
    const page = await newPage();
    await signIn(page);
    await page.goto(`/console/instances/${instanceId}`);
    await badge(page, 'RUNNING').waitFor({ timeout: 30_000 });
    await page.getByRole('button', { name: 'Stop' }).click();
    await badge(page, 'STOPPED').waitFor({ timeout: 30_000 });
    expect((await api.fetchInstanceInfo(instanceId)).status).toBe(InstanceStatus.codes.STOPPED);
    await recorder.until(() => recorder.of(instanceId)[0]!.aborted === true);
    expect(recorder.of(instanceId)).toHaveLength(1);
    await page.close();
  });

  it('retries a failed run, which then succeeds', async () => {
    const jobId = await api.saveJob(job('flaky'));
    const instanceId = await api.runJob(jobId);
    await stack.finished(instanceId);
    const page = await newPage();
    await signIn(page);
    await page.goto(`/console/instances/${instanceId}`);
    await badge(page, 'FAILED').waitFor();
    expect(await page.getByTestId('result').textContent()).toContain('the upstream said no');
    flakyFails = false;
    await page.getByRole('button', { name: 'Retry' }).dblclick();
    await badge(page, 'SUCCEED').waitFor({ timeout: 30_000 });
    expect(await api.fetchInstanceInfo(instanceId)).toMatchObject({ status: InstanceStatus.codes.SUCCEED, result: 'fine now' });
    expect(recorder.of(instanceId)).toHaveLength(2);
    await page.close();
  });

  it('shows a broadcast\'s share per worker and a map\'s counts live', async () => {
    const broadcastJob = await api.saveJob(job('fanout', { executeType: 'BROADCAST' }));
    const broadcastId = await api.runJob(broadcastJob);
    const page = await newPage();
    await signIn(page);
    await page.goto(`/console/instances/${broadcastId}`);
    await badge(page, 'SUCCEED').waitFor({ timeout: 30_000 });
    for (const workerId of ['w-1', 'w-2']) {
      const share = page.locator(`tr[data-share="${workerId}"]`);
      expect(await share.locator('.badge').textContent()).toBe('SUCCEED');
      expect(await share.locator('td.result').textContent()).toBe(`share of ${workerId}`);
    }
    const shares = (await api.fetchInstanceInfo(broadcastId)).broadcast!;
    expect(shares.map((s) => [s.workerId, s.status]).sort()).toEqual([['w-1', 'SUCCEED'], ['w-2', 'SUCCEED']]);
    await checkScreen(page, 'instance-broadcast');

    const mapJob = await api.saveJob(job('squares', { executeType: 'MAP' }));
    const mapId = await api.runJob(mapJob);
    await page.goto(`/console/instances/${mapId}`);
    const count = (name: string) => page.locator(`[data-testid="map-progress"] [data-count="${name}"]`);
    // The sub-tasks wait at the gate: the console shows them mapped and running, none done.
    await expect.poll(async () => [await count('total').textContent(), await count('running').textContent()], { timeout: 30_000 }).toEqual([String(MAP_SIZE), String(MAP_SIZE)]);
    expect(await count('succeeded').textContent()).toBe('0');
    await checkScreen(page, 'instance-map');
    openMapGate();
    await expect.poll(() => count('succeeded').textContent(), { timeout: 30_000 }).toBe(String(MAP_SIZE));
    await badge(page, 'SUCCEED').waitFor({ timeout: 30_000 });
    expect((await api.fetchInstanceInfo(mapId)).map).toMatchObject({ total: MAP_SIZE, succeeded: MAP_SIZE, failed: 0 });
    await page.close();
  });

  it('tails an instance\'s log live', async () => {
    const instanceId = await api.runJob(await api.saveJob(job('chatty')));
    const page = await newPage();
    await signIn(page);
    await page.goto(`/console/instances/${instanceId}`);
    const log = page.getByRole('log');
    await expect.poll(() => log.textContent(), { timeout: 30_000 }).toContain('step one: reading the orders');
    expect(await log.textContent()).not.toContain('step two');
    openLogGate();
    await expect.poll(() => log.textContent(), { timeout: 30_000 }).toContain('step two: 3 orders skipped');
    await badge(page, 'SUCCEED').waitFor({ timeout: 30_000 });
    await page.getByText('(complete)').waitFor({ timeout: 30_000 });
    await checkScreen(page, 'instance-log');
    // The page shows what the store holds.
    expect((await api.fetchInstanceLog(instanceId)).data).toContain('step two: 3 orders skipped');
    await page.close();
  });

  it('lists the app\'s live workers with tags and task queues', async () => {
    const page = await newPage();
    await signIn(page);
    await page.getByRole('link', { name: 'Workers' }).click();
    const row = page.locator('tr[data-worker-id="w-1"]');
    await row.waitFor();
    expect(await row.textContent()).toContain('blue');
    expect(await row.textContent()).toContain(`app:${appName}:w:w-1`);
    expect(await page.locator('tr[data-worker-id]').count()).toBe(2);
    await checkScreen(page, 'workers');
    await page.close();
  });

  it('never shows or acts on another app\'s jobs and instances, whatever the URL', async () => {
    const page = await newPage();
    await signIn(page);
    await page.goto(`/console/instances/${otherInstanceId}`);
    await page.getByText(`instance ${otherInstanceId} not found in app ${appName}`).waitFor();
    expect(await page.getByRole('button', { name: /Stop|Cancel|Retry/ }).count()).toBe(0);
    await page.goto(`/console/jobs/${otherJobId}`);
    await page.getByText(`job ${otherJobId} not found in app ${appName}`).waitFor();
    await page.goto(`/console/instances?jobId=${otherJobId}`);
    await page.getByText('No instances.').waitFor();
    await page.goto('/console/jobs');
    await page.locator('tr[data-job-id]').first().waitFor();
    expect(await page.getByText('their secret job').count()).toBe(0);
    // Theirs is as it was: still waiting for its fire, the job enabled.
    expect((await other.fetchInstanceInfo(otherInstanceId)).status).toBe(InstanceStatus.codes.WAITING_DISPATCH);
    expect((await other.fetchJob(otherJobId)).status).toBe(JobStatus.codes.ENABLE);
    await page.close();
  });

  it('sums up the app on the overview: jobs, the day\'s runs by status, failures, workers, next fires', async () => {
    await api.saveJob(job('echo', { jobName: 'nightly report', timeExpressionType: 'CRON', timeExpression: '0 0 2 * * ?', timeZone: 'Asia/Tokyo' }));
    const failed = await api.runJob(await api.saveJob(job('boom', { jobName: 'import orders' })));
    await stack.finished(failed);
    const counts = await api.countInstances({ startedAfter: Date.now() - 24 * 3600_000 });
    const page = await newPage();
    await signIn(page);
    const succeeded = counts.byStatus.find((c) => c.name === 'SUCCEED')!.count;
    await expect.poll(async () => Number(await page.locator('[data-count="SUCCEED"]').textContent())).toBeGreaterThanOrEqual(succeeded);
    await page.getByRole('link', { name: 'nightly report' }).waitFor();
    await page.locator('#ov-failures ~ ul li', { hasText: 'disk full on /var/data' }).waitFor({ timeout: 15_000 });
    await checkScreen(page, 'overview-busy');
    await page.close();
  });

  it('adds and deletes an alert target, checked as the user types', async () => {
    const page = await newPage();
    await signIn(page);
    await page.getByRole('link', { name: 'Alerts' }).click();
    await page.getByText('No alert targets.').waitFor();
    await page.getByLabel('Name').fill('on-call');
    await page.getByLabel('Email').fill('oncall@example.com');
    await page.getByLabel('Webhook URL', { exact: true }).fill('https://hooks.example.com/tempojob');
    await page.getByLabel('Webhook signing secret (16+ characters)').fill('short');
    await page.getByText('webhook.secret must be at least 16 characters').waitFor();
    await page.getByLabel('Webhook signing secret (16+ characters)').fill('a-long-enough-signing-secret');
    await page.getByRole('button', { name: 'Add target' }).dblclick();
    const row = page.locator('tr[data-target-id]');
    await row.waitFor();
    await checkScreen(page, 'alerts');
    const targets = await api.listAlertTargets();
    expect(targets).toHaveLength(1);
    expect(targets[0]).toMatchObject({ name: 'on-call', email: 'oncall@example.com', webhook: { url: 'https://hooks.example.com/tempojob', secretSet: true } });
    await row.getByRole('button', { name: 'Delete…' }).click();
    await page.getByRole('dialog').getByRole('button', { name: 'Delete target' }).click();
    await page.getByText('No alert targets.').waitFor();
    expect(await api.listAlertTargets()).toEqual([]);
    await page.close();
  });

  it('is usable at phone width', async () => {
    await api.saveJob(job('echo', { jobName: 'phone job' }));
    const page = await newPage({ width: 390, height: 844 });
    await signIn(page);
    await page.getByRole('link', { name: 'Jobs' }).click();
    await page.locator('tr[data-job-id]').first().waitFor();
    expect(await page.evaluate<number>('document.documentElement.scrollWidth')).toBeLessThanOrEqual(390);
    await checkScreen(page, 'jobs-phone');
    await page.close();
  });

  it('sends a tab whose token the server refuses back to sign-in, saying why, and signs out', async () => {
    const page = await newPage();
    await signIn(page);
    // The stored token, spoiled: the server refuses it as it would an expired one.
    await page.evaluate(`(() => {
      const key = 'tempojob.console.session';
      const session = JSON.parse(sessionStorage.getItem(key));
      sessionStorage.setItem(key, JSON.stringify({ ...session, token: session.token + 'x' }));
    })()`);
    await page.reload();
    await page.getByText('Your session has expired or is no longer valid. Sign in again.').waitFor();
    await signIn(page);
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByText('Signed out.').waitFor();
    expect(await page.evaluate<string | null>('sessionStorage.getItem("tempojob.console.session")')).toBeNull();
    await page.goto('/console/jobs');
    await page.getByRole('button', { name: 'Sign in' }).waitFor();
    await page.close();
  });
});
