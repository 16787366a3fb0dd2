import { createHash } from 'node:crypto';
import type { Request } from 'express';
import type { CreatedBy } from '../domain/job.js';
import { isAlreadyStarted } from '../temporal/errors.js';
import { IdempotencyKeyReuseError, InvalidRequestError } from './errors.js';

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

/** What a create records of its Idempotency-Key, to recognise a repeat later. */
export function createdByOf(idempotency: Idempotency | null): CreatedBy | null {
  return idempotency ? { idempotencyKey: idempotency.key, requestHash: idempotency.hash } : null;
}

/** Fresh ids that clash, or derived ids taken by another key's hash clash, are drawn again this many times. */
export const CREATE_ATTEMPTS = 6;

export interface IdempotentCreate {
  idempotency: Idempotency | null;
  /** The id of attempt `attempt`: derived from the key when there is one, fresh otherwise. */
  idOf(attempt: number): number;
  /** Creates the thing under `id`; Temporal's id uniqueness refuses a second one. */
  create(id: number): Promise<void>;
  /** Who created what now holds `id` (null: not a keyed create of this caller's scope). */
  createdBy(id: number): Promise<CreatedBy | null | undefined>;
}

/**
 * Creates a job or an instance exactly once per Idempotency-Key, under ids Temporal keeps
 * unique. On a clash: same key and body → the existing id; same key, other body →
 * IdempotencyKeyReuseError; another key (a hash clash) or no key → the next id.
 */
export async function createIdempotently(how: IdempotentCreate): Promise<number> {
  for (let attempt = 0; ; attempt++) {
    const id = how.idOf(attempt);
    try {
      await how.create(id);
      return id;
    } catch (err) {
      if (!isAlreadyStarted(err) || attempt >= CREATE_ATTEMPTS - 1) throw err;
      const { idempotency } = how;
      if (!idempotency) continue;
      const createdBy = await how.createdBy(id);
      if (createdBy?.idempotencyKey !== idempotency.key) continue;
      if (createdBy.requestHash !== idempotency.hash) throw new IdempotencyKeyReuseError(idempotency.key);
      return id;
    }
  }
}
