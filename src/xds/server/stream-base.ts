// What SotW and delta streams share: resolving the client's view from its first request, watching the
// cache, writing with backpressure, ordering pushes, and closing with a clear status.
import * as grpc from '@grpc/grpc-js';
import type { Logger } from 'pino';
import { ConfigWatcher, ViewKey } from '../cache/snapshot-cache';
import { EncodedResource } from '../resource/encoded-resource';
import { Snapshot, byName } from '../cache/snapshot';
import {
  CLUSTER_TYPE,
  ENDPOINT_TYPE,
  LISTENER_TYPE,
  PUSH_ORDER,
  ROUTE_TYPE,
  SUPPORTED_TYPES_TEXT,
  XdsTypeUrl,
  isXdsTypeUrl,
  shortTypeName,
} from '../resource-types';
import { ClientInfo, ClientRegistry, StreamMode } from './client-registry';
import { StreamKind, ViewResolver } from './client-view';
import { NonceSource } from './nonce';
import { StreamNames, Subscription } from './subscription';
import { NodeInfo } from './wire';
import { ClientLimitError, ClientLimits } from './client-limits';
import { NameSetBudget } from './name-budget';
import { nodeSizeProblem } from './node-limits';
import { bounded } from './bounded-text';
import { emptyResourceFor } from './empty-resources';
import { IdentityPolicy, checkClusterIdentity } from './client-identity';
import { TokenBucket } from './rate-limit';
import { SendBudget } from './send-budget';

export interface StreamContext {
  watcher: ConfigWatcher;
  resolveView: ViewResolver;
  registry: ClientRegistry;
  logger: Logger;
  nonces: NonceSource;
  nextStreamId: () => number;
  /** When set, a client's certificate must name the cluster it claims. */
  identity?: IdentityPolicy;
  limits: StreamLimits;
  /** What one client may make the server hold, log or show. */
  clientLimits: ClientLimits;
  /** Shared by all streams of the server: bounds the distinct subscribed names held. */
  nameBudget: NameSetBudget;
  /** Shared by all streams of the server: bounds response bytes queued for the transport. */
  sendBudget: SendBudget;
  /**
   * The view a stream of `workload` should have now (the workload's declared calls may have appeared or
   * gone since it connected); absent: views never change after connecting.
   */
  rescopeView?: (view: ViewKey, workload: string, stream: StreamKind) => ViewKey;
  /** Streams whose view may change with the mesh (sidecars that name their workload). */
  rescopable?: Set<{ rescope(): void }>;
}

/** Status details stay short: they travel in HTTP/2 trailers, and a long one never reaches the client. */
const MAX_STATUS_CHARS = 1024;

export interface StreamLimits {
  requestsPerSecond: number;
  requestBurst: number;
}

export interface TypeStateBase {
  readonly sub: Subscription;
  lastNonce?: string;
  /** A response is out and neither ACKed nor NACKed: cache changes wait (the client gets the newest later). */
  awaitingAck: boolean;
  /** The cache changed since the last response of this type. */
  cacheChanged: boolean;
  /** The client changed what it subscribes to: answer even while a response is out. */
  namesChanged: boolean;
  /** Whether any response of this type was sent on this stream. */
  responded: boolean;
  /** Some content (a cluster removal) was held back until listeners and routes settle. */
  deferred: boolean;
  /** Version of the last response sent on this stream. */
  sentVersion?: string;
  /** When the oldest change not yet sent was first seen (for push latency). */
  changeSeenAtMs?: number;
}

/** What a gRPC client (grpc-js, grpc-go) accepts in one message unless configured otherwise. */
export const GRPC_DEFAULT_MAX_RECEIVE_BYTES = 4 * 1024 * 1024;

export class StreamClosedError extends Error {
  constructor(readonly code: grpc.status, message: string) {
    super(message);
  }
}

type DuplexCall<Req> = grpc.ServerDuplexStream<Req, Buffer>;

