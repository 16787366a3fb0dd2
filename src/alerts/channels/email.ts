/**
 * Email over SMTP (nodemailer): one message from TEMPOJOB_ALERT_FROM to the target's address,
 * the title as subject, a text/plain and a text/html part (every value HTML-escaped), and a
 * Message-ID derived from alert.id, so a re-delivery of the same event is the same message to
 * the receiving side (threading and duplicate filters recognise it).
 *
 * The transport is made per call and closed after: alerts are rare, a pooled connection would
 * sit idle and go stale, and nothing outlives the activity that sends.
 *
 * Classification: an SMTP reply 5xx (the server refused sender, recipient, credentials or
 * message) is permanent, except 503 (bad sequence: a fresh connection may do); 4xx, a timeout
 * and a connection failure are retried. Missing or unusable configuration is permanent.
 */
import { createHash } from 'node:crypto';
import { createTransport, type NodemailerError } from 'nodemailer';
import type { Alert, ChannelConfig, DeliveryContext } from '../../domain/alert.js';
import { PermanentDeliveryError } from '../types.js';
import { DEFAULT_TIMEOUT_MS, excerpt } from './http.js';
import { renderAlert, toHtml, toPlainText } from './render.js';

type EmailConfig = Extract<ChannelConfig, { channel: 'email' }>;

/** Errors without a reply code that no retry can fix: the configuration or the message is wrong. */
const PERMANENT_CODES = new Set(['ENOAUTH', 'EAUTH', 'ECONFIG', 'EENVELOPE', 'EMESSAGE']);

/**
 * `<id@tempojob>`, the same for every delivery of an alert. The id's characters outside
 * [A-Za-z0-9_-] are written =HH (UTF-8 bytes), which keeps distinct ids distinct and the
 * left part a valid dot-atom (RFC 5322); a very long id is hashed.
 */
export function alertMessageId(alertId: string): string {
  const encoded = Array.from(Buffer.from(alertId, 'utf8'))
    .map((byte) => {
      const c = String.fromCharCode(byte);
      return /[A-Za-z0-9_-]/.test(c) ? c : `=${byte.toString(16).toUpperCase().padStart(2, '0')}`;
    })
    .join('');
  const left = encoded.length > 0 && encoded.length <= 200 ? encoded : `sha256-${createHash('sha256').update(alertId).digest('hex')}`;
  return `<${left}@tempojob>`;
}

export async function sendEmail(config: EmailConfig, alert: Alert, context: DeliveryContext): Promise<void> {
  const smtp = context.smtp;
  if (!smtp) {
    throw new PermanentDeliveryError(
      'email alerts need TEMPOJOB_SMTP_URL (smtp://user:pass@host:port or smtps://…) and TEMPOJOB_ALERT_FROM set on the core worker; SMTP is not configured',
    );
  }
  const host = smtpHost(smtp.url);
  const timeoutMs = context.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const rendered = renderAlert(alert);
  const transport = createTransport({
    url: smtp.url,
    connectionTimeout: timeoutMs,
    greetingTimeout: timeoutMs,
    socketTimeout: timeoutMs,
    dnsTimeout: timeoutMs,
  });
  try {
    await transport.sendMail({
      from: smtp.from,
      to: config.address,
      subject: rendered.title,
      text: toPlainText(rendered),
      html: toHtml(rendered),
      messageId: alertMessageId(alert.id),
      headers: { 'X-Tempojob-Alert-Id': alert.id },
      // Each step has its own timeout above; this bounds the whole conversation.
      signal: AbortSignal.timeout(timeoutMs * 3),
    });
  } catch (err) {
    throw smtpFailure(err, host, config.address, timeoutMs);
  } finally {
    transport.close();
  }
}

/** host:port of the SMTP URL (never its credentials), or a PermanentDeliveryError. */
function smtpHost(raw: string): string {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new PermanentDeliveryError('TEMPOJOB_SMTP_URL is not a valid URL: use smtp://user:pass@host:port or smtps://…');
  }
  if (url.protocol !== 'smtp:' && url.protocol !== 'smtps:') {
    throw new PermanentDeliveryError(`TEMPOJOB_SMTP_URL must be smtp:// or smtps://, not ${url.protocol}//`);
  }
  return url.host;
}

function smtpFailure(err: unknown, host: string, address: string, timeoutMs: number): Error {
  const e = (err instanceof Error ? err : new Error(String(err))) as NodemailerError;
  const where = `the SMTP server ${host}`;
  const said = e.response ? `answered "${excerpt(e.response)}"` : `failed: ${excerpt(e.message)}`;
  const step = e.command ? ` at ${e.command}` : '';
  if (typeof e.responseCode === 'number' && e.responseCode >= 500 && e.responseCode !== 503) {
    return new PermanentDeliveryError(
      `${where} refused the alert email to ${address}${step}: ${said}. Check the address, TEMPOJOB_ALERT_FROM and the credentials in TEMPOJOB_SMTP_URL.`,
    );
  }
  if (typeof e.responseCode !== 'number' && e.code !== undefined && PERMANENT_CODES.has(e.code)) {
    return new PermanentDeliveryError(`${where} could not take the alert email to ${address} (${e.code}${step}): ${said}. Check the address and the SMTP settings.`);
  }
  if (e.code === 'EABORT' || e.code === 'ETIMEDOUT') {
    return new Error(`${where} did not complete the alert email to ${address} in time (${timeoutMs} ms per step); will retry`);
  }
  return new Error(`${where}${step} ${said}${e.code ? ` (${e.code})` : ''}; will retry`);
}
