import { z } from 'zod';
import { DEFAULT_CORE_TASK_QUEUE } from './contract/names.js';

/**
 * Configuration, read from environment variables only. Each variable is documented in
 * the README's configuration table; a wrong value stops start-up with a message
 * naming the variable.
 */

const port = z.coerce.number().int().min(1).max(65535);
const duration = z.coerce.number().int().positive();
const unsetIfEmpty = <T extends z.ZodType>(schema: T) => z.preprocess((value) => (value === '' ? undefined : value), schema);

export const configSchema = z.object({
  TEMPORAL_ADDRESS: z.string().min(1).optional()
    .describe('host:port of an external Temporal frontend; unset = `npm start` runs the embedded dev server'),
  TEMPORAL_NAMESPACE: z.string().min(1).default('default').describe('Temporal namespace'),
  TEMPORAL_TLS: z.enum(['true', 'false'], { message: 'TEMPORAL_TLS must be "true" or "false"' }).optional().transform((v) => v === 'true')
    .describe('connect to Temporal over TLS, trusting the system\'s CAs (Temporal Cloud); implied by any other TEMPORAL_TLS_* variable and by TEMPORAL_API_KEY'),
  TEMPORAL_TLS_CA_PATH: z.string().min(1).optional().describe('PEM file of the CA that signed the Temporal frontend\'s certificate (a private CA); unset = the system\'s CAs'),
  TEMPORAL_TLS_CERT_PATH: z.string().min(1).optional().describe('mTLS: PEM file of this process\'s client certificate (with TEMPORAL_TLS_KEY_PATH)'),
  TEMPORAL_TLS_KEY_PATH: z.string().min(1).optional().describe('mTLS: PEM file of the client certificate\'s private key (with TEMPORAL_TLS_CERT_PATH)'),
  TEMPORAL_TLS_SERVER_NAME: z.string().min(1).optional().describe('the name the frontend\'s certificate is checked against, when it is not the host of TEMPORAL_ADDRESS'),
  TEMPORAL_API_KEY: z.string().min(1).optional().describe('Temporal Cloud API key, sent as a bearer token (over TLS)'),
  TEMPORAL_PORT: port.default(7233).describe('gRPC port of the embedded dev server'),
  TEMPORAL_UI_PORT: port.default(8233).describe('Web UI port of the embedded dev server'),
  TEMPORAL_CLI_PATH: z.string().min(1).optional().describe('path of a `temporal` CLI to use instead of finding or building one'),
  TEMPOJOB_DATA_DIR: z.string().min(1).default('.data').describe('folder for the embedded stack: Temporal SQLite file, generated secrets'),
  TEMPOJOB_PORT: port.default(7700).describe('HTTP port of the API (PowerJob default)'),
  TEMPOJOB_HOST: z.string().min(1).default('0.0.0.0').describe('interface the API listens on'),
  TEMPOJOB_CORE_TASK_QUEUE: z.string().min(1).default(DEFAULT_CORE_TASK_QUEUE).describe('task queue of the core worker'),
  TEMPOJOB_ADMIN_TOKEN: z.string().min(16, 'TEMPOJOB_ADMIN_TOKEN must be at least 16 characters').optional()
    .describe('bearer token for /admin/*; unset = admin endpoints are disabled (the embedded stack generates one)'),
  TEMPOJOB_APPS: z.string().optional().describe('apps to create or update at start-up: "name:password,name2:password2"'),
  TEMPOJOB_JWT_SECRET: z.string().min(32, 'TEMPOJOB_JWT_SECRET must be at least 32 characters').optional()
    .describe('HMAC secret for access tokens; required when running the API outside the embedded stack'),
  TEMPOJOB_TOKEN_TTL_SECONDS: duration.default(604_800).describe('access token lifetime (PowerJob: 7 days)'),
  TEMPOJOB_CORS_ORIGINS: z.string().default('').transform((text, ctx) => {
    const origins = text.split(',').map((origin) => origin.trim()).filter(Boolean);
    for (const origin of origins) {
      if (!/^https?:\/\/[^/\s]+$/.test(origin)) ctx.addIssue({ code: 'custom', message: `TEMPOJOB_CORS_ORIGINS: "${origin}" is not an origin (scheme://host[:port], no path), e.g. https://ops.example.com` });
    }
    return origins;
  }).describe('browser origins allowed to call /openApi from other sites (comma-separated, e.g. "https://ops.example.com"); unset = none (the console is same-origin)'),
  TEMPOJOB_TRUST_PROXY: z.string().optional().transform((text) => {
    if (text === undefined || text === '') return undefined;
    if (text === 'true' || text === 'false') return text === 'true';
    return /^\d+$/.test(text) ? Number(text) : text;
  }).describe('the proxies in front of the API whose X-Forwarded-For names the client (login throttling by address): "true", a hop count, or addresses/subnets ("loopback, 10.0.0.0/8"); unset = the connection\'s address'),
  TEMPOJOB_DEFAULT_TIME_ZONE: z.string().min(1).default('UTC')
    .refine((zone) => { try { new Intl.DateTimeFormat('en-US', { timeZone: zone }); return true; } catch { return false; } },
      'TEMPOJOB_DEFAULT_TIME_ZONE must be an IANA time zone, e.g. "UTC" or "Europe/Berlin"')
    .describe('time zone of CRON and DAILY_TIME_INTERVAL jobs that name none'),
  TEMPOJOB_HEARTBEAT_TIMEOUT_MS: duration.default(10_000)
    .describe('a processor attempt whose worker stops heartbeating for this long counts as lost'),
  TEMPOJOB_API_CALL_TIMEOUT_MS: duration.default(10_000)
    .describe('how long the API waits for Temporal before answering with an error'),
  TEMPOJOB_CORE_MAX_CACHED_WORKFLOWS: z.coerce.number().int().min(2).default(200)
    .describe('workflows a core worker keeps in memory between tasks (~430 KB each); the rest are replayed from history when they wake'),
  TEMPOJOB_LOG_DATABASE_URL: z.string().regex(/^postgres(ql)?:\/\//, 'TEMPOJOB_LOG_DATABASE_URL must be a postgres:// URL').optional()
    .describe('PostgreSQL database of instance logs (the API replicas share it); unset = an embedded PostgreSQL (PGlite) in TEMPOJOB_LOG_DIR'),
  TEMPOJOB_LOG_DIR: z.string().min(1).optional()
    .describe('data folder of the embedded log store when TEMPOJOB_LOG_DATABASE_URL is unset (`npm start`: <TEMPOJOB_DATA_DIR>/logs); unset too = in memory'),
  TEMPOJOB_LOG_RETENTION_DAYS: z.coerce.number().positive().default(3)
    .describe('instance log lines older than this are purged (default: the dev server namespace\'s retention, 3 days)'),
  TEMPOJOB_API_URL: z.string().url('TEMPOJOB_API_URL must be a URL, e.g. http://tempojob:7700').optional()
    .describe('processor workers: the API their processors\' online log lines are shipped to (the part before /openApi); unset = lines go to the worker\'s own log'),
  TEMPOJOB_APP_PASSWORD: z.string().min(1).optional()
    .describe('processor workers: their app\'s password, to ship online log lines to TEMPOJOB_API_URL'),
  TEMPOJOB_METRICS_PUBLIC: z.enum(['true', 'false']).default('false').transform((v) => v === 'true')
    .describe('the API\'s GET /metrics without a token; default false: it asks for Authorization: Bearer $TEMPOJOB_ADMIN_TOKEN'),
  TEMPOJOB_METRICS_PORT: port.optional()
    .describe('core worker processes (src/core/main.ts) and processor workers (createWorker): serve GET /metrics (Prometheus) on this port; unset = none (the API serves its own at /metrics)'),
  TEMPOJOB_METRICS_HOST: z.string().min(1).default('0.0.0.0').describe('interface the TEMPOJOB_METRICS_PORT server listens on'),
  TEMPOJOB_METRICS_TOKEN: z.string().min(16, 'TEMPOJOB_METRICS_TOKEN must be at least 16 characters').optional()
    .describe('bearer token the TEMPOJOB_METRICS_PORT server asks for; default TEMPOJOB_ADMIN_TOKEN; neither = unauthenticated'),
  TEMPOJOB_TEMPORAL_METRICS_ADDRESS: z.string().regex(/^[^\s:]+:\d{1,5}$/, 'TEMPOJOB_TEMPORAL_METRICS_ADDRESS must be host:port, e.g. 0.0.0.0:9464').optional()
    .describe('core worker processes and processor workers: where the Temporal SDK\'s own Prometheus exporter listens (host:port); unset = off'),
  TEMPOJOB_SMTP_URL: z.string().regex(/^smtps?:\/\//, 'TEMPOJOB_SMTP_URL must be an smtp:// or smtps:// URL, e.g. smtp://user:pass@mail.example.com:587').optional()
    .describe('alerting: the SMTP server email alerts are sent through (smtp://user:pass@host:port, smtps:// for TLS); unset = email targets fail with "SMTP is not configured"'),
  TEMPOJOB_ALERT_FROM: z.string().min(3).default('tempojob <tempojob@localhost>')
    .describe('alerting: the From address of email alerts'),
  TEMPOJOB_PUBLIC_API_URL: z.string().url('TEMPOJOB_PUBLIC_API_URL must be a URL, e.g. https://tempojob.example.com').optional()
    .describe('alerting: the API\'s address as readers of an alert reach it (links to the instance); `npm start`: the API it runs; unset = no API link'),
  TEMPOJOB_WEB_UI_URL: z.string().url('TEMPOJOB_WEB_UI_URL must be a URL, e.g. https://temporal-ui.example.com').optional()
    .describe('alerting: Temporal\'s Web UI as readers of an alert reach it (links to the workflow); `npm start`: the dev server\'s UI; unset = no Web UI link'),
  TEMPOJOB_ALERT_SCAN_MS: z.coerce.number().int().min(200).default(5_000)
    .describe('alerting: how often a core worker with a store looks for failed runs (ms); an alert goes out at most about this long after the failure'),
  TEMPOJOB_WORKFLOW_BUNDLE: z.string().min(1).optional()
    .describe('prebuilt workflow bundle for the core worker process (src/core/main.ts); unset = bundle at start-up'),
  // OpenTelemetry's standard variables (docs/tracing.md): tracing is off, at no cost, unless an endpoint is set.
  // As OpenTelemetry's spec says, an empty value is the same as unset.
  OTEL_EXPORTER_OTLP_ENDPOINT: unsetIfEmpty(z.string().url('OTEL_EXPORTER_OTLP_ENDPOINT must be a URL, e.g. http://otel-collector:4318').optional())
    .describe('traces: base URL of an OTLP/HTTP receiver (a collector, Jaeger, Tempo); spans go to <it>/v1/traces. Unset (and no OTEL_EXPORTER_OTLP_TRACES_ENDPOINT) = no tracing'),
  OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: unsetIfEmpty(z.string().url('OTEL_EXPORTER_OTLP_TRACES_ENDPOINT must be a URL, e.g. http://otel-collector:4318/v1/traces').optional())
    .describe('traces: full OTLP/HTTP traces URL, used as is (wins over OTEL_EXPORTER_OTLP_ENDPOINT)'),
  OTEL_SERVICE_NAME: unsetIfEmpty(z.string().optional())
    .describe('traces: service.name of this process\'s spans; unset = tempojob-api, tempojob-core-worker or tempojob-worker'),
  OTEL_SDK_DISABLED: unsetIfEmpty(z.string().optional()).describe('traces: "true" turns tracing off whatever the endpoint'),
  OTEL_TRACES_EXPORTER: unsetIfEmpty(z.enum(['otlp', 'none'], 'OTEL_TRACES_EXPORTER must be "otlp" or "none" (tempojob exports OTLP/HTTP only)').optional())
    .describe('traces: "none" turns tracing off; "otlp" (the default) exports over OTLP/HTTP'),
});

export type Config = z.infer<typeof configSchema>;

export class ConfigError extends Error {
  override name = 'ConfigError';
}

type Env = Record<string, string | undefined>;

export function loadConfig(env: Env = process.env): Config {
  return parsed(configSchema.safeParse(env));
}

/** Some variables alone, validated like the rest: for code that runs without the whole configuration (the worker SDK, the CLI finder). */
export function loadConfigPart<K extends keyof Config>(keys: readonly K[], env: Env = process.env): Pick<Config, K> {
  const part = z.object(Object.fromEntries(keys.map((key) => [key, configSchema.shape[key]])));
  return parsed(part.safeParse(env)) as unknown as Pick<Config, K>;
}

function parsed<T>(result: z.ZodSafeParseResult<T>): T {
  if (!result.success) {
    const problems = result.error.issues.map((issue) => `  ${issue.path.join('.')}: ${issue.message}`);
    throw new ConfigError(`Invalid configuration:\n${problems.join('\n')}`);
  }
  return result.data;
}

/** Parses TEMPOJOB_APPS ("name:password,…"). */
export function parseSeedApps(value: string | undefined): { appName: string; password: string }[] {
  if (!value?.trim()) return [];
  return value.split(',').map((entry) => {
    const at = entry.indexOf(':');
    const appName = entry.slice(0, at).trim();
    const password = entry.slice(at + 1);
    if (at <= 0 || !password) {
      throw new ConfigError(`TEMPOJOB_APPS entry "${entry}" must look like name:password`);
    }
    return { appName, password };
  });
}
