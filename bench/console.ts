/**
 * `npm run bench:console`: the console's first load and its instance list with 10,000
 * instances in the app, in the same headless Chromium the tests drive (cold cache: a fresh
 * browser context per run), on a private stack. Target: interactive in under 1 s on
 * localhost. Also reports the bundle's size and the API's own time for a page: listInstances
 * (what the console reads) at pages 1 and 20, and PowerJob's queryInstance, which reads every run.
 *
 *   npm run bench:console -- [--instances 10000] [--runs 5] [--temporal-address host:port]
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { gzipSync } from 'node:zlib';
import { chromium, type Browser } from 'playwright-core';
import { CONSOLE_DIST, ensureConsoleBuilt } from '../src/console/build.js';
import { ensureChromium } from '../scripts/chromium.js';
import { report, runBenchmark } from './report.js';
import { benchTemporalAddress, postOpenApi, startBenchStack } from './stack.js';
import { percentile } from './stats.js';

const TARGET_MS = 1_000;
const { values: args } = parseArgs({
  options: { instances: { type: 'string', default: '10000' }, runs: { type: 'string', default: '5' }, 'temporal-address': { type: 'string' } },
});
const INSTANCES = Number(args.instances);
const RUNS = Number(args.runs);

/** Records (in the page) when the first element matching the selector appeared, in ms since navigation start. */
const markFirst = (selector: string) => `
  new MutationObserver((_, observer) => {
    if (document.querySelector(${JSON.stringify(selector)})) { window.__readyAt = performance.now(); observer.disconnect(); }
  }).observe(document, { childList: true, subtree: true });`;

async function timeToReady(browser: Browser, url: string, selector: string, session?: object): Promise<number> {
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  if (session) await context.addInitScript(`sessionStorage.setItem('tempojob.console.session', ${JSON.stringify(JSON.stringify(session))});`);
  await context.addInitScript(markFirst(selector));
  const page = await context.newPage();
  await page.goto(url);
  await page.waitForSelector(selector);
  const readyAt = await page.evaluate<number>('window.__readyAt');
  await context.close();
  return readyAt;
}

function bundle(): { files: number; raw: number; gzip: number } {
  const dir = join(CONSOLE_DIST, 'assets');
  let raw = 0;
  let gzip = 0;
  const names = readdirSync(dir);
  for (const name of names) {
    raw += statSync(join(dir, name)).size;
    gzip += gzipSync(readFileSync(join(dir, name))).length;
  }
  return { files: names.length, raw, gzip };
}

const summary = (ms: number[]) => `p50 ${percentile(ms, 50).toFixed(0)} ms, max ${Math.max(...ms).toFixed(0)} ms`;

runBenchmark('bench:console', async () => {
  const log = (line: string) => console.log(line);
  await ensureConsoleBuilt({ log });
  const size = bundle();
  log(`Bundle: ${size.files} files, ${(size.raw / 1024).toFixed(0)} KiB raw, ${(size.gzip / 1024).toFixed(0)} KiB gzipped`);
  const stack = await startBenchStack(log, benchTemporalAddress(args['temporal-address']));
  const browser = await chromium.launch({ executablePath: ensureChromium(log), args: ['--no-sandbox'] });
  try {
    log(`Creating ${INSTANCES} instances (runs delayed by a day, so they wait)…`);
    let next = 0;
    await Promise.all(Array.from({ length: 32 }, async () => {
      while (next < INSTANCES) {
        next++;
        await postOpenApi(stack.url, 'runJob', { jobId: stack.jobId, delay: 86_400_000 }, stack.authHeaders);
      }
    }));
    for (;;) {
      const { totalItems } = await postOpenApi<{ totalItems: number }>(stack.url, 'queryInstance', { pageSize: 1 }, stack.authHeaders);
      if (totalItems >= INSTANCES) break;
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
    // The console's list reads listInstances; queryInstance (PowerJob's, every run read and sorted) for comparison.
    const timed = async (operation: string, body: object) => {
      const ms: number[] = [];
      for (let i = 0; i < RUNS; i++) {
        const started = performance.now();
        await postOpenApi(stack.url, operation, body, stack.authHeaders);
        ms.push(performance.now() - started);
      }
      return ms;
    };
    const listMs = await timed('listInstances', { index: 0, pageSize: 50 });
    const deepMs = await timed('listInstances', { index: 19, pageSize: 50 });
    const queryMs = await timed('queryInstance', { index: 0, pageSize: 50, sortBy: 'gmtCreate', asc: false });
    const session = { appName: stack.appName, appId: stack.appId, token: stack.authHeaders['X-POWERJOB-ACCESS-TOKEN'] };
    const signIn: number[] = [];
    const list: number[] = [];
    for (let i = 0; i < RUNS; i++) {
      signIn.push(await timeToReady(browser, `${stack.url}/console`, 'button[type="submit"]'));
      list.push(await timeToReady(browser, `${stack.url}/console/instances`, 'tr[data-instance-id]', session));
    }
    log(`Cold first load (sign-in page interactive): ${summary(signIn)}`);
    log(`Instance list, ${INSTANCES} instances, first page of 50 rendered (cold cache): ${summary(list)}`);
    log(`  API: listInstances page 1 ${summary(listMs)}; page 20 ${summary(deepMs)}; PowerJob's queryInstance page 1 ${summary(queryMs)}`);
    const command = `npm run bench:console -- --instances ${INSTANCES} --runs ${RUNS}`;
    report({ benchmark: 'console', measure: 'cold first load, p50', tempojob: `${percentile(signIn, 50).toFixed(0)} ms`, bare: '—', command });
    report({ benchmark: 'console', measure: `instance list over ${INSTANCES}, p50`, tempojob: `${percentile(list, 50).toFixed(0)} ms`, bare: '—', command });
    report({ benchmark: 'console', measure: 'bundle (gzip)', tempojob: `${(size.gzip / 1024).toFixed(0)} KiB`, bare: '—', command });
    report({ benchmark: 'console', measure: `listInstances vs queryInstance over ${INSTANCES}, p50`, tempojob: `${percentile(listMs, 50).toFixed(0)} ms`, bare: `${percentile(queryMs, 50).toFixed(0)} ms (queryInstance)`, command });
    const missed = percentile(signIn, 50) > TARGET_MS || percentile(list, 50) > TARGET_MS;
    log(missed ? `MISSED the ${TARGET_MS} ms target` : `Within the ${TARGET_MS} ms target`);
    return missed ? 1 : 0;
  } finally {
    await browser.close();
    await stack.close();
  }
});
