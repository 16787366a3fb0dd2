/**
 * The generic webhook's signature, for tempojob (signing) and for receivers (verifying).
 *
 * Every POST carries `X-Tempojob-Timestamp: <epoch ms>` and
 * `X-Tempojob-Signature: sha256=<hex HMAC-SHA256(secret, `${timestamp}.${rawBody}`)>`. A
 * receiver recomputes it over the raw body bytes it received (before any JSON parsing), compares
 * in constant time, and rejects a timestamp older (or newer) than its tolerance, so a captured
 * request cannot be replayed later. `Idempotency-Key` (the alert id) lets it drop a re-delivery.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';

export const WEBHOOK_HEADERS = {
  alertId: 'X-Tempojob-Alert-Id',
  idempotencyKey: 'Idempotency-Key',
  timestamp: 'X-Tempojob-Timestamp',
  signature: 'X-Tempojob-Signature',
} as const;

/** How far a request's timestamp may be from the receiver's clock by default: 5 minutes. */
export const DEFAULT_SIGNATURE_TOLERANCE_MS = 5 * 60_000;

const PREFIX = 'sha256=';

/** `sha256=<hex>`: HMAC-SHA256 keyed with `secret` over `${timestamp}.${body}`. */
export function signWebhook(secret: string, timestamp: number | string, body: string | Uint8Array): string {
  const hmac = createHmac('sha256', secret).update(`${timestamp}.`);
  hmac.update(typeof body === 'string' ? Buffer.from(body, 'utf8') : body);
  return PREFIX + hmac.digest('hex');
}

export interface VerifyWebhookOptions {
  secret: string;
  /** The `X-Tempojob-Timestamp` header as received. */
  timestamp: string | number | string[] | null | undefined;
  /** The raw request body, exactly as received. */
  body: string | Uint8Array;
  /** The `X-Tempojob-Signature` header as received. */
  signature: string | string[] | null | undefined;
  /** Default 5 minutes. */
  toleranceMs?: number;
  /** The receiver's clock (epoch ms); default Date.now(). */
  now?: number;
}

/**
 * True when `signature` is the HMAC of this timestamp and body under `secret`, compared in
 * constant time, and the timestamp is within `toleranceMs` of `now`. False otherwise,
 * including for a missing or malformed header.
 */
export function verifyWebhookSignature({
  secret,
  timestamp,
  body,
  signature,
  toleranceMs = DEFAULT_SIGNATURE_TOLERANCE_MS,
  now = Date.now(),
}: VerifyWebhookOptions): boolean {
  const stamp = typeof timestamp === 'number' ? String(timestamp) : typeof timestamp === 'string' ? timestamp : undefined;
  if (stamp === undefined || !/^\d{1,16}$/.test(stamp)) return false;
  if (!(Math.abs(now - Number(stamp)) <= toleranceMs)) return false;
  if (typeof signature !== 'string' || !signature.startsWith(PREFIX)) return false;
  const hex = signature.slice(PREFIX.length).trim();
  if (!/^[0-9a-fA-F]{64}$/.test(hex)) return false;
  const expected = Buffer.from(signWebhook(secret, stamp, body).slice(PREFIX.length), 'hex');
  return timingSafeEqual(expected, Buffer.from(hex, 'hex'));
}
