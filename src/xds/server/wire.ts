// Decoding of discovery requests and hand-assembled encoding of responses. A response is its few header
// fields followed by resource fields that were encoded once in the cache (protobuf concatenation appends
// repeated fields), so serving a client costs no re-encoding.
import * as protobuf from 'protobufjs';
import { messageType } from '../protos';
import { EncodedResource } from '../resource/encoded-resource';
import { ownedBytes } from '../resource/owned-bytes';

export interface NodeLocality {
  region?: string;
  zone?: string;
  sub_zone?: string;
}

export interface NodeInfo {
  id: string;
  cluster: string;
  metadata: Record<string, unknown>;
  locality?: NodeLocality;
  userAgentName: string;
  userAgentVersion: string;
}

export interface ErrorDetail {
  code: number;
  message: string;
}

export interface SotwRequest {
  readonly versionInfo: string;
  /** Decoded when read (once per stream): check `nodeBytes` against the node limits first. */
  readonly node?: NodeInfo;
  readonly nodeBytes?: Uint8Array;
  readonly resourceNames: string[];
  readonly typeUrl: string;
  readonly responseNonce: string;
  readonly errorDetail?: ErrorDetail;
  /** Equal digests: byte-identical name lists; undefined when unknown (decoded in sotw-request.ts). */
  readonly namesDigest?: string;
  /** The resource_names fields as they came on the wire, when contiguous. */
  readonly namesRegion?: Buffer;
}

/** Decoded in delta-request.ts. */
export interface DeltaRequest {
  readonly node?: NodeInfo;
  readonly nodeBytes?: Uint8Array;
  readonly typeUrl: string;
  readonly subscribe: readonly string[];
  readonly unsubscribe: readonly string[];
  readonly initialVersions: ReadonlyMap<string, string>;
  readonly responseNonce: string;
  readonly errorDetail?: ErrorDetail;
}

const TO_OBJECT: protobuf.IConversionOptions = { longs: String, enums: String, defaults: false, arrays: true, objects: true };

/** One embedded message as a plain object (snake_case fields), or undefined when it was absent. */
export function decodePlain<T>(typeName: string, bytes: Uint8Array | undefined): T | undefined {
  if (!bytes) return undefined;
  const type = messageType(typeName);
  return type.toObject(type.decode(bytes), TO_OBJECT) as T;
}

// protobufjs bundles google.protobuf.Struct/Value with camelCase field names, while Envoy's own
// protos are loaded with snake_case; accept both.
type ProtoValue = {
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
};

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

export function toErrorDetail(raw: { code?: number; message?: string } | undefined): ErrorDetail | undefined {
  if (!raw) return undefined;
  return { code: raw.code ?? 0, message: raw.message ?? '' };
}

/** ControlPlane{identifier} so clients can tell which server (and replica) answered. */
let controlPlaneIdentifier = 'spillway';
export function setControlPlaneIdentifier(identifier: string): void {
  controlPlaneIdentifier = identifier;
}

export function encodeSotwResponse(typeUrl: string, versionInfo: string, nonce: string, resources: readonly EncodedResource[]): Buffer {
  const writer = protobuf.Writer.create()
    .uint32((1 << 3) | 2).string(versionInfo)
    .uint32((4 << 3) | 2).string(typeUrl)
    .uint32((5 << 3) | 2).string(nonce)
    .uint32((6 << 3) | 2).fork().uint32((1 << 3) | 2).string(controlPlaneIdentifier).ldelim();
  return Buffer.concat([writer.finish(), ...resources.map((r) => r.sotwField)]);
}

export interface SharedSotwResponse {
  nonce: string;
  bytes: Buffer;
}

// One encoded response per (resource array, type, version), shared by every stream that sends exactly
// that: clients of a view get the same arrays (snapshot selection memo), so a storm or a push to
// thousands of sidecars encodes and copies each distinct response once. Its nonce is tied to the content
// (version + which array), so it is the same on every stream that gets it; within one stream a nonce
// still names one content, which is all an ACK or NACK refers to.
const sharedResponses = new WeakMap<readonly EncodedResource[], Map<string, SharedSotwResponse>>();
const arrayIds = new WeakMap<readonly EncodedResource[], string>();
let arrayCounter = 0;

export function sharedSotwResponse(typeUrl: string, versionInfo: string, resources: readonly EncodedResource[], noncePrefix: string): SharedSotwResponse {
  let byVersion = sharedResponses.get(resources);
  if (!byVersion) {
    byVersion = new Map();
    sharedResponses.set(resources, byVersion);
  }
  const key = `${typeUrl} ${versionInfo}`;
  let response = byVersion.get(key);
  if (!response) {
    let id = arrayIds.get(resources);
    if (id === undefined) {
      id = (++arrayCounter).toString(36);
      arrayIds.set(resources, id);
    }
    const nonce = `${noncePrefix}-${id}-${versionInfo}`;
    // Kept while its resource array lives: a buffer of its own, not a slice pinning a shared slab.
    response = { nonce, bytes: ownedBytes(encodeSotwResponse(typeUrl, versionInfo, nonce, resources)) };
    byVersion.set(key, response);
  }
  return response;
}

export function encodeDeltaResponse(
  typeUrl: string,
  systemVersion: string,
  nonce: string,
  resources: readonly EncodedResource[],
  removed: readonly string[],
): Buffer {
  const writer = protobuf.Writer.create()
    .uint32((1 << 3) | 2).string(systemVersion)
    .uint32((4 << 3) | 2).string(typeUrl)
    .uint32((5 << 3) | 2).string(nonce)
    .uint32((7 << 3) | 2).fork().uint32((1 << 3) | 2).string(controlPlaneIdentifier).ldelim();
  for (const name of removed) writer.uint32((6 << 3) | 2).string(name);
  return concat(writer.finish(), resources.map((r) => r.deltaField));
}

function concat(head: Uint8Array, parts: Uint8Array[]): Buffer {
  return Buffer.concat([head, ...parts]);
}

/** Decoders used by tests and tools that act as xDS clients. */
export function decodeSotwResponse(bytes: Uint8Array): Record<string, unknown> {
  const type = messageType('envoy.service.discovery.v3.DiscoveryResponse');
  return type.toObject(type.decode(bytes), TO_OBJECT);
}
