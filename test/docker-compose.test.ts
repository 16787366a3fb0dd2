import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseDocument } from 'yaml';
import { configSchema } from '../src/config.js';
import { PROJECT_ROOT } from '../src/temporal/cli.js';
import { ALL_SEARCH_ATTRIBUTES } from '../src/contract/search-attributes.js';

/**
 * docker-compose.yml is the production topology as a local stack. No Docker engine runs
 * here, so this reads the file: it must parse, hold every service of the topology on the
 * Temporal version the project runs, and give tempojob's services only variables of the
 * app's configuration schema (src/config.ts), with values that schema accepts, pointing at
 * the right services and ports. A wrong variable is named as an error.
 */

const COMPOSE_FILE = join(PROJECT_ROOT, 'docker-compose.yml');
/** The server version of the Temporal CLI v1.5.1 dev server and of scripts/cluster/up.sh. */
const TEMPORAL_SERVER_VERSION = /TEMPORAL_SERVER_VERSION="\$\{TEMPOJOB_TEMPORAL_SERVER_VERSION:-v([\d.]+)\}"/
  .exec(readFileSync(join(PROJECT_ROOT, 'scripts', 'cluster', 'env.sh'), 'utf8'))?.[1];
const TOPOLOGY = ['postgresql', 'temporal', 'temporal-ui', 'api', 'core-worker', 'processor-worker'] as const;
const SA_TYPE = { INT: 'Int', KEYWORD: 'Keyword', DATETIME: 'Datetime', TEXT: 'Text', BOOL: 'Bool', DOUBLE: 'Double', KEYWORD_LIST: 'KeywordList' } as const;

type Service = {
  image?: string;
  build?: unknown;
  command?: string[] | string;
  entrypoint?: string[] | string;
  environment?: Record<string, unknown> | string[];
  ports?: (string | number | { target: number; published?: number | string })[];
  volumes?: (string | { type?: string; source?: string })[];
  depends_on?: string[] | Record<string, { condition?: string }>;
  healthcheck?: { test?: string[] | string };
};
type Compose = { services?: Record<string, Service> };

/** Compose's variable interpolation, as `docker compose up` sees it without a .env file. */
function interpolate(value: string, env: Record<string, string | undefined>): string {
  return value.replace(/\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?-)([^}]*))?\}|\$([A-Za-z_][A-Za-z0-9_]*)/g,
    (match, braced: string | undefined, op: string | undefined, fallback: string | undefined, bare: string | undefined) => {
      if (match === '$$') return '$';
      const name = braced ?? bare!;
      const set = env[name];
      if (op === ':-') return set ? set : fallback ?? '';
      if (op === '-') return set ?? fallback ?? '';
      return set ?? '';
    });
}

function environmentOf(service: Service, env: Record<string, string | undefined>): Record<string, string> {
  const raw = service.environment ?? {};
  const entries: [string, string][] = Array.isArray(raw)
    ? raw.map((item) => { const at = item.indexOf('='); return at < 0 ? [item, ''] : [item.slice(0, at), item.slice(at + 1)]; })
    : Object.entries(raw).map(([key, value]) => [key, value === null || value === undefined ? '' : String(value)]);
  return Object.fromEntries(entries.map(([key, value]) => [key, interpolate(value, env)]));
}

/** Container ports a service publishes, from short ("8080:80", "127.0.0.1:8080:80") or long syntax. */
function containerPorts(service: Service): number[] {
  return (service.ports ?? []).map((port) => {
    if (typeof port === 'object') return Number(port.target);
    const spec = String(port).split('/')[0]!;
    return Number(spec.slice(spec.lastIndexOf(':') + 1));
  });
}

function words(value: string[] | string | undefined): string[] {
  return Array.isArray(value) ? value : (value ?? '').split(/\s+/).filter(Boolean);
}

/**
 * Every problem of a compose document, each naming the service and the variable or key.
 * `env` is the environment compose would interpolate with (default: none, i.e. defaults).
 */
