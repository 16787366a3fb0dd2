import { createHmac } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import { createServer as createNetServer, type AddressInfo, type Socket } from 'node:net';
import { SMTPServer } from 'smtp-server';
import { afterEach, describe, expect, it } from 'vitest';
import { deliverAlert } from '../src/alerts/deliver.js';
import { renderAlert, toHtml } from '../src/alerts/channels/render.js';
import { PermanentDeliveryError } from '../src/alerts/types.js';
import { verifyWebhookSignature } from '../src/alerts/webhook-signature.js';
import type { Alert, ChannelConfig, DeliveryContext } from '../src/domain/alert.js';

/**
 * The alert channels against local stand-ins of each service: real HTTP servers that check
 * what Slack, Lark, DingTalk, WeCom or a webhook receiver would check (method, content type,
 * the JSON shape, the signature, recomputed here with the secret and node:crypto, never with
 * the code under test) and answer as the service does; and a real SMTP server. Each delivery
 * must arrive as exactly one request or message.
 */

const T0 = Date.UTC(2026, 11, 1, 12, 0, 0);
const ALERT: Alert = {
  id: 'INSTANCE_FAILED:4242',
  event: 'INSTANCE_FAILED',
  appId: 1,
  appName: 'demo',
  jobId: 7,
  jobName: 'nightly-report',
  instanceId: 4242,
  workflowId: null,
  wfInstanceId: null,
  status: 'FAILED',
  result: 'boom <script>alert(1)</script> & *more* [x](y)',
  expectedTriggerTime: T0,
  actualTriggerTime: T0 + 1_500,
  finishedTime: T0 + 61_000,
  time: T0 + 61_500,
  title: 'Job nightly-report failed (instance 4242)',
  links: {
    api: 'http://127.0.0.1:7700/openApi/fetchInstanceInfo?instanceId=4242',
    webUi: 'http://127.0.0.1:8233/namespaces/default/workflows/tempojob-instance-4242',
  },
};
const CONTEXT: DeliveryContext = { timeoutMs: 5_000 };
const ISO = {
  expected: '2026-12-01T12:00:00.000Z',
  actual: '2026-12-01T12:00:01.500Z',
  finished: '2026-12-01T12:01:01.000Z',
};

// ---------------------------------------------------------------------------------------------
// HTTP stand-ins
// ---------------------------------------------------------------------------------------------

interface Received {
  method: string;
  url: URL;
  headers: IncomingHttpHeaders;
  raw: string;
}
interface Answer {
  status: number;
  body: string;
  contentType?: string;
  location?: string;
}
/** What the stand-in answers a request with; 'hang' never answers. */
type Respond = (request: Received) => Answer | 'hang';

const servers: Server[] = [];
const smtpServers: SMTPServer[] = [];
afterEach(async () => {
  for (const server of servers.splice(0)) {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
  for (const server of smtpServers.splice(0)) await new Promise<void>((resolve) => server.close(() => resolve()));
});

/** A local HTTP server on port 0; `received` holds every request, `first` resolves with the first. */
async function stand(respond: Respond) {
  const received: Received[] = [];
  let notify!: (request: Received) => void;
  const first = new Promise<Received>((resolve) => (notify = resolve));
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const request: Received = {
        method: req.method ?? '',
        url: new URL(req.url ?? '/', 'http://stand-in'),
        headers: req.headers,
        raw: Buffer.concat(chunks).toString('utf8'),
      };
      received.push(request);
      notify(request);
      const answer = respond(request);
      if (answer === 'hang') return;
      res.writeHead(answer.status, {
        'content-type': answer.contentType ?? 'application/json',
        ...(answer.location ? { location: answer.location } : {}),
      });
      res.end(answer.body);
    });
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return { base: `http://127.0.0.1:${port}`, received, first };
}

const json = (value: unknown, status = 200): Answer => ({ status, body: JSON.stringify(value) });
const isJsonPost = (r: Received) => r.method === 'POST' && /^application\/json\b/.test(r.headers['content-type'] ?? '');
const parse = (r: Received): Record<string, unknown> => JSON.parse(r.raw) as Record<string, unknown>;
const base64Hmac = (key: string, message: string) => createHmac('sha256', key).update(message).digest('base64');

/** Slack incoming webhook: JSON with text and blocks, or 400 invalid_payload. */
const slack: Respond = (r) => {
  const body = isJsonPost(r) ? parse(r) : {};
  const blocks = body.blocks;
  const ok =
    r.url.pathname === '/services/T000/B000/XXXX' &&
    typeof body.text === 'string' &&
    body.text !== '' &&
    Array.isArray(blocks) &&
    blocks.length > 0 &&
    blocks.every((b: { type?: unknown }) => ['header', 'section', 'actions', 'context', 'divider'].includes(String(b.type)));
  return ok ? { status: 200, body: 'ok', contentType: 'text/html' } : { status: 400, body: 'invalid_payload', contentType: 'text/html' };
};

