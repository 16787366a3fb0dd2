import { Client, Connection } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApi } from '../src/api/app.js';
import { AUTH_HEADERS } from '../src/api/auth.js';
import { closeServer } from '../src/api/server.js';
import { loadConfig } from '../src/config.js';
import { openLogStore } from '../src/logs/store.js';
import { startTestStack, uniqueName, type TestStack } from './support/stack.js';

/**
 * The API's security edge (issue #18): authApp throttled per (app, address) and per address,
 * never locking an app out for a third party; security headers on the HTML pages; CORS only
 * for the origins configured. Client addresses come from X-Forwarded-For (TEMPOJOB_TRUST_PROXY),
 * as behind a load balancer, so one test plays many clients.
 */

const OPS = 'https://ops.example.com';
let stack: TestStack;

beforeAll(async () => {
  stack = await startTestStack({ TEMPOJOB_TRUST_PROXY: 'true', TEMPOJOB_CORS_ORIGINS: `${OPS}, http://localhost:5173` });
});
afterAll(async () => {
  await stack?.close();
});

interface Login { status: number; success: boolean; message: string | null; retryAfter: string | null }

async function login(appName: string, password: string, from: string): Promise<Login> {
  const res = await fetch(`${stack.url}/openApi/authApp`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', 'X-Forwarded-For': from },
    body: JSON.stringify({ appName, encryptedPassword: password, encryptType: 'none' }),
  });
  const body = await res.json() as { success: boolean; message: string | null };
  return { status: res.status, success: body.success, message: body.message, retryAfter: res.headers.get('retry-after') };
}

describe('authApp throttling', () => {
  it('blocks an address that keeps guessing one app\'s password, and only that address for that app', async () => {
    const { appName, password } = await stack.newApp('guessed');
    const other = await stack.newApp('neighbour');
    for (let i = 0; i < 10; i++) expect(await login(appName, `wrong-${i}`, '10.0.0.1')).toMatchObject({ status: 200, success: false, message: expect.stringMatching(/incorrect password/) });
    // The eleventh try is refused before the password is looked at, right password or not.
    const blocked = await login(appName, password, '10.0.0.1');
    expect(blocked).toMatchObject({ status: 429, success: false, message: expect.stringMatching(/too many failed logins from this address: try again in \d+ s/) });
    expect(Number(blocked.retryAfter)).toBeGreaterThan(800);
    expect(Number(blocked.retryAfter)).toBeLessThanOrEqual(900);
    // The app's owner elsewhere, and the same address for another app, are not affected.
    expect(await login(appName, password, '10.0.0.2')).toMatchObject({ status: 200, success: true });
    expect(await login(other.appName, other.password, '10.0.0.1')).toMatchObject({ status: 200, success: true });
  });

  it('lets no third party lock an app out: a distributed attack blocks its addresses sooner, the owner logs in throughout', { timeout: 120_000 }, async () => {
    const { appName, password } = await stack.newApp('attacked');
    expect(await login(appName, password, '192.0.2.1')).toMatchObject({ success: true });
    const answers: (Login & { from: string })[] = [];
    // 30 addresses, 8 guesses each: 240 failures, past the app's 100.
    for (let round = 0; round < 8; round++) {
      await Promise.all(Array.from({ length: 30 }, async (_, n) => {
        const from = `198.51.100.${n + 1}`;
        answers.push({ from, ...await login(appName, `guess-${round}-${n}`, from) });
      }));
      expect(await login(appName, password, '192.0.2.1')).toMatchObject({ status: 200, success: true });
    }
    // An address new to the app logs in too: the app itself is never blocked.
    expect(await login(appName, password, '192.0.2.77')).toMatchObject({ status: 200, success: true });
    // Once the app was under attack (its 100th failure, in round 4) each failure weighed 5: every
    // attacker got at most 6 guesses (4 before, 2 after), not the 10 an address gets otherwise.
    for (let n = 1; n <= 30; n++) {
      const mine = answers.filter((a) => a.from === `198.51.100.${n}`);
      expect(mine.filter((a) => a.status === 200).length).toBeLessThanOrEqual(6);
      expect(mine.slice(6).every((a) => a.status === 429 && Number(a.retryAfter) > 0)).toBe(true);
    }
    expect(answers.every((a) => !a.success)).toBe(true);
  });

  it('blocks an address that tries many apps, except for the apps it logged into before', { timeout: 60_000 }, async () => {
    const known = await stack.newApp('known');
    const fresh = await stack.newApp('fresh');
    expect(await login(known.appName, known.password, '203.0.113.9')).toMatchObject({ success: true });
    for (let i = 0; i < 100; i++) expect((await login(uniqueName('nobody'), 'x', '203.0.113.9')).message).toMatch(/does not exist/);
    expect(await login(fresh.appName, fresh.password, '203.0.113.9')).toMatchObject({ status: 429, success: false });
    expect(await login(known.appName, known.password, '203.0.113.9')).toMatchObject({ status: 200, success: true });
  });
});

