// The mesh's ServiceEntries for istiod over its MCP (config over xDS) source: mesh config
// `configSources: [{address: xds://HOST:PORT}]` makes istiod an ADS client of this server (its adsc
// package). istiod asks for every config type it knows; ServiceEntries are answered with the mesh,
// every other type with an empty list. A change sends the whole list again (SotW), each resource with a
// version of its own, and istiod updates only the ones whose version changed: one ServiceEntry event per
// change, as a Kubernetes informer would deliver it, instead of the file source's re-reading of every
// file on each change. On a mesh whose services declare what they call (the scoped workload), Sidecars
// are answered too, one per service, sent once: they never change during a run.
import * as grpc from '@grpc/grpc-js';
import * as protobuf from 'protobufjs';
import { BENCH_NAMESPACE, MeshSize, NotReady, serviceName } from '../mesh/generate-mesh';
import { serviceEntryProto, sidecarProto } from '../mesh/istio-config';
import { forEachBytesField, utf8 } from '../load/wire-scan';

const ADS_PATH = '/envoy.service.discovery.v3.AggregatedDiscoveryService/StreamAggregatedResources';
/** The type istiod's adsc asks for (config.GroupVersionKind.String() of its ServiceEntry schema). */
export const SERVICE_ENTRY_TYPE = 'networking.istio.io/v1/ServiceEntry';
export const SIDECAR_TYPE = 'networking.istio.io/v1/Sidecar';
const MCP_RESOURCE_ANY = 'type.googleapis.com/istio.mcp.v1alpha1.Resource';
const SERVICE_ENTRY_ANY = 'type.googleapis.com/istio.networking.v1alpha3.ServiceEntry';
const SIDECAR_ANY = 'type.googleapis.com/istio.networking.v1alpha3.Sidecar';
/** Bounds on what one stream of istiod may ask: the types it subscribes to, and a request's bytes. */
const MAX_TYPES_PER_STREAM = 256;
const MAX_REQUEST_BYTES = 1 << 20;
const LENGTH_DELIMITED = 2;
const SOURCE_PING_INTERVAL_MS = 5_000;

const tag = (field: number) => (field << 3) | LENGTH_DELIMITED;
const passBytes = (bytes: Buffer) => bytes;

/** Any{type_url 1, value 2}. */
function any(writer: protobuf.Writer, field: number, typeUrl: string, value: Uint8Array): void {
  writer.uint32(tag(field)).fork().uint32(tag(1)).string(typeUrl).uint32(tag(2)).bytes(value).ldelim();
}

/** istio.mcp.v1alpha1.Resource{metadata 1 (Metadata: name 1 "namespace/name", version 3), body 2}. */
function mcpResource(name: string, version: string, bodyType: string, body: Uint8Array): Uint8Array {
  const writer = protobuf.Writer.create();
  writer
    .uint32(tag(1))
    .fork()
    .uint32(tag(1))
    .string(`${BENCH_NAMESPACE}/${name}`)
    .uint32(tag(3))
    .string(version)
    .ldelim();
  any(writer, 2, bodyType, body);
  return writer.finish();
}