/** Lark custom bot with signature verification on when `secret` is given. */
const lark =
  (secret?: string): Respond =>
  (r) => {
    if (!isJsonPost(r)) return json({ code: 9499, msg: 'Bad Request', data: {} }, 400);
    const body = parse(r);
    if (body.msg_type !== 'interactive' || typeof body.card !== 'object') return json({ code: 9499, msg: 'Bad Request', data: {} }, 400);
    if (secret !== undefined) {
      const ts = body.timestamp;
      const fresh = typeof ts === 'string' && /^\d+$/.test(ts) && Math.abs(Date.now() / 1000 - Number(ts)) < 3600;
      if (!fresh || body.sign !== createHmac('sha256', `${ts}\n${secret}`).update(Buffer.alloc(0)).digest('base64')) {
        return json({ code: 19021, data: {}, msg: 'sign match fail or timestamp is not within one hour from current time' });
      }
    }
    return json({ code: 0, data: {}, msg: 'success' });
  };

/** DingTalk custom robot, access_token `tok`, signed mode when `secret` is given. */
const dingTalk =
  (secret?: string): Respond =>
  (r) => {
    if (!isJsonPost(r) || r.url.searchParams.get('access_token') !== 'tok') return json({ errcode: 300001, errmsg: 'token is not exist' });
    if (secret !== undefined) {
      const ts = r.url.searchParams.get('timestamp') ?? '';
      const fresh = /^\d+$/.test(ts) && Math.abs(Date.now() - Number(ts)) < 3_600_000;
      if (!fresh || r.url.searchParams.get('sign') !== base64Hmac(secret, `${ts}\n${secret}`)) {
        return json({ errcode: 310000, errmsg: 'sign not match, more: [https://ding-doc.dingtalk.com/doc#/serverapi2/qf2nxq]' });
      }
    }
    const body = parse(r);
    const markdown = body.markdown as { title?: unknown; text?: unknown } | undefined;
    const exact = Object.keys(body).sort().join() === 'markdown,msgtype' && body.msgtype === 'markdown';
    if (!exact || typeof markdown?.title !== 'string' || typeof markdown.text !== 'string') return json({ errcode: 40035, errmsg: 'invalid parameter' });
    return json({ errcode: 0, errmsg: 'ok' });
  };

/** WeCom group robot, key `k`; content over 4,096 bytes is refused as WeCom does. */
const weCom: Respond = (r) => {
  if (!isJsonPost(r) || r.url.searchParams.get('key') !== 'k') return json({ errcode: 93000, errmsg: 'invalid webhook url' });
  const body = parse(r);
  const content = (body.markdown as { content?: unknown } | undefined)?.content;
  if (Object.keys(body).sort().join() !== 'markdown,msgtype' || body.msgtype !== 'markdown' || typeof content !== 'string') {
    return json({ errcode: 40008, errmsg: 'invalid message type' });
  }
  if (Buffer.byteLength(content, 'utf8') > 4096) return json({ errcode: 40058, errmsg: 'markdown.content exceed max length 4096' });
  return json({ errcode: 0, errmsg: 'ok' });
};

/** A webhook receiver that checks the signature with its own HMAC: 204, or 401. */
const receiver =
  (secret: string): Respond =>
  (r) => {
    const ts = r.headers['x-tempojob-timestamp'];
    const expected = `sha256=${createHmac('sha256', secret).update(`${String(ts)}.${r.raw}`).digest('hex')}`;
    const ok = isJsonPost(r) && typeof ts === 'string' && r.headers['x-tempojob-signature'] === expected;
    return ok ? { status: 204, body: '' } : { status: 401, body: 'bad signature', contentType: 'text/plain' };
  };

/** The rejection of `promise`, which must reject. */
async function failure(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise;
  } catch (err) {
    expect(err).toBeInstanceOf(Error);
    return err as Error;
  }
  throw new Error('expected the delivery to fail');
}
async function expectRetryable(promise: Promise<unknown>, message: RegExp) {
  const err = await failure(promise);
  expect(err).not.toBeInstanceOf(PermanentDeliveryError);
  expect(err.message).toMatch(message);
  return err;
}
async function expectPermanent(promise: Promise<unknown>, message: RegExp) {
  const err = await failure(promise);
  expect(err).toBeInstanceOf(PermanentDeliveryError);
  expect(err.message).toMatch(message);
  return err;
}

// ---------------------------------------------------------------------------------------------

