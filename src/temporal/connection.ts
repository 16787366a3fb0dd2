import { Client, Connection } from '@temporalio/client';
import { NativeConnection } from '@temporalio/worker';
import proto from '@temporalio/proto';
import type { Config } from '../config.js';
import { ALL_SEARCH_ATTRIBUTES } from '../contract/search-attributes.js';

export interface TemporalTarget {
  address: string;
  namespace: string;
}

/** Where the configuration points: $TEMPORAL_ADDRESS (default the local dev server) and namespace. */
export function targetOf(config: Pick<Config, 'TEMPORAL_ADDRESS' | 'TEMPORAL_NAMESPACE'>): TemporalTarget {
  return { address: config.TEMPORAL_ADDRESS ?? '127.0.0.1:7233', namespace: config.TEMPORAL_NAMESPACE };
}

/** Connects a client, retrying while the server comes up (bounded). */
export async function connectClient(target: TemporalTarget, timeoutMs = 60_000): Promise<Client> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    let connection: Connection | undefined;
    try {
      connection = await Connection.connect({ address: target.address, connectTimeout: 5_000 });
      await connection.workflowService.describeNamespace({ namespace: target.namespace });
      return new Client({ connection, namespace: target.namespace });
    } catch (err) {
      await connection?.close();
      if (Date.now() > deadline) {
        throw new Error(`Cannot reach Temporal namespace "${target.namespace}" at ${target.address}: ${(err as Error).message}`, { cause: err });
      }
      await new Promise((r) => setTimeout(r, 250));
    }
  }
}

export async function connectWorker(target: TemporalTarget): Promise<NativeConnection> {
  return NativeConnection.connect({ address: target.address });
}

export interface TemporalConnections {
  client: Client;
  /** For workers (core and processor). */
  connection: NativeConnection;
  close(): Promise<void>;
}

/** What every tempojob process starts with: a client and a worker connection, search attributes registered. */
export async function connectTemporal(target: TemporalTarget): Promise<TemporalConnections> {
  const client = await connectClient(target);
  try {
    await ensureSearchAttributes(client);
    const connection = await connectWorker(target);
    return {
      client,
      connection,
      async close() {
        await connection.close();
        await client.connection.close();
      },
    };
  } catch (err) {
    await client.connection.close();
    throw err;
  }
}

/**
 * Registers tempojob's search attributes where missing (an external cluster needs this
 * once). Replicas starting together may race: a lost race re-reads and carries on.
 */
export async function ensureSearchAttributes(client: Client, attempts = 5): Promise<void> {
  const operator = client.connection.operatorService;
  for (let attempt = 1; ; attempt++) {
    const { customAttributes } = await operator.listSearchAttributes({ namespace: client.options.namespace });
    const missing = ALL_SEARCH_ATTRIBUTES.filter((key) => !customAttributes?.[key.name]);
    if (missing.length === 0) return;
    try {
      await operator.addSearchAttributes({
        namespace: client.options.namespace,
        searchAttributes: Object.fromEntries(missing.map((key) => [key.name, proto.temporal.api.enums.v1.IndexedValueType[`INDEXED_VALUE_TYPE_${key.type}`]])),
      });
      return;
    } catch (err) {
      if (attempt >= attempts) throw err;
      await new Promise((r) => setTimeout(r, 500 * attempt));
    }
  }
}
