import { request } from 'node:http';
import { brotliCompressSync, deflateSync, gzipSync } from 'node:zlib';
import fc from 'fast-check';
import { z } from 'zod';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AUTH_HEADERS } from '../src/api/auth.js';
import { authAppOperation, operations } from '../src/api/operations.js';
import type { OpenApiCaller } from './support/api-client.js';
import { ADMIN_TOKEN, startTestStack, type TestStack } from './support/stack.js';

/**
 * The API's edge under arbitrary requests (issue #18): every request a client can send — any
 * method, path (malformed percent-encodings included), headers, charset, Content-Encoding and
 * body, authenticated or not — is answered with the envelope naming the problem (HTTP 200 on
 * /openApi, PowerJob's way; the route's 4xx elsewhere), never the internal-error path, and a
 * refused request changes nothing. Property-based (fast-check): a failure prints the request
 * that found it and its seed.
 */

let stack: TestStack;
let a: OpenApiCaller;
let b: OpenApiCaller;
let jobOfB: number;
let instanceOfB: number;
const OPERATIONS = ['authApp', ...Object.keys(operations)];

interface Snapshot { jobs: unknown; workflows: unknown; targets: unknown; instances: unknown }

async function snapshot(caller: OpenApiCaller): Promise<Snapshot> {
  return {
    jobs: await caller.data('fetchAllJob'),
    workflows: await caller.data('queryWorkflow', { pageSize: 1000 }),
    targets: await caller.data('listAlertTargets'),
    instances: await caller.data('queryInstance', { pageSize: 1000 }),
  };
}

beforeAll(async () => {
  stack = await startTestStack();
  a = (await stack.newApp('edge-a')).api;
  b = (await stack.newApp('edge-b')).api;
  jobOfB = await b.data<number>('saveJob', { jobName: 'b-only', timeExpressionType: 'API', executeType: 'STANDALONE', processorType: 'BUILT_IN', processorInfo: 'nobody' });
  // Canceled before it fires: a final state, so the snapshots compare what requests changed, not time.
  instanceOfB = await b.data<number>('runJob', { jobId: jobOfB, delay: 3_600_000 }, { form: true });
  await b.data('cancelInstance', { instanceId: instanceOfB }, { form: true });
  await stack.finished(instanceOfB);
});
afterAll(async () => {
  await stack?.close();
});

interface RawResponse { status: number; headers: Record<string, string | string[] | undefined>; text: string }

