// An EDS name the client asks for but the view does not have is answered with an empty
// ClusterLoadAssignment, so the cluster finishes warming (with no hosts) instead of waiting for a timeout.
// A listener name of the proxyless form (`host:port`) the view does not have is answered with an API
// listener whose only virtual host matches no target: grpc-go fails its calls at once ("could not find
// VirtualHost for <target>") instead of waiting 15 s for its does-not-exist timer and then saying the
// listener "has been removed". grpc-js reports the same resolution error (naming the route table, which
// says the service is unknown) but keeps calls queued until their deadline, as it did before.
// Each is made (and versioned) once per interned name set that asks for it (every client of a view shares
// that set) and lives exactly as long as the set: the names an attacker made up go with the streams that asked for
// them, in one garbage collection (a cache keyed by name would keep every such name until a finalizer ran).
//
// Its bytes are assembled here, when needed, into buffers of their own exact size: small buffers from
// protobufjs come out of Node's 8 KiB pool, where one long-lived 2 KiB slice pins a whole 8 KiB slab.
import { EncodedResource, contentHash, encodeResource } from '../resource/encoded-resource';
import { ENDPOINT_TYPE, LISTENER_TYPE, XdsTypeUrl } from '../resource-types';
import { typedAny } from '../resource/typed-any';

/**
 * Unknown-target listeners made for one name set at most. A real client names a few targets; a hostile one
 * could name 20,000 made-up `host:port`s and change the list at every request, making the server encode
 * each. Past the bound a name gets nothing, as before this answer existed (the client's does-not-exist
 * timer fails it).
 */
export const MAX_UNKNOWN_TARGETS_PER_NAME_SET = 64;

/** The answers for names a view lacks, per interned name set: owned by the server, shared by its streams. */
export class EmptyResources {
  private readonly byNameSet = new WeakMap<object, Map<string, EncodedResource>>();
  private readonly unknownTargetsByNameSet = new WeakMap<object, number>();

  /** The empty answer for `name`, shared by everyone subscribed with the (interned) `nameSet`. */
  for(typeUrl: XdsTypeUrl, name: string, nameSet: object): EncodedResource | undefined {
    if (typeUrl !== ENDPOINT_TYPE && !(typeUrl === LISTENER_TYPE && PROXYLESS_TARGET.test(name))) return undefined;
    let resources = this.byNameSet.get(nameSet);
    if (!resources) {
      resources = new Map();
      this.byNameSet.set(nameSet, resources);
    }
    let resource = resources.get(name);
    if (!resource) {
      if (typeUrl === ENDPOINT_TYPE) resource = new EmptyAssignment(name);
      else {
        const made = this.unknownTargetsByNameSet.get(nameSet) ?? 0;
        if (made >= MAX_UNKNOWN_TARGETS_PER_NAME_SET) return undefined;
        this.unknownTargetsByNameSet.set(nameSet, made + 1);
        resource = unknownTargetListener(name);
      }
      resources.set(name, resource);
    }
    return resource;
  }
}

/** What `xds:///<host>:<port>` asks for; sidecars and gateways subscribe to listeners by wildcard. */
const PROXYLESS_TARGET = /^[^:\s]+:\d{1,5}$/;
const HCM_TYPE =
  'type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager';
const ROUTER_TYPE = 'type.googleapis.com/envoy.extensions.filters.http.router.v3.Router';

/** A reserved name (RFC 2606): no client's target is this, so no call finds a virtual host. */
const MATCHES_NO_TARGET = 'unknown.spillway.invalid';

function unknownTargetListener(name: string): EncodedResource {
  const routeConfig = {
    name: `${name} is not a service known to Spillway`,
    virtual_hosts: [{ name: 'unknown', domains: [MATCHES_NO_TARGET], routes: [] }],
  };
  const hcm = typedAny(HCM_TYPE, {
    stat_prefix: 'unknown',
    codec_type: 'AUTO',
    route_config: routeConfig,
    http_filters: [{ name: 'envoy.filters.http.router', typed_config: typedAny(ROUTER_TYPE, {}) }],
  });
  return encodeResource(LISTENER_TYPE, name, { name, api_listener: { api_listener: hcm } }, { inWildcard: false });
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
    return fields([
      2,
      fields([3, Buffer.from(this.name, 'utf8')], [1, Buffer.from(this.version, 'utf8')], [2, this.any()]),
    ]);
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
