import { createHash } from 'node:crypto';
import type { Request } from 'express';
import { InvalidRequestError } from './errors.js';

/** An Idempotency-Key, bound to a hash of the request it came with. */
export interface Idempotency {
  key: string;
  hash: string;
}

const KEY_FORMAT = /^[\x21-\x7e]{1,255}$/;

export function requestHash(body: unknown): string {
  return createHash('sha256').update(JSON.stringify(body ?? null)).digest('hex');
}

/** The Idempotency-Key header of a mutating call, or null when the caller sent none. */
export function idempotencyOf(req: Request, body: unknown): Idempotency | null {
  const key = req.get('Idempotency-Key');
  if (key === undefined) return null;
  if (!KEY_FORMAT.test(key)) throw new InvalidRequestError('Idempotency-Key must be 1-255 visible ASCII characters');
  return { key, hash: requestHash(body) };
}
