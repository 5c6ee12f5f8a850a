// A resource encoded once: its bytes are reused in every response to every client of its view.
import { createHash } from 'crypto';
import * as protobuf from 'protobufjs';
import { messageType } from '../protos';
import { XdsTypeUrl, messageNameOf } from '../resource-types';
import { ResourceMessage, ResourceMessages, RouteTable, VirtualHost } from './envoy-messages';
import { unknownFieldPaths } from './strict-fields';
import { ownedBytes } from './owned-bytes';

export interface EncodedResource {
  readonly typeUrl: XdsTypeUrl;
  readonly name: string;
  /** Content hash: the same content gets the same version in every process, after every restart. */
  readonly version: string;
  /** `resources` entry of a DiscoveryResponse (field 2, google.protobuf.Any), tag and length included. */
  readonly sotwField: Uint8Array;
  /** `resources` entry of a DeltaDiscoveryResponse (field 2, Resource{name, version, resource}). */
  readonly deltaField: Uint8Array;
  /** False for resources served only when named (proxyless API listeners are not for Envoy's wildcard LDS). */
  readonly inWildcard: boolean;
  /**
   * Resources served together: a client naming one of a group gets all of it (an on-demand service's
   * clusters, so its aggregate arrives with the children it balances over).
   */
  readonly group?: string;
  /**
   * Clusters this one balances over (an aggregate sent on demand): the client gets it only once it holds
   * them and their endpoints, so a request replayed on its arrival finds hosts.
   */
  readonly needs?: readonly string[];
  /** The message as built, kept for debug endpoints and golden tests. */
  readonly message: ResourceMessage;
}

/** The message of `resource` as its type, when it is of `typeUrl` (readers: debug, prediction, scoping). */
export function messageOf<T extends XdsTypeUrl>(
  resource: EncodedResource,
  typeUrl: T,
): ResourceMessages[T] | undefined {
  // The encoder only ever pairs a type URL with a message of that type (encodeResource's signature).
  return resource.typeUrl === typeUrl ? resource.message : undefined;
}

export interface EncodeOptions {
  inWildcard?: boolean;
}

const VERSION_HEX_CHARS = 16;

export function contentHash(bytes: Uint8Array | string): string {
  return createHash('sha256').update(bytes).digest('hex').slice(0, VERSION_HEX_CHARS);
}

/** Encodes an Any{type_url, value} message. */
function encodeAny(typeUrl: string, value: Uint8Array): Uint8Array {
  return protobuf.Writer.create()
    .uint32((1 << 3) | 2)
    .string(typeUrl)
    .uint32((2 << 3) | 2)
    .bytes(value)
    .finish();
}

/** Wraps bytes as a length-delimited field with the given number. */
export function lengthDelimitedField(fieldNumber: number, bytes: Uint8Array): Uint8Array {
  return protobuf.Writer.create()
    .uint32((fieldNumber << 3) | 2)
    .bytes(bytes)
    .finish();
}

/**
 * Encodes a resource message (proto field names, snake_case). Throws if the message does not fit the
 * type: builders are ours, so that is a programming error, and callers report it per resource.
 */
export function encodeResource<T extends XdsTypeUrl>(
  typeUrl: T,
  name: string,
  message: ResourceMessages[T],
  options: EncodeOptions = {},
): EncodedResource {
  return resourceFromBytes(typeUrl, name, encodeMessage(messageNameOf(typeUrl), name, message), message, options);
}

function encodeMessage(typeName: string, name: string, message: object): Uint8Array {
  const type = messageType(typeName);
  // fromObject would drop a key the type does not know: refuse it instead.
  const unknown = unknownFieldPaths(type, message);
  if (unknown.length > 0) throw new Error(`${name}: no such field in ${typeName}: ${unknown.join(', ')}`);
  const built = type.fromObject(message);
  const problem = type.verify(built);
  if (problem) throw new Error(`${name}: ${problem}`);
  return type.encode(built).finish();
}

// Encoded virtual_hosts fields by VirtualHost object: a route table is assembled from per-service virtual
// hosts that are reused across rebuilds, so each is encoded once, not once per table.
const virtualHostFields = new WeakMap<object, Uint8Array>();
const VIRTUAL_HOSTS_FIELD = 2;

/**
 * A RouteConfiguration encoded as its small fields followed by one `virtual_hosts` field per virtual host
 * (protobuf concatenates repeated fields), each encoded once per object: a table of thousands of services
 * costs only the hosts that changed.
 */
export function encodeRouteTable(typeUrl: XdsTypeUrl, name: string, message: RouteTable): EncodedResource {
  const head = encodeMessage(messageNameOf(typeUrl), name, { ...message, virtual_hosts: [] });
  const parts: Uint8Array[] = [head];
  for (const virtualHost of message.virtual_hosts) parts.push(virtualHostField(virtualHost));
  return resourceFromBytes(typeUrl, name, Buffer.concat(parts), message, {});
}

/**
 * A virtual host as a `virtual_hosts` field, encoded once per object. Translation calls it as it builds
 * each service (so the work is spread with the service's other work), the table then only concatenates.
 */
export function virtualHostField(virtualHost: VirtualHost): Uint8Array {
  let field = virtualHostFields.get(virtualHost);
  if (!field) {
    field = ownedBytes(
      lengthDelimitedField(
        VIRTUAL_HOSTS_FIELD,
        encodeMessage('envoy.config.route.v3.VirtualHost', 'virtual host', virtualHost),
      ),
    );
    virtualHostFields.set(virtualHost, field);
  }
  return field;
}

function resourceFromBytes(
  typeUrl: XdsTypeUrl,
  name: string,
  value: Uint8Array,
  message: ResourceMessage,
  options: EncodeOptions,
): EncodedResource {
  const any = encodeAny(typeUrl, value);
  const version = contentHash(any);
  // Kept as long as the configuration is: buffers of their own, never slices of a shared slab.
  const sotwField = ownedBytes(lengthDelimitedField(2, any));
  // The delta form repeats the Any: built the first time a delta stream needs it, so configuration that
  // only SotW clients receive holds its bytes once.
  let deltaField: Uint8Array | undefined;
  return {
    typeUrl,
    name,
    version,
    sotwField,
    get deltaField(): Uint8Array {
      deltaField ??= ownedBytes(lengthDelimitedField(2, deltaResourceBytes(name, version, anyOf(sotwField))));
      return deltaField;
    },
    inWildcard: options.inWildcard ?? true,
    message,
  };
}

/** Resource{name, version, resource} of a DeltaDiscoveryResponse. */
function deltaResourceBytes(name: string, version: string, any: Uint8Array): Uint8Array {
  return protobuf.Writer.create()
    .uint32((3 << 3) | 2)
    .string(name)
    .uint32((1 << 3) | 2)
    .string(version)
    .uint32((2 << 3) | 2)
    .bytes(any)
    .finish();
}

/** The Any inside a `resources` field (tag, length, Any), without copying it. */
function anyOf(field: Uint8Array): Uint8Array {
  const reader = protobuf.Reader.create(field);
  reader.uint32(); // tag
  const length = reader.uint32();
  return field.subarray(reader.pos, reader.pos + length);
}
