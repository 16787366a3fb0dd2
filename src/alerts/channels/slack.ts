/**
 * Slack incoming webhook: POST `{ text, blocks }`. `text` is the notification (and the
 * fallback of clients without blocks); the blocks are a header with the title, sections of
 * short fields (ten at most per section, Slack's limit), a section per long value (the
 * result, as a code block), and link buttons. Slack answers 200 `ok`; it refuses with 400
 * (invalid_payload…), 403 (action_prohibited), 404 (no_service, channel_not_found) or 410
 * (channel_is_archived), and rate-limits with 429.
 */
import type { Alert, ChannelConfig, DeliveryContext } from '../../domain/alert.js';
import { expectSuccess, postJson, serviceUrl } from './http.js';
import { escapeSlack, isLongValue, renderAlert, toPlainText, type RenderedAlert } from './render.js';

type SlackConfig = Extract<ChannelConfig, { channel: 'slack' }>;

/** Slack's limits: 10 fields per section, 2,000 characters per field, 3,000 per section text. */
const MAX_FIELDS = 10;
const MAX_SECTION_TEXT = 3_000;

export function slackPayload(rendered: RenderedAlert): { text: string; blocks: unknown[] } {
  const blocks: unknown[] = [{ type: 'header', text: { type: 'plain_text', text: rendered.title, emoji: false } }];
  const short = rendered.lines.filter(([, value]) => !isLongValue(value));
  for (let i = 0; i < short.length; i += MAX_FIELDS) {
    blocks.push({
      type: 'section',
      fields: short.slice(i, i + MAX_FIELDS).map(([label, value]) => ({ type: 'mrkdwn', text: `*${escapeSlack(label)}*\n${escapeSlack(value)}` })),
    });
  }
  for (const [label, value] of rendered.lines.filter(([, v]) => isLongValue(v))) {
    const head = `*${escapeSlack(label)}*\n\`\`\``;
    const tail = '```';
    // Three backticks in the value would end the code block early.
    const body = escapeSlack(value).replace(/```/g, '`\u200b`\u200b`');
    const room = MAX_SECTION_TEXT - head.length - tail.length - 1;
    const fitted = body.length > room ? `${body.slice(0, room - 1).replace(/&[a-z]*$/, '')}…` : body;
    blocks.push({ type: 'section', text: { type: 'mrkdwn', text: `${head}${fitted}${tail}` } });
  }
  if (rendered.links.length > 0) {
    blocks.push({
      type: 'actions',
      elements: rendered.links.map((link, i) => ({ type: 'button', action_id: `tempojob-link-${i}`, text: { type: 'plain_text', text: link.label }, url: link.url })),
    });
  }
  return { text: toPlainText(rendered), blocks };
}

export async function sendSlack(config: SlackConfig, alert: Alert, context: DeliveryContext): Promise<void> {
  const url = serviceUrl(config.url, 'Slack');
  const body = JSON.stringify(slackPayload(renderAlert(alert)));
  const answer = await postJson(url, body, { service: 'Slack', timeoutMs: context.timeoutMs });
  expectSuccess(
    answer,
    `Slack (${url.host})`,
    'Check the incoming-webhook URL: 403/404/410 mean the webhook was revoked or its channel removed or archived; 400 means Slack rejected the message.',
  );
}