export abstract class StreamBase<Req extends { node?: NodeInfo; nodeBytes?: Uint8Array; typeUrl: string }, State extends TypeStateBase> {
  protected readonly states = new Map<XdsTypeUrl, State>();
  /** Shared by this stream's subscriptions (one per type): their byte total and limits. */
  protected readonly names: StreamNames;
  protected view?: ViewKey;
  protected client?: ClientInfo;
  /** What decides this stream's view besides the node (kept small: not the node itself). */
  private scope?: { workload: string; stream: StreamKind };
  private logger?: Logger;
  private cancelWatch?: () => void;
  private blocked = false;
  private closed = false;
  private readonly streamId: number;
  /** Types already warned about as too big for a gRPC client (once per stream and type). */
  private readonly warnedTooBig = new Set<string>();
  private readonly requestBudget: TokenBucket;
  /** Resumes this stream when the server's send budget has room again. */
  private readonly resume = () => this.flush();

  constructor(
    protected readonly call: DuplexCall<Req>,
    protected readonly ctx: StreamContext,
    private readonly mode: StreamMode,
    private readonly serviceName: string,
    /** Types this service may carry: all four on ADS, one on a per-type service. */
    private readonly allowedTypes: readonly XdsTypeUrl[],
  ) {
    this.streamId = ctx.nextStreamId();
    this.requestBudget = new TokenBucket(ctx.limits.requestsPerSecond, ctx.limits.requestBurst);
    this.names = new StreamNames(ctx.clientLimits, ctx.nameBudget);
    call.on('data', (request: Req) => this.onRequest(request));
    call.on('end', () => this.close());
    call.on('error', (error: Error) => {
      this.log.debug({ err: error.message }, 'stream error');
      this.cleanup();
    });
    call.on('cancelled', () => this.cleanup());
    call.on('close', () => this.cleanup());
  }

  /**
   * This stream's logger: one pino child per stream (made when first needed, or when the client is known),
   * because thousands of streams connect at once and every child costs time and memory.
   */
  protected get log(): Logger {
    this.logger ??= this.ctx.logger.child({ stream: this.streamId, mode: this.mode, service: this.serviceName });
    return this.logger;
  }

  /** Handles one request of this stream's kind; may throw StreamClosedError to end the stream. */
  protected abstract handle(typeUrl: XdsTypeUrl, request: Req, state: State, isFirstOfType: boolean): void;
  protected abstract newState(): State;
  /** Sends one response of this type if there is anything to send; returns whether it sent. */
  protected abstract respond(typeUrl: XdsTypeUrl, state: State, snapshot: Snapshot): boolean;

  private onRequest(request: Req): void {
    if (this.closed) return;
    try {
      if (!this.requestBudget.take()) {
        throw new StreamClosedError(
          grpc.status.RESOURCE_EXHAUSTED,
          `more than ${this.ctx.limits.requestsPerSecond} discovery requests per second (burst ${this.ctx.limits.requestBurst}) on one stream; the client is misbehaving`,
        );
      }
      if (!this.client) this.start(request);
      const typeUrl = request.typeUrl;
      if (!isXdsTypeUrl(typeUrl) || !this.allowedTypes.includes(typeUrl)) {
        const served = this.allowedTypes.length === PUSH_ORDER.length ? SUPPORTED_TYPES_TEXT : this.allowedTypes.map(shortTypeName).join(', ');
        throw new StreamClosedError(
          grpc.status.INVALID_ARGUMENT,
          `unsupported type_url "${bounded(typeUrl, 200)}" on ${this.serviceName}; this server serves ${served}`,
        );
      }
      let state = this.states.get(typeUrl);
      const isFirstOfType = !state;
      if (!state) {
        state = this.newState();
        this.states.set(typeUrl, state);
      }
      this.handle(typeUrl, request, state, isFirstOfType);
      this.flush();
    } catch (error) {
      if (error instanceof StreamClosedError) this.fail(error.code, error.message);
      else if (error instanceof ClientLimitError) this.fail(grpc.status.RESOURCE_EXHAUSTED, error.message);
      else {
        this.log.error({ err: bounded(error instanceof Error ? (error.stack ?? error.message) : String(error), 4096) }, 'unexpected error handling a discovery request');
        this.fail(grpc.status.INTERNAL, `internal error: ${error instanceof Error ? error.message : String(error)}`);
      }
    }
  }

