/**
 * WeCom (WeChat Work) group robot: POST `{ msgtype: 'markdown', markdown: { content } }`.
 * WeCom caps the content at 4,096 bytes of UTF-8, so the longest value (the result) is cut
 * further when a message would exceed it. No signature: the `key` in the URL is the credential.
 *
 * WeCom answers `{"errcode":0,"errmsg":"ok"}`; 93000 is an invalid webhook URL, 45009 its
 * rate limit (20 a minute), -1 "system busy".
 */
import type { Alert, ChannelConfig, DeliveryContext } from '../../domain/alert.js';
import { expectCodeZero, postJson, serviceUrl } from './http.js';
import { cutUtf8, renderAlert, toChatMarkdown, type RenderedAlert } from './render.js';

type WeComConfig = Extract<ChannelConfig, { channel: 'wecom' }>;

export const WECOM_MAX_CONTENT_BYTES = 4_096;
const RETRYABLE_CODES = [-1, 45009] as const;
const CUT_NOTE = ' … (cut)';

/** The markdown content, within WeCom's 4,096 bytes: the longest value gives way. */
export function weComContent(rendered: RenderedAlert): string {
  const content = toChatMarkdown(rendered, '\n');
  const over = Buffer.byteLength(content, 'utf8') - WECOM_MAX_CONTENT_BYTES;
  if (over <= 0) return content;
  const longest = rendered.lines.reduce((at, [, value], i) => (value.length > (rendered.lines[at]?.[1].length ?? 0) ? i : at), 0);
  const lines = rendered.lines.map(([label, value], i): [string, string] => {
    if (i !== longest) return [label, value];
    // Escaping and quoting can double a value's size: cut twice the overflow, then recheck.
    return [label, cutUtf8(value, Math.max(0, Buffer.byteLength(value, 'utf8') - 2 * over - CUT_NOTE.length)) + CUT_NOTE];
  });
  const cut = toChatMarkdown({ ...rendered, lines }, '\n');
  return Buffer.byteLength(cut, 'utf8') <= WECOM_MAX_CONTENT_BYTES ? cut : cutUtf8(cut, WECOM_MAX_CONTENT_BYTES);
}

export async function sendWeCom(config: WeComConfig, alert: Alert, context: DeliveryContext): Promise<void> {
  const url = serviceUrl(config.url, 'WeCom');
  const body = JSON.stringify({ msgtype: 'markdown', markdown: { content: weComContent(renderAlert(alert)) } });
  const answer = await postJson(url, body, { service: 'WeCom', timeoutMs: context.timeoutMs });
  expectCodeZero(answer, {
    where: `WeCom (${url.host})`,
    code: (json) => json.errcode,
    message: (json) => json.errmsg,
    retryableCodes: RETRYABLE_CODES,
    fixFor: (code) =>
      code === 93000
        ? 'The webhook URL is invalid (its key is wrong or the robot was removed): set the URL WeCom shows for the robot.'
        : undefined,
    notTheService: 'The URL does not answer like a WeCom group robot webhook (https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=…): check it.',
  });
}
