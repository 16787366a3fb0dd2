import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect as connectTcp } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer as createTlsServer, type Server as TlsServer } from 'node:tls';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { closeServer, startApi } from '../src/api/server.js';
import { ConfigError, loadConfig } from '../src/config.js';
import { connectClient, targetOf } from '../src/temporal/connection.js';
import { securityOf } from '../src/temporal/security.js';
import { createWorker } from '../src/workers/index.js';
import { OpenApiCaller } from './support/api-client.js';
import { TEST_CORE_TASK_QUEUE } from './support/core-queue.js';
import { uniqueName } from './support/stack.js';

/**
 * Connections to Temporal over TLS with a client certificate (mTLS), as a production cluster
 * or Temporal Cloud asks (issue #18). The run's dev server speaks plain gRPC, so a TLS
 * terminator of this test stands in front of it: it requires a client certificate signed by
 * the test's CA and passes the decrypted HTTP/2 through. The API and a processor worker
 * connect through it from the TEMPORAL_TLS_* variables; a run goes end to end.
 */

const dir = mkdtempSync(join(tmpdir(), 'tempojob-tls-'));
const file = (name: string) => join(dir, name);
let terminator: TlsServer;
let address: string;
/** Connections the terminator accepted with a client certificate of the CA. */
let authorized = 0;

function openssl(...args: string[]): void {
  execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });
}

/** A CA, and a certificate it signs for `name` with the given extensions. */
function issue(ca: string, name: string, extensions: string): void {
  writeFileSync(file(`${name}.ext`), extensions);
  openssl('req', '-newkey', 'rsa:2048', '-nodes', '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', `/CN=${name}`);
  openssl('x509', '-req', '-in', `${name}.csr`, '-CA', `${ca}.pem`, '-CAkey', `${ca}.key`, '-CAcreateserial', '-out', `${name}.pem`, '-days', '1', '-extfile', `${name}.ext`);
}

beforeAll(async () => {
  for (const ca of ['ca', 'stranger-ca']) openssl('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', `${ca}.key`, '-out', `${ca}.pem`, '-days', '1', '-subj', `/CN=${ca}`);
  issue('ca', 'frontend', 'subjectAltName=DNS:temporal.test\nextendedKeyUsage=serverAuth\n');
  issue('ca', 'worker', 'extendedKeyUsage=clientAuth\n');
  issue('stranger-ca', 'stranger', 'extendedKeyUsage=clientAuth\n');
  const [devHost, devPort] = inject('temporalAddress').split(':');
  terminator = createTlsServer({
    key: readFileSync(file('frontend.key')), cert: readFileSync(file('frontend.pem')), ca: [readFileSync(file('ca.pem'))],
    requestCert: true, rejectUnauthorized: true, ALPNProtocols: ['h2'],
  }, (socket) => {
    authorized++;
    const upstream = connectTcp(Number(devPort), devHost);
    socket.pipe(upstream).pipe(socket);
    socket.on('error', () => upstream.destroy());
    upstream.on('error', () => socket.destroy());
  });
  terminator.on('tlsClientError', () => {});
  await new Promise<void>((resolve) => terminator.listen(0, '127.0.0.1', resolve));
  address = `127.0.0.1:${(terminator.address() as { port: number }).port}`;
});

afterAll(async () => {
  await new Promise((resolve) => terminator?.close(resolve));
  rmSync(dir, { recursive: true, force: true });
});

const mtls = () => ({
  TEMPORAL_ADDRESS: address,
  TEMPORAL_TLS_CA_PATH: file('ca.pem'),
  TEMPORAL_TLS_CERT_PATH: file('worker.pem'),
  TEMPORAL_TLS_KEY_PATH: file('worker.key'),
  TEMPORAL_TLS_SERVER_NAME: 'temporal.test',
});

describe('Temporal over mTLS', () => {
  it('runs a job end to end with the API and a processor worker connected by client certificate', { timeout: 90_000 }, async () => {
    const config = loadConfig({ ...mtls(), TEMPOJOB_CORE_TASK_QUEUE: TEST_CORE_TASK_QUEUE, TEMPOJOB_HOST: '127.0.0.1' });
    const before = authorized;
    const client = await connectClient(targetOf(config));
    const api = await startApi({ client, config, jwtSecret: 'j'.repeat(32), port: 0 });
    let ran = 0;
    const appName = uniqueName('tls');
    const worker = await createWorker({
      appName, address, security: securityOf(config)!, shutdownGraceMs: 0,
      processors: { secured: () => { ran++; return { success: true, msg: 'over mTLS' }; } },
    });
    const running = worker.run();
    try {
      await api.apps.put(appName, 'tls-password-123', 'create');
      const caller = await OpenApiCaller.login(api.url, appName, 'tls-password-123');
      const jobId = await caller.data<number>('saveJob', { jobName: 'secured', timeExpressionType: 'API', executeType: 'STANDALONE', processorType: 'BUILT_IN', processorInfo: 'secured' });
      const instanceId = await caller.data<number>('runJob', { jobId }, { form: true });
      await client.workflow.getHandle(`tempojob-instance-${instanceId}`).result();
      expect(await caller.data('fetchInstanceInfo', { instanceId }, { form: true })).toMatchObject({ status: 5, result: 'over mTLS' });
      expect(ran).toBe(1);
      // The API's client and the worker's connection both came through the terminator.
      expect(authorized - before).toBeGreaterThanOrEqual(2);
    } finally {
      await worker.shutdown();
      await running;
      await closeServer(api.server);
      await client.connection.close();
    }
  });

  it('cannot connect without a client certificate, or with one of another CA, and says where it tried', { timeout: 30_000 }, async () => {
    const noCert = loadConfig({ TEMPORAL_ADDRESS: address, TEMPORAL_TLS_CA_PATH: file('ca.pem'), TEMPORAL_TLS_SERVER_NAME: 'temporal.test' });
    await expect(connectClient(targetOf(noCert), 2_000)).rejects.toThrow(new RegExp(`Cannot reach Temporal namespace "default" at ${address}`));
    const stranger = loadConfig({ ...mtls(), TEMPORAL_TLS_CERT_PATH: file('stranger.pem'), TEMPORAL_TLS_KEY_PATH: file('stranger.key') });
    await expect(connectClient(targetOf(stranger), 2_000)).rejects.toThrow(/Cannot reach Temporal/);
  });

  it('refuses half an mTLS setting or a file it cannot read, naming the variable', () => {
    expect(() => targetOf(loadConfig({ ...mtls(), TEMPORAL_TLS_KEY_PATH: '' }))).toThrow(ConfigError);
    expect(() => targetOf(loadConfig({ TEMPORAL_TLS_CERT_PATH: file('worker.pem') }))).toThrow(/TEMPORAL_TLS_KEY_PATH: mTLS needs both TEMPORAL_TLS_CERT_PATH and TEMPORAL_TLS_KEY_PATH/);
    expect(() => targetOf(loadConfig({ TEMPORAL_TLS_CA_PATH: file('missing.pem') }))).toThrow(new RegExp(`TEMPORAL_TLS_CA_PATH: cannot read ${file('missing.pem')}`));
    expect(targetOf(loadConfig({ TEMPORAL_API_KEY: 'cloud-key' })).security).toEqual({ tls: true, apiKey: 'cloud-key' });
    expect(targetOf(loadConfig({ TEMPORAL_TLS: 'true' })).security).toEqual({ tls: true });
    expect(targetOf(loadConfig({})).security).toBeUndefined();
  });
});
