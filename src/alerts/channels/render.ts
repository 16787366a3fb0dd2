/**
 * What an alert says, once, for every channel: `renderAlert` turns an Alert into a title,
 * labelled lines and links; each channel only lays those out in its own format (Slack blocks,
 * a Lark card, DingTalk/WeCom markdown, an email's text and HTML parts). The escapers for each
 * format live here too, so no channel formats a value on its own.
 */
import type { Alert, AlertEvent } from '../../domain/alert.js';

/** A result longer than this is cut (with a note saying how long it was). */
export const MAX_RESULT_CHARS = 2_000;
/** Slack's header block takes 150 characters; every channel gets the same title. */
export const MAX_TITLE_CHARS = 150;

export type AlertLine = [label: string, value: string];
export interface AlertLink {
  label: string;
  url: string;
}
export interface RenderedAlert {
  title: string;
  lines: AlertLine[];
  links: AlertLink[];
}

const EVENT_DESCRIPTIONS: Record<AlertEvent, string> = {
  INSTANCE_FAILED: 'a job instance failed',
  WF_INSTANCE_FAILED: 'a workflow instance failed',
  MISFIRE_SKIPPED: 'a missed fire was skipped',
  BROADCAST_SHARE_LOST: "a broadcast worker's share was lost",
  FAILURE_THRESHOLD: 'failures crossed the threshold',
};

/** The label of the line every message ends with; its text holds "tempojob" (a keyword for bots that want one). */
export const ALERT_ID_LABEL = 'tempojob alert';
export const RESULT_LABEL = 'Result';

/** The one rendering of an alert: the same lines, in the same order, on every channel. */
export function renderAlert(alert: Alert): RenderedAlert {
  const lines: AlertLine[] = [];
  const add = (label: string, value: string | null) => {
    if (value !== null && value !== '') lines.push([label, value]);
  };
  add('Event', `${alert.event} (${EVENT_DESCRIPTIONS[alert.event] ?? 'alert'})`);
  add('App', named(alert.appName, alert.appId));
  add('Job', alert.jobId === null ? null : named(alert.jobName, alert.jobId));
  add('Instance', alert.instanceId === null ? null : String(alert.instanceId));
  add('Workflow', alert.workflowId === null ? null : `id ${alert.workflowId}`);
  add('Workflow instance', alert.wfInstanceId === null ? null : String(alert.wfInstanceId));
  add('Status', alert.status === null ? null : oneLine(alert.status));
  add(RESULT_LABEL, alert.result === null ? null : cutText(alert.result.trim(), MAX_RESULT_CHARS));
  add('Expected trigger', isoTime(alert.expectedTriggerTime));
  add('Actual trigger', isoTime(alert.actualTriggerTime));
  add('Finished', isoTime(alert.finishedTime));
  add('Raised', isoTime(alert.time));
  add(ALERT_ID_LABEL, oneLine(alert.id));

  const links: AlertLink[] = [];
  if (isWebUrl(alert.links.api)) links.push({ label: 'Instance in the API', url: alert.links.api });
  if (isWebUrl(alert.links.webUi)) links.push({ label: 'Temporal Web UI', url: alert.links.webUi });

  return { title: cutText(oneLine(alert.title), MAX_TITLE_CHARS - 1, '…'), lines, links };
}

/** A value that deserves a block of its own (the result) rather than a short field. */
export function isLongValue(value: string): boolean {
  return value.includes('\n') || value.length > 120;
}

/** The alert as plain text: email's text part, Slack's notification text. */
export function toPlainText(rendered: RenderedAlert): string {
  const out = [rendered.title, ''];
  for (const [label, value] of rendered.lines) {
    out.push(isLongValue(value) ? `${label}:\n${indent(value)}` : `${label}: ${value}`);
  }
  if (rendered.links.length > 0) {
    out.push('');
    for (const link of rendered.links) out.push(`${link.label}: ${link.url}`);
  }
  return out.join('\n');
}

/**
 * The alert as chat markdown (DingTalk, WeCom): a heading, `**Label:** value` lines, long
 * values quoted line by line, links as `[label](url)`. `lineBreak` is what starts a new line
 * on that service (DingTalk needs a blank line, WeCom renders a single newline).
 */