  private start(request: Req): void {
    // Sizes first, on the bytes: an oversize node is neither decoded, nor logged, nor echoed.
    const sizeProblem = request.nodeBytes ? nodeSizeProblem(request.nodeBytes, this.ctx.clientLimits) : undefined;
    if (sizeProblem) {
      this.ctx.registry.recordRejectedStream();
      this.log.warn({ reason: sizeProblem, peer: safePeer(this.call) }, 'refusing xDS client: node too large');
      throw new StreamClosedError(grpc.status.RESOURCE_EXHAUSTED, sizeProblem);
    }
    const node = request.node;
    if (!node || !node.id) {
      throw new StreamClosedError(grpc.status.INVALID_ARGUMENT, 'the first discovery request must carry a node with an id (set node.id in the bootstrap)');
    }
    const streamKind: StreamKind = { mode: this.mode, ads: this.allowedTypes.length === PUSH_ORDER.length };
    const resolution = this.ctx.resolveView(node, streamKind);
    if (!resolution.ok) {
      this.ctx.registry.recordRejectedStream();
      this.log.warn({ node: node.id, reason: bounded(resolution.message, MAX_STATUS_CHARS) }, 'refusing xDS client');
      throw new StreamClosedError(resolution.code, resolution.message);
    }
    if (this.ctx.identity) {
      const identity = checkClusterIdentity(this.ctx.identity, this.call.getAuthContext().sslPeerCertificate, resolution.clusterId);
      if (!identity.ok) {
        this.ctx.registry.recordRejectedStream();
        this.log.warn({ node: node.id, reason: identity.message }, 'refusing xDS client: certificate does not match its cluster');
        throw new StreamClosedError(grpc.status.PERMISSION_DENIED, identity.message);
      }
    }
    this.view = resolution.view;
    this.client = {
      streamId: this.streamId,
      nodeId: node.id,
      clusterId: resolution.clusterId,
      role: resolution.role,
      view: resolution.view,
      userAgent: [node.userAgentName, node.userAgentVersion].filter(Boolean).join('/'),
      mode: this.mode,
      service: this.serviceName,
      peer: safePeer(this.call),
      connectedAtMs: Date.now(),
      types: {},
    };
    this.ctx.registry.add(this.client);
    this.logger = this.ctx.logger.child({
      stream: this.streamId,
      mode: this.mode,
      service: this.serviceName,
      node: node.id,
      cluster: resolution.clusterId,
      role: resolution.role,
    });
    this.log.info({ view: resolution.view, userAgent: this.client.userAgent, peer: this.client.peer }, 'xDS client connected');
    this.watchView(resolution.view);
    if (resolution.workload !== undefined && this.ctx.rescopeView && this.ctx.rescopable) {
      this.scope = { workload: resolution.workload, stream: streamKind };
      this.ctx.rescopable.add(this);
    }
  }

  private watchView(view: ViewKey): void {
    this.cancelWatch = this.ctx.watcher.watch(view, (changed, changeSeenAtMs) => {
      for (const typeUrl of changed) {
        const state = this.states.get(typeUrl);
        if (!state) continue;
        state.cacheChanged = true;
        state.changeSeenAtMs ??= changeSeenAtMs;
      }
      this.flush();
    });
  }

  /**
   * The workload's declared calls appeared or went since this stream connected: move it to the view it
   * would get now. Every type is due again; the usual ordering (clusters before the routes naming them,
   * removals after) applies to the difference, as for any change.
   */
  rescope(): void {
    if (this.closed || !this.scope || this.view === undefined || !this.ctx.rescopeView) return;
    const next = this.ctx.rescopeView(this.view, this.scope.workload, this.scope.stream);
    if (next === this.view) return;
    this.log.info({ from: this.view, to: next }, 'workload scope changed: moving the stream to its new view');
    this.cancelWatch?.();
    this.view = next;
    if (this.client) this.client.view = next;
    for (const state of this.states.values()) state.cacheChanged = true;
    this.watchView(next);
    this.flush();
  }

  /** Sends what is due, in make-before-break order, respecting ACK gating and transport backpressure. */
  protected flush(): void {
    if (this.closed || this.blocked || this.view === undefined) return;
    // A new view's first snapshot may still be building (a big mesh): its watchers are told when it is.
    const snapshot = this.ctx.watcher.ready(this.view);
    if (!snapshot) return;
    // A cluster removal held back in the first pass is due in a second one when listeners and routes
    // settled during the first without sending anything (their change was nothing this client subscribes
    // to): no later event would come to release it.
    if (this.flushPass(snapshot) && this.deferredDue()) this.flushPass(snapshot);
  }

