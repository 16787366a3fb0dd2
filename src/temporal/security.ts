import { readFileSync } from 'node:fs';
import type { TLSConfig } from '@temporalio/client';
import { type Config, ConfigError } from '../config.js';

/**
 * How a connection to Temporal is secured (issue #18): TLS with the system's CAs or a private
 * one, mTLS with a client certificate, a Temporal Cloud API key — for the API, the core worker
 * and processor workers alike, from the same variables.
 */

/** The part of a connection's options that secures it, as Connection and NativeConnection take it. */
export interface TemporalSecurity {
  tls: TLSConfig | true;
  apiKey?: string;
}

export const TEMPORAL_SECURITY_KEYS = [
  'TEMPORAL_TLS', 'TEMPORAL_TLS_CA_PATH', 'TEMPORAL_TLS_CERT_PATH', 'TEMPORAL_TLS_KEY_PATH', 'TEMPORAL_TLS_SERVER_NAME', 'TEMPORAL_API_KEY',
] as const satisfies readonly (keyof Config)[];

/**
 * TLS and API key from the TEMPORAL_TLS* and TEMPORAL_API_KEY variables, files read now: a
 * half-given client certificate or a file that cannot be read stops start-up naming it.
 * None set: undefined (plain).
 */
export function securityOf(config: Pick<Config, (typeof TEMPORAL_SECURITY_KEYS)[number]>): TemporalSecurity | undefined {
  const { TEMPORAL_TLS, TEMPORAL_TLS_CA_PATH: ca, TEMPORAL_TLS_CERT_PATH: cert, TEMPORAL_TLS_KEY_PATH: key, TEMPORAL_TLS_SERVER_NAME: serverName, TEMPORAL_API_KEY: apiKey } = config;
  if (!TEMPORAL_TLS && !ca && !cert && !key && !serverName && !apiKey) return undefined;
  if (Boolean(cert) !== Boolean(key)) {
    throw new ConfigError(`Invalid configuration:\n  ${cert ? 'TEMPORAL_TLS_KEY_PATH' : 'TEMPORAL_TLS_CERT_PATH'}: mTLS needs both TEMPORAL_TLS_CERT_PATH and TEMPORAL_TLS_KEY_PATH`);
  }
  const read = (variable: string, path: string) => {
    try {
      return readFileSync(path);
    } catch (err) {
      throw new ConfigError(`Invalid configuration:\n  ${variable}: cannot read ${path} (${(err as Error).message})`);
    }
  };
  const tls: TLSConfig = {
    ...(ca ? { serverRootCACertificate: read('TEMPORAL_TLS_CA_PATH', ca) } : {}),
    ...(cert && key ? { clientCertPair: { crt: read('TEMPORAL_TLS_CERT_PATH', cert), key: read('TEMPORAL_TLS_KEY_PATH', key) } } : {}),
    ...(serverName ? { serverNameOverride: serverName } : {}),
  };
  return { tls: Object.keys(tls).length > 0 ? tls : true, ...(apiKey ? { apiKey } : {}) };
}
