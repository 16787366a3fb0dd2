import cors from 'cors';
import helmet from 'helmet';
import type { RequestHandler } from 'express';
import { AUTH_HEADERS } from './auth.js';

/**
 * Security headers on every answer (helmet's defaults: a Content-Security-Policy allowing
 * only this origin's scripts, no framing, nosniff, no referrer to other sites, …), except
 * `upgrade-insecure-requests`: the API is often reached over plain HTTP inside a cluster or on
 * localhost, where upgrading the pages' own requests to HTTPS would break them.
 */
export function securityHeaders(): RequestHandler {
  return helmet({
    contentSecurityPolicy: { directives: { upgradeInsecureRequests: null } },
  });
}

/** CORS for /openApi: only the listed origins, only the headers the OpenAPI reads and answers. */
export function corsPolicy(origins: readonly string[]): RequestHandler {
  return cors({
    origin: [...origins],
    methods: ['GET', 'POST'],
    allowedHeaders: ['Content-Type', 'Content-Encoding', AUTH_HEADERS.appId, AUTH_HEADERS.token, 'Idempotency-Key', 'Last-Event-ID'],
    exposedHeaders: [AUTH_HEADERS.verdict, 'Retry-After'],
    maxAge: 600,
  });
}