  /** One pass over the types in push order; false when it stopped early (backpressure or budget). */
  private flushPass(snapshot: Snapshot): boolean {
    for (const typeUrl of PUSH_ORDER) {
      const state = this.states.get(typeUrl);
      if (!state) continue;
      const deferredDue = state.deferred && !this.routesUnsettled();
      if (!(state.cacheChanged || state.namesChanged || deferredDue)) continue;
      if (state.awaitingAck && !state.namesChanged) continue;
      if (this.mustWaitForClusters(typeUrl)) continue;
      if (!this.ctx.sendBudget.canSend()) {
        // Many responses are queued server-wide (a reconnect storm): take a turn, send the newest state then.
        this.ctx.sendBudget.waitTurn(this.resume);
        return false;
      }
      state.cacheChanged = false;
      state.namesChanged = false;
      state.deferred = false;
      this.respond(typeUrl, state, snapshot);
      if (this.blocked) return false;
    }
    return true;
  }

  /** Whether a held-back removal may go now (and is not waiting for its own ACK). */
  private deferredDue(): boolean {
    const clusters = this.states.get(CLUSTER_TYPE);
    return clusters !== undefined && clusters.deferred && !clusters.awaitingAck && !this.routesUnsettled();
  }

  /**
   * On ADS, listeners and routes wait until clusters and endpoints are settled, so a route never points at
   * a cluster the client does not have yet.
   */
  private mustWaitForClusters(typeUrl: XdsTypeUrl): boolean {
    if (typeUrl !== LISTENER_TYPE && typeUrl !== ROUTE_TYPE) return false;
    return ([CLUSTER_TYPE, ENDPOINT_TYPE] as const).some((dependency) => {
      const state = this.states.get(dependency);
      return state !== undefined && state.responded && (state.awaitingAck || state.cacheChanged || state.namesChanged);
    });
  }

  /** Whether listeners or routes still have something to send or confirm (cluster removals wait for them). */
  protected routesUnsettled(): boolean {
    return ([LISTENER_TYPE, ROUTE_TYPE] as const).some((typeUrl) => {
      const state = this.states.get(typeUrl);
      return state !== undefined && (state.awaitingAck || state.cacheChanged || state.namesChanged);
    });
  }

  /** Resources of a type that this subscription covers, sorted by name; missing EDS names get an empty assignment. */
  protected selectResources(typeUrl: XdsTypeUrl, sub: Subscription, snapshot: Snapshot): readonly EncodedResource[] {
    // The common case (Envoy's CDS and LDS) shares one sorted array per snapshot across all clients.
    if (sub.isWildcard && sub.names.size === 0) return snapshot.wildcardResources(typeUrl);
    return snapshot.selection(typeUrl, sub.isWildcard, sub.nameSet, () => {
      const selected: EncodedResource[] = sub.isWildcard ? [...snapshot.wildcardResources(typeUrl)] : [];
      const all = snapshot.resources(typeUrl);
      const groupsAdded = new Set<string>();
      for (const name of sub.names) {
        const resource = all.get(name);
        if (resource?.group !== undefined) {
          // Named one of a group: the whole group comes (members it also named are pushed here, not below).
          if (!groupsAdded.has(resource.group)) {
            groupsAdded.add(resource.group);
            for (const member of snapshot.groupMembers(typeUrl, resource.group)) if (!(member.inWildcard && sub.isWildcard)) selected.push(member);
          }
        } else if (resource) {
          if (!(resource.inWildcard && sub.isWildcard)) selected.push(resource);
        } else {
          const empty = emptyResourceFor(typeUrl, name, sub.nameSet);
          if (empty) selected.push(empty);
        }
      }
      return selected.sort(byName);
    });
  }

  /** Sends a response (encoded with a fresh nonce, or already encoded with its own) and records it as awaiting ACK. */
  protected sendResponse(typeUrl: XdsTypeUrl, state: State, version: string, response: ((nonce: string) => Buffer) | { nonce: string; bytes: Buffer }): void {
    const nonce = typeof response === 'function' ? this.ctx.nonces.next() : response.nonce;
    const bytes = typeof response === 'function' ? response(nonce) : response.bytes;
    state.lastNonce = nonce;
    state.awaitingAck = true;
    state.responded = true;
    state.sentVersion = version;
    if (this.client) this.ctx.registry.recordSent(this.client, shortTypeName(typeUrl), version, nonce, state.changeSeenAtMs);
    state.changeSeenAtMs = undefined;
    this.log.debug({ type: shortTypeName(typeUrl), version, nonce, bytes: bytes.length }, 'response sent');
    this.warnIfTooBigForGrpc(typeUrl, bytes.length);
    this.send(bytes);
  }

