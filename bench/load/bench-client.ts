// One Envoy-like ADS client: CDS and LDS as wildcards, EDS for the clusters CDS announces, RDS for the
// routes LDS names, every response ACKed. It decodes only names (see discovery-messages.ts), and results
// of that decoding are shared by all clients that receive the same response.
import * as grpc from '@grpc/grpc-js';
import * as protobuf from 'protobufjs';
import { messageType } from '../../src/xds/protos';
import {
  CLUSTER_TYPE,
  ENDPOINT_TYPE,
  LISTENER_TYPE,
  ROUTE_TYPE,
  ResponseHeader,
  apiListenerOf,
  assignmentNameOf,
  resourceNameOf,
  routeClustersOf,
  edsNameOf,
  readDeltaResponse,
  readSotwResponse,
  routeNamesOf,
} from './discovery-messages';
import { envoySotwEdsNames } from './envoy-order';
import { envoyRetryDelayMs, grpcJsRetryDelayMs } from './stream-backoff';
import { BenchNode, HeldCounts, StreamMode } from './protocol';

const ADS_SOTW = '/envoy.service.discovery.v3.AggregatedDiscoveryService/StreamAggregatedResources';
const ADS_DELTA = '/envoy.service.discovery.v3.AggregatedDiscoveryService/DeltaAggregatedResources';
/**
 * Envoy and grpc-js-xds retry a refused stream with backoff, without end; these clients do the same
 * (stream-backoff.ts) up to this many times in a row (with Envoy's 30 s cap, far longer than any sync
 * timeout of the harness), then report the client failed.
 */
const MAX_RECONNECTS_IN_ROW = 200;

export interface ClientEvents {
  synced(client: BenchClient): void;
  /** An EDS response arrived; `receivedNs` was taken before any parsing, `ackedNs` once its ACK was written. */
  endpoints(client: BenchClient, receivedNs: bigint, ackedNs: bigint, names: ReadonlySet<string>): void;
  failed(client: BenchClient, message: string): void;
  /** A synced client's stream ended and is being opened again. */
  reopened(client: BenchClient, message: string): void;
}

/**
 * Names found in one distinct response, shared by every client that gets the same resources. The key only
 * narrows the search: responses with the same version, size and count can still differ (istiod stamps one
 * push version on every client's response, and "svc-6" is as long as "svc-9"), so a hit must also have the
 * same resource bytes (the nonce, which may differ per stream, is not compared).
 */
interface MemoEntry {
  resources: readonly Uint8Array[];
  names: ReadonlySet<string>;
}
const namesMemo = new Map<string, MemoEntry[]>();
/** Bounds on what the memo keeps alive: entries, and bytes of the responses they hold. */
const MAX_MEMO_ENTRIES = 1_000;
const MAX_MEMO_BYTES = 256 * 2 ** 20;
let memoEntries = 0;
let memoBytes = 0;

function memoKey(header: ResponseHeader, length: number): string {
  return `${header.typeUrl}|${header.versionInfo}|${length}|${header.resources.length}`;
}

function sameResources(a: readonly Uint8Array[], b: readonly Uint8Array[]): boolean {
  return a.length === b.length && a.every((resource, i) => Buffer.compare(resource, b[i]) === 0);
}

function namesIn(
  header: ResponseHeader,
  length: number,
  extract: (resource: Uint8Array) => string[],
): ReadonlySet<string> {
  const key = memoKey(header, length);
  const hit = namesMemo.get(key)?.find((entry) => sameResources(entry.resources, header.resources));
  if (hit) return hit.names;
  const found = new Set<string>();
  for (const resource of header.resources) for (const name of extract(resource)) found.add(name);
  if (memoEntries >= MAX_MEMO_ENTRIES || memoBytes + length > MAX_MEMO_BYTES) {
    namesMemo.clear();
    memoEntries = 0;
    memoBytes = 0;
  }
  const bucket = namesMemo.get(key) ?? [];
  bucket.push({ resources: header.resources, names: found });
  namesMemo.set(key, bucket);
  memoEntries++;
  memoBytes += length;
  return found;
}

