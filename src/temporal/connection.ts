import { Client, Connection } from '@temporalio/client';
import { NativeConnection } from '@temporalio/worker';
import proto from '@temporalio/proto';
import { ALL_SEARCH_ATTRIBUTES } from './search-attributes.js';

export interface TemporalTarget {
  address: string;
  namespace: string;
}

/** Connects a client, retrying while the server comes up (bounded). */
export async function connectClient(target: TemporalTarget, timeoutMs = 60_000): Promise<Client> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      const connection = await Connection.connect({ address: target.address, connectTimeout: 5_000 });
      await connection.workflowService.describeNamespace({ namespace: target.namespace });
      return new Client({ connection, namespace: target.namespace });
    } catch (err) {
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
