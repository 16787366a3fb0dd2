/**
 * Lark/Feishu custom bot: POST `{ msg_type: 'interactive', card }`, a card with a red header
 * (the title), the short lines as two-column fields, long values (the result) in a block of
 * their own, and link buttons. All text is `plain_text`, so no value is read as markdown.
 *
 * With a secret (the bot's "signature verification"), the body also carries `timestamp`
 * (epoch seconds, a string) and `sign` = base64(HMAC-SHA256 keyed with `${timestamp}\n${secret}`
 * over an empty message); Lark refuses a timestamp more than an hour off.
 *
 * Lark answers `{"code":0,…}` (older bots `{"StatusCode":0,…}`); 19021 is a bad signature or
 * timestamp, 19022 an IP not allowed, 19024 a missing keyword, 11232 its rate limit.
 */
import { createHmac } from 'node:crypto';
import type { Alert, ChannelConfig, DeliveryContext } from '../../domain/alert.js';
import { expectCodeZero, postJson, serviceUrl } from './http.js';
import { isLongValue, renderAlert, type RenderedAlert } from './render.js';

type LarkConfig = Extract<ChannelConfig, { channel: 'lark' }>;

/** Lark's frequency limit (100 a minute, 5 a second per bot). */
const RETRYABLE_CODES = [11232] as const;

/** Lark's signature: base64(HMAC-SHA256, key `${timestamp}\n${secret}`, empty message). */
export function larkSign(secret: string, timestampSeconds: string): string {
  return createHmac('sha256', `${timestampSeconds}\n${secret}`).update('').digest('base64');
}

export function larkCard(rendered: RenderedAlert): Record<string, unknown> {
  const text = (content: string) => ({ tag: 'plain_text', content });
  const elements: unknown[] = [];
  const short = rendered.lines.filter(([, value]) => !isLongValue(value));
  if (short.length > 0) {
    elements.push({ tag: 'div', fields: short.map(([label, value]) => ({ is_short: true, text: text(`${label}: ${value}`) })) });
  }
  for (const [label, value] of rendered.lines.filter(([, v]) => isLongValue(v))) {
    elements.push({ tag: 'div', text: text(`${label}:\n${value}`) });
  }
  if (rendered.links.length > 0) {
    elements.push({
      tag: 'action',
      actions: rendered.links.map((link) => ({ tag: 'button', type: 'default', text: text(link.label), url: link.url })),
    });
  }
  return {
    config: { wide_screen_mode: true },
    header: { template: 'red', title: text(rendered.title) },
    elements,
  };
}

export async function sendLark(config: LarkConfig, alert: Alert, context: DeliveryContext): Promise<void> {
  const url = serviceUrl(config.url, 'Lark');
  const message: Record<string, unknown> = { msg_type: 'interactive', card: larkCard(renderAlert(alert)) };
  if (config.secret) {
    const timestamp = String(Math.floor(Date.now() / 1000));
    message.timestamp = timestamp;
    message.sign = larkSign(config.secret, timestamp);
  }
  const answer = await postJson(url, JSON.stringify(message), { service: 'Lark', timeoutMs: context.timeoutMs });
  expectCodeZero(answer, {
    where: `Lark (${url.host})`,
    code: (json) => (typeof json.code === 'number' ? json.code : json.StatusCode),
    message: (json) => json.msg ?? json.StatusMessage,
    retryableCodes: RETRYABLE_CODES,
    fixFor: (code) =>
      code === 19021
        ? "The signature was refused: set the bot's signing secret on the target (or remove it if the bot has none), and check this host's clock (Lark allows one hour)."
        : code === 19022
          ? "The bot's IP allowlist refused this host: add the core worker's egress IP to it."
          : code === 19024
            ? 'The bot\'s keyword check refused the message: add the keyword "tempojob" (every alert contains it) to the bot\'s keywords.'
            : undefined,
    notTheService: 'The URL does not answer like a Lark custom bot webhook (https://open.feishu.cn/open-apis/bot/v2/hook/…): check it.',
  });
}