function send(method: string, path: string, headers: Record<string, string>, body: Buffer | null): Promise<RawResponse> {
  const url = new URL(stack.url);
  return new Promise((resolve, reject) => {
    const req = request({ host: url.hostname, port: url.port, method, path, headers: { ...headers, ...(body ? { 'Content-Length': String(body.length) } : {}) } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, text: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body ?? undefined);
  });
}

/** The keys an operation's schema knows, so bodies look like real requests often enough to pass the first checks. */
function keysOf(operation: string): string[] {
  const spec = operation === 'authApp' ? authAppOperation : operations[operation as keyof typeof operations];
  return spec && spec.input instanceof z.ZodObject ? Object.keys(spec.input.shape) : [];
}

// A path: a known route, or one with junk, malformed escapes, dots and query strings in it.
const segment = fc.oneof(
  fc.constantFrom(...OPERATIONS, 'instanceLog', 'tail', 'download', 'apps', '', '..', '.', '%ZZ', '%', '%2', '%00', '%2F', '%E0%A4%A', '%C0%AF', '%FF'),
  fc.stringMatching(/^[A-Za-z0-9._~!$&'()*+,;=:@%-]{0,12}$/),
);
const path = fc.oneof(
  fc.constantFrom(...OPERATIONS).map((op) => `/openApi/${op}`),
  fc.tuple(fc.constantFrom('/openApi', '/admin', '/openApi/instanceLog', '', '/docs', '/docs/assets', '/metrics', '/healthz', '/openapi.json'), fc.array(segment, { maxLength: 3 }))
    .map(([root, rest]) => [root, ...rest].join('/') || '/'),
).chain((p) => fc.option(fc.stringMatching(/^[A-Za-z0-9=&%._-]{0,24}$/), { nil: undefined }).map((query) => (query === undefined ? p : `${p}?${query}`)));

const jsonValue = fc.jsonValue({ maxDepth: 3 });
const plausibleObject = (operation: string) => {
  const keys = keysOf(operation);
  return keys.length === 0
    ? fc.dictionary(fc.string({ maxLength: 8 }), jsonValue, { maxKeys: 4 })
    : fc.dictionary(fc.constantFrom(...keys), fc.oneof(jsonValue, fc.constantFrom(jobOfB, instanceOfB, String(jobOfB), -1, 0, 1.5, '1e3', '0x10', 'NaN', 1e300)), { maxKeys: keys.length });
};

type Encoding = 'none' | 'identity' | 'gzip' | 'deflate' | 'br' | 'gzip-lie' | 'br-lie' | 'unknown';
const contentType = fc.constantFrom(
  'application/json', 'application/json; charset=utf-8', 'application/json; charset=latin1', 'application/json; charset=ebcdic', 'application/json; charset=utf-16',
  'application/x-www-form-urlencoded', 'application/x-www-form-urlencoded; charset=koi8-r', 'text/plain', 'multipart/form-data; boundary=x', 'application/xml', '', '*/*', 'application/json;;;',
);

const requestArb = fc.record({
  method: fc.constantFrom('POST', 'POST', 'POST', 'GET', 'PUT', 'DELETE', 'PATCH', 'OPTIONS', 'HEAD'),
  path,
  auth: fc.constantFrom('a', 'a', 'none', 'garbage', 'b-token-a-id', 'admin', 'admin-wrong'),
  contentType,
  encoding: fc.constantFrom<Encoding>('none', 'none', 'none', 'identity', 'gzip', 'deflate', 'br', 'gzip-lie', 'br-lie', 'unknown'),
  body: fc.oneof(
    fc.constant(null),
    jsonValue.map((v) => JSON.stringify(v)),
    fc.constantFrom(...OPERATIONS).chain(plausibleObject).map((v) => JSON.stringify(v)),
    fc.constantFrom(...OPERATIONS).chain(plausibleObject).map((v) => new URLSearchParams(Object.entries(v).map(([k, x]): [string, string] => [k, String(x)])).toString()),
    fc.uint8Array({ maxLength: 64 }).map((bytes) => Buffer.from(bytes)),
    fc.constantFrom('{', '{"a":', '[1,2', 'null', '""', '{"__proto__":{"x":1}}', '{"constructor":{"prototype":{"x":1}}}', 'a=%ZZ&b', '\u0000', '\uFFFD'.repeat(3)),
    fc.constantFrom(150_000, 1_100_000).map((n) => `{"jobName":"${'x'.repeat(n)}"}`),
  ),
  idempotencyKey: fc.option(fc.stringMatching(/^[\x21-\x7e]{0,300}$/), { nil: undefined }),
});

function encode(body: Buffer | string | null, encoding: Encoding): { body: Buffer | null; header?: string } {
  if (body === null) return { body: null, ...(encoding === 'none' ? {} : { header: encoding.replace('-lie', '') }) };
  const bytes = Buffer.isBuffer(body) ? body : Buffer.from(body);
  switch (encoding) {
    case 'none': return { body: bytes };
    case 'identity': return { body: bytes, header: 'identity' };
    case 'gzip': return { body: gzipSync(bytes), header: 'gzip' };
    case 'deflate': return { body: deflateSync(bytes), header: 'deflate' };
    case 'br': return { body: brotliCompressSync(bytes), header: 'br' };
    case 'gzip-lie': return { body: bytes, header: 'gzip' };
    case 'br-lie': return { body: bytes, header: 'br' };
    case 'unknown': return { body: bytes, header: 'x-lzma' };
  }
}

function headersFor(auth: string): Record<string, string> {
  switch (auth) {
    case 'a': return { [AUTH_HEADERS.appId]: String(a.appId), [AUTH_HEADERS.token]: a.token };
    case 'garbage': return { [AUTH_HEADERS.appId]: 'abc', [AUTH_HEADERS.token]: 'not.a.token' };
    case 'b-token-a-id': return { [AUTH_HEADERS.appId]: String(a.appId), [AUTH_HEADERS.token]: b.token };
    case 'admin': return { Authorization: `Bearer ${ADMIN_TOKEN}` };
    case 'admin-wrong': return { Authorization: 'Bearer wrong-admin-token-0000' };
    default: return {};
  }
}

describe('the API edge under arbitrary requests', () => {
  it('answers every request with the envelope or the route\'s 4xx, names the problem, never the internal-error path, and a refusal changes nothing', { timeout: 300_000 }, async () => {
    const before = await snapshot(a);
    const beforeOfB = await snapshot(b);
    /** Requests that succeeded as app A or the admin: the only ones allowed to change anything. */
    let acceptedChanges = 0;

    await fc.assert(fc.asyncProperty(requestArb, async (r) => {
      const { body, header } = encode(r.body, r.encoding);
      const headers: Record<string, string> = { ...headersFor(r.auth) };
      if (r.contentType) headers['Content-Type'] = r.contentType;
      if (header) headers['Content-Encoding'] = header;
      if (r.idempotencyKey !== undefined) headers['Idempotency-Key'] = r.idempotencyKey;
      const res = await send(r.method, r.path, headers, body);
      const where = `${r.method} ${r.path} → ${res.status} ${res.text.slice(0, 300)}`;

      expect(res.status, where).toBeLessThan(500);
      if (r.method === 'HEAD' || r.path.startsWith('/docs') && res.status === 200 || res.status === 204 || res.status === 304) return;
      // Pages, documents and their redirects (a static folder without its slash) are not API answers.
      if (res.status < 400 && !r.path.startsWith('/openApi') && !r.path.startsWith('/admin')) return;
      // Prometheus' endpoint answers in text: its refusal names the token it wants.
      if (/^\/metrics\/?$/.test(r.path.split('?')[0]!) && res.status === 401) {
        expect(res.text, where).toMatch(/Authorization: Bearer/);
        return;
      }
      // Every other answer is the envelope, as JSON, naming what is wrong when it fails.
      expect(String(res.headers['content-type']), where).toMatch(/^application\/json/);
      const envelope = JSON.parse(res.text) as { success: boolean; message: string | null; code: string | null };
      expect(typeof envelope.success, where).toBe('boolean');
      if (!envelope.success) {
        expect(envelope.message, where).toEqual(expect.any(String));
        expect(envelope.message!.length, where).toBeGreaterThan(10);
        expect(envelope.message, where).not.toMatch(/^internal error/);
        expect(envelope.code, where).not.toBe('-500');
      }
      if (r.path.startsWith('/openApi')) {
        // A throttled login (many failed ones from this address) says when to try again.
        if (res.status === 429) expect(res.headers['retry-after'], where).toMatch(/^\d+$/);
        else expect(res.status, where).toBe(200);
        expect(res.headers[AUTH_HEADERS.verdict.toLowerCase()], where).toMatch(/^(true|false)$/);
      }
      if (envelope.success && r.method === 'POST' && (r.auth === 'a' || r.path.startsWith('/admin'))) acceptedChanges++;
    }), { numRuns: Number(process.env.TEMPOJOB_FUZZ_RUNS ?? 600), interruptAfterTimeLimit: 240_000 });

    // Refusals changed nothing: app B's things are as they were (no request acted as B), and
    // app A's too unless a request was a valid change (a random body that happens to be one).
    expect(await snapshot(b)).toEqual(beforeOfB);
    if (acceptedChanges === 0) expect(await snapshot(a)).toEqual(before);
  });

  it('names each problem the fuzz found', async () => {
    const auth = headersFor('a');
    const cases: [string, string, Record<string, string>, Buffer | null, number, RegExp][] = [
      ['POST', '/openApi/%ZZ', auth, null, 200, /malformed percent-encoding.*encode "%" as %25/],
      ['POST', '/openApi/fetchJob%ZZ', auth, Buffer.from('{}'), 200, /malformed percent-encoding/],
      ['POST', '/openApi/saveJob', { ...auth, 'Content-Type': 'application/json', 'Content-Encoding': 'gzip' }, Buffer.from('{"not":"gzip"}'), 200, /not valid gzip data/],
      ['POST', '/admin/apps', { ...headersFor('admin'), 'Content-Type': 'application/json', 'Content-Encoding': 'gzip' }, Buffer.from('{}'), 400, /not valid gzip data/],
      ['POST', '/openApi/saveJob', { ...auth, 'Content-Type': 'application/json; charset=ebcdic' }, Buffer.from('{}'), 200, /charset "ebcdic" is not supported: send the body in UTF-8/],
      ['POST', '/openApi/saveJob', { ...auth, 'Content-Type': 'application/json', 'Content-Encoding': 'x-lzma' }, Buffer.from('{}'), 200, /Content-Encoding "x-lzma" is not supported/],
      ['POST', '/openApi/queryInstance', { ...auth, 'Content-Type': 'application/json' }, Buffer.from('{"instanceIdEq":"1.5","jobIdEq":1e30}'), 200, /instanceIdEq: must be a whole number; jobIdEq: must be a whole number/],
      ['POST', '/admin/apps', { ...headersFor('admin'), 'Content-Type': 'application/json' }, Buffer.from(`{"appName":"big","password":"${'x'.repeat(150_000)}"}`), 413, /request body is larger than 100 KB/],
      ['POST', '/openApi/saveJob', { ...auth, 'Content-Type': 'application/json' }, Buffer.from(`{"jobName":"${'x'.repeat(1_100_000)}"}`), 200, /request body is larger than 1 MB/],
      ['GET', '/nowhere', {}, null, 404, /no route GET \/nowhere/],
    ];
    for (const [method, path, headers, body, status, message] of cases) {
      const res = await send(method, path, headers, body);
      expect(res.status, path).toBe(status);
      expect((JSON.parse(res.text) as { message: string }).message, path).toMatch(message);
    }
    expect(await stack.apps.byName('big')).toBeUndefined();
  });
});