/** DiscoveryResponse{version_info 1, resources 2, type_url 4, nonce 5}. */
function discoveryResponse(typeUrl: string, version: string, nonce: string, resources: readonly Uint8Array[]): Buffer {
  const writer = protobuf.Writer.create();
  writer.uint32(tag(1)).string(version);
  for (const resource of resources) any(writer, 2, MCP_RESOURCE_ANY, resource);
  writer.uint32(tag(4)).string(typeUrl).uint32(tag(5)).string(nonce);
  const bytes = writer.finish();
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/** What a DiscoveryRequest says that matters here: type_url 4, response_nonce 5. */
function readRequest(bytes: Uint8Array): { typeUrl: string; nonce: string } {
  let typeUrl = '';
  let nonce = '';
  forEachBytesField(bytes, (field, value) => {
    if (field === 4) typeUrl = utf8(value);
    else if (field === 5) nonce = utf8(value);
  });
  return { typeUrl, nonce };
}

interface Subscriber {
  call: grpc.ServerDuplexStream<Buffer, Buffer>;
  /** The nonce last sent per type: a request carrying it is an ACK (or NACK) and gets no response. */
  sent: Map<string, string>;
}

export class IstioConfigSource {
  private readonly server = new grpc.Server({
    'grpc.max_receive_message_length': MAX_REQUEST_BYTES,
    // istiod pings an idle connection after 30 s and drops it if its own reader has not seen the answer
    // within 10 s, which on two busy cores (its goroutines queued behind a storm's pushes) happened, and it
    // never reconnects a config source. A ping from here every 5 s keeps the link from looking idle; a late
    // answer from istiod is never a reason to drop it.
    'grpc.keepalive_time_ms': SOURCE_PING_INTERVAL_MS,
    'grpc.keepalive_timeout_ms': 3_600_000,
    'grpc.keepalive_permit_without_calls': 1,
  });
  private readonly subscribers = new Set<Subscriber>();
  /** Each service's resource and the version it had when it last changed. */
  private readonly resources: Uint8Array[] = [];
  private readonly bodies: Uint8Array[] = [];
  /** Each service's Sidecar on a mesh whose services declare their calls; none otherwise. */
  private readonly sidecars: Uint8Array[];
  private version = 0;
  private nonce = 0;
  address = '';

  constructor(private readonly size: MeshSize) {
    this.stage(new Set());
    this.sidecars = size.callsPerWorkload
      ? Array.from({ length: size.services }, (_, s) =>
          mcpResource(serviceName(s), '1', SIDECAR_ANY, sidecarProto(size, s)),
        )
      : [];
    this.server.addService(
      {
        StreamAggregatedResources: {
          path: ADS_PATH,
          requestStream: true,
          responseStream: true,
          requestSerialize: passBytes,
          requestDeserialize: passBytes,
          responseSerialize: passBytes,
          responseDeserialize: passBytes,
        },
      },
      { StreamAggregatedResources: (call: grpc.ServerDuplexStream<Buffer, Buffer>) => this.serve(call) },
    );
  }

  async listen(): Promise<string> {
    const port = await new Promise<number>((resolve, reject) =>
      this.server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (error, bound) =>
        error ? reject(error) : resolve(bound),
      ),
    );
    this.address = `127.0.0.1:${port}`;
    return this.address;
  }

  /**
   * Makes `notReady` the mesh's state: only the services whose entry changed get a new resource version.
   * Returns how many changed; `publish` then sends them.
   */
  stage(notReady: NotReady): number {
    this.version++;
    let changed = 0;
    for (let s = 0; s < this.size.services; s++) {
      const body = serviceEntryProto(this.size, s, notReady);
      const previous = this.bodies[s];
      if (previous && Buffer.compare(previous, body) === 0) continue;
      this.bodies[s] = body;
      this.resources[s] = mcpResource(serviceName(s), String(this.version), SERVICE_ENTRY_ANY, body);
      changed++;
    }
    return changed;
  }

  /**
   * Sends the ServiceEntries (all of them, as SotW requires) to every stream that asked for them. Throws when
   * there is none: istiod does not reconnect a config source it lost (it does on a keepalive timeout), and a
   * change it never sees must fail the run, not time out as a slow push.
   */
  publish(): void {
    const streams = [...this.subscribers].filter((subscriber) => subscriber.sent.has(SERVICE_ENTRY_TYPE));
    if (streams.length === 0)
      throw new Error('istiod is no longer connected to its config source (see istiod.log: adsc)');
    for (const subscriber of streams) this.send(subscriber, SERVICE_ENTRY_TYPE);
  }

  stop(): void {
    for (const { call } of this.subscribers) call.end();
    this.subscribers.clear();
    this.server.forceShutdown();
  }

  private serve(call: grpc.ServerDuplexStream<Buffer, Buffer>): void {
    const subscriber: Subscriber = { call, sent: new Map() };
    this.subscribers.add(subscriber);
    call.on('data', (bytes: Buffer) => {
      const { typeUrl, nonce } = readRequest(bytes);
      // A request naming the nonce last sent is istiod's ACK; anything else asks for the current state.
      if (typeUrl === '' || (nonce !== '' && subscriber.sent.get(typeUrl) === nonce)) return;
      if (!subscriber.sent.has(typeUrl) && subscriber.sent.size >= MAX_TYPES_PER_STREAM) return;
      this.send(subscriber, typeUrl);
    });
    const forget = () => this.subscribers.delete(subscriber);
    call.on('end', forget);
    call.on('error', forget);
    call.on('close', forget);
    call.on('cancelled', forget);
  }

  private send(subscriber: Subscriber, typeUrl: string): void {
    const nonce = String(++this.nonce);
    subscriber.sent.set(typeUrl, nonce);
    const resources = typeUrl === SERVICE_ENTRY_TYPE ? this.resources : typeUrl === SIDECAR_TYPE ? this.sidecars : [];
    subscriber.call.write(discoveryResponse(typeUrl, String(this.version), nonce, resources));
  }
}