/** google.protobuf.Value as protobufjs's fromObject takes it: a string, or a Struct of strings (LABELS). */
type StructValue = { stringValue: string } | { structValue: { fields: Record<string, { stringValue: string }> } };

function encodeNode(node: BenchNode): Uint8Array {
  const type = messageType('envoy.config.core.v3.Node');
  const fields: Record<string, StructValue> = {};
  for (const [key, value] of Object.entries(node.metadata)) fields[key] = { stringValue: value };
  if (node.labels) {
    const labels = Object.fromEntries(Object.entries(node.labels).map(([key, value]) => [key, { stringValue: value }]));
    fields.LABELS = { structValue: { fields: labels } };
  }
  return type
    .encode(
      type.fromObject({
        id: node.id,
        cluster: 'bench',
        metadata: { fields },
        locality: node.locality,
        user_agent_name: node.kind === 'grpc' ? 'grpc-node-js' : 'envoy',
        user_agent_version: 'bench',
      }),
    )
    .finish();
}

function sameNames(a: readonly string[], b: ReadonlySet<string>): boolean {
  return a.length === b.size && a.every((name) => b.has(name));
}

export class BenchClient {
  bytesReceived = 0;
  responses = 0;
  syncedAtNs?: bigint;
  readonly held: HeldCounts = { clusters: 0, endpoints: 0, listeners: 0, routes: 0 };
  private readonly client: grpc.Client;
  private call: grpc.ClientDuplexStream<Buffer, Buffer>;
  /** Streams refused or dropped before the initial sync, and opened again. */
  reconnects = 0;
  /** Streams ended since a response last arrived (the backoff grows with it), and when the current one opened. */
  private failuresInRow = 0;
  private streamOpenedAt = 0;
  private readonly nodeBytes: Uint8Array;
  private nodeSent = false;
  private edsNames: string[] = [];
  private rdsNames: string[] = [];
  private listenersRequested = false;
  private edsSinceSubscription = false;
  private rdsSinceSubscription = false;
  private gotClusters = false;
  private gotListeners = false;
  private closed = false;
  private readonly lastSotw = new Map<string, { version: string; nonce: string }>();
  /** gRPC-like clients: listeners they target, clusters they need (per listener or route), and CDS state. */
  private readonly grpc: boolean;
  private readonly targets: string[];
  private readonly clustersBy = new Map<string, string[]>();
  private cdsNames: string[] = [];
  private cdsSinceSubscription = false;

  constructor(
    address: string,
    node: BenchNode,
    private readonly mode: StreamMode,
    private readonly events: ClientEvents,
  ) {
    this.nodeBytes = encodeNode(node);
    this.grpc = node.kind === 'grpc';
    this.targets = [...(node.targets ?? [])].sort();
    // A connection of its own per client (as separate Envoys would have), not one shared subchannel.
    this.client = new grpc.Client(address, grpc.credentials.createInsecure(), {
      'grpc.use_local_subchannel_pool': 1,
      'grpc.max_receive_message_length': -1,
      'grpc.keepalive_time_ms': 300_000,
    });
    this.call = this.open();
    this.firstRequest();
  }

  /** Envoy starts with CDS (wildcard); a gRPC client with LDS for the listeners its channels target. */
  private firstRequest(): void {
    if (this.grpc) this.subscribe(LISTENER_TYPE, [], this.targets);
    else this.requestWildcard(CLUSTER_TYPE);
  }