describe('renderAlert: what every channel says', () => {
  it('lists event, app, job, instance, status, result, the times in ISO-8601 UTC, the alert id, and the links', () => {
    const rendered = renderAlert(ALERT);
    expect(rendered.title).toBe(ALERT.title);
    expect(rendered.lines).toEqual([
      ['Event', 'INSTANCE_FAILED (a job instance failed)'],
      ['App', 'demo (id 1)'],
      ['Job', 'nightly-report (id 7)'],
      ['Instance', '4242'],
      ['Status', 'FAILED'],
      ['Result', ALERT.result],
      ['Expected trigger', ISO.expected],
      ['Actual trigger', ISO.actual],
      ['Finished', ISO.finished],
      ['Raised', '2026-12-01T12:01:01.500Z'],
      ['tempojob alert', 'INSTANCE_FAILED:4242'],
    ]);
    expect(rendered.links).toEqual([
      { label: 'Instance in the API', url: ALERT.links.api },
      { label: 'Temporal Web UI', url: ALERT.links.webUi },
    ]);
  });

  it('shows a workflow instance, cuts a long result to 2,000 characters, drops unknown values and non-web links', () => {
    const rendered = renderAlert({
      ...ALERT,
      event: 'WF_INSTANCE_FAILED',
      jobId: null,
      jobName: null,
      instanceId: null,
      workflowId: 3,
      wfInstanceId: 99,
      result: 'x'.repeat(2_500),
      actualTriggerTime: null,
      finishedTime: null,
      links: { api: 'javascript:alert(1)', webUi: null },
      title: `Workflow\n${'t'.repeat(200)}`,
    });
    expect(rendered.title).toBe(`Workflow ${'t'.repeat(140)}…`);
    expect(rendered.title).toHaveLength(150);
    const labels = rendered.lines.map(([label]) => label);
    expect(labels).toEqual(['Event', 'App', 'Workflow', 'Workflow instance', 'Status', 'Result', 'Expected trigger', 'Raised', 'tempojob alert']);
    expect(Object.fromEntries(rendered.lines)['Workflow instance']).toBe('99');
    expect(Object.fromEntries(rendered.lines).Result).toBe(`${'x'.repeat(2_000)} … (cut: 2500 characters in all)`);
    expect(rendered.links).toEqual([]);
  });

  it('escapes every value in the HTML rendering', () => {
    const html = toHtml(renderAlert({ ...ALERT, appName: '<b>app</b>', title: 'a "quoted" <title>' }));
    expect(html).toContain('&lt;script&gt;alert(1)&lt;/script&gt; &amp; *more*');
    expect(html).toContain('&lt;b&gt;app&lt;/b&gt; (id 1)');
    expect(html).toContain('<h2>a &quot;quoted&quot; &lt;title&gt;</h2>');
    expect(html).not.toMatch(/<script|<b>|<title>/);
  });
});

describe('slack', () => {
  it('posts one incoming-webhook message: header, fields, the result, link buttons', async () => {
    const slackService = await stand(slack);
    await deliverAlert({ channel: 'slack', url: `${slackService.base}/services/T000/B000/XXXX` }, ALERT, CONTEXT);
    expect(slackService.received).toHaveLength(1);
    const request = await slackService.first;
    const body = parse(request) as { text: string; blocks: Array<Record<string, unknown>> };
    expect(Object.keys(body).sort()).toEqual(['blocks', 'text']);
    expect(body.text).toContain(ALERT.title);
    expect(body.text).toContain(`Expected trigger: ${ISO.expected}`);
    expect(body.blocks[0]).toEqual({ type: 'header', text: { type: 'plain_text', text: ALERT.title, emoji: false } });
    const fields = body.blocks.flatMap((b) => (Array.isArray(b.fields) ? (b.fields as Array<{ type: string; text: string }>) : []));
    expect(fields.length).toBeLessThanOrEqual(10 * body.blocks.length);
    expect(fields.map((f) => f.text)).toEqual(
      expect.arrayContaining([
        '*App*\ndemo (id 1)',
        '*Job*\nnightly-report (id 7)',
        '*Instance*\n4242',
        '*Status*\nFAILED',
        `*Expected trigger*\n${ISO.expected}`,
        `*Actual trigger*\n${ISO.actual}`,
        `*Finished*\n${ISO.finished}`,
        '*Event*\nINSTANCE_FAILED (a job instance failed)',
      ]),
    );
    // Slack's mrkdwn escaping: &, < and > only.
    expect(fields.map((f) => f.text)).toContain('*Result*\nboom &lt;script&gt;alert(1)&lt;/script&gt; &amp; *more* [x](y)');
    const actions = body.blocks.find((b) => b.type === 'actions') as { elements: Array<{ type: string; url: string; text: { text: string } }> };
    expect(actions.elements.map((e) => [e.type, e.text.text, e.url])).toEqual([
      ['button', 'Instance in the API', ALERT.links.api],
      ['button', 'Temporal Web UI', ALERT.links.webUi],
    ]);
  });

  it('puts a multi-line result in a code block of its own', async () => {
    const slackService = await stand(slack);
    await deliverAlert({ channel: 'slack', url: `${slackService.base}/services/T000/B000/XXXX` }, { ...ALERT, result: 'line 1\nline <2>' }, CONTEXT);
    expect(slackService.received).toHaveLength(1);
    const body = parse(await slackService.first) as { blocks: Array<{ type: string; text?: { type: string; text: string } }> };
    expect(body.blocks).toContainEqual({ type: 'section', text: { type: 'mrkdwn', text: '*Result*\n```line 1\nline &lt;2&gt;```' } });
  });
});