function checkCompose(compose: Compose, env: Record<string, string | undefined> = {}): string[] {
  const errors: string[] = [];
  const services = compose.services ?? {};
  for (const name of TOPOLOGY) if (!services[name]) errors.push(`service ${name} is missing`);

  // Temporal: official images, on the server version the project runs.
  const temporal = services.temporal;
  if (temporal && temporal.image !== `temporalio/server:${TEMPORAL_SERVER_VERSION}`) {
    errors.push(`temporal: image must be temporalio/server:${TEMPORAL_SERVER_VERSION}, is ${temporal.image}`);
  }
  const ui = services['temporal-ui'];
  if (ui && !/^temporalio\/ui:\d+\.\d+\.\d+$/.test(ui.image ?? '')) errors.push(`temporal-ui: image must be a pinned temporalio/ui, is ${ui.image}`);
  for (const [name, service] of Object.entries(services)) {
    if (service.image?.startsWith('temporalio/admin-tools:') && !service.image.startsWith(`temporalio/admin-tools:${TEMPORAL_SERVER_VERSION}`)) {
      errors.push(`${name}: admin-tools must match the server version ${TEMPORAL_SERVER_VERSION}, is ${service.image}`);
    }
  }
  const temporalEnv = temporal ? environmentOf(temporal, env) : {};
  if (temporal && temporalEnv.DB !== 'postgres12') errors.push(`temporal: DB must be postgres12, is ${temporalEnv.DB}`);
  const temporalPort = temporal ? containerPorts(temporal)[0] ?? 7233 : 7233;

  // The namespace and search attributes tempojob needs, registered before it starts.
  const setupEntry = Object.entries(services).find(([, service]) => environmentOf(service, env).SEARCH_ATTRIBUTES !== undefined);
  if (!setupEntry) errors.push('no service registers the search attributes (SEARCH_ATTRIBUTES)');
  const setupName = setupEntry?.[0];
  const setupEnv = setupEntry ? environmentOf(setupEntry[1], env) : {};
  const expectedAttributes = ALL_SEARCH_ATTRIBUTES.map((key) => `${key.name}=${SA_TYPE[key.type]}`).sort();
  const registered = (setupEnv.SEARCH_ATTRIBUTES ?? '').split(',').filter(Boolean).sort();
  if (setupEntry && registered.join(',') !== expectedAttributes.join(',')) {
    errors.push(`${setupName}: SEARCH_ATTRIBUTES must be ${expectedAttributes.join(',')} (src/temporal/search-attributes.ts), is ${registered.join(',')}`);
  }

  // tempojob's own services: built from our Dockerfile, configured by the app's schema only.
  const known = Object.keys(configSchema.shape);
  for (const [name, service] of Object.entries(services)) {
    if (!service.build) continue;
    const appEnv = environmentOf(service, env);
    for (const key of Object.keys(appEnv)) {
      if (!known.includes(key)) errors.push(`${name}: environment variable ${key} is not in the app's configuration schema (src/config.ts)`);
    }
    const parsed = configSchema.safeParse(appEnv);
    if (!parsed.success) {
      for (const issue of parsed.error.issues) errors.push(`${name}: ${issue.path.join('.')}: ${issue.message}`);
      continue;
    }
    const config = parsed.data;
    const [host, port] = (config.TEMPORAL_ADDRESS ?? '').split(':');
    if (!config.TEMPORAL_ADDRESS) errors.push(`${name}: TEMPORAL_ADDRESS must be set (unset means "start an embedded dev server")`);
    else if (!host || !services[host] || Number(port) !== temporalPort) {
      errors.push(`${name}: TEMPORAL_ADDRESS ${config.TEMPORAL_ADDRESS} must name the Temporal service and its port (temporal:${temporalPort})`);
    }
    if (setupEnv.NAMESPACE && config.TEMPORAL_NAMESPACE !== setupEnv.NAMESPACE) {
      errors.push(`${name}: TEMPORAL_NAMESPACE ${config.TEMPORAL_NAMESPACE} is not the namespace ${setupName} creates (${setupEnv.NAMESPACE})`);
    }
    const dependsOn = Array.isArray(service.depends_on) ? service.depends_on : Object.keys(service.depends_on ?? {});
    if (setupName && !dependsOn.includes(setupName)) errors.push(`${name}: must depend on ${setupName} (namespace and search attributes first)`);
    const script = words(service.command).find((word) => /\.(ts|js)$/.test(word));
    if (!script || !existsSync(join(PROJECT_ROOT, script))) errors.push(`${name}: command must run an entry point of this repository, runs ${JSON.stringify(service.command)}`);
    if (script === 'src/api/main.ts') {
      if (!config.TEMPOJOB_JWT_SECRET) errors.push(`${name}: TEMPOJOB_JWT_SECRET is required by the API (src/api/main.ts)`);
      if (config.TEMPOJOB_HOST !== '0.0.0.0') errors.push(`${name}: TEMPOJOB_HOST must be 0.0.0.0 inside a container, is ${config.TEMPOJOB_HOST}`);
      if (!containerPorts(service).includes(config.TEMPOJOB_PORT)) {
        errors.push(`${name}: publishes container ports ${JSON.stringify(containerPorts(service))}, but the API listens on TEMPOJOB_PORT ${config.TEMPOJOB_PORT}`);
      }
      const probe = words(service.healthcheck?.test).join(' ');
      if (probe && !probe.includes(`:${config.TEMPOJOB_PORT}/healthz`)) errors.push(`${name}: healthcheck must probe :${config.TEMPOJOB_PORT}/healthz`);
    }
  }

  // Files mounted from this repository exist.
  for (const [name, service] of Object.entries(services)) {
    for (const volume of service.volumes ?? []) {
      const source = typeof volume === 'string' ? volume.split(':')[0]! : volume.source ?? '';
      if (source.startsWith('./') && !existsSync(join(PROJECT_ROOT, source))) errors.push(`${name}: mounts ${source}, which does not exist`);
    }
  }
  return errors;
}