  /** Opens the ADS stream (the caller then asks for clusters); a stream refused before the sync is retried, as Envoy would. */
  private open(): grpc.ClientDuplexStream<Buffer, Buffer> {
    const call = this.client.makeBidiStreamRequest(
      this.mode === 'sotw' ? ADS_SOTW : ADS_DELTA,
      (bytes: Buffer) => bytes,
      (bytes: Buffer) => bytes,
    );
    call.on('data', (bytes: Buffer) => {
      if (call === this.call) this.onResponse(process.hrtime.bigint(), bytes);
    });
    call.on('status', (status: grpc.StatusObject) => {
      if (this.closed || call !== this.call) return;
      const message = `stream ended: ${grpc.status[status.code]} ${status.details}`;
      if (this.failuresInRow >= MAX_RECONNECTS_IN_ROW) return this.events.failed(this, message);
      // Envoy and grpc-js open the stream again whenever it ends, synced or not (istiod, for one, drops a
      // connection whose keepalive ping goes unanswered for 10 s, which a busy machine can cause).
      if (this.syncedAtNs === undefined) this.reconnects++;
      else this.events.reopened(this, message);
      this.failuresInRow++;
      setTimeout(() => this.reopen(), this.retryDelayMs());
    });
    call.on('error', () => {
      /* reported through 'status' */
    });
    this.resetProtocolState();
    this.streamOpenedAt = Date.now();
    return call;
  }

  /** Envoy waits from the stream's end; grpc-js-xds's timer runs from the stream's start. */
  private retryDelayMs(): number {
    if (!this.grpc) return envoyRetryDelayMs(this.failuresInRow);
    return Math.max(0, this.streamOpenedAt + grpcJsRetryDelayMs(this.failuresInRow) - Date.now());
  }

  private reopen(): void {
    if (this.closed) return;
    this.call = this.open();
    this.firstRequest();
  }

  private resetProtocolState(): void {
    this.nodeSent = false;
    this.edsNames = [];
    this.rdsNames = [];
    this.listenersRequested = false;
    this.edsSinceSubscription = false;
    this.rdsSinceSubscription = false;
    this.gotClusters = false;
    this.gotListeners = false;
    this.lastSotw.clear();
    this.clustersBy.clear();
    this.cdsNames = [];
    this.cdsSinceSubscription = false;
  }

  close(): void {
    this.closed = true;
    this.call.cancel();
    this.client.close();
  }

  private onResponse(receivedNs: bigint, bytes: Buffer): void {
    if (this.closed) return;
    // Both clients reset their backoff once the stream carries a response.
    this.failuresInRow = 0;
    this.bytesReceived += bytes.length;
    this.responses++;
    const header = this.mode === 'sotw' ? readSotwResponse(bytes) : readDeltaResponse(bytes);
    this.lastSotw.set(header.typeUrl, { version: header.versionInfo, nonce: header.nonce });
    if (this.grpc) return this.onGrpcResponse(receivedNs, header, bytes.length);
    switch (header.typeUrl) {
      case CLUSTER_TYPE: {
        this.gotClusters = true;
        this.takeClusters(header, bytes.length);
        if (this.edsNames.length === 0) this.requestListenersOnce();
        break;
      }
      case ENDPOINT_TYPE: {
        const names = namesIn(header, bytes.length, (assignment) => [assignmentNameOf(assignment)]);
        this.held.endpoints = this.edsNames.length;
        this.edsSinceSubscription = true;
        // Envoy asks for what a response unblocks before it ACKs that response (captured order).
        this.requestListenersOnce();
        this.ack(header);
        this.events.endpoints(this, receivedNs, process.hrtime.bigint(), names);
        break;
      }
      case LISTENER_TYPE: {
        const routes = namesIn(header, bytes.length, routeNamesOf);
        this.held.listeners = header.resources.length;
        this.gotListeners = true;
        const wantedRoutes = this.withHeld(this.rdsNames, routes);
        if (!sameNames(this.rdsNames, wantedRoutes)) {
          const previous = this.rdsNames;
          this.rdsNames = [...wantedRoutes].sort();
          this.rdsSinceSubscription = this.rdsNames.length === 0;
          this.subscribe(ROUTE_TYPE, previous, this.rdsNames);
        }
        this.ack(header);
        break;
      }
      case ROUTE_TYPE:
        this.held.routes = this.rdsNames.length;
        this.rdsSinceSubscription = true;
        this.ack(header);
        break;
      default:
        this.events.failed(this, `unexpected type ${header.typeUrl}`);
        return;
    }
    this.checkSynced(receivedNs);
  }

