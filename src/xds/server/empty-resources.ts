// An EDS name the client asks for but the view does not have is answered with an empty
// ClusterLoadAssignment, so the cluster finishes warming (with no hosts) instead of waiting for a timeout.
// Each is made (and versioned) once per interned name set that asks for it (every client of a view shares
// that set) and lives exactly as long as the set: the names an attacker made up go with the streams that asked for
// them, in one garbage collection (a cache keyed by name would keep every such name until a finalizer ran).
//
// Its bytes are assembled here, when needed, into buffers of their own exact size: small buffers from
// protobufjs come out of Node's 8 KiB pool, where one long-lived 2 KiB slice pins a whole 8 KiB slab.
import { EncodedResource, contentHash } from '../cache/resource';
import { ENDPOINT_TYPE, XdsTypeUrl } from '../resource-types';

const byNameSet = new WeakMap<object, Map<string, EncodedResource>>();

/** The empty assignment for `name`, shared by everyone subscribed with the (interned) `nameSet`. */
export function emptyResourceFor(typeUrl: XdsTypeUrl, name: string, nameSet: object): EncodedResource | undefined {
  if (typeUrl !== ENDPOINT_TYPE) return undefined;
  let resources = byNameSet.get(nameSet);
  if (!resources) {
    resources = new Map();
    byNameSet.set(nameSet, resources);
  }
  let resource = resources.get(name);
  if (!resource) {
    resource = new EmptyAssignment(name);
    resources.set(name, resource);
  }
  return resource;
}

/**
 * The same bytes and version as encodeResource(ENDPOINT_TYPE, name, {cluster_name: name, endpoints: []}),
 * but holding only the name and version: the bytes (the size of the name, twice) are assembled when a
 * response is encoded and not kept, since the (shared) response holds them anyway.
 */
class EmptyAssignment implements EncodedResource {
  readonly typeUrl = ENDPOINT_TYPE;
  readonly version: string;
  readonly inWildcard = true;

  constructor(readonly name: string) {
    this.version = contentHash(this.any());
  }

  get sotwField(): Uint8Array {
    return fields([2, this.any()]);
  }

  get deltaField(): Uint8Array {
    // Resource{name = 3, version = 1, resource = 2}, in encodeResource's order.
    return fields([2, fields([3, Buffer.from(this.name, 'utf8')], [1, Buffer.from(this.version, 'utf8')], [2, this.any()])]);
  }

  get message(): object {
    return { cluster_name: this.name, endpoints: [] };
  }

  /** Any{type_url = 1, value = 2: ClusterLoadAssignment{cluster_name = 1}} */
  private any(): Buffer {
    return fields([1, Buffer.from(ENDPOINT_TYPE, 'utf8')], [2, fields([1, Buffer.from(this.name, 'utf8')])]);
  }
}

/** Length-delimited fields, concatenated into one buffer of exactly their size (not from the pool). */
function fields(...parts: [number, Uint8Array][]): Buffer {
  let size = 0;
  for (const [, bytes] of parts) size += 1 + varintSize(bytes.length) + bytes.length;
  const out = Buffer.allocUnsafeSlow(size);
  let at = 0;
  for (const [fieldNumber, bytes] of parts) {
    out[at++] = (fieldNumber << 3) | 2;
    for (let rest = bytes.length; ; rest = Math.floor(rest / 128)) {
      if (rest < 0x80) {
        out[at++] = rest;
        break;
      }
      out[at++] = (rest % 128) | 0x80;
    }
    out.set(bytes, at);
    at += bytes.length;
  }
  return out;
}

function varintSize(value: number): number {
  let size = 1;
  for (let rest = value; rest >= 0x80; rest = Math.floor(rest / 128)) size++;
  return size;
}
