// A Node (or any small embedded message) from its bytes to a plain object: shared by the xDS server,
// which decodes the node of a stream's first request, and the load reporting service, which decodes the
// node of a report.
import * as protobuf from 'protobufjs';
import { messageType } from '../protos';
import { NodeInfo, NodeLocality } from './node-info';

const TO_OBJECT: protobuf.IConversionOptions = {
  longs: String,
  enums: String,
  defaults: false,
  arrays: true,
  objects: true,
};

/** One embedded message as a plain object (snake_case fields), or undefined when it was absent. */
export function decodePlain(typeName: string, bytes: Uint8Array | undefined): Record<string, unknown> | undefined {
  if (!bytes) return undefined;
  const type = messageType(typeName);
  return type.toObject(type.decode(bytes), TO_OBJECT);
}

/** An envoy.config.core.v3.Node from its bytes (throws on bytes that are no Node), or undefined when absent. */
export function decodeNode(bytes: Uint8Array | undefined): RawNode | undefined {
  return decodePlain('envoy.config.core.v3.Node', bytes);
}

// protobufjs bundles google.protobuf.Struct/Value with camelCase field names, while Envoy's own
// protos are loaded with snake_case; accept both.
interface ProtoValue {
  nullValue?: unknown;
  numberValue?: number;
  stringValue?: string;
  boolValue?: boolean;
  structValue?: { fields?: Record<string, ProtoValue> };
  listValue?: { values?: ProtoValue[] };
  number_value?: number;
  string_value?: string;
  bool_value?: boolean;
  struct_value?: { fields?: Record<string, ProtoValue> };
  list_value?: { values?: ProtoValue[] };
}

function valueToPlain(value: ProtoValue): unknown {
  const text = value.stringValue ?? value.string_value;
  if (text !== undefined) return text;
  const number = value.numberValue ?? value.number_value;
  if (number !== undefined) return number;
  const bool = value.boolValue ?? value.bool_value;
  if (bool !== undefined) return bool;
  const struct = value.structValue ?? value.struct_value;
  if (struct !== undefined) return structToPlain(struct);
  const list = value.listValue ?? value.list_value;
  if (list !== undefined) return (list.values ?? []).map(valueToPlain);
  return null;
}

export function structToPlain(struct: { fields?: Record<string, ProtoValue> } | undefined): Record<string, unknown> {
  const plain: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(struct?.fields ?? {})) plain[key] = valueToPlain(value);
  return plain;
}

export interface RawNode {
  id?: string;
  cluster?: string;
  metadata?: { fields?: Record<string, ProtoValue> };
  locality?: NodeLocality;
  user_agent_name?: string;
  user_agent_version?: string;
}

export function toNodeInfo(raw: RawNode | undefined): NodeInfo | undefined {
  if (!raw) return undefined;
  return {
    id: raw.id ?? '',
    cluster: raw.cluster ?? '',
    metadata: structToPlain(raw.metadata),
    locality: raw.locality,
    userAgentName: raw.user_agent_name ?? '',
    userAgentVersion: raw.user_agent_version ?? '',
  };
}
