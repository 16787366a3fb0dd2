/**
 * Generic webhook: POST the Alert itself as JSON, signed (see ../webhook-signature.ts):
 * `X-Tempojob-Alert-Id` and `Idempotency-Key` carry alert.id (the same for every re-delivery
 * of an event, so a receiver can drop a duplicate), `X-Tempojob-Timestamp` the epoch ms of this
 * request and `X-Tempojob-Signature` the HMAC over timestamp and body. Any 2xx is success.
 */
import type { Alert, ChannelConfig, DeliveryContext } from '../../domain/alert.js';
import { PermanentDeliveryError } from '../types.js';
import { signWebhook, WEBHOOK_HEADERS } from '../webhook-signature.js';
import { expectSuccess, postJson, serviceUrl } from './http.js';

type WebhookConfig = Extract<ChannelConfig, { channel: 'webhook' }>;

export async function sendWebhook(config: WebhookConfig, alert: Alert, context: DeliveryContext): Promise<void> {
  const url = serviceUrl(config.url, 'The webhook');
  if (!config.secret) throw new PermanentDeliveryError('The webhook target has no secret: every webhook alert is signed, set one on the target');
  const body = JSON.stringify(alert);
  const alertId = headerValue(alert.id);
  const timestamp = String(Date.now());
  const answer = await postJson(url, body, {
    service: 'The webhook',
    timeoutMs: context.timeoutMs,
    headers: {
      [WEBHOOK_HEADERS.alertId]: alertId,
      [WEBHOOK_HEADERS.idempotencyKey]: alertId,
      [WEBHOOK_HEADERS.timestamp]: timestamp,
      [WEBHOOK_HEADERS.signature]: signWebhook(config.secret, timestamp, body),
    },
  });
  expectSuccess(
    answer,
    `The webhook (${url.host})`,
    'Check the target URL, and that the receiver verifies X-Tempojob-Signature with the same secret (401/403 usually mean it does not).',
  );
}

/** Alert ids are ASCII by construction; anything else is percent-encoded rather than refused by fetch. */
function headerValue(value: string): string {
  return /^[\x20-\x7e]*$/.test(value) ? value : encodeURIComponent(value);
}
