// What SotW and delta streams share, composed of parts with one job each: admission of the client
// (client-admission.ts), its request rate (request-rate.ts) and served types (served-types.ts), the view it
// follows (view-watch.ts), per-type push state (push-state.ts) and make-before-break ordering
// (push-order.ts), flow control (stream-writer.ts), the registry's record (client-ledger.ts), and closing
// with a clear status (stream-end.ts). This class wires them to the call; the protocol lives in the subclass.
import * as grpc from '@grpc/grpc-js';
import type { Logger } from 'pino';
import { EncodedResource } from '../resource/encoded-resource';
import { Snapshot } from '../cache/snapshot';
import { XdsTypeUrl } from '../resource-types';
import { NodeInfo } from '../node/node-info';
import { StreamKind, StreamMode } from '../node/stream-kind';
import { bounded } from './bounded-text';
import { admitClient } from './client-admission';
import { ClientLedger } from './client-ledger';
import { ClientLimitError } from './client-limits';
import { ErrorDetail } from './wire';
import { GrpcSizeWarning } from './grpc-size-warning';
import { PushOrder } from './push-order';
import { PushState } from './push-state';
import { RequestRate } from './request-rate';
import { selectResources } from './resource-selection';
import { ServedTypes } from './served-types';
import { StreamContext } from './stream-context';
import { StreamClosedError, endWithStatus } from './stream-end';
import { StreamLog } from './stream-log';
import { StreamWriter } from './stream-writer';
import { StreamNames, Subscription } from './subscription';
import { ViewWatch, WorkloadScope } from './view-watch';

/** What every per-type state of a stream holds, whatever the protocol adds. */
export interface TypeStateBase {
  readonly sub: Subscription;
  readonly push: PushState;
}

/** What both protocols' requests carry that the stream itself reads. */
export interface StreamRequest {
  readonly node?: NodeInfo;
  readonly nodeBytes?: Uint8Array;
  readonly typeUrl: string;
  readonly responseNonce: string;
  readonly errorDetail?: ErrorDetail;
}

type DuplexCall<Req> = grpc.ServerDuplexStream<Req, Buffer>;

export abstract class StreamBase<Req extends StreamRequest, State extends TypeStateBase> {
  private readonly states = new Map<XdsTypeUrl, State>();
  /** Shared by this stream's subscriptions (one per type): their byte total and limits. */
  protected readonly names: StreamNames;
  protected readonly order: PushOrder;
  private readonly streamLog: StreamLog;
  private readonly rate: RequestRate;
  private readonly served: ServedTypes;
  private readonly ledger: ClientLedger;
  private readonly sizeWarning = new GrpcSizeWarning();
  private readonly writer: StreamWriter;
  private readonly viewWatch: ViewWatch;
  private readonly streamId: number;
  private scope?: WorkloadScope;
  private admitted = false;
  private closed = false;

  constructor(
    private readonly call: DuplexCall<Req>,
    protected readonly ctx: StreamContext,
    private readonly mode: StreamMode,
    private readonly serviceName: string,
    /** Types this service may carry: all four on ADS, one on a per-type service. */
    allowedTypes: readonly XdsTypeUrl[],
  ) {
    const streamId = ctx.nextStreamId();
    this.streamLog = new StreamLog(ctx.logger, { stream: streamId, mode, service: serviceName });
    this.rate = new RequestRate(ctx.limits);
    this.served = new ServedTypes(serviceName, allowedTypes);
    this.names = new StreamNames(ctx.clientLimits, ctx.nameBudget);
    this.ledger = new ClientLedger(ctx.registry, this.streamLog, ctx.clientLimits.maxNackMessageChars);
    this.order = new PushOrder((typeUrl) => this.states.get(typeUrl)?.push);
    this.writer = new StreamWriter(call, ctx.sendBudget, () => this.flush());
    this.viewWatch = new ViewWatch(ctx.watcher, (changed, changeSeenAtMs) => {
      for (const typeUrl of changed) this.states.get(typeUrl)?.push.markCacheChanged(changeSeenAtMs);
      this.flush();
    });
    this.streamId = streamId;
    call.on('data', (request: Req) => this.onRequest(request));
    call.on('end', () => this.close());
    call.on('error', (error: Error) => {
      this.log.debug({ err: error.message }, 'stream error');
      this.cleanup();
    });
    call.on('cancelled', () => this.cleanup());
    call.on('close', () => this.cleanup());
  }

  protected get log(): Logger {
    return this.streamLog.log;
  }

  /** Handles one request of this stream's kind; may throw StreamClosedError to end the stream. */
  protected abstract handle(typeUrl: XdsTypeUrl, request: Req, state: State, isFirstOfType: boolean): void;
  protected abstract newState(): State;
  /** Sends one response of this type if there is anything to send; returns whether it sent. */
  protected abstract respond(typeUrl: XdsTypeUrl, state: State, snapshot: Snapshot): boolean;

  /** This stream's state of another type, when the client subscribed to it. */
  protected stateOf(typeUrl: XdsTypeUrl): State | undefined {
    return this.states.get(typeUrl);
  }

