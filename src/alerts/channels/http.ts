/**
 * The HTTP half every chat/webhook channel shares: one POST with a timeout and no redirects,
 * and the one retry classification. Retryable (a plain Error): the network, a timeout, 408,
 * 429, 5xx, a service's "too fast"/"busy" code. Permanent (PermanentDeliveryError): any other
 * 4xx, a redirect, a refusal code, an answer that is not the service's. Messages name the
 * service and the host only: webhook URLs carry their credential (path or query), so the
 * full URL never appears in an error.
 */
import { PermanentDeliveryError } from '../types.js';

export const DEFAULT_TIMEOUT_MS = 10_000;
/** How much of an answer is read: services answer in bytes; a stray endpoint may stream. */
const MAX_ANSWER_BYTES = 64 * 1024;
/** How much of an answer an error message quotes. */
const EXCERPT_CHARS = 300;

export interface HttpAnswer {
  status: number;
  /** The answer's text, at most 64 KiB of it. */
  body: string;
}

export interface PostOptions {
  /** The service's name in messages: "Slack", "DingTalk", "the webhook". */
  service: string;
  /** The context's timeout; default DEFAULT_TIMEOUT_MS. */
  timeoutMs?: number | undefined;
  headers?: Record<string, string>;
}

/** The configured URL, or a PermanentDeliveryError when it is no http(s) URL. */
export function serviceUrl(raw: string, service: string): URL {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new PermanentDeliveryError(`${service}: the target's URL is not a valid URL; set the URL the service gave you`);
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    throw new PermanentDeliveryError(`${service}: the target's URL must be http(s), not ${url.protocol}`);
  }
  return url;
}

/**
 * POSTs `body` as JSON. Resolves with any answer whose status is not retryable (2xx and the
 * other 4xx: the channel decides); throws a plain Error for the network, a timeout, 408, 429
 * and 5xx, and a PermanentDeliveryError for a redirect.
 */
export async function postJson(url: URL, body: string, options: PostOptions): Promise<HttpAnswer> {
  const { service, timeoutMs = DEFAULT_TIMEOUT_MS } = options;
  const where = `${service} (${url.host})`;
  let answer: HttpAnswer;
  try {
    const response = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json; charset=utf-8', 'user-agent': 'tempojob-alerts', ...options.headers },
      body,
      redirect: 'error',
      signal: AbortSignal.timeout(timeoutMs),
    });
    answer = { status: response.status, body: await readAtMost(response, MAX_ANSWER_BYTES) };
  } catch (err) {
    throw fetchFailure(err, where, timeoutMs);
  }
  if (isRetryableStatus(answer.status)) {
    throw new Error(`${where} answered HTTP ${answer.status}${quote(answer.body)}; will retry`);
  }
  return answer;
}

/** 2xx, or a PermanentDeliveryError saying what the service answered and what to fix. */
export function expectSuccess(answer: HttpAnswer, where: string, fix: string): void {
  if (answer.status >= 200 && answer.status < 300) return;
  throw new PermanentDeliveryError(`${where} refused the alert with HTTP ${answer.status}${quote(answer.body)}. ${fix}`);
}

/** How a chat robot (Lark, DingTalk, WeCom) reports the outcome in its JSON answer. */
export interface CodeAnswerRules {
  where: string;
  /** The outcome code, or undefined when the answer has none. */
  code: (json: Record<string, unknown>) => unknown;
  message: (json: Record<string, unknown>) => unknown;
  /** Codes that mean "too fast" or "busy": retried. */
  retryableCodes: readonly number[];
  /** What to fix for a refusal code (a generic hint when it returns undefined). */
  fixFor: (code: number) => string | undefined;
  /** The hint for an answer that is not this service's. */
  notTheService: string;
}

/**
 * Success is HTTP 2xx with code 0. A retryable code throws a plain Error; any other code, a
 * 4xx, or an answer without the code throws a PermanentDeliveryError.
 */
export function expectCodeZero(answer: HttpAnswer, rules: CodeAnswerRules): void {
  const json = parseObject(answer.body);
  const code = json === undefined ? undefined : rules.code(json);
  if (typeof code !== 'number') {
    if (answer.status < 200 || answer.status >= 300) {
      throw new PermanentDeliveryError(`${rules.where} refused the alert with HTTP ${answer.status}${quote(answer.body)}. ${rules.notTheService}`);
    }
    throw new PermanentDeliveryError(`${rules.where} answered HTTP ${answer.status} without a result code${quote(answer.body)}. ${rules.notTheService}`);
  }
  if (code === 0 && answer.status >= 200 && answer.status < 300) return;
  const said = json === undefined ? '' : rules.message(json);
  const what = `${rules.where} answered HTTP ${answer.status}, code ${code}${typeof said === 'string' && said !== '' ? ` (${excerpt(said)})` : ''}`;
  if (rules.retryableCodes.includes(code)) throw new Error(`${what}; will retry`);
  throw new PermanentDeliveryError(`${what}. ${rules.fixFor(code) ?? 'Check the target: sending the same alert again would be refused again.'}`);
}

export function isRetryableStatus(status: number): boolean {
  return status === 408 || status === 429 || status >= 500;
}

function fetchFailure(err: unknown, where: string, timeoutMs: number): Error {
  if (err instanceof Error && (err.name === 'TimeoutError' || err.name === 'AbortError')) {
    return new Error(`${where} did not answer within ${timeoutMs} ms; will retry`);
  }
  const cause = err instanceof Error && err.cause instanceof Error ? err.cause : undefined;
  if (cause?.message === 'unexpected redirect') {
    return new PermanentDeliveryError(`${where} answered with a redirect, which alerts do not follow: set the target's URL to the final address`);
  }
  const detail = cause ? ((cause as NodeJS.ErrnoException).code ?? cause.message) : err instanceof Error ? err.message : String(err);
  return new Error(`${where} could not be reached (${detail}); will retry`);
}

async function readAtMost(response: Response, maxBytes: number): Promise<string> {
  if (response.body === null) return '';
  const reader = response.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    chunks.push(value);
    size += value.byteLength;
    if (size >= maxBytes) {
      await reader.cancel();
      break;
    }
  }
  return Buffer.concat(chunks).subarray(0, maxBytes).toString('utf8');
}

function parseObject(text: string): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(text);
    return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

/** A short, single-line excerpt of an answer for an error message. */
export function excerpt(text: string): string {
  const flat = text.replace(/\s+/g, ' ').trim();
  return flat.length > EXCERPT_CHARS ? `${flat.slice(0, EXCERPT_CHARS)}…` : flat;
}

function quote(body: string): string {
  const short = excerpt(body);
  return short === '' ? '' : `: ${short}`;
}