  /** grpc-js-xds's order: LDS by name → RDS by name (or inline routes) → CDS by name → EDS by name. */
  private onGrpcResponse(receivedNs: bigint, header: ResponseHeader, length: number): void {
    switch (header.typeUrl) {
      case LISTENER_TYPE: {
        for (const resource of header.resources) {
          const facts = apiListenerOf(resource);
          this.clustersBy.set(`L|${facts.name}`, facts.inlineClusters);
          this.clustersBy.set(`LR|${facts.name}`, facts.rdsNames);
        }
        this.held.listeners = header.resources.length;
        this.gotListeners = true;
        this.ack(header);
        const routes = new Set<string>();
        for (const [key, names] of this.clustersBy)
          if (key.startsWith('LR|')) for (const name of names) routes.add(name);
        if (!sameNames(this.rdsNames, routes)) {
          const previous = this.rdsNames;
          this.rdsNames = [...routes].sort();
          this.rdsSinceSubscription = this.rdsNames.length === 0;
          this.subscribe(ROUTE_TYPE, previous, this.rdsNames);
        }
        this.rdsSinceSubscription ||= this.rdsNames.length === 0;
        break;
      }
      case ROUTE_TYPE:
        for (const resource of header.resources)
          this.clustersBy.set(`R|${resourceNameOf(resource)}`, routeClustersOf(resource));
        this.held.routes = this.rdsNames.length;
        this.rdsSinceSubscription = true;
        this.ack(header);
        break;
      case CLUSTER_TYPE: {
        this.cdsSinceSubscription = true;
        this.takeClusters(header, length);
        break;
      }
      case ENDPOINT_TYPE: {
        const names = namesIn(header, length, (assignment) => [assignmentNameOf(assignment)]);
        this.held.endpoints = this.edsNames.length;
        this.edsSinceSubscription = true;
        this.ack(header);
        this.events.endpoints(this, receivedNs, process.hrtime.bigint(), names);
        break;
      }
      default:
        this.events.failed(this, `unexpected type ${header.typeUrl}`);
        return;
    }
    if (header.typeUrl === LISTENER_TYPE || header.typeUrl === ROUTE_TYPE) {
      const clusters = new Set<string>();
      for (const [key, names] of this.clustersBy)
        if (!key.startsWith('LR|')) for (const name of names) clusters.add(name);
      if (this.rdsSinceSubscription && !sameNames(this.cdsNames, clusters)) {
        const previous = this.cdsNames;
        this.cdsNames = [...clusters].sort();
        this.cdsSinceSubscription = this.cdsNames.length === 0;
        this.subscribe(CLUSTER_TYPE, previous, this.cdsNames);
      }
    }
    if (
      this.syncedAtNs === undefined &&
      this.gotListeners &&
      this.rdsSinceSubscription &&
      this.cdsNames.length > 0 &&
      this.cdsSinceSubscription &&
      this.edsSinceSubscription
    ) {
      this.syncedAtNs = receivedNs;
      this.events.synced(this);
    }
  }

  /** SotW responses are complete sets; a delta response adds to what the client already holds. */
  /** Both client kinds: count the clusters, ACK, and (re)subscribe to the EDS names they reference. */
  private takeClusters(header: ResponseHeader, length: number): void {
    const eds = namesIn(header, length, (cluster) => {
      const name = edsNameOf(cluster);
      return name === undefined ? [] : [name];
    });
    this.held.clusters = header.resources.length;
    // Envoy subscribes to the new EDS names before it ACKs the clusters; grpc-js-xds is left as it was.
    if (this.grpc) this.ack(header);
    const wantedEds = this.withHeld(this.edsNames, eds);
    if (!sameNames(this.edsNames, wantedEds)) {
      const previous = this.edsNames;
      // An Envoy-like SotW client lists EDS names as Envoy does (envoy-order.ts), not sorted.
      this.edsNames =
        this.mode === 'sotw' && !this.grpc ? envoySotwEdsNames(wantedEds, previous) : [...wantedEds].sort();
      this.edsSinceSubscription = this.edsNames.length === 0;
      this.subscribe(ENDPOINT_TYPE, previous, this.edsNames);
    }
    if (!this.grpc) this.ack(header);
  }

