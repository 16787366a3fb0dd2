/**
 * Every error the API can answer with. Each has PowerJob's string error code where
 * PowerJob defines one, and a message that tells the caller what to fix.
 */

export const ErrorCode = {
  INVALID_REQUEST: '-300',
  INCORRECT_PASSWORD: '-400',
  INVALID_TOKEN: '-401',
  INVALID_APP: '-402',
  TOKEN_EXPIRED: '-403',
  SYSTEM_UNKNOWN_ERROR: '-500',
  ILLEGAL_ARGS_ERROR: '-501',
  OPEN_API_AUTH_FAILED: '-1002',
} as const;

export class ApiError extends Error {
  constructor(
    message: string,
    readonly code: string | null = null,
    /** HTTP status for non-PowerJob routes; /openApi answers 200 like PowerJob. */
    readonly httpStatus = 400,
  ) {
    super(message);
  }
}

/** The request is malformed or breaks a rule: nothing was changed. */
export class InvalidRequestError extends ApiError {
  override name = 'InvalidRequestError';
  constructor(message: string) {
    super(message, ErrorCode.INVALID_REQUEST);
  }
}

/** The job or instance does not exist for the calling app. */
export class NotFoundError extends ApiError {
  override name = 'NotFoundError';
  constructor(message: string) {
    super(message, ErrorCode.ILLEGAL_ARGS_ERROR, 404);
  }
}

/** The request is valid but the target's state forbids it (e.g. stop a finished instance). */
export class StateConflictError extends ApiError {
  override name = 'StateConflictError';
  constructor(message: string) {
    super(message, ErrorCode.ILLEGAL_ARGS_ERROR, 409);
  }
}

/** An Idempotency-Key was reused for a different request. */
export class IdempotencyKeyReuseError extends ApiError {
  override name = 'IdempotencyKeyReuseError';
  constructor(key: string) {
    super(`Idempotency-Key "${key}" was already used for a different request; use a new key for a new request`, ErrorCode.INVALID_REQUEST, 422);
  }
}

export class AuthError extends ApiError {
  override name = 'AuthError';
  constructor(message: string, code: string) {
    super(message, code, 401);
  }
}

/** Too many failed logins from this address (for this app): try again in `retryAfterS` seconds. */
export class ThrottledError extends ApiError {
  override name = 'ThrottledError';
  constructor(readonly retryAfterS: number) {
    super(`too many failed logins from this address: try again in ${retryAfterS} s`, ErrorCode.INCORRECT_PASSWORD, 429);
  }
}

/** Temporal did not answer in time; the request may be retried with the same Idempotency-Key. */
export class UnavailableError extends ApiError {
  override name = 'UnavailableError';
  constructor(message: string) {
    super(message, ErrorCode.SYSTEM_UNKNOWN_ERROR, 503);
  }
}