  private onRequest(request: Req): void {
    if (this.closed) return;
    try {
      this.rate.admit();
      if (!this.admitted) this.start(request);
      const typeUrl = this.served.check(request.typeUrl);
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
        this.log.error(
          { err: bounded(error instanceof Error ? (error.stack ?? error.message) : String(error), 4096) },
          'unexpected error handling a discovery request',
        );
        this.fail(grpc.status.INTERNAL, `internal error: ${error instanceof Error ? error.message : String(error)}`);
      }
    }
  }

  private start(request: Req): void {
    const peer = safePeer(this.call);
    const streamKind: StreamKind = { mode: this.mode, ads: this.served.isAds };
    const client = admitClient(
      request,
      streamKind,
      { address: peer, certificate: () => this.call.getAuthContext().sslPeerCertificate },
      this.ctx,
      this.log,
    );
    const userAgent = [client.node.userAgentName, client.node.userAgentVersion].filter(Boolean).join('/');
    this.admitted = true;
    this.ledger.connected({
      streamId: this.streamId,
      nodeId: client.node.id,
      clusterId: client.clusterId,
      role: client.role,
      view: client.view,
      userAgent,
      mode: this.mode,
      service: this.serviceName,
      peer,
      connectedAtMs: Date.now(),
      types: {},
    });
    this.streamLog.identify({ nodeId: client.node.id, clusterId: client.clusterId, role: client.role });
    this.log.info({ view: client.view, userAgent, peer }, 'xDS client connected');
    this.viewWatch.follow(client.view);
    if (client.workload !== undefined && this.ctx.rescopeView) {
      this.scope = new WorkloadScope(client.workload, streamKind, this.ctx.rescopeView);
      this.ctx.rescopable.add(this);
    }
  }

  /**
   * The workload's declared calls appeared or went since this stream connected: move it to the view it
   * would get now. Every type is due again; the usual ordering (clusters before the routes naming them,
   * removals after) applies to the difference, as for any change.
   */
  rescope(): void {
    const current = this.viewWatch.view;
    if (this.closed || !this.scope || current === undefined) return;
    const next = this.scope.viewNow(current);
    if (next.equals(current)) return;
    this.log.info({ from: current, to: next }, 'workload scope changed: moving the stream to its new view');
    this.ledger.movedTo(next);
    for (const state of this.states.values()) state.push.markCacheChanged();
    this.viewWatch.follow(next);
    this.flush();
  }

  /** Sends what is due, in make-before-break order, respecting ACK gating and flow control. */
  private flush(): void {
    if (this.closed || this.writer.isBlocked) return;
    // A new view's first snapshot may still be building (a big mesh): its watchers are told when it is.
    const snapshot = this.viewWatch.ready();
    if (!snapshot) return;
    // A cluster removal held back in the first pass is due in a second one when listeners and routes
    // settled during the first without sending anything (their change was nothing this client subscribes
    // to): no later event would come to release it.
    if (this.flushPass(snapshot) && this.order.deferredDue()) this.flushPass(snapshot);
  }

  /** One pass over the types in push order; false when it stopped early (backpressure or budget). */
  private flushPass(snapshot: Snapshot): boolean {
    for (const typeUrl of this.order.types) {
      const state = this.states.get(typeUrl);
      if (!state || !this.order.mayPush(typeUrl, state.push)) continue;
      // Many responses are queued server-wide (a reconnect storm): take a turn, send the newest state then.
      if (!this.writer.mayWrite()) return false;
      state.push.beginResponse();
      this.respond(typeUrl, state, snapshot);
      if (this.writer.isBlocked) return false;
    }
    return true;
  }

  /** Resources of a type that this subscription covers, sorted by name; missing EDS names get an empty assignment. */
  protected selectResources(typeUrl: XdsTypeUrl, sub: Subscription, snapshot: Snapshot): readonly EncodedResource[] {
    return selectResources(typeUrl, sub, snapshot, this.ctx.emptyResources);
  }

  /**
   * The request's nonce answers the newest response of this type: an ACK (of `ackedVersion`) or a NACK
   * is recorded. A stale nonce (the client has not seen our newest response yet) is only logged.
   */
  protected receiveAnswer(typeUrl: XdsTypeUrl, push: PushState, request: Req, ackedVersion: string): void {
    const nonce = request.responseNonce;
    const answer = push.receiveNonce(nonce);
    if (answer === 'answer') {
      const error = request.errorDetail;
      if (error) this.ledger.nack(typeUrl, push.version, nonce, error.message);
      else this.ledger.ack(typeUrl, ackedVersion);
    } else if (answer === 'stale') {
      this.ledger.staleNonce(nonce, push.latestNonce);
    }
  }

  /** Sends a response (encoded with a fresh nonce, or already encoded with its own) and records it as awaiting ACK. */
  protected sendResponse(
    typeUrl: XdsTypeUrl,
    push: PushState,
    version: string,
    response: ((nonce: string) => Buffer) | { nonce: string; bytes: Buffer },
  ): void {
    const nonce = typeof response === 'function' ? this.ctx.nonces.next() : response.nonce;
    const bytes = typeof response === 'function' ? response(nonce) : response.bytes;
    const changeSeenAtMs = push.recordSent(nonce, version);
    this.ledger.sent(typeUrl, version, nonce, bytes.length, changeSeenAtMs);
    this.sizeWarning.check(typeUrl, bytes.length, this.ledger.userAgent, this.log);
    this.writer.write(bytes);
  }

  private fail(code: grpc.status, message: string): void {
    if (this.closed) return;
    endWithStatus(this.call, code, message, this.log);
    this.cleanup();
  }

  private close(): void {
    if (!this.closed) this.call.end();
    this.cleanup();
  }

  private cleanup(): void {
    if (this.closed) return;
    this.closed = true;
    this.viewWatch.close();
    this.ctx.rescopable.delete(this);
    this.writer.close();
    // What the stream subscribed to stops counting against the server's budget at once.
    for (const state of this.states.values()) state.sub.release();
    this.states.clear();
    this.ledger.disconnected();
  }
}

function safePeer(call: { getPeer(): string }): string {
  try {
    return call.getPeer();
  } catch {
    return 'unknown';
  }
}
