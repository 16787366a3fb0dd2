/**
 * The two ways a call can fail, kept apart because they call for opposite reactions: a
 * `TempojobError` is the server's verdict (retrying the same request gets the same answer),
 * a `TransportError` means the answer never arrived (the call may or may not have taken
 * effect, and only a re-send with the same Idempotency-Key is safe).
 */

/** The server answered `success: false`. Nothing to gain from re-sending the same request. */
export class TempojobError extends Error {
  override name = 'TempojobError';

  constructor(
    message: string,
    /** PowerJob's error code, e.g. `-501` (not found, or a state that forbids the call); null when the server gave none. */
    readonly code: string | null,
    readonly operation: string,
    /**
     * The key the call was sent with, if it changes state. A `-500` answer (the server could
     * not reach Temporal in time) may be re-tried later with this key, at no risk of a double effect.
     */
    readonly idempotencyKey: string | undefined,
  ) {
    super(message);
  }
}

/**
 * No answer was received: network error, timeout, or an HTTP error page without an
 * envelope. When thrown by a call, its retries are spent (or the failure is not worth
 * retrying, see `retryable`); whether a mutating call took effect is unknown.
 */
export class TransportError extends Error {
  override name = 'TransportError';

  constructor(
    message: string,
    readonly operation: string,
    /** Worth another try: the request may simply not have got through, or its answer was lost. */
    readonly retryable: boolean,
    /** How many times the request was sent before giving up. */
    readonly attempts: number,
    /**
     * The key every attempt carried. Re-send later with `{ idempotencyKey }` to finish the
     * call: the server maps it to the first outcome, so it never acts twice.
     */
    readonly idempotencyKey: string | undefined,
    /** HTTP status of an answer that was not an envelope, else undefined. */
    readonly status?: number,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}