describe('lark', () => {
  it('posts one signed interactive card that the bot verifies', async () => {
    const secret = 'lark-secret';
    const larkService = await stand(lark(secret));
    await deliverAlert({ channel: 'lark', url: `${larkService.base}/open-apis/bot/v2/hook/abc`, secret }, ALERT, CONTEXT);
    expect(larkService.received).toHaveLength(1);
    const body = parse(await larkService.first) as Record<string, unknown> & { card: { header: unknown; elements: unknown[] } };
    expect(Object.keys(body).sort()).toEqual(['card', 'msg_type', 'sign', 'timestamp']);
    expect(body.card.header).toEqual({ template: 'red', title: { tag: 'plain_text', content: ALERT.title } });
    const texts = JSON.stringify(body.card.elements);
    for (const expected of ['App: demo (id 1)', 'Job: nightly-report (id 7)', 'Instance: 4242', 'Status: FAILED', `Finished: ${ISO.finished}`, 'Result: boom <script>']) {
      expect(texts).toContain(JSON.stringify(expected).slice(1, -1));
    }
    expect(body.card.elements).toContainEqual({
      tag: 'action',
      actions: [
        { tag: 'button', type: 'default', text: { tag: 'plain_text', content: 'Instance in the API' }, url: ALERT.links.api },
        { tag: 'button', type: 'default', text: { tag: 'plain_text', content: 'Temporal Web UI' }, url: ALERT.links.webUi },
      ],
    });
  });

  it('sends no timestamp or sign without a secret, and accepts the older StatusCode answer', async () => {
    const larkService = await stand((r) => (isJsonPost(r) ? json({ Extra: null, StatusCode: 0, StatusMessage: 'success' }) : json({}, 400)));
    await deliverAlert({ channel: 'lark', url: `${larkService.base}/open-apis/bot/v2/hook/abc` }, ALERT, CONTEXT);
    expect(larkService.received).toHaveLength(1);
    expect(Object.keys(parse(await larkService.first)).sort()).toEqual(['card', 'msg_type']);
  });

  it('a refused signature is permanent; the rate limit (11232) is retried', async () => {
    const larkService = await stand(lark('the-real-secret'));
    await expectPermanent(
      deliverAlert({ channel: 'lark', url: `${larkService.base}/hook`, secret: 'a-wrong-secret' }, ALERT, CONTEXT),
      /Lark \(127\.0\.0\.1:\d+\) answered HTTP 200, code 19021 \(sign match fail.*signing secret/,
    );
    expect(larkService.received).toHaveLength(1);
    const limited = await stand(() => json({ code: 11232, msg: 'frequency limited psm', data: {} }));
    await expectRetryable(deliverAlert({ channel: 'lark', url: `${limited.base}/hook` }, ALERT, CONTEXT), /code 11232 \(frequency limited psm\); will retry/);
    expect(limited.received).toHaveLength(1);
  });
});

describe('dingtalk', () => {
  it('posts one markdown message to the signed URL (timestamp and sign appended to its query)', async () => {
    const secret = 'SECdingtalk+/=secret';
    const dingService = await stand(dingTalk(secret));
    await deliverAlert({ channel: 'dingtalk', url: `${dingService.base}/robot/send?access_token=tok`, secret }, ALERT, CONTEXT);
    expect(dingService.received).toHaveLength(1);
    const request = await dingService.first;
    // The raw query: the token kept, then timestamp and the URL-encoded sign.
    const query = request.url.search;
    const ts = request.url.searchParams.get('timestamp') ?? '';
    expect(query).toBe(`?access_token=tok&timestamp=${ts}&sign=${encodeURIComponent(base64Hmac(secret, `${ts}\n${secret}`))}`);
    const { markdown } = parse(request) as { markdown: { title: string; text: string } };
    expect(markdown.title).toBe(ALERT.title);
    expect(markdown.text).toContain(`### ${ALERT.title}`);
    for (const line of ['**App:** demo (id 1)', '**Job:** nightly-report (id 7)', '**Instance:** 4242', '**Status:** FAILED', `**Expected trigger:** ${ISO.expected}`, `**Actual trigger:** ${ISO.actual}`, `**Finished:** ${ISO.finished}`]) {
      expect(markdown.text).toContain(line);
    }
    // Markdown in the result is shown as written, not interpreted.
    expect(markdown.text).toContain('**Result:** boom \\<script\\>alert(1)\\</script\\> & \\*more\\* \\[x\\](y)');
    expect(markdown.text).toContain(`[Instance in the API](${ALERT.links.api}) | [Temporal Web UI](${ALERT.links.webUi})`);
  });

  it('starts the query with ? when the URL has none', async () => {
    const secret = 'SECother';
    const dingService = await stand((r) => (r.url.search.startsWith('?timestamp=') ? dingTalk(secret)({ ...r, url: new URL(`${r.url.href}&access_token=tok`) }) : json({ errcode: 1 })));
    await deliverAlert({ channel: 'dingtalk', url: `${dingService.base}/robot/send`, secret }, ALERT, CONTEXT);
    expect(dingService.received).toHaveLength(1);
  });

  it('errcode 310000 (sign, keyword, IP) is permanent; 130101 (too fast) is retried', async () => {
    const dingService = await stand(dingTalk('SECright'));
    const err = await expectPermanent(
      deliverAlert({ channel: 'dingtalk', url: `${dingService.base}/robot/send?access_token=tok`, secret: 'SECwrong' }, ALERT, CONTEXT),
      /DingTalk \(127\.0\.0\.1:\d+\) answered HTTP 200, code 310000 \(sign not match.*security setting/,
    );
    expect(err.message).not.toContain('access_token=tok');
    expect(dingService.received).toHaveLength(1);
    const keyword = await stand(() => json({ errcode: 310000, errmsg: 'keywords not in content' }));
    await expectPermanent(deliverAlert({ channel: 'dingtalk', url: `${keyword.base}/robot/send?access_token=tok` }, ALERT, CONTEXT), /keywords not in content.*"tempojob"/);
    expect(keyword.received).toHaveLength(1);
    const tooFast = await stand(() => json({ errcode: 130101, errmsg: 'send too fast, exceed 20 times per minute' }));
    await expectRetryable(deliverAlert({ channel: 'dingtalk', url: `${tooFast.base}/robot/send?access_token=tok` }, ALERT, CONTEXT), /code 130101.*will retry/);
    expect(tooFast.received).toHaveLength(1);
  });
});

describe('wecom', () => {
  it('posts one markdown message', async () => {
    const weComService = await stand(weCom);
    await deliverAlert({ channel: 'wecom', url: `${weComService.base}/cgi-bin/webhook/send?key=k` }, ALERT, CONTEXT);
    expect(weComService.received).toHaveLength(1);
    const { markdown } = parse(await weComService.first) as { markdown: { content: string } };
    expect(markdown.content.split('\n')).toEqual(
      expect.arrayContaining([`### ${ALERT.title}`, '**App:** demo (id 1)', '**Instance:** 4242', `**Finished:** ${ISO.finished}`, '**tempojob alert:** INSTANCE_FAILED:4242']),
    );
  });

  it('quotes a multi-line result, closing the quote with a blank line', async () => {
    const weComService = await stand(weCom);
    await deliverAlert({ channel: 'wecom', url: `${weComService.base}/cgi-bin/webhook/send?key=k` }, { ...ALERT, result: 'line 1\nline *2*' }, CONTEXT);
    expect(weComService.received).toHaveLength(1);
    const { markdown } = parse(await weComService.first) as { markdown: { content: string } };
    expect(markdown.content).toContain(`**Result:**\n> line 1\n> line \\*2\\*\n\n**Expected trigger:** ${ISO.expected}`);
  });

  it("keeps a long multi-byte result within WeCom's 4,096 bytes", async () => {
    const weComService = await stand(weCom);
    await deliverAlert({ channel: 'wecom', url: `${weComService.base}/cgi-bin/webhook/send?key=k` }, { ...ALERT, result: '错误'.repeat(1_500) }, CONTEXT);
    expect(weComService.received).toHaveLength(1);
    const { markdown } = parse(await weComService.first) as { markdown: { content: string } };
    expect(Buffer.byteLength(markdown.content, 'utf8')).toBeLessThanOrEqual(4096);
    expect(markdown.content).toContain('… (cut)');
    expect(markdown.content).toContain('**tempojob alert:** INSTANCE_FAILED:4242');
  });

  it('errcode 93000 is permanent, 45009 (rate limit) retried', async () => {
    const wrongKey = await stand(weCom);
    await expectPermanent(deliverAlert({ channel: 'wecom', url: `${wrongKey.base}/cgi-bin/webhook/send?key=old` }, ALERT, CONTEXT), /code 93000 \(invalid webhook url\)/);
    expect(wrongKey.received).toHaveLength(1);
    const limited = await stand(() => json({ errcode: 45009, errmsg: 'api freq out of limit' }));
    await expectRetryable(deliverAlert({ channel: 'wecom', url: `${limited.base}/cgi-bin/webhook/send?key=k` }, ALERT, CONTEXT), /code 45009.*will retry/);
    expect(limited.received).toHaveLength(1);
  });
});

describe('generic webhook', () => {
  const secret = 'webhook-secret';

  it('posts the alert as JSON once, with its id as Idempotency-Key, signed over timestamp and raw body', async () => {
    const receiverService = await stand(receiver(secret));
    const before = Date.now();
    await deliverAlert({ channel: 'webhook', url: `${receiverService.base}/hooks/tempojob`, secret }, ALERT, CONTEXT);
    expect(receiverService.received).toHaveLength(1);
    const request = await receiverService.first;
    expect(request.method).toBe('POST');
    expect(request.headers['content-type']).toMatch(/^application\/json/);
    expect(JSON.parse(request.raw)).toEqual(ALERT);
    expect(request.headers['x-tempojob-alert-id']).toBe(ALERT.id);
    expect(request.headers['idempotency-key']).toBe(ALERT.id);
    const ts = Number(request.headers['x-tempojob-timestamp']);
    expect(ts).toBeGreaterThanOrEqual(before);
    expect(ts).toBeLessThanOrEqual(Date.now());
    expect(request.headers['x-tempojob-signature']).toBe(`sha256=${createHmac('sha256', secret).update(`${ts}.${request.raw}`).digest('hex')}`);
  });

  it('verifyWebhookSignature accepts a real delivery, and refuses a tampered body, a wrong secret, a stale or future timestamp', async () => {
    const receiverService = await stand(receiver(secret));
    await deliverAlert({ channel: 'webhook', url: `${receiverService.base}/hooks/tempojob`, secret }, ALERT, CONTEXT);
    expect(receiverService.received).toHaveLength(1);
    const { headers, raw } = await receiverService.first;
    const delivered = { secret, timestamp: headers['x-tempojob-timestamp'], body: raw, signature: headers['x-tempojob-signature'] };
    const ts = Number(delivered.timestamp);

    expect(verifyWebhookSignature(delivered)).toBe(true);
    expect(verifyWebhookSignature({ ...delivered, body: Buffer.from(raw, 'utf8') })).toBe(true);
    expect(verifyWebhookSignature({ ...delivered, body: raw.replace('"FAILED"', '"SUCCEED"') })).toBe(false);
    expect(verifyWebhookSignature({ ...delivered, secret: 'another-secret' })).toBe(false);
    expect(verifyWebhookSignature({ ...delivered, now: ts + 5 * 60_000 + 1 })).toBe(false);
    expect(verifyWebhookSignature({ ...delivered, now: ts - 5 * 60_000 - 1 })).toBe(false);
    expect(verifyWebhookSignature({ ...delivered, now: ts + 60_000, toleranceMs: 30_000 })).toBe(false);
    expect(verifyWebhookSignature({ ...delivered, timestamp: String(ts + 1) })).toBe(false);
    expect(verifyWebhookSignature({ ...delivered, signature: undefined })).toBe(false);
    expect(verifyWebhookSignature({ ...delivered, signature: 'sha256=abc' })).toBe(false);
    expect(verifyWebhookSignature({ ...delivered, timestamp: undefined })).toBe(false);
  });

  it('a receiver that refuses the signature (401) is permanent', async () => {
    const receiverService = await stand(receiver('the-receivers-secret'));
    await expectPermanent(
      deliverAlert({ channel: 'webhook', url: `${receiverService.base}/hooks/tempojob`, secret }, ALERT, CONTEXT),
      /The webhook \(127\.0\.0\.1:\d+\) refused the alert with HTTP 401: bad signature\. .*X-Tempojob-Signature/,
    );
    expect(receiverService.received).toHaveLength(1);
  });
});

describe('HTTP retry classification', () => {
  const slackAt = (base: string): ChannelConfig => ({ channel: 'slack', url: `${base}/services/T000/B000/XXXX` });

  it('500, 503 and 429 are retried (a plain Error), after exactly one request each', async () => {
    for (const status of [500, 503, 429]) {
      const service = await stand(() => ({ status, body: 'upstream trouble', contentType: 'text/plain' }));
      await expectRetryable(deliverAlert(slackAt(service.base), ALERT, CONTEXT), new RegExp(`answered HTTP ${status}: upstream trouble; will retry`));
      expect(service.received).toHaveLength(1);
    }
  });

  it('a server that never answers is a timeout, retried', async () => {
    const service = await stand(() => 'hang');
    const started = Date.now();
    await expectRetryable(deliverAlert(slackAt(service.base), ALERT, { timeoutMs: 300 }), /Slack \(127\.0\.0\.1:\d+\) did not answer within 300 ms; will retry/);
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(service.received).toHaveLength(1);
  });

  it('a refused connection is retried', async () => {
    const service = await stand(() => json({}));
    const base = service.base;
    const server = servers.pop();
    await new Promise<void>((resolve) => server?.close(() => resolve()));
    await expectRetryable(deliverAlert(slackAt(base), ALERT, CONTEXT), /could not be reached \(ECONNREFUSED\); will retry/);
  });

  it('400 and 403 are permanent, saying what Slack answered and what to fix', async () => {
    for (const [status, said] of [
      [400, 'invalid_payload'],
      [403, 'action_prohibited'],
    ] as const) {
      const service = await stand(() => ({ status, body: said, contentType: 'text/plain' }));
      await expectPermanent(deliverAlert(slackAt(service.base), ALERT, CONTEXT), new RegExp(`refused the alert with HTTP ${status}: ${said}\\. Check the incoming-webhook URL`));
      expect(service.received).toHaveLength(1);
    }
  });

  it('a redirect is not followed, and permanent', async () => {
    const target = await stand(() => json({}));
    const service = await stand(() => ({ status: 302, body: '', location: `${target.base}/elsewhere` }));
    await expectPermanent(deliverAlert(slackAt(service.base), ALERT, CONTEXT), /answered with a redirect/);
    expect(service.received).toHaveLength(1);
    expect(target.received).toHaveLength(0);
  });

  it('a URL that is not http(s) is permanent, before any request', async () => {
    await expectPermanent(deliverAlert({ channel: 'wecom', url: 'ftp://example.invalid/x' }, ALERT, CONTEXT), /must be http\(s\)/);
    await expectPermanent(deliverAlert({ channel: 'slack', url: 'not a url' }, ALERT, CONTEXT), /not a valid URL/);
  });

  it('an endpoint that is not the robot (200 without a code) is permanent', async () => {
    const service = await stand(() => ({ status: 200, body: '<html>welcome</html>', contentType: 'text/html' }));
    await expectPermanent(deliverAlert({ channel: 'dingtalk', url: `${service.base}/robot/send?access_token=tok` }, ALERT, CONTEXT), /without a result code.*does not answer like a DingTalk robot/);
    expect(service.received).toHaveLength(1);
  });
});

// ---------------------------------------------------------------------------------------------
// Email, against a real SMTP server
// ---------------------------------------------------------------------------------------------

interface Mail {
  from: string;
  to: string[];
  raw: string;
}

/** An SMTP server on port 0: no TLS, no auth; recipients starting with `reject` get `rcptReply`. */
async function smtpStand(rcptReply = { code: 550, message: '5.1.1 no such user' }) {
  const mails: Mail[] = [];
  const waiting: Array<(mail: Mail) => void> = [];
  const server = new SMTPServer({
    secure: false,
    authOptional: true,
    disabledCommands: ['STARTTLS'],
    logger: false,
    onRcptTo(address, _session, callback) {
      if (address.address.startsWith('reject')) {
        const err = Object.assign(new Error(rcptReply.message), { responseCode: rcptReply.code });
        callback(err);
        return;
      }
      callback();
    },
    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      stream.on('data', (chunk: Buffer) => chunks.push(chunk));
      stream.on('end', () => {
        const envelope = session.envelope;
        const mail = {
          from: envelope.mailFrom === false ? '' : envelope.mailFrom.address,
          to: envelope.rcptTo.map((r) => r.address),
          raw: Buffer.concat(chunks).toString('utf8'),
        };
        mails.push(mail);
        waiting.shift()?.(mail);
        callback();
      });
    },
  });
  smtpServers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.server.address() as AddressInfo;
  return { url: `smtp://127.0.0.1:${port}`, mails };
}

/** The decoded text of each MIME part, by content type (quoted-printable, base64 or 7bit). */
function mimeParts(raw: string): Record<string, string> {
  const boundary = /boundary="?([^";\r\n]+)"?/i.exec(raw)?.[1];
  expect(boundary, 'a multipart message').toBeDefined();
  const parts: Record<string, string> = {};
  for (const chunk of raw.split(`--${boundary}`).slice(1)) {
    const split = chunk.indexOf('\r\n\r\n');
    if (split < 0) continue;
    const head = chunk.slice(0, split);
    const body = chunk.slice(split + 4).replace(/\r\n$/, '');
    const type = /content-type:\s*([^;\r\n]+)/i.exec(head)?.[1]?.trim().toLowerCase();
    const encoding = /content-transfer-encoding:\s*(\S+)/i.exec(head)?.[1]?.toLowerCase();
    if (!type) continue;
    parts[type] = encoding === 'base64' ? Buffer.from(body, 'base64').toString('utf8') : encoding === 'quoted-printable' ? decodeQuotedPrintable(body) : body;
  }
  return parts;
}

