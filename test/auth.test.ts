import { createHash } from 'node:crypto';
import { SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { APP_DIRECTORY_WORKFLOW_ID } from '../src/contract/names.js';
import { OpenApiCaller, post } from './support/api-client.js';
import { ADMIN_TOKEN, startTestStack, uniqueName, type TestStack } from './support/stack.js';

let stack: TestStack;
const md5 = (text: string) => createHash('md5').update(text).digest('hex');
const VERDICT = 'X-POWERJOB-AUTH-PASSED';

async function admin(body: unknown, token: string | null = ADMIN_TOKEN) {
  const res = await fetch(`${stack.url}/admin/apps`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', ...(token ? { Authorization: `Bearer ${token}` } : {}) },
    body: JSON.stringify(body),
  });
  return { status: res.status, body: (await res.json()) as { success: boolean; data: { appId: number } | null; message: string | null } };
}

beforeAll(async () => {
  stack = await startTestStack();
});
afterAll(() => stack?.close());

describe('apps and the PowerJob 5.x handshake', () => {
  it('creates an app through the admin API and authenticates with md5 and with none', async () => {
    const appName = uniqueName('auth');
    const created = await admin({ appName, password: 'correct horse battery' });
    expect(created.status).toBe(201);
    const appId = created.body.data!.appId;
    for (const [encryptType, encryptedPassword] of [['md5', md5('correct horse battery')], ['md5', md5('correct horse battery').toUpperCase()], ['none', 'correct horse battery']]) {
      const res = await post<{ appId: number; token: string }>(stack.url, 'authApp', { appName, encryptedPassword, encryptType });
      expect(res.body, encryptType).toMatchObject({ success: true, data: { appId } });
      expect(res.headers.get(VERDICT)).toBe('true');
    }
  });

  it('stores only a slow hash of the password', async () => {
    const appName = uniqueName('hash');
    await admin({ appName, password: 'plain-text-secret' });
    const description = await stack.client.workflow.getHandle(APP_DIRECTORY_WORKFLOW_ID).describe();
    const apps = description.memo?.apps as { appName: string; passwordHash: string }[];
    const record = apps.find((app) => app.appName === appName)!;
    expect(record.passwordHash).toMatch(/^\$argon2id\$/);
    expect(JSON.stringify(apps)).not.toContain('plain-text-secret');
    expect(JSON.stringify(apps)).not.toContain(md5('plain-text-secret'));
  });

  it('refuses wrong passwords, unknown apps and bad encrypt types with PowerJob codes', async () => {
    const appName = uniqueName('auth-bad');
    await admin({ appName, password: 'the-password' });
    const cases: [Record<string, unknown>, string, RegExp][] = [
      [{ appName, encryptedPassword: md5('nope'), encryptType: 'md5' }, '-400', /incorrect password/],
      [{ appName: 'no-such-app', encryptedPassword: 'x', encryptType: 'none' }, '-402', /does not exist/],
      [{ appName, encryptedPassword: 'the-password', encryptType: 'aes' }, '-300', /encryptType must be "none" or "md5"/],
      [{ appName }, '-300', /encryptedPassword is required/],
    ];
    for (const [body, code, message] of cases) {
      const res = await post(stack.url, 'authApp', body);
      expect(res.status).toBe(200);
      expect(res.headers.get(VERDICT)).toBe('false');
      expect(res.body).toMatchObject({ success: false, code });
      expect(res.body.message).toMatch(message);
    }
  });

  it('refuses calls without headers, with forged, expired or mismatched tokens', async () => {
    const { api, appName } = await stack.newApp('tok');
    const key = new TextEncoder().encode(stack.jwtSecret);
    const expired = await new SignJWT({ appId: api.appId, pv: 1 }).setProtectedHeader({ alg: 'HS256' }).setSubject(appName)
      .setExpirationTime(Math.floor(Date.now() / 1000) - 60).sign(key);
    const forged = await new SignJWT({ appId: api.appId, pv: 1 }).setProtectedHeader({ alg: 'HS256' }).setSubject(appName)
      .setExpirationTime('1h').sign(new TextEncoder().encode('not-the-server-secret-0123456789abcdef'));
    const cases: [Record<string, string>, string, RegExp][] = [
      [{}, '-300', /lack_of_appId_in_header/],
      [{ 'X-POWERJOB-APP-ID': String(api.appId) }, '-1002', /token_is_empty/],
      [{ 'X-POWERJOB-APP-ID': String(api.appId), 'X-POWERJOB-ACCESS-TOKEN': forged }, '-401', /invalid token/],
      [{ 'X-POWERJOB-APP-ID': String(api.appId), 'X-POWERJOB-ACCESS-TOKEN': 'garbage' }, '-401', /invalid token/],
      [{ 'X-POWERJOB-APP-ID': String(api.appId), 'X-POWERJOB-ACCESS-TOKEN': expired }, '-403', /token expired/],
      [{ 'X-POWERJOB-APP-ID': String(api.appId + 1), 'X-POWERJOB-ACCESS-TOKEN': expired }, '-403', /token expired/],
    ];
    for (const [headers, code, message] of cases) {
      const res = await post(stack.url, 'fetchAllJob', {}, { headers });
      expect(res.status).toBe(200);
      expect(res.headers.get(VERDICT)).toBe('false');
      expect(res.body).toMatchObject({ success: false, code });
      expect(res.body.message).toMatch(message);
    }
    const mismatched = await post(stack.url, 'fetchAllJob', {}, {
      headers: { 'X-POWERJOB-APP-ID': String(api.appId + 1), 'X-POWERJOB-ACCESS-TOKEN': api.token },
    });
    expect(mismatched.body).toMatchObject({ success: false, code: '-300', message: expect.stringContaining('does not match') });
  });

  it('changing an app\'s password invalidates its tokens', async () => {
    const { api, appName } = await stack.newApp('rotate');
    expect((await api.call('fetchAllJob')).body.success).toBe(true);
    await stack.apps.put(appName, 'a-brand-new-password', 'upsert');
    const res = await api.call('fetchAllJob');
    expect(res.body).toMatchObject({ success: false, code: '-401', message: expect.stringContaining('password changed') });
    const fresh = await OpenApiCaller.login(stack.url, appName, 'a-brand-new-password');
    expect((await fresh.call('fetchAllJob')).body.success).toBe(true);
  });

  it('sends the verdict header, spelled exactly, on every /openApi answer', async () => {
    const { api } = await stack.newApp('verdict');
    const answers = [
      await api.call('fetchAllJob'),
      await api.call('fetchJob', { jobId: 1 }),
      await api.call('noSuchEndpoint'),
      await api.call('saveJob', {}, { raw: 'not json' }),
    ];
    for (const res of answers) expect(res.headers.get(VERDICT)).toBe('true');
    const raw = await rawHeaderNames(`${stack.url}/openApi/fetchAllJob`);
    expect(raw).toContain(VERDICT);
  });

  it('guards the admin API and refuses bad apps', async () => {
    expect((await admin({ appName: uniqueName('x'), password: 'long-enough' }, null)).status).toBe(401);
    expect((await admin({ appName: uniqueName('x'), password: 'long-enough' }, 'wrong-token-0123456789')).status).toBe(401);
    const bad = await admin({ appName: 'has spaces', password: 'short' });
    expect(bad.status).toBe(400);
    expect(bad.body.message).toMatch(/appName must be .*; password must be at least 8 characters/);
    const appName = uniqueName('dup');
    expect((await admin({ appName, password: 'first-password' })).status).toBe(201);
    const dup = await admin({ appName, password: 'second-password' });
    expect(dup.status).toBe(409);
    expect(dup.body.message).toMatch(/already exists/);
    expect((await post(stack.url, 'authApp', { appName, encryptedPassword: 'first-password' })).body.success).toBe(true);
  });
});

/** Header names exactly as they went over the wire (fetch lower-cases them). */
async function rawHeaderNames(url: string): Promise<string[]> {
  const { request } = await import('node:http');
  return new Promise((resolveNames, reject) => {
    const req = request(url, { method: 'POST' }, (res) => {
      res.resume();
      resolveNames(res.rawHeaders.filter((_, i) => i % 2 === 0));
    });
    req.on('error', reject);
    req.end();
  });
}
