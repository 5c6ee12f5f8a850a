// Envoy messages as proto3 JSON, the form Istio's EnvoyFilter `patch.value` takes (istiod parses it with
// protojson): durations as "1.5s", wrapper types as bare values, Structs as JSON, Any as {"@type", ...}.
// Spillway's builders produce protobufjs objects ({seconds, nanos}, {value: n}); round-tripping through
// the real encoder first also refuses any field the message does not have.
import * as protobuf from 'protobufjs';
import { messageType } from '../xds/protos';
import { unknownFieldPaths } from '../xds/resource/strict-fields';

const TYPE_URL_PREFIX = 'type.googleapis.com/';
const WRAPPERS = new Set([
  'google.protobuf.DoubleValue',
  'google.protobuf.FloatValue',
  'google.protobuf.Int64Value',
  'google.protobuf.UInt64Value',
  'google.protobuf.Int32Value',
  'google.protobuf.UInt32Value',
  'google.protobuf.BoolValue',
  'google.protobuf.StringValue',
  'google.protobuf.BytesValue',
]);

export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };

/** A builder's object for message `typeName`, as proto3 JSON (field names stay snake_case). */
export function toProtoJson(typeName: string, message: object): Record<string, JsonValue> {
  const type = messageType(typeName);
  const unknown = unknownFieldPaths(type, message);
  if (unknown.length > 0) throw new Error(`no such field in ${typeName}: ${unknown.join(', ')}`);
  const decoded = type.decode(type.encode(type.fromObject(message)).finish());
  return messageJson(type, decoded as unknown as Record<string, unknown>) as Record<string, JsonValue>;
}

function durationJson(value: Record<string, unknown>): string {
  const seconds = Number(value.seconds ?? 0);
  const nanos = Number(value.nanos ?? 0);
  const total = seconds + nanos / 1e9;
  return `${Number(total.toFixed(9))}s`;
}

function structValueJson(value: Record<string, unknown>): JsonValue {
  if ('struct_value' in value && value.struct_value) return structJson(value.struct_value as Record<string, unknown>);
  if ('list_value' in value && value.list_value)
    return ((value.list_value as { values?: Record<string, unknown>[] }).values ?? []).map(structValueJson);
  if ('string_value' in value) return value.string_value as string;
  if ('number_value' in value) return value.number_value as number;
  if ('bool_value' in value) return value.bool_value as boolean;
  return null;
}

function structJson(value: Record<string, unknown>): JsonValue {
  const fields = (value.fields ?? {}) as Record<string, Record<string, unknown>>;
  const out: Record<string, JsonValue> = {};
  for (const [key, field] of Object.entries(fields)) out[key] = structValueJson(field);
  return out;
}

function anyJson(value: Record<string, unknown>): JsonValue {
  const typeUrl = typeof value.type_url === 'string' ? value.type_url : '';
  const inner = messageType(typeUrl.slice(TYPE_URL_PREFIX.length));
  const decoded = inner.decode(value.value as Uint8Array) as unknown as Record<string, unknown>;
  const body = messageJson(inner, decoded);
  // Well-known types inside an Any carry their JSON under "value".
  if (typeof body !== 'object' || body === null || Array.isArray(body)) return { '@type': typeUrl, value: body };
  return { '@type': typeUrl, ...body };
}

function scalarJson(field: protobuf.Field, value: unknown): JsonValue {
  if (field.resolvedType instanceof protobuf.Enum) {
    const name = field.resolvedType.valuesById[value as number];
    return name ?? (value as number);
  }
  if (field.resolvedType instanceof protobuf.Type)
    return messageJson(field.resolvedType, value as Record<string, unknown>);
  if (value instanceof Uint8Array) return Buffer.from(value).toString('base64');
  // 64-bit integers decode as Long objects (when long.js is present); proto3 JSON writes them as strings.
  if (typeof value === 'object' && value !== null && 'low' in value && 'high' in value)
    return (value as { toString(): string }).toString();
  return value as JsonValue;
}

function messageJson(type: protobuf.Type, message: Record<string, unknown>): JsonValue {
  const fullName = type.fullName.replace(/^\./, '');
  if (fullName === 'google.protobuf.Duration') return durationJson(message);
  if (fullName === 'google.protobuf.Struct') return structJson(message);
  if (fullName === 'google.protobuf.Value') return structValueJson(message);
  if (fullName === 'google.protobuf.Any') return anyJson(message);
  if (WRAPPERS.has(fullName)) {
    const field = type.fields.value;
    return scalarJson(field, message.value ?? field.typeDefault);
  }
  const out: Record<string, JsonValue> = {};
  for (const field of type.fieldsArray) {
    if (!Object.prototype.hasOwnProperty.call(message, field.name)) continue;
    const value = message[field.name];
    if (value === undefined || value === null) continue;
    field.resolve();
    // Empty repeated and map fields are what a decoder fills in, not what was sent: leave them out.
    if (Array.isArray(value) && value.length === 0) continue;
    if (field.map && Object.keys(value).length === 0) continue;
    if (field.map) {
      const entries: Record<string, JsonValue> = {};
      for (const [key, entry] of Object.entries(value as Record<string, unknown>))
        entries[key] = scalarJson(field, entry);
      out[field.name] = entries;
    } else if (field.repeated) {
      out[field.name] = (value as unknown[]).map((item) => scalarJson(field, item));
    } else {
      out[field.name] = scalarJson(field, value);
    }
  }
  return out;
}
