import type { Envelope } from '../../src/api/envelope.js';

export interface ApiResponse<T = unknown> {
  status: number;
  headers: Headers;
  body: Envelope<T>;
}

export interface CallOptions {
  /** Send a form body (as PowerJob's client does for most calls) instead of JSON. */
  form?: boolean;
  idempotencyKey?: string;
  headers?: Record<string, string>;
  /** Raw body text, sent as JSON content type (for malformed-input tests). */
  raw?: string;
}

/** A request body: an object, or a list (addWorkflowNode takes a JSON list of nodes). */
export type Body = Record<string, unknown> | readonly unknown[];

/** A bare HTTP caller of /openApi/*, authenticated as one app. */
export class OpenApiCaller {
  constructor(
    readonly baseUrl: string,
    readonly appId: number,
    readonly token: string,
  ) {}

  static async login(baseUrl: string, appName: string, password: string): Promise<OpenApiCaller> {
    const res = await post(baseUrl, 'authApp', { appName, encryptedPassword: password, encryptType: 'none' });
    if (!res.body.success) throw new Error(`authApp failed: ${res.body.message}`);
    const { appId, token } = res.body.data as { appId: number; token: string };
    return new OpenApiCaller(baseUrl, appId, token);
  }

  call<T = unknown>(operation: string, body: Body = {}, options: CallOptions = {}): Promise<ApiResponse<T>> {
    return post<T>(this.baseUrl, operation, body, {
      ...options,
      headers: { 'X-POWERJOB-APP-ID': String(this.appId), 'X-POWERJOB-ACCESS-TOKEN': this.token, ...options.headers },
    });
  }

  /** Calls and returns `data`, failing the test on a business error. */
  async data<T = unknown>(operation: string, body: Body = {}, options: CallOptions = {}): Promise<T> {
    const res = await this.call<T>(operation, body, options);
    if (!res.body.success) throw new Error(`${operation} failed: ${res.body.message}`);
    return res.body.data as T;
  }
}

export async function post<T = unknown>(
  baseUrl: string,
  operation: string,
  body: Body,
  options: CallOptions = {},
): Promise<ApiResponse<T>> {
  const headers: Record<string, string> = { ...options.headers };
  let payload: string;
  if (options.raw !== undefined) {
    headers['Content-Type'] = 'application/json';
    payload = options.raw;
  } else if (options.form) {
    headers['Content-Type'] = 'application/x-www-form-urlencoded';
    payload = new URLSearchParams(Object.entries(body).map(([k, v]): [string, string] => [k, String(v)])).toString();
  } else {
    headers['Content-Type'] = 'application/json; charset=utf-8';
    payload = JSON.stringify(body);
  }
  if (options.idempotencyKey) headers['Idempotency-Key'] = options.idempotencyKey;
  const res = await fetch(`${baseUrl}/openApi/${operation}`, { method: 'POST', headers, body: payload });
  return { status: res.status, headers: res.headers, body: (await res.json()) as Envelope<T> };
}