function load(text = readFileSync(COMPOSE_FILE, 'utf8')): Compose {
  const document = parseDocument(text, { merge: true, prettyErrors: true });
  if (document.errors.length) throw new Error(document.errors.map((e) => e.message).join('\n'));
  return document.toJS({ maxAliasCount: 100 }) as Compose;
}

describe('docker-compose.yml', () => {
  it('parses, and matches the topology and the app\'s configuration schema', () => {
    expect(TEMPORAL_SERVER_VERSION).toMatch(/^\d+\.\d+\.\d+$/);
    expect(checkCompose(load())).toEqual([]);
  });

  it('also holds with the secrets set from the environment, as documented', () => {
    const env = { TEMPOJOB_JWT_SECRET: 'x'.repeat(40), TEMPOJOB_ADMIN_TOKEN: 'an-admin-token-of-24-chars', TEMPOJOB_APPS: 'billing:secret-password' };
    expect(checkCompose(load(), env)).toEqual([]);
  });

  it('names a variable the app does not know as an error', () => {
    const compose = load();
    const api = compose.services!.api!;
    api.environment = { ...(api.environment as Record<string, string>), TEMPOJOB_PROT: '7701' };
    expect(checkCompose(compose)).toEqual(["api: environment variable TEMPOJOB_PROT is not in the app's configuration schema (src/config.ts)"]);
  });

  it('names a value the schema refuses, and a wrong wiring, as errors', () => {
    const compose = load();
    const env = (service: string) => compose.services![service]!.environment as Record<string, string>;
    env('api').TEMPOJOB_PORT = 'http';
    env('api').TEMPOJOB_JWT_SECRET = 'too-short';
    env('core-worker').TEMPORAL_ADDRESS = 'temporal:7234';
    env('processor-worker').TEMPORAL_NAMESPACE = 'jobs';
    const errors = checkCompose(compose);
    expect(errors).toContainEqual(expect.stringMatching(/^api: TEMPOJOB_PORT: /));
    expect(errors).toContain('api: TEMPOJOB_JWT_SECRET: TEMPOJOB_JWT_SECRET must be at least 32 characters');
    expect(errors).toContain('core-worker: TEMPORAL_ADDRESS temporal:7234 must name the Temporal service and its port (temporal:7233)');
    expect(errors).toContain('processor-worker: TEMPORAL_NAMESPACE jobs is not the namespace temporal-setup creates (default)');
  });

  it('refuses a compose file that does not parse', () => {
    expect(() => load('services:\n  api: [unclosed\n')).toThrow();
  });

  it('builds tempojob from our Dockerfile, on a glibc base image, with every file it runs', () => {
    const dockerfile = readFileSync(join(PROJECT_ROOT, 'Dockerfile'), 'utf8');
    const base = /^FROM\s+(\S+)/m.exec(dockerfile)?.[1] ?? '';
    expect(base).toMatch(/^node:20-/);
    expect(base).not.toMatch(/alpine/); // Temporal's native worker library has no musl build
    for (const [, sources] of dockerfile.matchAll(/^COPY\s+(?!--from)(.+)\s+\S+$/gm)) {
      for (const source of sources!.split(/\s+/)) expect(existsSync(join(PROJECT_ROOT, source)), `COPY ${source}`).toBe(true);
    }
    const copied = [...dockerfile.matchAll(/^COPY\s+(?!--from)(.+)\s+\S+$/gm)].flatMap(([, sources]) => sources!.split(/\s+/));
    for (const [name, service] of Object.entries(load().services!)) {
      if (!service.build) continue;
      const script = words(service.command).find((word) => /\.ts$/.test(word))!;
      expect(copied.some((source) => script === source || script.startsWith(`${source}/`)), `${name} runs ${script}, which the image must contain`).toBe(true);
    }
    const ignored = readFileSync(join(PROJECT_ROOT, '.dockerignore'), 'utf8').split('\n').map((line) => line.trim()).filter((line) => line && !line.startsWith('#'));
    for (const source of copied) expect(ignored, `.dockerignore must not exclude ${source}`).not.toContain(source.split('/')[0]);
  });
});