function decodeQuotedPrintable(text: string): string {
  const joined = text.replace(/=\r?\n/g, '');
  const bytes: number[] = [];
  for (let i = 0; i < joined.length; i++) {
    const hex = joined.slice(i + 1, i + 3);
    if (joined[i] === '=' && /^[0-9A-F]{2}$/i.test(hex)) {
      bytes.push(parseInt(hex, 16));
      i += 2;
    } else {
      bytes.push(...Buffer.from(joined[i] ?? '', 'utf8'));
    }
  }
  return Buffer.from(bytes).toString('utf8');
}

describe('email', () => {
  const from = 'tempojob alerts <alerts@tempojob.test>';

  it('sends one message with a text and an HTML part (escaped), the title as subject and a Message-ID from the alert id', async () => {
    const smtp = await smtpStand();
    await deliverAlert({ channel: 'email', address: 'oncall@example.test' }, ALERT, { smtp: { url: smtp.url, from }, timeoutMs: 5_000 });
    expect(smtp.mails).toHaveLength(1);
    const [mail] = smtp.mails;
    expect(mail?.from).toBe('alerts@tempojob.test');
    expect(mail?.to).toEqual(['oncall@example.test']);
    const raw = mail?.raw ?? '';
    expect(raw).toMatch(/^Subject: Job nightly-report failed \(instance 4242\)\r$/m);
    expect(raw).toMatch(/^Message-ID: <INSTANCE_FAILED=3A4242@tempojob>\r$/m);
    expect(raw).toMatch(/^X-Tempojob-Alert-Id: INSTANCE_FAILED:4242\r$/im);
    expect(raw).toMatch(/^Content-Type: multipart\/alternative;/m);

    const parts = mimeParts(raw);
    expect(Object.keys(parts).sort()).toEqual(['text/html', 'text/plain']);
    const text = parts['text/plain'] ?? '';
    for (const line of ['App: demo (id 1)', 'Job: nightly-report (id 7)', 'Instance: 4242', 'Status: FAILED', `Result: ${ALERT.result}`, `Expected trigger: ${ISO.expected}`, `Actual trigger: ${ISO.actual}`, `Finished: ${ISO.finished}`, `Temporal Web UI: ${ALERT.links.webUi}`]) {
      expect(text).toContain(line);
    }
    const html = parts['text/html'] ?? '';
    expect(html).toContain('boom &lt;script&gt;alert(1)&lt;/script&gt; &amp; *more*');
    expect(html).not.toContain('<script');
    expect(html).toContain(`<a href="${ALERT.links.api}">Instance in the API</a>`);
    expect(html).toContain(`<h2>${ALERT.title}</h2>`);
  });

  it('a re-delivery of the same alert carries the same Message-ID', async () => {
    const smtp = await smtpStand();
    const context = { smtp: { url: smtp.url, from }, timeoutMs: 5_000 };
    await deliverAlert({ channel: 'email', address: 'oncall@example.test' }, ALERT, context);
    expect(smtp.mails).toHaveLength(1);
    await deliverAlert({ channel: 'email', address: 'oncall@example.test' }, ALERT, context);
    expect(smtp.mails).toHaveLength(2);
    const ids = smtp.mails.map((m) => /^Message-ID: (.*)\r$/m.exec(m.raw)?.[1]);
    expect(ids).toEqual(['<INSTANCE_FAILED=3A4242@tempojob>', '<INSTANCE_FAILED=3A4242@tempojob>']);
  });

  it('without SMTP settings is permanent', async () => {
    await expectPermanent(deliverAlert({ channel: 'email', address: 'oncall@example.test' }, ALERT, { timeoutMs: 5_000 }), /email alerts need TEMPOJOB_SMTP_URL/);
  });

  it('a 5xx reply is permanent, a 4xx reply and a refused connection are retried', async () => {
    const refusing = await smtpStand({ code: 550, message: '5.1.1 no such user' });
    await expectPermanent(
      deliverAlert({ channel: 'email', address: 'reject@example.test' }, ALERT, { smtp: { url: refusing.url, from }, timeoutMs: 5_000 }),
      /the SMTP server 127\.0\.0\.1:\d+ refused the alert email to reject@example\.test at RCPT TO: answered "550 5\.1\.1 no such user"/,
    );
    expect(refusing.mails).toHaveLength(0);

    const deferring = await smtpStand({ code: 451, message: '4.7.1 try again later' });
    await expectRetryable(
      deliverAlert({ channel: 'email', address: 'reject@example.test' }, ALERT, { smtp: { url: deferring.url, from }, timeoutMs: 5_000 }),
      /451 4\.7\.1 try again later.*will retry/,
    );
    expect(deferring.mails).toHaveLength(0);

    const gone = await smtpStand();
    const server = smtpServers.pop();
    await new Promise<void>((resolve) => server?.close(() => resolve()));
    await expectRetryable(deliverAlert({ channel: 'email', address: 'oncall@example.test' }, ALERT, { smtp: { url: gone.url, from }, timeoutMs: 5_000 }), /ECONNREFUSED|ECONNECTION|ESOCKET/);
  });

  it('a server that accepts the connection but never greets is a timeout, retried', async () => {
    const sockets: Socket[] = [];
    const silent = createNetServer((socket) => sockets.push(socket));
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const { port } = silent.address() as AddressInfo;
    try {
      const started = Date.now();
      await expectRetryable(
        deliverAlert({ channel: 'email', address: 'oncall@example.test' }, ALERT, { smtp: { url: `smtp://127.0.0.1:${port}`, from }, timeoutMs: 300 }),
        /the SMTP server 127\.0\.0\.1:\d+ did not complete the alert email to oncall@example\.test in time \(300 ms per step\); will retry/,
      );
      expect(Date.now() - started).toBeLessThan(5_000);
      expect(sockets).toHaveLength(1);
    } finally {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => silent.close(() => resolve()));
    }
  });

  it('a URL that is not smtp(s) is permanent', async () => {
    await expectPermanent(
      deliverAlert({ channel: 'email', address: 'oncall@example.test' }, ALERT, { smtp: { url: 'http://mail.example.test', from } }),
      /must be smtp:\/\/ or smtps:\/\//,
    );
  });
});

describe('deliverAlert', () => {
  it('an unknown channel is permanent', async () => {
    await expectPermanent(deliverAlert({ channel: 'pager' } as unknown as ChannelConfig, ALERT, CONTEXT), /unknown alert channel "pager"/);
  });
});