  private withHeld(held: readonly string[], found: ReadonlySet<string>): ReadonlySet<string> {
    if (this.mode === 'sotw') return found;
    return new Set([...held, ...found]);
  }

  private checkSynced(nowNs: bigint): void {
    if (this.syncedAtNs !== undefined) return;
    if (this.gotClusters && this.edsSinceSubscription && this.gotListeners && this.rdsSinceSubscription) {
      this.syncedAtNs = nowNs;
      this.events.synced(this);
    }
  }

  private requestListenersOnce(): void {
    if (this.listenersRequested) return;
    this.listenersRequested = true;
    this.requestWildcard(LISTENER_TYPE);
  }

  private names(typeUrl: string): string[] {
    if (typeUrl === ENDPOINT_TYPE) return this.edsNames;
    if (typeUrl === ROUTE_TYPE) return this.rdsNames;
    if (this.grpc && typeUrl === LISTENER_TYPE) return this.targets;
    if (this.grpc && typeUrl === CLUSTER_TYPE) return this.cdsNames;
    return [];
  }

  private ack(header: ResponseHeader): void {
    if (this.mode === 'sotw')
      this.writeSotw(header.typeUrl, header.versionInfo, header.nonce, this.names(header.typeUrl));
    else this.writeDelta(header.typeUrl, header.nonce, [], []);
  }

  /** The first request of a wildcard type (CDS, LDS): no names, in either mode. */
  private requestWildcard(typeUrl: string): void {
    if (this.mode === 'sotw') this.writeSotw(typeUrl, '', '', []);
    else this.writeDelta(typeUrl, '', [], []);
  }

  private subscribe(typeUrl: string, previous: readonly string[], next: readonly string[]): void {
    if (this.mode === 'sotw') {
      const last = this.lastSotw.get(typeUrl);
      this.writeSotw(typeUrl, last?.version ?? '', last?.nonce ?? '', [...next]);
      return;
    }
    const before = new Set(previous);
    const after = new Set(next);
    this.writeDelta(
      typeUrl,
      '',
      next.filter((n) => !before.has(n)),
      previous.filter((n) => !after.has(n)),
    );
  }

  /** DiscoveryRequest: version_info 1, node 2, resource_names 3, type_url 4, response_nonce 5. */
  private writeSotw(typeUrl: string, version: string, nonce: string, names: readonly string[]): void {
    const writer = protobuf.Writer.create();
    if (version) writer.uint32((1 << 3) | 2).string(version);
    if (!this.nodeSent) writer.uint32((2 << 3) | 2).bytes(this.nodeBytes);
    for (const name of names) writer.uint32((3 << 3) | 2).string(name);
    writer.uint32((4 << 3) | 2).string(typeUrl);
    if (nonce) writer.uint32((5 << 3) | 2).string(nonce);
    this.nodeSent = true;
    this.write(writer.finish());
  }

  /** DeltaDiscoveryRequest: node 1, type_url 2, subscribe 3, unsubscribe 4, response_nonce 6. */
  private writeDelta(
    typeUrl: string,
    nonce: string,
    subscribe: readonly string[],
    unsubscribe: readonly string[],
  ): void {
    const writer = protobuf.Writer.create();
    if (!this.nodeSent) writer.uint32((1 << 3) | 2).bytes(this.nodeBytes);
    writer.uint32((2 << 3) | 2).string(typeUrl);
    for (const name of subscribe) writer.uint32((3 << 3) | 2).string(name);
    for (const name of unsubscribe) writer.uint32((4 << 3) | 2).string(name);
    if (nonce) writer.uint32((6 << 3) | 2).string(nonce);
    this.nodeSent = true;
    this.write(writer.finish());
  }

  private write(bytes: Uint8Array): void {
    if (!this.closed) this.call.write(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));
  }
}
