/**
 * Numeric ids for jobs and instances. All ids stay below 2^53 so they are exact as
 * JSON numbers in JavaScript and Java alike.
 *
 * - Fresh ids (no idempotency key) live in [1, 2^52): milliseconds since 2025-01-01
 *   times 1024 plus 10 random bits. Temporal's workflow/schedule id uniqueness catches
 *   the rare clash and the caller draws again.
 * - Keyed ids live in [2^52, 2^53): a hash of the identity (app, job, key), so the same
 *   key always maps to the same id, whichever API replica receives the request.
 * Pure module: safe inside deterministic workflow code.
 */

const ID_EPOCH_MS = Date.UTC(2025, 0, 1);
const KEYED_ID_BASE = 2 ** 52;

export function freshId(nowMs: number, random10Bits: number): number {
  return Math.max(1, nowMs - ID_EPOCH_MS) * 1024 + (random10Bits & 1023);
}

export function keyedId(...parts: (string | number)[]): number {
  return KEYED_ID_BASE + Number(fnv1a64(parts.join('\u0000')) & ((1n << 52n) - 1n));
}

export function isKeyedId(id: number): boolean {
  return id >= KEYED_ID_BASE;
}

/** FNV-1a, 64-bit, over the UTF-16 code units of the input. */
export function fnv1a64(input: string): bigint {
  let hash = 0xcbf29ce484222325n;
  for (let i = 0; i < input.length; i++) {
    hash ^= BigInt(input.charCodeAt(i));
    hash = (hash * 0x100000001b3n) & 0xffffffffffffffffn;
  }
  return hash;
}

export function hashHex(input: string): string {
  return fnv1a64(input).toString(16).padStart(16, '0');
}
