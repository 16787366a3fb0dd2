import type { Request } from 'express';
import { ApiError, ErrorCode, InvalidRequestError } from './errors.js';

/**
 * What went wrong with a request before any route ran — its path, encoding, charset or body
 * as the HTTP layer (Express's router, body-parser, zlib) refused it — as the API's own error,
 * with a message that says what to send instead. Undefined: not the client's mistake.
 */
export function requestErrorOf(err: unknown, req: Request): ApiError | undefined {
  if (!(err instanceof Error)) return undefined;
  const { type, status, limit, charset, encoding, errno } = err as Error & {
    type?: string; status?: number; limit?: number; charset?: string; encoding?: string; errno?: number;
  };
  switch (type) {
    case 'entity.parse.failed':
      return new InvalidRequestError(`malformed ${bodyKind(req)} body: ${err.message}`);
    case 'entity.too.large':
      return new ApiError(`request body is larger than ${sizeText(limit)}`, ErrorCode.INVALID_REQUEST, 413);
    case 'charset.unsupported':
      return new ApiError(`charset "${charset ?? '?'}" is not supported: send the body in UTF-8`, ErrorCode.INVALID_REQUEST, 415);
    case 'encoding.unsupported':
      return new ApiError(
        `Content-Encoding "${encoding ?? req.get('content-encoding') ?? '?'}" is not supported: send the body as is, or gzip, deflate or br`,
        ErrorCode.INVALID_REQUEST, 415,
      );
    case 'parameters.too.many':
      return new InvalidRequestError('the form body has too many parameters: send JSON instead');
    case 'request.size.invalid':
      return new InvalidRequestError('the body is not as long as its Content-Length says');
    case 'request.aborted':
      return new InvalidRequestError('the client closed the request before its body arrived');
    default:
  }
  // A compressed body that does not decompress: zlib's errors carry its errno.
  const contentEncoding = req.get('content-encoding');
  if (typeof errno === 'number' && contentEncoding) {
    return new InvalidRequestError(`the body is not valid ${contentEncoding} data (${err.message}): send it as is, or compressed as Content-Encoding says`);
  }
  if (err instanceof URIError) {
    return new InvalidRequestError(`the path ${JSON.stringify(req.originalUrl)} holds a malformed percent-encoding (a "%" not followed by two hex digits): encode "%" as %25`);
  }
  // Any other refusal of the HTTP layer that it marks as the client's (http-errors' 4xx).
  if (typeof status === 'number' && status >= 400 && status < 500 && (err as { expose?: boolean }).expose) {
    return new ApiError(err.message, ErrorCode.INVALID_REQUEST, status);
  }
  return undefined;
}

function bodyKind(req: Request): string {
  return req.is('application/x-www-form-urlencoded') ? 'form' : 'JSON';
}

/** A body limit in words: 1048576 → "1 MB", 102400 → "100 KB". */
function sizeText(bytes: number | undefined): string {
  if (bytes === undefined) return 'the limit';
  if (bytes >= 1024 * 1024 && bytes % (1024 * 1024) === 0) return `${bytes / (1024 * 1024)} MB`;
  if (bytes >= 1024 && bytes % 1024 === 0) return `${bytes / 1024} KB`;
  return `${bytes} bytes`;
}
