/**
 * DingTalk custom robot: POST `{ msgtype: 'markdown', markdown: { title, text } }` (the title
 * is what the notification shows). With a secret ("SEC…", the robot's signed mode), the URL
 * gets `timestamp=<epoch ms>&sign=<urlencode(base64(HMAC-SHA256 keyed with the secret over
 * `${timestamp}\n${secret}`))>`; DingTalk refuses a timestamp more than an hour off.
 *
 * DingTalk answers HTTP 200 `{"errcode":0,"errmsg":"ok"}`. 310000 is a refusal by a security
 * setting (signature, keyword, IP allowlist), 300001/300005 a wrong access_token, 130101 and
 * 410100 its rate limit (20 a minute), -1 "system busy".
 */
import { createHmac } from 'node:crypto';
import type { Alert, ChannelConfig, DeliveryContext } from '../../domain/alert.js';
import { expectCodeZero, postJson, serviceUrl } from './http.js';
import { renderAlert, toChatMarkdown } from './render.js';

type DingTalkConfig = Extract<ChannelConfig, { channel: 'dingtalk' }>;

const RETRYABLE_CODES = [-1, 130101, 410100] as const;

/** DingTalk's signature: base64(HMAC-SHA256, key = secret, message `${timestamp}\n${secret}`); not yet URL-encoded. */
export function dingTalkSign(secret: string, timestampMs: string): string {
  return createHmac('sha256', secret).update(`${timestampMs}\n${secret}`).digest('base64');
}

/** The robot's URL with `timestamp` and `sign` appended (the query it has is kept byte for byte). */
export function signedDingTalkUrl(url: URL, secret: string, now = Date.now()): URL {
  const timestamp = String(now);
  const signed = new URL(url);
  const extra = `timestamp=${timestamp}&sign=${encodeURIComponent(dingTalkSign(secret, timestamp))}`;
  signed.search = url.search === '' || url.search === '?' ? `?${extra}` : `${url.search}&${extra}`;
  return signed;
}

export async function sendDingTalk(config: DingTalkConfig, alert: Alert, context: DeliveryContext): Promise<void> {
  const base = serviceUrl(config.url, 'DingTalk');
  const url = config.secret ? signedDingTalkUrl(base, config.secret) : base;
  const rendered = renderAlert(alert);
  const body = JSON.stringify({ msgtype: 'markdown', markdown: { title: rendered.title, text: toChatMarkdown(rendered, '\n\n') } });
  const answer = await postJson(url, body, { service: 'DingTalk', timeoutMs: context.timeoutMs });
  expectCodeZero(answer, {
    where: `DingTalk (${base.host})`,
    code: (json) => json.errcode,
    message: (json) => json.errmsg,
    retryableCodes: RETRYABLE_CODES,
    fixFor: (code) =>
      code === 310000
        ? 'A security setting of the robot refused it: set its signing secret (SEC…) on the target, add the keyword "tempojob" (every alert contains it), or allow the core worker\'s egress IP, whichever errmsg names; check this host\'s clock too.'
        : code === 300001 || code === 300005 || code === 400101
          ? 'The access_token in the URL is wrong or the robot was removed: set the webhook URL DingTalk shows for the robot.'
          : undefined,
    notTheService: 'The URL does not answer like a DingTalk robot webhook (https://oapi.dingtalk.com/robot/send?access_token=…): check it.',
  });
}
