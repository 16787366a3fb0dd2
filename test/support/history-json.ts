import { createRequire } from 'node:module';
import proto from '@temporalio/proto';
import { patchProtobufRoot } from '@temporalio/proto/lib/patch-protobuf-root.js';

/**
 * Workflow histories as JSON (proto3 JSON, as `temporal workflow show --output json` prints
 * them), for the committed replay histories under test/histories.
 *
 * Not @temporalio/common's historyToJSON/historyFromJSON: in this install @temporalio/common
 * and @temporalio/proto each get their own nested copy of protobufjs 8 (the root holds
 * protobufjs 7 for @grpc/proto-loader), and protobufjs's JSON extension refuses a message
 * type of the other copy ("type must be a Type"); so does Worker.runReplayHistories when
 * given JSON, which converts it the same way. These use the protobufjs copy that
 * @temporalio/proto's own types come from, so they work whichever way npm lays it out.
 */

type History = proto.temporal.api.history.v1.IHistory;
interface ProtoJson {
  toJson(type: unknown, message: unknown): unknown;
  fromJson(type: unknown, json: unknown, options?: { ignoreUnknownFields?: boolean }): unknown;
}

const requireFromProto = createRequire(createRequire(import.meta.url).resolve('@temporalio/proto'));
const protojson = requireFromProto('protobufjs/ext/protojson') as ProtoJson;
const historyType = (patchProtobufRoot(proto) as unknown as { lookupType(name: string): unknown }).lookupType('temporal.api.history.v1.History');

export function historyToJSON(history: History): string {
  return JSON.stringify(protojson.toJson(historyType, proto.temporal.api.history.v1.History.fromObject(history)), null, 2);
}

/** A history decoded from its JSON, ready for Worker.runReplayHistories (event ids as Longs). */
export function historyFromJSON(json: unknown): History {
  if (typeof json !== 'object' || json === null || !Array.isArray((json as { events?: unknown }).events)) {
    throw new TypeError('not a workflow history: expected an object with an array of events');
  }
  // Unknown fields (a history from a newer server) are skipped, as @temporalio/common does.
  return protojson.fromJson(historyType, json, { ignoreUnknownFields: true }) as History;
}