describe('headers', () => {
  it('sends security headers on the HTML pages, whose scripts are files of this origin', async () => {
    const page = await fetch(`${stack.url}/docs`);
    expect(page.headers.get('content-security-policy')).toMatch(/script-src 'self'/);
    expect(page.headers.get('content-security-policy')).not.toMatch(/upgrade-insecure-requests/);
    expect(page.headers.get('x-content-type-options')).toBe('nosniff');
    expect(page.headers.get('x-frame-options')).toBe('SAMEORIGIN');
    expect(page.headers.get('referrer-policy')).toBe('no-referrer');
    const html = await page.text();
    expect(html).not.toMatch(/<script>/);
    const start = await fetch(`${stack.url}/docs/start.js`);
    expect(start.headers.get('content-type')).toMatch(/javascript/);
    expect(await start.text()).toMatch(/SwaggerUIBundle\(\{ url: '\/openapi.json'/);
  });

  it('answers CORS only for the configured origins, with the OpenAPI\'s headers', async () => {
    const preflight = (origin: string) => fetch(`${stack.url}/openApi/fetchJob`, {
      method: 'OPTIONS',
      headers: { Origin: origin, 'Access-Control-Request-Method': 'POST', 'Access-Control-Request-Headers': `content-type,${AUTH_HEADERS.token}` },
    });
    const allowed = await preflight(OPS);
    expect(allowed.status).toBe(204);
    expect(allowed.headers.get('access-control-allow-origin')).toBe(OPS);
    expect(allowed.headers.get('access-control-allow-headers')).toContain(AUTH_HEADERS.token);
    const refused = await preflight('https://evil.example.net');
    expect(refused.headers.get('access-control-allow-origin')).toBeNull();
    const call = await fetch(`${stack.url}/openApi/fetchJob`, { method: 'POST', headers: { Origin: OPS, 'Content-Type': 'application/json' }, body: '{}' });
    expect(call.headers.get('access-control-allow-origin')).toBe(OPS);
    expect(call.headers.get('access-control-expose-headers')).toContain(AUTH_HEADERS.verdict);
  });

  it('refuses a CORS origin or proxy setting that is not one, naming the variable', () => {
    expect(() => loadConfig({ TEMPOJOB_CORS_ORIGINS: 'https://ops.example.com/console' })).toThrow(/TEMPOJOB_CORS_ORIGINS: "https:\/\/ops.example.com\/console" is not an origin/);
    expect(loadConfig({ TEMPOJOB_CORS_ORIGINS: ' https://a.example.com ,http://b:8080' }).TEMPOJOB_CORS_ORIGINS).toEqual(['https://a.example.com', 'http://b:8080']);
    expect(loadConfig({ TEMPOJOB_TRUST_PROXY: '2' }).TEMPOJOB_TRUST_PROXY).toBe(2);
    expect(loadConfig({}).TEMPOJOB_CORS_ORIGINS).toEqual([]);
  });
});

describe('Temporal out of reach', () => {
  it('answers as unavailable, saying to retry with the same Idempotency-Key, never as an internal error', async () => {
    const connection = Connection.lazy({ address: '127.0.0.1:1', connectTimeout: 1_000 });
    const logStore = await openLogStore({});
    const { app } = createApi({ client: new Client({ connection }), config: loadConfig({}), jwtSecret: 'x'.repeat(32), logStore, metrics: false });
    const server = app.listen(0, '127.0.0.1');
    await new Promise((resolve) => server.once('listening', resolve));
    try {
      const { port } = server.address() as { port: number };
      const res = await fetch(`http://127.0.0.1:${port}/openApi/authApp`, {
        method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ appName: 'anyone', encryptedPassword: 'x' }),
      });
      const body = await res.json() as { success: boolean; message: string };
      expect(res.status).toBe(200);
      expect(body.success).toBe(false);
      expect(body.message).toMatch(/^Temporal did not answer in time or could not be reached .*retry it with the same Idempotency-Key$/);
    } finally {
      await closeServer(server);
      await logStore.close();
      await connection.close();
    }
  });
});