  /**
   * gRPC clients refuse messages over 4 MiB unless told otherwise, and then say only "Received message
   * larger than max": say here, once per stream and type, what the operator can do about it.
   */
  private warnIfTooBigForGrpc(typeUrl: XdsTypeUrl, bytes: number): void {
    if (bytes <= GRPC_DEFAULT_MAX_RECEIVE_BYTES || !this.client || !/grpc/i.test(this.client.userAgent)) return;
    const type = shortTypeName(typeUrl);
    if (this.warnedTooBig.has(type)) return;
    this.warnedTooBig.add(type);
    this.log.warn(
      { type, bytes, limit: GRPC_DEFAULT_MAX_RECEIVE_BYTES },
      `this ${type} response (${(bytes / 1048576).toFixed(1)} MiB) is over the 4 MiB gRPC clients accept by default: the client will fail with "Received message larger than max"; raise its grpc.max_receive_message_length, or split the mesh (docs/OPERATIONS.md, big meshes)`,
    );
  }

  private send(bytes: Buffer): void {
    if (this.closed) return;
    const ticket = this.ctx.sendBudget.take(bytes.length);
    const accepted = this.call.write(bytes, () => ticket.release());
    if (!accepted) {
      // The client reads slowly: stop pushing until it drains. Changes meanwhile only mark types dirty,
      // so it later receives the newest state once, never a queue of stale ones.
      this.blocked = true;
      this.call.once('drain', () => {
        this.blocked = false;
        this.flush();
      });
    }
  }

  /** `version` is the client's version_info: kept and logged only up to a bound. */
  protected recordAck(typeUrl: XdsTypeUrl, version: string): void {
    const kept = bounded(version);
    if (this.client) this.ctx.registry.recordAck(this.client, shortTypeName(typeUrl), kept);
    this.log.debug({ type: shortTypeName(typeUrl), version: kept }, 'ACK');
  }

  /** `message` is the client's error text: kept and logged only up to --xds-max-nack-message-chars. */
  protected recordNack(typeUrl: XdsTypeUrl, version: string, nonce: string, message: string): void {
    const kept = bounded(message, this.ctx.clientLimits.maxNackMessageChars);
    if (this.client) this.ctx.registry.recordNack(this.client, shortTypeName(typeUrl), { version, nonce, message: kept, atMs: Date.now() });
    this.log.warn({ type: shortTypeName(typeUrl), version, nonce, error: kept }, 'NACK: the client rejected the config and keeps its previous one');
  }

  /** A nonce the client sent that is not ours to trust: logged only up to a bound. */
  protected logStaleNonce(nonce: string, latest: string): void {
    this.log.debug({ nonce: bounded(nonce), latest }, 'stale nonce ignored');
  }

  private fail(code: grpc.status, message: string): void {
    if (this.closed) return;
    const details = bounded(message, MAX_STATUS_CHARS);
    this.log.warn({ code: grpc.status[code], message: details }, 'closing xDS stream');
    this.call.emit('error', { code, details, message: details, name: 'StreamClosedError' } as grpc.ServiceError);
    this.cleanup();
  }

  private close(): void {
    if (!this.closed) this.call.end();
    this.cleanup();
  }

  private cleanup(): void {
    if (this.closed) return;
    this.closed = true;
    this.cancelWatch?.();
    this.ctx.rescopable?.delete(this);
    this.ctx.sendBudget.cancel(this.resume);
    // What the stream subscribed to stops counting against the server's budget at once.
    for (const state of this.states.values()) state.sub.release();
    this.states.clear();
    if (this.client) {
      this.ctx.registry.remove(this.client.streamId);
      this.log.info('xDS client disconnected');
    }
  }
}

function safePeer(call: { getPeer(): string }): string {
  try {
    return call.getPeer();
  } catch {
    return 'unknown';
  }
}
