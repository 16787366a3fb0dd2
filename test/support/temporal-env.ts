import { loadConfig } from '../../src/config.js';
import { targetOf, type TemporalTarget } from '../../src/temporal/connection.js';
import { TEMPORAL_SECURITY_KEYS } from '../../src/temporal/security.js';

/**
 * How the tests reach their Temporal beyond its address: the cluster's mTLS settings, which
 * its global setup puts in the environment (test/cluster/global-setup.ts), so every fork and
 * every process a test spawns inherits them; none for the dev server.
 */
export function temporalTlsEnv(): Record<string, string> {
  return Object.fromEntries(TEMPORAL_SECURITY_KEYS.flatMap((key) => (process.env[key] ? [[key, process.env[key]]] : [])));
}

/** For a process of a test's own dev server: the TLS variables removed (spawnTs). */
export function plainTemporal(): Record<string, undefined> {
  return Object.fromEntries(TEMPORAL_SECURITY_KEYS.map((key) => [key, undefined]));
}

/** A connection target for `address`, with the tests' TLS settings. */
export function testTarget(address: string): TemporalTarget {
  return targetOf(loadConfig({ TEMPORAL_ADDRESS: address, ...temporalTlsEnv() }));
}