export function toChatMarkdown(rendered: RenderedAlert, lineBreak: '\n' | '\n\n'): string {
  const blocks = [`### ${escapeMarkdown(rendered.title)}`];
  for (const [label, value] of rendered.lines) {
    if (isLongValue(value)) {
      const quoted = value.split('\n').map((line) => `> ${escapeMarkdown(line)}`);
      // DingTalk: one quote, a paragraph per line. WeCom: a blank line ends the quote, or the
      // next line would continue it.
      const quote = lineBreak === '\n' ? `${quoted.join('\n')}\n` : quoted.join('\n>\n');
      blocks.push(`**${label}:**${lineBreak}${quote}`);
    } else {
      blocks.push(`**${label}:** ${escapeMarkdown(value)}`);
    }
  }
  if (rendered.links.length > 0) {
    blocks.push(rendered.links.map((link) => `[${escapeMarkdown(link.label)}](${markdownUrl(link.url)})`).join(' | '));
  }
  return blocks.join(lineBreak);
}

/** The alert as an HTML document (email's HTML part); every interpolated value is escaped. */
export function toHtml(rendered: RenderedAlert): string {
  const rows = rendered.lines
    .map(([label, value]) => {
      const cell = isLongValue(value)
        ? `<pre style="margin:0;white-space:pre-wrap;font-family:monospace">${escapeHtml(value)}</pre>`
        : escapeHtml(value);
      return `<tr><th style="text-align:left;vertical-align:top;padding:2px 12px 2px 0">${escapeHtml(label)}</th><td style="padding:2px 0">${cell}</td></tr>`;
    })
    .join('\n');
  const links = rendered.links.map((link) => `<a href="${escapeHtml(link.url)}">${escapeHtml(link.label)}</a>`).join(' &middot; ');
  return [
    '<!DOCTYPE html>',
    '<html><head><meta charset="utf-8"></head><body style="font-family:sans-serif">',
    `<h2>${escapeHtml(rendered.title)}</h2>`,
    `<table style="border-collapse:collapse">\n${rows}\n</table>`,
    links ? `<p>${links}</p>` : '',
    '</body></html>',
  ]
    .filter((part) => part !== '')
    .join('\n');
}

/** `text` cut to `max` characters, never inside a surrogate pair, with a note when cut. */
export function cutText(text: string, max: number, note = ` … (cut: ${text.length} characters in all)`): string {
  if (text.length <= max) return text;
  let end = max;
  if (isHighSurrogate(text.charCodeAt(end - 1))) end -= 1;
  return text.slice(0, end) + note;
}

/** `text` cut to at most `maxBytes` bytes of UTF-8, on a character boundary. */
export function cutUtf8(text: string, maxBytes: number): string {
  if (Buffer.byteLength(text, 'utf8') <= maxBytes) return text;
  let bytes = 0;
  let end = 0;
  for (const char of text) {
    const size = Buffer.byteLength(char, 'utf8');
    if (bytes + size > maxBytes) break;
    bytes += size;
    end += char.length;
  }
  return text.slice(0, end);
}

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => HTML_ENTITIES[c] ?? c);
}
const HTML_ENTITIES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

/** Slack's mrkdwn: only &, < and > are control characters (its own escaping rules). */
export function escapeSlack(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/**
 * Chat markdown (DingTalk, WeCom): backslash-escape the characters that would start emphasis,
 * code, links or HTML, so a result such as `a*b [x](y) <font>` shows as written.
 */
export function escapeMarkdown(text: string): string {
  return text.replace(/[\\`*[\]<>]/g, '\\$&');
}

function markdownUrl(url: string): string {
  return url.replace(/[()\s]/g, (c) => encodeURIComponent(c));
}

function named(name: string | null, id: number): string {
  return name === null || name === '' ? `id ${id}` : `${oneLine(name)} (id ${id})`;
}

function oneLine(text: string): string {
  return text.replace(/\s*[\r\n]+\s*/g, ' ').trim();
}

function indent(text: string): string {
  return text
    .split('\n')
    .map((line) => `  ${line}`)
    .join('\n');
}

/** ISO-8601 UTC, or null when unknown. */
export function isoTime(epochMs: number | null): string | null {
  return epochMs !== null && Number.isFinite(epochMs) ? new Date(epochMs).toISOString() : null;
}

function isWebUrl(url: string | null): url is string {
  if (url === null) return false;
  try {
    const { protocol } = new URL(url);
    return protocol === 'http:' || protocol === 'https:';
  } catch {
    return false;
  }
}

function isHighSurrogate(code: number): boolean {
  return code >= 0xd800 && code <= 0xdbff;
}
