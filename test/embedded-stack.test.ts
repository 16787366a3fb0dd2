import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { OpenApiCaller } from './support/api-client.js';
import { freePort } from './support/ports.js';
import { spawnTs, type ChildHandle } from './support/processes.js';
import { scratchDir } from './support/scratch.js';

/** `npm start` as a user runs it: one command, a healthy stack, state kept across restarts, clean Ctrl-C. */

const dataDir = scratchDir('stack');
let stack: ChildHandle | undefined;
afterAll(async () => {
  await stack?.kill();
  rmSync(dataDir, { recursive: true, force: true });
});

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe('npm start', () => {
  it('serves, keeps state across a restart and stops cleanly on SIGINT', { timeout: 180_000 }, async () => {
    const [temporalPort, uiPort, apiPort] = [await freePort(), await freePort(), await freePort()];
    const env = {
      TEMPOJOB_DATA_DIR: dataDir,
      TEMPORAL_PORT: String(temporalPort),
      TEMPORAL_UI_PORT: String(uiPort),
      TEMPOJOB_PORT: String(apiPort),
      TEMPOJOB_APPS: 'stack-app:stack-app-password',
      TEMPORAL_CLI_PATH: inject('temporalCliPath'),
    };
    const url = `http://127.0.0.1:${apiPort}`;

    stack = spawnTs('src/stack/main.ts', env, /Press Ctrl-C to stop/);
    await stack.ready;
    expect((await fetch(`${url}/healthz`)).status).toBe(200);
    expect((await fetch(`http://127.0.0.1:${uiPort}/`)).status).toBe(200);
    // The console, built from source by npm start itself, printed with the other addresses, deep links included.
    expect(stack.output()).toContain(`Console    ${url}/console`);
    const page = await fetch(`${url}/console/instances/42`);
    expect(page.status).toBe(200);
    const html = await page.text();
    expect(html).toContain(`<meta name="tempojob-web-ui" content="http://127.0.0.1:${uiPort}">`);
    const script = /src="(\/console\/assets\/[^"]+\.js)"/.exec(html)?.[1];
    expect(script).toBeDefined();
    expect((await fetch(`${url}${script}`)).status).toBe(200);
    const api = await OpenApiCaller.login(url, 'stack-app', 'stack-app-password');
    const jobId = await api.data<number>('saveJob', {
      jobName: 'survives', timeExpressionType: 'API', executeType: 'STANDALONE', processorType: 'BUILT_IN', processorInfo: 'demo.echo',
    });
    const temporalPid = await pidOnPort(temporalPort);
    // One process, one registry: the API's /metrics (admin token) has the demo worker's metrics too.
    const { adminToken } = JSON.parse(readFileSync(join(dataDir, 'secrets.json'), 'utf8')) as { adminToken: string };
    expect((await fetch(`${url}/metrics`)).status).toBe(401);
    const metrics = await fetch(`${url}/metrics`, { headers: { Authorization: `Bearer ${adminToken}` } });
    expect(metrics.status).toBe(200);
    expect(await metrics.text()).toContain('tempojob_worker_up{app="demo",worker="demo-worker"} 1');

    // A second stack on the same data folder is refused before it touches anything.
    const [otherTemporal, otherUi, otherApi] = [await freePort(), await freePort(), await freePort()];
    const second = spawnTs('src/stack/main.ts', { ...env, TEMPORAL_PORT: String(otherTemporal), TEMPORAL_UI_PORT: String(otherUi), TEMPOJOB_PORT: String(otherApi) }, /Press Ctrl-C to stop/);
    await expect(second.ready).rejects.toThrow(/the data folder .* is in use by another tempojob stack \(pid \d+\)/);
    expect(await second.stop()).toBe(1);
    expect((await fetch(`${url}/healthz`)).status).toBe(200);
    expect(await api.data('fetchJob', { jobId })).toMatchObject({ id: jobId });

    expect(await stack.stop('SIGINT')).toBe(0);
    expect(processAlive(temporalPid)).toBe(false);
    expect(existsSync(join(dataDir, 'stack.pid'))).toBe(false);
    // A claim left by a stack that died (its pid is gone) is taken over.
    writeFileSync(join(dataDir, 'stack.pid'), String(temporalPid));

    stack = spawnTs('src/stack/main.ts', env, /Press Ctrl-C to stop/);
    await stack.ready;
    const again = await OpenApiCaller.login(url, 'stack-app', 'stack-app-password');
    expect(await again.data('fetchJob', { jobId })).toMatchObject({ id: jobId, jobName: 'survives' });
    expect(await stack.stop('SIGINT')).toBe(0);
  });
});

/** The pid listening on a TCP port, from /proc (Linux). */
async function pidOnPort(port: number): Promise<number> {
  const { readFileSync, readdirSync, readlinkSync } = await import('node:fs');
  const hexPort = port.toString(16).toUpperCase().padStart(4, '0');
  const inodes = new Set<string>();
  for (const table of ['/proc/net/tcp', '/proc/net/tcp6']) {
    for (const line of readFileSync(table, 'utf8').split('\n').slice(1)) {
      const cols = line.trim().split(/\s+/);
      if (cols[1]?.endsWith(`:${hexPort}`) && cols[3] === '0A') inodes.add(cols[9]!);
    }
  }
  for (const pid of readdirSync('/proc').filter((p) => /^\d+$/.test(p))) {
    try {
      for (const fd of readdirSync(`/proc/${pid}/fd`)) {
        const link = readlinkSync(`/proc/${pid}/fd/${fd}`);
        const inode = /^socket:\[(\d+)\]$/.exec(link)?.[1];
        if (inode && inodes.has(inode)) return Number(pid);
      }
    } catch {
      // processes come and go while we look
    }
  }
  throw new Error(`nothing listens on port ${port}`);
}
